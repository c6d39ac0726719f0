"""The package's own PEP 517 build backend: a pure-Python wheel of `bcast`, from the standard
library alone.

Why not setuptools: `pip install ./bindings/python` builds in an isolated environment and would
first download the backend from PyPI, which bcastd's machines cannot reach. A backend inside the
source tree (pyproject.toml: backend-path) needs nothing installed, so the plain command works
offline. It implements what pip calls: build_wheel, build_sdist, build_editable (PEP 660: the
wheel holds a .pth pointing at this source tree) and their get_requires_* hooks.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "bcast"
# Entries of a wheel and an sdist get this date: the same sources give the same bytes.
FIXED_DATE = (2020, 1, 1, 0, 0, 0)


def _project():
    """The [project] table's `key = "string"` entries (all this file's pyproject.toml uses; the
    standard library reads TOML only from Python 3.11 on)."""
    project, section = {}, None
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        for line in f:
            header = re.match(r"\s*\[([^\]]+)\]", line)
            if header:
                section = header.group(1).strip()
                continue
            entry = re.match(r'\s*([\w-]+)\s*=\s*"([^"]*)"', line)
            if section == "project" and entry:
                project[entry.group(1)] = entry.group(2)
    return project


def _metadata():
    project = _project()
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '>=3')}",
    ]
    return "\n".join(lines) + "\n"


def _package_files():
    """(path in the wheel, bytes) of every module of the package."""
    directory = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            with open(os.path.join(directory, name), "rb") as f:
                yield f"{PACKAGE}/{name}", f.read()


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _write_wheel(directory, files):
    project = _project()
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    files = list(files) + [
        (f"{dist_info}/METADATA", _metadata().encode()),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: bcast_build\n"
                               b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{dist_info}/top_level.txt", f"{PACKAGE}\n".encode()),
    ]
    record_path = f"{dist_info}/RECORD"
    record = "\n".join([_record_line(p, d) for p, d in files] + [f"{record_path},,"]) + "\n"
    files.append((record_path, record.encode()))
    wheel_name = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files:
            info = zipfile.ZipInfo(path, FIXED_DATE)
            info.external_attr = 0o644 << 16
            wheel.writestr(info, data, zipfile.ZIP_DEFLATED)
    return wheel_name


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, _package_files())


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # The package is imported from this source tree: edits take effect without reinstalling.
    pth = f"{ROOT}\n".encode()
    return _write_wheel(wheel_directory, [(f"__editable__.{PACKAGE}.pth", pth)])


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    base = f"{project['name']}-{project['version']}"
    members = ["pyproject.toml", "README.md", "backend/bcast_build.py"]
    members += [path for path, _ in _package_files()]
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as sdist:
        for member in members:
            with open(os.path.join(ROOT, member), "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(f"{base}/{member}")
            info.size = len(data)
            info.mode = 0o644
            sdist.addfile(info, io.BytesIO(data))
    return name
