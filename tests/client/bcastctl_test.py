#!/usr/bin/env python3
"""bcastctl against a fake daemon written from docs/protocol.md alone, in another language.

The fake is a ZeroMQ ROUTER on ipc:// in a temporary directory, speaking msgpack through
python3-msgpack: it checks that bcastctl's frames follow the documented protocol and that its
output follows the external contract in DESIGN.md.

    bcastctl_test.py PATH/TO/bcastctl
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import msgpack
import zmq

BCASTCTL = None
SENDER = (1 << 48) | (1 << 32) | 1
REQUEST_TYPES = {"hello", "join", "leave", "publish", "status"}


class FakeDaemon:
    """Answers like bcastd. Behaviour knobs: `refuse` (1-based publish numbers answered with a
    busy error), `reverse_receipts` (hold receipts and send each batch in reverse), and
    `deliveries` (sent after the view when a client joins)."""

    def __init__(self, path):
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        # A ROUTER drops what exceeds a peer's high-water mark; like bcastd, the fake allows far
        # more than the client's window of unacknowledged publishes.
        self.socket.setsockopt(zmq.SNDHWM, 100000)
        self.socket.bind("ipc://" + path)
        self.refuse = set()
        self.reverse_receipts = False
        self.deliveries = []
        self.publishes = []  # (header, payload)
        self.max_outstanding = 0
        self.errors = []  # protocol violations seen
        self.seq = 0
        self.held = []
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def close(self):
        self.stop = True
        self.thread.join()
        self.socket.close()
        self.context.term()

    def send(self, identity, header, payload=None):
        frames = [identity, msgpack.packb(header, use_bin_type=True)]
        if payload is not None:
            frames.append(payload)
        self.socket.send_multipart(frames)

    def run(self):
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        while not self.stop:
            if not poller.poll(10):
                self.flush_held()
                continue
            while True:
                try:
                    frames = self.socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self.handle(frames[0], frames[1:])
            self.max_outstanding = max(self.max_outstanding, len(self.held))
            self.flush_held()

    def flush_held(self):
        held, self.held = self.held, []
        if self.reverse_receipts:
            held.reverse()
        for identity, reply in held:
            self.send(identity, reply)

    def handle(self, identity, frames):
        header = msgpack.unpackb(frames[0], raw=False)
        kind = header.get("type")
        if kind not in REQUEST_TYPES or not isinstance(header.get("id"), int) or header["id"] < 1:
            self.errors.append("bad request header %r" % header)
            return
        expected_frames = 2 if kind == "publish" else 1
        if len(frames) != expected_frames:
            self.errors.append("%s with %d frames" % (kind, len(frames)))
        rid = header["id"]
        if kind == "hello":
            if header.get("version") != 1:
                self.errors.append("hello without version 1: %r" % header)
            self.send(identity, {"type": "welcome", "id": rid, "sender": SENDER, "node_id": 1,
                                 "version": 1, "max_message_bytes": 100})
        elif kind == "join":
            self.send(identity, {"type": "ok", "id": rid})
            self.send(identity, {"type": "view", "group": header["group"], "members": [1, 2]})
            for delivery, payload in self.deliveries:
                self.send(identity, delivery, payload)
        elif kind == "leave":
            self.send(identity, {"type": "ok", "id": rid})
        elif kind == "status":
            self.send(identity, {"type": "status_reply", "id": rid, "node_id": 1,
                                 "role": "leader", "term": 4, "leader": None,
                                 "members": [1, 2, 3], "commit_index": 17,
                                 "a_future_key": {"ignored": True}})
        elif kind == "publish":
            for key in ("group", "mode", "order"):
                if not isinstance(header.get(key), str):
                    self.errors.append("publish without %s: %r" % (key, header))
            self.publishes.append((header, frames[-1]))
            if len(self.publishes) in self.refuse:
                self.send(identity, {"type": "error", "id": rid, "code": "busy",
                                     "message": "too many messages waiting"})
                return
            self.seq += 1
            reply = {"type": "receipt", "id": rid, "seq": self.seq, "gseq": None}
            if header["order"] == "total":
                reply["gseq"] = 1000 + self.seq
            self.held.append((identity, reply))


class BcastctlTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "bcastd.sock")
        self.daemon = FakeDaemon(self.path)

    def tearDown(self):
        self.daemon.close()
        self.dir.cleanup()
        self.assertEqual(self.daemon.errors, [])

    def run_ctl(self, *args, stdin=None, env_socket=False, timeout=20):
        argv = [BCASTCTL] + ([] if env_socket else ["--socket", self.path]) + list(args)
        env = dict(os.environ)
        env.pop("BCAST_SOCKET", None)
        if env_socket:
            env["BCAST_SOCKET"] = self.path
        return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, env=env)

    def test_status_json(self):
        result = self.run_ctl("status", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode(),
                         '{"node_id":1,"role":"leader","term":4,"leader":null,'
                         '"members":[1,2,3],"commit_index":17,'
                         '"cluster_id":"0000000000000000","problems":[]}\n')

    def test_status_text_and_socket_from_environment(self):
        result = self.run_ctl("status", env_socket=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("leader", result.stdout.decode())

    def test_members(self):
        result = self.run_ctl("members")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode(), "1\n2\n3\n")

    def test_pub_arguments_print_receipts_in_publish_order(self):
        self.daemon.reverse_receipts = True
        result = self.run_ctl("pub", "g", "--order", "total", "--json", "a", "b", "c")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
        self.assertEqual([line["seq"] for line in lines], [1, 2, 3][:len(lines)])
        self.assertEqual(len(lines), 3)
        self.assertEqual([line["gseq"] for line in lines], [1001, 1002, 1003])
        self.assertEqual([p for _, p in self.daemon.publishes], [b"a", b"b", b"c"])
        header = self.daemon.publishes[0][0]
        self.assertEqual((header["group"], header["mode"], header["order"]),
                         ("g", "reliable", "total"))

    def test_pub_stdin_is_pipelined(self):
        count = 3000
        data = "".join("message %d\n" % i for i in range(count)).encode()
        result = self.run_ctl("pub", "g", "--mode", "gossip", "--json", stdin=data)
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.decode().splitlines()
        self.assertEqual(len(lines), count)
        self.assertEqual(json.loads(lines[-1]), {"seq": count, "gseq": None})
        self.assertEqual(self.daemon.publishes[1234][1], b"message 1234")
        self.assertEqual(self.daemon.publishes[0][0]["mode"], "gossip")
        # Many messages were outstanding at once, but never more than the window.
        self.assertGreater(self.daemon.max_outstanding, 1)
        self.assertLessEqual(self.daemon.max_outstanding, 1024)

    def test_pub_stdin_last_line_without_newline_and_empty_lines(self):
        result = self.run_ctl("pub", "g", "--json", stdin=b"one\n\nthree")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual([p for _, p in self.daemon.publishes], [b"one", b"", b"three"])

    def test_pub_refusal_exits_nonzero_with_one_line(self):
        self.daemon.refuse = {2}
        result = self.run_ctl("pub", "g", "--json", "a", "b", "c")
        self.assertEqual(result.returncode, 1)
        stderr = result.stderr.decode().strip().splitlines()
        self.assertEqual(len(stderr), 1, stderr)
        self.assertIn("message 2", stderr[0])
        self.assertIn("busy", stderr[0])
        # The acknowledged messages still get their receipts, in order.
        self.assertEqual([json.loads(l)["seq"] for l in result.stdout.decode().splitlines()],
                         [1, 2])

    def test_pub_too_large_line_is_refused(self):
        result = self.run_ctl("pub", "g", stdin=b"ok\n" + b"x" * 500 + b"\nok\n")
        self.assertEqual(result.returncode, 1)
        self.assertIn("too_large", result.stderr.decode())
        self.assertEqual([p for _, p in self.daemon.publishes], [b"ok", b"ok"])

    def test_sub_json_count(self):
        self.daemon.deliveries = [
            ({"type": "delivery", "group": "chat", "sender": SENDER, "seq": 1, "gseq": None,
              "mode": "reliable", "order": "fifo"}, "héllo".encode()),
            ({"type": "delivery", "group": "chat", "sender": SENDER, "seq": 2, "gseq": 5,
              "mode": "gossip", "order": "total"}, b"\xff\x00"),
            ({"type": "delivery", "group": "chat", "sender": SENDER, "seq": 3, "gseq": None,
              "mode": "reliable", "order": "none"}, b"not printed"),
        ]
        result = self.run_ctl("sub", "chat", "--json", "--count", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.decode().splitlines()
        self.assertEqual(len(lines), 3, lines)
        self.assertEqual(json.loads(lines[0]), {"type": "view", "group": "chat",
                                                "members": [1, 2]})
        self.assertEqual(lines[1],
                         '{"type":"message","group":"chat","sender":%d,"seq":1,"gseq":null,'
                         '"mode":"reliable","order":"fifo","payload":"héllo"}' % SENDER)
        self.assertEqual(json.loads(lines[2]),
                         {"type": "message", "group": "chat", "sender": SENDER, "seq": 2,
                          "gseq": 5, "mode": "gossip", "order": "total",
                          "payload_b64": "/wA="})

    def test_sub_exits_cleanly_on_signals(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.daemon.deliveries = [
                ({"type": "delivery", "group": "chat", "sender": SENDER, "seq": 1, "gseq": None,
                  "mode": "reliable", "order": "none"}, b"first")]
            proc = subprocess.Popen([BCASTCTL, "--socket", self.path, "sub", "chat"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # Lines are flushed one by one: both arrive while bcastctl keeps running.
            self.assertIn(b"view", proc.stdout.readline())
            self.assertIn(b"first", proc.stdout.readline())
            proc.send_signal(sig)
            self.assertEqual(proc.wait(timeout=5), 0)
            proc.stdout.close()
            proc.stderr.close()

    def test_usage_errors(self):
        for args in (["frobnicate"], [], ["pub"], ["sub"], ["pub", "g", "--count", "3"],
                     ["status", "--bogus"], ["pub", "g", "--mode", "carrier-pigeon"],
                     ["sub", "g", "--count", "0"], ["pub", "g", "--order"]):
            result = self.run_ctl(*args)
            self.assertEqual(result.returncode, 2, args)
            self.assertIn(b"usage:", result.stderr, args)
            self.assertEqual(result.stdout, b"", args)


class NoDaemonTest(unittest.TestCase):
    def test_no_daemon_fails_fast_with_a_reason(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "missing.sock")
            # Without waiting out the timeout: nothing listens there, so it fails at once.
            start = time.monotonic()
            result = subprocess.run([BCASTCTL, "--socket", path, "--timeout", "5000", "status"],
                                    capture_output=True, timeout=10)
            self.assertEqual(result.returncode, 1)
            self.assertIn(b"no bcastd is listening", result.stderr)
            self.assertIn(b"does not exist", result.stderr)
            self.assertLess(time.monotonic() - start, 2)

    def test_no_socket_given_means_the_dev_socket(self):
        if os.path.exists("/tmp/bcastd.sock"):
            self.skipTest("a daemon may be listening on /tmp/bcastd.sock")
        env = dict(os.environ)
        env.pop("BCAST_SOCKET", None)
        result = subprocess.run([BCASTCTL, "--timeout", "300", "status"], capture_output=True,
                                env=env, timeout=10)
        self.assertEqual(result.returncode, 1)
        self.assertIn(b"/tmp/bcastd.sock", result.stderr)


if __name__ == "__main__":
    BCASTCTL = sys.argv.pop(1)
    unittest.main()
