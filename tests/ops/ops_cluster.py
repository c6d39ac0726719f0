"""Real bcastd daemons on loopback for the operations tests (tests/ops/*_test.py).

Each Cluster gets its own temporary directory and free ports (peer and HTTP), starts every
daemon with --http, and always stops them (SIGTERM, then SIGKILL) when the `with` block ends.
Waiting is always for a condition with a deadline, never a fixed sleep.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def free_ports(count):
    """`count` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in sockets:
            s.close()
    return ports


def http_get(url, timeout=2.0):
    """(status, body as text); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        return 0, ""


def wait_for(what, condition, timeout=20.0, interval=0.05):
    """Polls `condition` until it returns a true value (returned), or fails naming `what`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))


class Cluster:
    def __init__(self, bcastd, size, extra_args=(), http=True):
        self.bcastd = bcastd
        self.http = http
        self.size = size
        self.extra_args = list(extra_args)
        self.dir = tempfile.mkdtemp(prefix="bcast-ops-", dir="/tmp")
        ports = free_ports(2 * size)
        self.peer_ports = ports[:size]
        self.http_ports = ports[size:]
        self.procs = {}

    def __enter__(self):
        try:
            for node in range(1, self.size + 1):
                self.start(node)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, kind, value, traceback):
        for node in list(self.procs):
            self.stop(node)
        if kind is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("daemon logs kept in", self.dir)
            for node in range(1, self.size + 1):
                print("--- node %d log tail ---\n%s" % (node, self.log(node)[-3000:]))
        return False

    def node_dir(self, node):
        return os.path.join(self.dir, "n%d" % node)

    def socket(self, node):
        return os.path.join(self.node_dir(node), "bcastd.sock")

    def url(self, node, path):
        return "http://127.0.0.1:%d%s" % (self.http_ports[node - 1], path)

    def log(self, node):
        try:
            with open(os.path.join(self.node_dir(node), "bcastd.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def args(self, node):
        args = [self.bcastd, "--node-id", str(node),
                "--listen", "tcp://127.0.0.1:%d" % self.peer_ports[node - 1],
                "--data-dir", os.path.join(self.node_dir(node), "data"),
                "--client-socket", self.socket(node)]
        if self.http:
            args += ["--http", "127.0.0.1:%d" % self.http_ports[node - 1]]
        for peer in range(1, self.size + 1):
            args += ["--peer", "%d=tcp://127.0.0.1:%d" % (peer, self.peer_ports[peer - 1])]
        return args + self.extra_args

    def start(self, node, env=None):
        os.makedirs(self.node_dir(node), exist_ok=True)
        log = open(os.path.join(self.node_dir(node), "bcastd.log"), "ab")
        self.procs[node] = subprocess.Popen(self.args(node), stdout=log, stderr=log, env=env)
        log.close()
        if self.http:
            wait_for("node %d's HTTP endpoint" % node, lambda: self.alive_or_fail(node) and
                     http_get(self.url(node, "/healthz"))[0] == 200)
        else:
            wait_for("node %d's client socket" % node,
                     lambda: self.alive_or_fail(node) and os.path.exists(self.socket(node)))

    def alive_or_fail(self, node):
        code = self.procs[node].poll()
        if code is not None:
            raise AssertionError("bcastd %d exited with %d: %s" % (node, code, self.log(node)[-2000:]))
        return True

    def stop(self, node, sig=signal.SIGTERM):
        """Stops a daemon; returns its exit status."""
        proc = self.procs.pop(node)
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def status(self, node):
        code, body = http_get(self.url(node, "/status.json"))
        return json.loads(body) if code == 200 else None

    def wait_ready(self, nodes=None):
        for node in nodes or range(1, self.size + 1):
            wait_for("node %d ready" % node,
                     lambda: http_get(self.url(node, "/readyz"))[0] == 200)

    def leader(self):
        """The leader every live daemon agrees on."""
        def agreed():
            leaders = set()
            for node in self.procs:
                s = self.status(node)
                leaders.add(s and s["leader"])
            return leaders.pop() if len(leaders) == 1 and None not in leaders else None
        return wait_for("an agreed leader", agreed)
