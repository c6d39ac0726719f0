"""A replicated state machine over one bcastd group, in Python: the same rules and the same
messages as the C++ helper (lib/include/bcast/replicated_state_machine.hpp, rsm_core.hpp), so
Python and C++ replicas of one group serve each other's state transfers.

    class Counter(bcast.rsm.StateMachine):
        def __init__(self): self.value = 0
        def apply(self, command: bytes) -> bytes:
            self.value += int(command); return str(self.value).encode()
        def snapshot(self) -> bytes: return str(self.value).encode()
        def restore(self, state: bytes) -> None: self.value = int(state)

    replica = bcast.rsm.ReplicatedStateMachine(Counter(), group="counter",
                                               socket_path="/tmp/bcastd.sock")
    gseq, result = replica.submit(b"5")

Every replica applies the commands in the total order (reliable, total), once each; submit()
returns the result apply() gave for this replica's own command. Catching up, in the constructor:
from `snapshot_path` if that file exists (restore, then replay the history from its gseq + 1);
else by state transfer (a state request through the total order; a live replica answers with its
state as of exactly that request's gseq); if nobody answers within `state_transfer_timeout`
seconds, by replaying the daemon's history from its start. A total-order gap past the applied
position stops applying and asks for a state transfer (submit() meanwhile raises Unavailable
once its timeout passes). A replica answers state requests only while its owner calls submit(),
poll() or sync(). Differences from the C++ helper: the Python client has no agreed views, so a
first replica always waits out `state_transfer_timeout`; no periodic re-ask of a lost state.
"""
import os
import random
import struct
import time
from typing import Dict, List, Optional, Tuple

from . import (Delivery, Error, ErrorEvent, Gap, InvalidArgument, Mode, Order, Timeout,
               Unavailable, connect)

__all__ = ["StateMachine", "ReplicatedStateMachine", "write_snapshot_file",
           "read_snapshot_file"]

_COMMAND, _REQUEST, _REPLY = b"C", b"Q", b"S"
_SNAPSHOT_MAGIC = b"bcast-rsm-snapshot 1\n"


class StateMachine:
    """What the application replicates; apply() must be deterministic."""

    def apply(self, command: bytes) -> bytes:
        raise NotImplementedError

    def snapshot(self) -> bytes:
        raise NotImplementedError

    def restore(self, state: bytes) -> None:
        raise NotImplementedError


def write_snapshot_file(path: str, gseq: int, state: bytes) -> None:
    """The C++ helper's format, written aside, synced, then renamed over `path`."""
    temporary = path + ".tmp"
    with open(temporary, "wb") as f:
        f.write(_SNAPSHOT_MAGIC + struct.pack("<QQ", gseq, len(state)) + state)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)
    directory = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_snapshot_file(path: str) -> Optional[Tuple[int, bytes]]:
    """(gseq, state), or None if there is no file; Error("corrupt") if it is not whole."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    header = len(_SNAPSHOT_MAGIC) + 16
    if len(data) < header or not data.startswith(_SNAPSHOT_MAGIC):
        raise Error("corrupt", f"not a bcast-rsm snapshot: {path}")
    gseq, size = struct.unpack_from("<QQ", data, len(_SNAPSHOT_MAGIC))
    if len(data) - header != size:
        raise Error("corrupt", f"truncated snapshot: {path}")
    return gseq, data[header:]


def _decode(payload: bytes):
    kind, body = payload[:1], payload[1:]
    if kind == _COMMAND and len(body) >= 16:
        replica, command_id = struct.unpack_from("<QQ", body)
        return ("command", replica, command_id, body[16:])
    if kind == _REQUEST and len(body) == 16:
        return ("request",) + struct.unpack("<QQ", body)
    if kind == _REPLY and len(body) >= 24:
        requester, nonce, as_of = struct.unpack_from("<QQQ", body)
        return ("reply", requester, nonce, as_of, body[24:])
    return None


class ReplicatedStateMachine:
    """One replica; use it from one thread at a time (like bcast.Client)."""

    def __init__(self, machine: StateMachine, *, group: str, socket_path: Optional[str] = None,
                 snapshot_path: Optional[str] = None, state_transfer_timeout: float = 2.0,
                 request_timeout: float = 10.0, client_name: str = "bcast.rsm"):
        self.machine = machine
        self.group = group
        self.snapshot_path = snapshot_path
        self.request_timeout = request_timeout
        self.token = random.getrandbits(64)
        self.client = connect(socket_path, client_name=client_name,
                              request_timeout=request_timeout)
        self.applied_gseq = 0
        self.live = True
        self.state_transfers = 0
        self._next_id = 1
        self._next_nonce = 1
        self._done: Dict[int, Tuple[int, bytes]] = {}
        self._failed: Dict[int, Error] = {}
        self._covered = set()  # command ids a state transfer covered
        self._buffer: List[Tuple[int, bytes]] = []
        self._request_gseq: Dict[int, int] = {}
        self._replies: Dict[int, Tuple[int, bytes]] = {}
        self._catch_up(state_transfer_timeout)
        self.sync()

    # -- catching up --
    def _catch_up(self, state_transfer_timeout: float) -> None:
        saved = read_snapshot_file(self.snapshot_path) if self.snapshot_path else None
        if saved is not None:
            self.machine.restore(saved[1])
            self.applied_gseq = saved[0]
            self.client.join(self.group, saved[0] + 1)
            return
        self.client.join(self.group)
        self._ask_for_state()
        deadline = time.monotonic() + state_transfer_timeout
        while not self.live and time.monotonic() < deadline:
            event = self.client.next_event(max(0.0, deadline - time.monotonic()))
            if event is not None:
                self._handle(event)
        if self.live:
            return
        # Nobody answered: the first replica. Drop what the live join queued (the replay has
        # it; applied first it would put the position past the replayed history), replay all.
        self.client.leave(self.group)
        while self.client.next_event(0) is not None:
            pass
        self._start_live(0)
        self.client.join(self.group, 0)

    def _start_live(self, gseq: int) -> None:
        self.live = True
        self.applied_gseq = gseq
        self._buffer.clear()
        self._request_gseq.clear()
        self._replies.clear()

    def _ask_for_state(self) -> None:
        self.live = False
        nonce, self._next_nonce = self._next_nonce, self._next_nonce + 1
        self.client.publish(self.group, _REQUEST + struct.pack("<QQ", self.token, nonce),
                            mode=Mode.RELIABLE, order=Order.TOTAL)

    # -- the rules (rsm_core.hpp) --
    def _handle(self, event) -> None:
        if isinstance(event, Delivery) and event.group == self.group:
            if event.gseq is not None:
                self._on_total(event.gseq, event.payload)
            else:
                self._on_other(event.payload)
        elif isinstance(event, Gap) and event.origin is None and event.group in ("", self.group):
            to = event.to if event.to is not None else event.from_
            if self.live and to <= self.applied_gseq:
                return
            self._buffer.clear()
            self._request_gseq.clear()
            self._ask_for_state()
        elif isinstance(event, ErrorEvent) and event.request_id in self._failed:
            self._failed[event.request_id] = event.error()

    def _on_total(self, gseq: int, payload: bytes) -> None:
        if self.live:
            self._apply(gseq, payload)
            return
        message = _decode(payload)
        if message and message[0] == "request" and message[1] == self.token:
            self._request_gseq.setdefault(message[2], gseq)
        self._buffer.append((gseq, payload))
        self._install_if_ready()

    def _on_other(self, payload: bytes) -> None:
        message = _decode(payload)
        if self.live or not message or message[0] != "reply" or message[1] != self.token:
            return
        self._replies.setdefault(message[2], (message[3], message[4]))
        self._install_if_ready()

    def _install_if_ready(self) -> None:
        for nonce, gseq in self._request_gseq.items():
            reply = self._replies.get(nonce)
            if reply is None or reply[0] != gseq:
                continue
            self.machine.restore(reply[1])
            self.state_transfers += 1
            buffered = list(self._buffer)
            for position, payload in buffered:  # our commands inside the state: result unknown
                message = _decode(payload)
                if position <= gseq and message and message[0] == "command" and \
                        message[1] == self.token and message[2] in self._done:
                    self._covered.add(message[2])
            self._start_live(gseq)
            for position, payload in buffered:
                self._apply(position, payload)
            return

    def _apply(self, gseq: int, payload: bytes) -> None:
        if gseq <= self.applied_gseq:
            return
        self.applied_gseq = gseq
        message = _decode(payload)
        if message is None:
            return
        if message[0] == "command":
            _, replica, command_id, body = message
            result = self.machine.apply(body) if body else b""
            if replica == self.token and command_id in self._done:
                self._done[command_id] = (gseq, result)
        elif message[0] == "request" and message[1] != self.token:
            reply = _REPLY + struct.pack("<QQQ", message[1], message[2], gseq)
            try:
                self.client.publish(self.group, reply + self.machine.snapshot(),
                                    mode=Mode.RELIABLE, order=Order.FIFO)
            except Error:
                pass  # the requester asks again or gives up; nothing to do here

    # -- the application's calls --
    def submit(self, command: bytes, timeout: Optional[float] = None) -> Tuple[int, bytes]:
        """Applies `command` through the total order; returns (gseq, apply()'s result)."""
        if not command:
            raise InvalidArgument("invalid_argument", "an empty command (empty is the barrier)")
        return self._run(command, timeout)

    def sync(self, timeout: Optional[float] = None) -> int:
        """A barrier: returns once everything ordered before the call is applied here."""
        return self._run(b"", timeout)[0]

    def poll(self, timeout: float) -> None:
        """Handles what arrives for `timeout` seconds (answers state requests, applies)."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.client.next_event(max(0.0, deadline - time.monotonic()))
            if event is not None:
                self._handle(event)
            if time.monotonic() >= deadline and event is None:
                return

    def save_snapshot(self) -> None:
        if not self.snapshot_path:
            raise InvalidArgument("invalid_argument", "no snapshot_path set")
        if not self.live:
            raise Unavailable("unavailable", "no valid state to save yet")
        write_snapshot_file(self.snapshot_path, self.applied_gseq, self.machine.snapshot())

    def close(self) -> None:
        self.client.close()

    def _run(self, body: bytes, timeout: Optional[float]) -> Tuple[int, bytes]:
        command_id, self._next_id = self._next_id, self._next_id + 1
        self._done[command_id] = None
        request = None
        try:
            request = self.client.publish(
                self.group, _COMMAND + struct.pack("<QQ", self.token, command_id) + body,
                mode=Mode.RELIABLE, order=Order.TOTAL)
            self._failed[request] = None
            deadline = time.monotonic() + (self.request_timeout if timeout is None else timeout)
            while self._done[command_id] is None:
                if command_id in self._covered:
                    if not body:
                        return self.applied_gseq, b""  # a barrier the state is past
                    raise Unavailable("unavailable", "the command was applied inside the state "
                                      "received by state transfer: its result is unknown")
                if self._failed.get(request) is not None:
                    raise self._failed[request]
                left = deadline - time.monotonic()
                if left <= 0:
                    if not self.live:
                        raise Unavailable("unavailable", "awaiting a state transfer")
                    raise Timeout("timeout", "the command was not applied in time")
                event = self.client.next_event(left)
                if event is not None:
                    self._handle(event)
            return self._done[command_id]
        finally:
            self._done.pop(command_id, None)
            self._covered.discard(command_id)
            self._failed.pop(request, None)
