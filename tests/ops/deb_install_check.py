"""Installs the bcastd .deb on this machine and checks that the unit starts and reports ready.

    sudo /usr/bin/python3 tests/ops/deb_install_check.py build/package/bcastd_0.1.0_amd64.deb [--purge]

It changes the system (a package, a user, a service), so it is a documented command for a
Debian 12 host or container rather than a CTest test (docs/operations.md, "Installing"):

  1. `dpkg -i` the package; the postinst must create the system user bcastd and enable the unit;
  2. `systemd-analyze verify` the installed unit;
  3. start the service and wait for READY=1, then check /readyz on the packaged config's --http:
     with systemd as PID 1 through `systemctl start` (which returns only after READY=1, the
     unit being Type=notify) and `systemctl is-active`; without it (a container, a sandbox),
     by doing what the unit says by hand: the unit's RuntimeDirectory and StateDirectory are
     created for user bcastd, its ExecStart runs as that user under setpriv with a NOTIFY_SOCKET
     this script listens on, and READY=1 must arrive;
  4. with --purge, remove the package again (the user stays, as Debian policy wants).
"""

import os
import pwd
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def run(*argv, check=True):
    print("+", " ".join(argv))
    result = subprocess.run(argv, capture_output=True, text=True)
    if check and result.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (result.returncode, " ".join(argv),
                                           result.stdout + result.stderr))
    return result


def readyz(url, timeout=20):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read().decode().strip()
        except Exception as e:  # noqa: BLE001 (any failure: not ready yet)
            last = e
        time.sleep(0.2)
    sys.exit("no answer from %s within %d s: %s" % (url, timeout, last))


def unit_setting(unit_text, key):
    match = re.search(r"^%s=(.*)$" % key, unit_text, re.M)
    return match.group(1).strip() if match else None


def main():
    if os.geteuid() != 0:
        sys.exit("run as root: it installs a package")
    deb = sys.argv[1]
    purge = "--purge" in sys.argv[2:]
    run("dpkg", "-i", deb)
    user = pwd.getpwnam("bcastd")
    print("user bcastd: uid %d, home %s, shell %s" % (user.pw_uid, user.pw_dir, user.pw_shell))
    unit_path = run("dpkg", "-L", "bcastd").stdout.split()
    unit_path = next(p for p in unit_path if p.endswith("/bcastd.service"))
    enabled = "/etc/systemd/system/multi-user.target.wants/bcastd.service"
    if not os.path.islink(enabled):
        sys.exit("the postinst did not enable the unit (%s missing)" % enabled)
    print("enabled:", enabled, "->", os.readlink(enabled))
    verify = run("systemd-analyze", "verify", unit_path, check=False)
    if verify.returncode != 0 or verify.stderr.strip():
        sys.exit("systemd-analyze verify: %s" % verify.stderr)
    print("systemd-analyze verify: clean")

    unit = open(unit_path).read()
    exec_start = shlex.split(unit_setting(unit, "ExecStart"))
    config = exec_start[exec_start.index("--config") + 1]
    http = re.search(r"^http\s*=\s*(\S+)", open(config).read(), re.M).group(1)
    url = "http://%s/readyz" % http

    if os.path.isdir("/run/systemd/system"):
        run("systemctl", "start", "bcastd.service")  # returns after READY=1 (Type=notify)
        print(run("systemctl", "is-active", "bcastd.service").stdout.strip())
        print("/readyz:", readyz(url))
        run("systemctl", "status", "--no-pager", "bcastd.service", check=False)
    else:
        print("systemd is not PID 1 here: running the unit's ExecStart as it would")
        for directory, mode in (("/run/bcastd", 0o750), ("/var/lib/bcastd", 0o750)):
            os.makedirs(directory, exist_ok=True)
            os.chown(directory, user.pw_uid, user.pw_gid)
            os.chmod(directory, mode)
        with tempfile.TemporaryDirectory() as tmp:
            notify_path = os.path.join(tmp, "notify")
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            notify.bind(notify_path)
            os.chmod(tmp, 0o755)
            os.chmod(notify_path, 0o777)
            env = {"NOTIFY_SOCKET": notify_path, "WATCHDOG_USEC": "10000000",
                   "PATH": "/usr/sbin:/usr/bin"}
            argv = ["setpriv", "--reuid=bcastd", "--regid=bcastd", "--init-groups",
                    "--no-new-privs"] + exec_start
            print("+", " ".join(argv))
            old_umask = os.umask(0o007)  # the unit's UMask
            daemon = subprocess.Popen(argv, env=env)
            os.umask(old_umask)
            try:
                notify.settimeout(20)
                messages = []
                while not any("READY=1" in m for m in messages):
                    messages.append(notify.recv(4096).decode())
                print("notify:", messages)
                print("/readyz:", readyz(url))
                socket_path = "/run/bcastd/bcastd.sock"
                print("client socket:", oct(os.stat(socket_path).st_mode & 0o777), socket_path)
            finally:
                daemon.terminate()
                print("exit status after SIGTERM:", daemon.wait(timeout=20))
                notify.close()
    if purge:
        run("dpkg", "--purge", "bcastd")
    print("deb_install_check: passed")


if __name__ == "__main__":
    main()
