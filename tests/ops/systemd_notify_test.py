"""bcastd speaks systemd's notify protocol (Type=notify), checked without systemd: the test
binds the NOTIFY_SOCKET datagram socket itself, as systemd would, and reads what arrives.

    systemd_notify_test.py PATH/TO/bcastd

READY=1 must come once the daemon serves (its client socket answers), WATCHDOG=1 keeps coming
at about half of WATCHDOG_USEC, and STOPPING=1 comes on SIGTERM before a clean exit. A daemon
that cannot start never says READY.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops_cluster import free_ports, wait_for  # noqa: E402

BCASTD = None


class NotifyListener:
    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []  # (monotonic time, text)

    def receive(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        self.messages.append((time.monotonic(), data.decode()))
        return data.decode()

    def wait_for(self, key, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.receive(max(0.01, deadline - time.monotonic()))
            if message is not None and key in message.split("\n"):
                return message
        raise AssertionError("no %s within %d s; got %r" % (key, timeout, self.messages))


class SystemdNotifyTest(unittest.TestCase):
    def start(self, tmp, listener, extra_env=None, data_dir=None):
        port = free_ports(1)[0]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHDOG_")}
        env.update(NOTIFY_SOCKET=listener.path, **(extra_env or {}))
        self.socket_path = os.path.join(tmp, "bcastd.sock")
        argv = [BCASTD, "--node-id", "1", "--listen", "tcp://127.0.0.1:%d" % port,
                "--data-dir", data_dir or os.path.join(tmp, "data"),
                "--client-socket", self.socket_path]
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def test_ready_watchdog_stopping(self):
        with tempfile.TemporaryDirectory(prefix="bcast-notify-", dir="/tmp") as tmp:
            listener = NotifyListener(tmp)
            self.addCleanup(listener.sock.close)
            # A 1 s watchdog: pings every 0.5 s.
            proc = self.start(tmp, listener, {"WATCHDOG_USEC": "1000000"})
            try:
                ready = listener.wait_for("READY=1")
                self.assertIn("STATUS=serving as node 1", ready.split("\n"))
                # READY means serving: the client socket is bound by then.
                self.assertTrue(os.path.exists(self.socket_path))
                for _ in range(3):
                    listener.wait_for("WATCHDOG=1")
                pings = [t for t, m in listener.messages if m == "WATCHDOG=1"]
                gaps = [b - a for a, b in zip(pings, pings[1:])]
                # Half the interval, give or take a tick; never as late as the interval itself.
                self.assertTrue(all(0.3 < gap < 1.0 for gap in gaps), gaps)
                proc.send_signal(signal.SIGTERM)
                listener.wait_for("STOPPING=1")
                self.assertEqual(proc.wait(timeout=10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                proc.stderr.close()

    def test_no_watchdog_pings_without_watchdog_usec(self):
        with tempfile.TemporaryDirectory(prefix="bcast-notify-", dir="/tmp") as tmp:
            listener = NotifyListener(tmp)
            self.addCleanup(listener.sock.close)
            proc = self.start(tmp, listener)
            try:
                listener.wait_for("READY=1")
                self.assertIsNone(listener.receive(0.5))  # nothing until asked to stop
                proc.send_signal(signal.SIGTERM)
                listener.wait_for("STOPPING=1")
                self.assertEqual(proc.wait(timeout=10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                proc.stderr.close()

    def test_a_daemon_that_cannot_start_never_says_ready(self):
        with tempfile.TemporaryDirectory(prefix="bcast-notify-", dir="/tmp") as tmp:
            listener = NotifyListener(tmp)
            self.addCleanup(listener.sock.close)
            # The data directory's parent does not exist: storage cannot open.
            proc = self.start(tmp, listener, data_dir="/nonexistent/x/y")
            self.assertEqual(proc.wait(timeout=10), 1)
            self.assertIn(b"cannot start", proc.stderr.read())
            proc.stderr.close()
            self.assertIsNone(listener.receive(0.2))


if __name__ == "__main__":
    BCASTD = sys.argv.pop(1)
    unittest.main()
