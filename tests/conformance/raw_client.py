"""The client protocol spoken by hand (docs/protocol.md): one ZeroMQ DEALER, msgpack headers.

Every message the daemon sends is checked against the document as it arrives (`check_header`):
one or two frames, a msgpack map with str keys in the smallest encodings, the keys its type
lists with values of the listed kinds, a payload frame exactly on deliveries. A violation fails
the test that received it.
"""
import time

import msgpack
import zmq

# What the document's "Daemon -> client" table lists, per type: key -> (required, kind).
(UINT, OPT_UINT, STR, OPT_STR, NODE, OPT_NODE, NODES, SENDER, CODE, OPT_VERSIONS, OPT_STRS,
 CLUSTER_NODES, VIEW_MEMBERS, PEERS) = range(14)
DAEMON_TYPES = {
    "welcome": {"id": (True, UINT), "sender": (True, SENDER), "node_id": (True, NODE),
                "version": (True, UINT), "max_message_bytes": (True, UINT)},
    "ok": {"id": (True, UINT), "gseq": (False, OPT_UINT)},
    "receipt": {"id": (True, UINT), "seq": (True, UINT), "gseq": (True, OPT_UINT)},
    "status_reply": {"id": (True, UINT), "node_id": (True, NODE), "role": (True, STR),
                     "term": (True, UINT), "leader": (True, OPT_NODE), "members": (True, NODES),
                     "commit_index": (True, UINT), "cluster_id": (False, UINT),
                     "problems": (False, OPT_STRS), "peers": (False, PEERS),
                     "daemons_down": (False, NODES)},
    "cluster_reply": {"id": (True, UINT), "cluster_id": (True, UINT), "leader": (False, OPT_NODE),
                      "nodes": (True, CLUSTER_NODES)},
    "delivery": {"group": (True, STR), "sender": (True, SENDER), "seq": (True, UINT),
                 "gseq": (True, OPT_UINT), "mode": (True, STR), "order": (True, STR),
                 "stream_seq": (False, UINT)},
    "gap": {"reason": (True, STR), "group": (False, STR), "origin": (False, UINT),
            "mode": (False, STR), "from_seq": (False, UINT), "to_seq": (False, OPT_UINT),
            "from_gseq": (False, UINT), "to_gseq": (False, UINT)},
    "view": {"group": (True, STR), "members": (True, NODES), "view_id": (False, UINT),
             "clients": (False, VIEW_MEMBERS), "joined": (False, VIEW_MEMBERS),
             "left": (False, VIEW_MEMBERS), "cause": (False, STR), "gseq": (False, OPT_UINT)},
    "error": {"id": (True, UINT), "code": (True, CODE), "message": (False, OPT_STR),
              "supported_versions": (False, OPT_VERSIONS)},
}
ERROR_CODES = {"invalid_argument", "not_leader", "busy", "too_large", "corrupt", "io", "timeout",
               "unavailable", "protocol", "not_found"}
MODES = ("best-effort", "reliable", "gossip")
ORDERS = ("none", "fifo", "causal", "total")


class ProtocolViolation(AssertionError):
    pass


def _is_uint(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_kind(type_name, key, kind, value):
    def bad(what):
        raise ProtocolViolation(f"{type_name}.{key} = {value!r}: {what}")

    if kind in (OPT_UINT, OPT_NODE, OPT_STR, OPT_VERSIONS, OPT_STRS) and value is None:
        return
    if kind == OPT_STRS and not (isinstance(value, list) and all(isinstance(s, str) for s in value)):
        bad("not a list of str")
    if kind == CLUSTER_NODES:
        keys = {"node", "address", "role", "identity_bound", "promote_when_caught_up",
                "match_index", "reachable"}
        if not isinstance(value, list) or not all(isinstance(n, dict) and keys <= set(n)
                                                  for n in value):
            bad("not a list of cluster node maps")
        for n in value:
            if n["role"] not in ("voter", "learner") or not (_is_uint(n["node"]) and
                                                            1 <= n["node"] <= 65535):
                bad("a node map with a bad node or role")
    if kind == VIEW_MEMBERS:
        if not isinstance(value, list) or not all(
                isinstance(m, dict) and set(m) == {"sender", "node", "name"} and
                _is_uint(m["sender"]) and m["sender"] >= 1 << 48 and _is_uint(m["node"]) and
                1 <= m["node"] <= 65535 and isinstance(m["name"], str) for m in value):
            bad("not a list of view member maps (sender, node, name)")
    if kind == PEERS and not (isinstance(value, list) and all(
            isinstance(p, dict) and set(p) == {"node", "reachable", "last_heard_ms"} and
            _is_uint(p["node"]) and 1 <= p["node"] <= 65535 and isinstance(p["reachable"], bool)
            and (p["last_heard_ms"] is None or _is_uint(p["last_heard_ms"])) for p in value)):
        bad("not a list of peer maps (node, reachable, last_heard_ms)")
    if kind in (UINT, OPT_UINT) and not _is_uint(value):
        bad("not an unsigned integer")
    if kind in (NODE, OPT_NODE) and not (_is_uint(value) and 1 <= value <= 65535):
        bad("not a node id (1..65535)")
    if kind == NODES and not (isinstance(value, list) and
                              all(_is_uint(n) and 1 <= n <= 65535 for n in value)):
        bad("not a list of node ids")
    if kind == SENDER and not (_is_uint(value) and value >= 1 << 48):
        bad("not a sender id (>= 2^48)")
    if kind in (STR, OPT_STR) and not isinstance(value, str):
        bad("not a str")
    if kind == CODE and value not in ERROR_CODES:
        bad("not a documented error code")
    if kind == OPT_VERSIONS and not (isinstance(value, list) and value and
                                     all(_is_uint(v) and 1 <= v < 1 << 32 for v in value)):
        bad("not a list of protocol versions")


def check_header(frame):
    """Decodes a header the daemon sent and checks it against docs/protocol.md; returns it."""
    try:
        header = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except Exception as e:  # any decoding failure is the daemon's fault
        raise ProtocolViolation(f"a header that is not one msgpack value: {e}: {frame!r}")
    if not isinstance(header, dict):
        raise ProtocolViolation(f"a header that is not a map: {header!r}")
    # "Integers are msgpack unsigned integers (any width; encoders use the smallest)", strings
    # are str, never bin: re-encoding with the smallest forms must give the same bytes.
    if msgpack.packb(header, use_bin_type=True) != frame:
        raise ProtocolViolation(f"a header not in the smallest encodings: {frame.hex()}")
    type_name = header.get("type")
    if type_name not in DAEMON_TYPES:
        raise ProtocolViolation(f"an unknown or missing type: {header!r}")
    schema = DAEMON_TYPES[type_name]
    for key, value in header.items():
        if key == "type":
            continue
        if key not in schema:
            raise ProtocolViolation(f"{type_name} carries {key!r}, which docs/protocol.md does "
                                    f"not list for it: {header!r}")
        _check_kind(type_name, key, schema[key][1], value)
    for key, (required, _) in schema.items():
        if required and key not in header:
            raise ProtocolViolation(f"{type_name} lacks its required {key!r}: {header!r}")
    return header


class Message:
    """One message from the daemon: its checked header and payload (None when absent)."""

    def __init__(self, header, payload):
        self.header = header
        self.payload = payload

    @property
    def type(self):
        return self.header["type"]

    def __getitem__(self, key):
        return self.header[key]

    def get(self, key, default=None):
        return self.header.get(key, default)

    def __repr__(self):
        return f"Message({self.header!r}, payload={self.payload!r})"


def pack(header):
    """A header as a client should write it (smallest encodings, str keys and values)."""
    return msgpack.packb(header, use_bin_type=True)


class RawClient:
    """A DEALER connected to a daemon's client socket, speaking frames as given."""

    def __init__(self, socket_path, context=None, rcvhwm=None):
        self.context = context or zmq.Context.instance()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.SNDHWM, 100000)
        if rcvhwm is not None:
            self.socket.setsockopt(zmq.RCVHWM, rcvhwm)
        self.socket.connect("ipc://" + socket_path)
        self.next_id = 1
        self.backlog = []  # messages received while waiting for something else

    def close(self):
        self.socket.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- sending ---------------------------------------------------------------------------
    def send_frames(self, frames):
        self.socket.send_multipart([f if isinstance(f, bytes) else pack(f) for f in frames])

    def send(self, header, payload=None):
        """Sends a request (a dict, packed here, or raw bytes); assigns "id" if the dict has
        none. Returns the id."""
        if isinstance(header, dict) and "id" not in header:
            header = dict(header, id=self.take_id())
        frames = [header] if payload is None else [header, payload]
        self.send_frames(frames)
        return header.get("id") if isinstance(header, dict) else None

    def take_id(self):
        self.next_id += 1
        return self.next_id - 1

    # --- receiving -------------------------------------------------------------------------
    def receive(self, timeout=5.0):
        """The next message from the daemon (checked), or None after `timeout` seconds."""
        if self.backlog:
            return self.backlog.pop(0)
        return self._read(timeout)

    def _read(self, timeout):
        if not self.socket.poll(int(timeout * 1000)):
            return None
        frames = self.socket.recv_multipart()
        if len(frames) not in (1, 2):
            raise ProtocolViolation(f"a message of {len(frames)} frames")
        header = check_header(frames[0])
        payload = frames[1] if len(frames) == 2 else None
        if (payload is not None) != (header["type"] == "delivery"):
            raise ProtocolViolation(f"a {header['type']} {'with' if payload is not None else 'without'} "
                                    "a payload frame")
        return Message(header, payload)

    def expect(self, what, timeout=5.0):
        message = self.receive(timeout)
        if message is None:
            raise AssertionError(f"no message from the daemon within {timeout} s: expected {what}")
        return message

    def reply_to(self, request_id, timeout=5.0):
        """The reply carrying `request_id`, keeping everything else that arrives meanwhile."""
        for i, message in enumerate(self.backlog):
            if message.type not in ("delivery", "view") and message["id"] == request_id:
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            message = self._read(max(left, 0)) if left > 0 else None
            if message is None:
                raise AssertionError(f"no reply with id {request_id} within {timeout} s; "
                                     f"got meanwhile {self.backlog!r}")
            if message.type not in ("delivery", "view") and message["id"] == request_id:
                return message
            self.backlog.append(message)

    def drain(self, timeout=0.2):
        """Everything that arrives until `timeout` seconds pass without a message."""
        out = list(self.backlog)
        self.backlog.clear()
        while (message := self._read(timeout)) is not None:
            out.append(message)
        return out

    def request(self, header, payload=None, timeout=5.0):
        """Sends and returns the reply with the request's id."""
        request_id = self.send(header, payload)
        return self.reply_to(request_id, timeout)

    # --- conveniences ----------------------------------------------------------------------
    def hello(self, **extra):
        welcome = self.request(dict({"type": "hello", "version": 1}, **extra))
        assert welcome.type == "welcome", welcome
        return welcome

    def join(self, group):
        reply = self.request({"type": "join", "group": group})
        assert reply.type == "ok", reply
        return reply

    def publish(self, group, payload, mode="reliable", order="fifo"):
        """Sends a publish; returns its id (the receipt comes later)."""
        return self.send({"type": "publish", "group": group, "mode": mode, "order": order},
                         payload)

    def status(self):
        reply = self.request({"type": "status"})
        assert reply.type == "status_reply", reply
        return reply
