"""`pip install ./bindings/python` works offline (the build backend is in the tree) and the
installed package, imported from outside the source tree, talks to a daemon; so does an
editable install (`pip install -e`)."""
import os
import subprocess
import sys

import pytest

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = """
import sys
import bcast
with bcast.connect(sys.argv[1]) as client:
    receipt = client.publish_and_wait("installed", b"x", order="total")
print(bcast.__file__)
print(receipt.gseq)
"""


@pytest.mark.parametrize("editable", [False, True], ids=["wheel", "editable"])
def test_pip_install_then_use(tmp_path, daemon, editable):
    venv = tmp_path / "venv"
    # Without pip of its own (ensurepip is slow); Debian's pip installs into it with --python.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = [sys.executable, "-m", "pip", "--python", python, "install", "--no-index",
               "--disable-pip-version-check", "-q"]
    install += ["-e", PACKAGE_DIR] if editable else [PACKAGE_DIR]
    subprocess.run(install, check=True, cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run([python, "-c", SCRIPT, daemon.socket], cwd=tmp_path, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    module_path, gseq = result.stdout.split()
    expected_home = PACKAGE_DIR if editable else str(venv)
    assert module_path.startswith(expected_home), module_path
    assert int(gseq) >= 1
