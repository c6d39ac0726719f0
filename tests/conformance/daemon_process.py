"""A real bcastd for tests: started with --dev in a fresh temporary directory (its data dir and
client socket), on a free loopback port, and always stopped and removed.

    with Bcastd(path_to_bcastd) as daemon:
        daemon.socket          # the client socket path (connect to "ipc://" + it)
        daemon.log()           # what it wrote to stderr so far

Used by the conformance suite (tests/conformance) and the Python binding's tests.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import msgpack
import zmq


def free_port():
    """A loopback TCP port nobody listens on now (bcastd binds with SO_REUSEADDR, so do we)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bcastd_path():
    """The daemon under test: $BCASTD (set by CTest), else the dev build of this tree."""
    path = os.environ.get("BCASTD")
    if not path:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.path.join(root, "build", "dev", "daemon", "bcastd")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no bcastd at {path}: build it or set BCASTD")
    return path


class Bcastd:
    """One bcastd --dev. `args` are added to its command line (they override --dev's defaults);
    `peers` adds --peer entries for daemons that never start (a cluster without quorum)."""

    def __init__(self, args=(), peers=(), start_timeout=15.0):
        self.dir = tempfile.mkdtemp(prefix="bcast-conf-", dir="/tmp")
        self.socket = os.path.join(self.dir, "client.sock")
        self.log_path = os.path.join(self.dir, "bcastd.log")
        self.args = list(args)
        self.peers = list(peers)
        self.process = None
        try:
            self._start(start_timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, timeout):
        for attempt in range(3):  # a port taken between the check and the bind: try another
            port = free_port()
            command = [
                bcastd_path(), "--dev", "--listen", f"tcp://127.0.0.1:{port}",
                "--data-dir", os.path.join(self.dir, f"data{attempt}"),
                "--client-socket", self.socket,
            ]
            for node_id in self.peers:
                command += ["--peer", f"{node_id}=tcp://127.0.0.1:{free_port()}"]
            command += self.args
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=log,
                                                stdin=subprocess.DEVNULL)
            if self._wait_answering(timeout):
                return
            self.process.kill()
            self.process.wait()
        raise RuntimeError("bcastd did not start:\n" + self.log())

    def _wait_answering(self, timeout):
        """True once the daemon answers on its socket; False if it exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if os.path.exists(self.socket) and self._answers():
                return True
            time.sleep(0.05)
        return False

    def _answers(self):
        """True if the daemon answers on its socket. The probe asks for status before hello and
        gets an error: a probe that said hello would count as a client until the daemon finds
        it gone, which only a send to it does."""
        context = zmq.Context.instance()
        probe = context.socket(zmq.DEALER)
        probe.setsockopt(zmq.LINGER, 0)
        try:
            probe.connect("ipc://" + self.socket)
            probe.send(msgpack.packb({"type": "status", "id": 1}))
            return probe.poll(1000) != 0
        finally:
            probe.close()

    def wait_leader(self, timeout=15.0):
        """Waits until the daemon leads (a --dev daemon elects itself within a second)."""
        context = zmq.Context.instance()
        probe = context.socket(zmq.DEALER)
        probe.setsockopt(zmq.LINGER, 0)
        probe.connect("ipc://" + self.socket)
        try:
            probe.send(msgpack.packb({"type": "hello", "id": 1, "version": 1}))
            probe.poll(2000)
            probe.recv_multipart()
            deadline = time.monotonic() + timeout
            request_id = 1
            while time.monotonic() < deadline:
                request_id += 1
                probe.send(msgpack.packb({"type": "status", "id": request_id}))
                if probe.poll(2000):
                    reply = msgpack.unpackb(probe.recv_multipart()[0])
                    if reply.get("role") == "leader":
                        return reply
                time.sleep(0.05)
        finally:
            probe.close()
        raise RuntimeError("bcastd elected no leader:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def running(self):
        return self.process is not None and self.process.poll() is None

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
