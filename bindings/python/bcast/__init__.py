"""bcast: join groups on the local bcastd, publish to them, receive what they deliver.

    import bcast

    with bcast.connect("/tmp/bcastd.sock") as client:
        client.join("chat")
        client.publish("chat", b"hello", mode="reliable", order="total")
        for event in client.events(timeout=1.0):
            if isinstance(event, bcast.Delivery):
                print(event.sender, event.gseq, event.payload)

One Client is one connection to the local daemon and one sender: the daemon numbers its
messages seq 1, 2, 3, ... in publish order. Built on libbcast_c (bindings/c) through ctypes; the
wire protocol is docs/protocol.md and the guarantees docs/guarantees.md.

Events. Receipts, deliveries, views and error events come from next_event(), events() or, in
asyncio, `async for event in client` / await client.next_event_async(), in the order the daemon
sent them. Calls that wait for their own reply (connect, join, leave, status, publish with a
full window, publish_and_wait) keep whatever arrives meanwhile for the next event call.

Publishing is pipelined: publish() returns the request id at once while fewer than
max_in_flight publishes are unacknowledged; every publish ends in exactly one Receipt or one
ErrorEvent with that id.

Threads and asyncio. A Client is used from one thread at a time. Blocking calls release the GIL
while they wait. In asyncio, next_event_async() and `async for` wait on the client's file
descriptor (fileno()) without blocking the loop; the other calls wait only for the local
daemon's reply (microseconds), except publish() when the window is full and publish_and_wait().

Errors are exceptions: bcast.Error and a subclass per code (InvalidArgument, Busy, TooLarge,
Timeout, Unavailable, ProtocolError, ...), each with .code (the protocol's name) and .message.
"""
import asyncio
import ctypes
import enum
import os
from dataclasses import dataclass
from typing import Optional, Tuple, Union

from . import _native

__all__ = [
    "Mode", "Order", "Error", "InvalidArgument", "Busy", "TooLarge", "IoError", "Timeout",
    "Unavailable", "ProtocolError", "NotFound", "PermissionDenied", "NoMemory", "Receipt",
    "Delivery", "View", "ErrorEvent", "Gap", "Status", "Client", "connect", "library_version",
    "DEFAULT_SOCKET",
]

_lib = _native.load()

# bcastd --dev's socket, as bcastctl's default.
DEFAULT_SOCKET = "/tmp/bcastd.sock"


def library_version() -> str:
    """The bcastd release of the loaded libbcast_c."""
    return _lib.bcast_version().decode()


class Mode(str, enum.Enum):
    """How a message spreads between daemons (docs/guarantees.md)."""
    BEST_EFFORT = "best-effort"
    RELIABLE = "reliable"
    GOSSIP = "gossip"


class Order(str, enum.Enum):
    """What the receivers enforce before delivering (docs/guarantees.md)."""
    NONE = "none"
    FIFO = "fifo"
    CAUSAL = "causal"
    TOTAL = "total"


_MODE_NUMBERS = {Mode.BEST_EFFORT: 0, Mode.RELIABLE: 1, Mode.GOSSIP: 2}
_ORDER_NUMBERS = {Order.NONE: 0, Order.FIFO: 1, Order.CAUSAL: 2, Order.TOTAL: 3}
_MODES = {n: m for m, n in _MODE_NUMBERS.items()}
_ORDERS = {n: o for o, n in _ORDER_NUMBERS.items()}


# ---- Errors ----------------------------------------------------------------------------------

class Error(Exception):
    """A refusal or failure: `code` is the protocol's name ("busy", "timeout", ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class InvalidArgument(Error):
    """Malformed or not allowed: a bad group name, a service not offered, a bad option."""


class Busy(Error):
    """A bounded queue is full: retry later."""


class TooLarge(Error):
    """A payload over the daemon's max_message_bytes."""


class IoError(Error):
    """The operating system refused a socket operation."""


class Timeout(Error):
    """No answer in time (for a total-order publish: no position within the daemon's timeout;
    the message may still be delivered later)."""


class Unavailable(Error):
    """No daemon answered, or the connection was lost: connect a new Client."""


class ProtocolError(Error):
    """The daemon refused the request as malformed (or sent something malformed)."""


class NotFound(Error):
    """The named thing does not exist."""


class PermissionDenied(Error):
    """Not allowed: the daemon's group permissions refuse this user the group."""


class NoMemory(Error):
    """libbcast_c could not allocate."""


_ERROR_CLASSES = {
    "invalid_argument": InvalidArgument, "busy": Busy, "too_large": TooLarge, "io": IoError,
    "timeout": Timeout, "unavailable": Unavailable, "protocol": ProtocolError,
    "not_found": NotFound, "permission_denied": PermissionDenied, "no_memory": NoMemory,
}


def _error(code_number: int, message: str) -> Error:
    code = _lib.bcast_code_name(code_number).decode()
    return _ERROR_CLASSES.get(code, Error)(code, message)


def _check(call, *args):
    """Calls a libbcast_c function taking a trailing bcast_error**; raises its error."""
    error = ctypes.c_void_p()
    code = call(*args, ctypes.byref(error))
    if code != 0:
        message = _lib.bcast_error_message(error).decode(errors="replace") if error else ""
        _lib.bcast_error_free(error)
        raise _error(code, message)


# ---- Events ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    """A publish acknowledged: the service now promises it."""
    request_id: int
    seq: int
    gseq: Optional[int]  # its place in the global order; total order only


@dataclass(frozen=True)
class Delivery:
    """A message of a group this client joined."""
    group: str
    sender: int  # cluster-unique id of the publishing connection
    seq: int
    gseq: Optional[int]
    mode: Mode
    order: Order
    payload: bytes
    # Not total order: the message's position in its origin's stream for its mode, which a Gap
    # names (the origin is sender >> 32). 0 for total order.
    stream_seq: int = 0


@dataclass(frozen=True)
class Gap:
    """Messages the local daemon will never deliver, before anything delivered after them
    (docs/guarantees.md, "Gaps"). A stream gap (`origin` set) names positions from_..to of the
    stream of daemon incarnation `origin` (sender >> 32 of its senders) for `mode`
    (Delivery.stream_seq); a total-order gap (`origin` None) gseq positions from_..to. `to` None:
    no end. `group` is "" when the gap may concern any group. `reason`: "excluded",
    "origin-lost", "snapshot", "best-effort-hold", or another."""
    group: str
    reason: str
    origin: Optional[int]
    mode: Optional[Mode]
    from_: int
    to: Optional[int]


@dataclass(frozen=True)
class View:
    """The daemons serving a joined group, as the local daemon sees them (after each join)."""
    group: str
    members: Tuple[int, ...]


@dataclass(frozen=True)
class ErrorEvent:
    """A refused publish (request_id), or a problem not tied to a request (request_id 0, e.g.
    the daemon disconnected this client). Best-effort deliveries dropped because this client read
    too slowly are Gap events (reason "slow-subscriber")."""
    request_id: int
    code: str
    message: str

    def error(self) -> Error:
        """The refusal as the exception a blocking call would raise."""
        return _ERROR_CLASSES.get(self.code, Error)(self.code, self.message)


Event = Union[Receipt, Delivery, View, ErrorEvent, Gap]

_EVENT_RECEIPT, _EVENT_DELIVERY, _EVENT_VIEW, _EVENT_ERROR, _EVENT_GAP = 1, 2, 3, 4, 5


def _text(data: bytes) -> str:
    # Group names are bytes on the wire (UTF-8 expected, not checked): surrogateescape keeps any
    # bytes, and encoding the str again gives them back.
    return data.decode("utf-8", errors="surrogateescape")


def _gseq(event) -> Optional[int]:
    value = ctypes.c_uint64()
    return value.value if _lib.bcast_event_gseq(event, ctypes.byref(value)) else None


def _bytes(accessor, event) -> bytes:
    size = ctypes.c_size_t()
    pointer = accessor(event, ctypes.byref(size))
    return ctypes.string_at(pointer, size.value) if pointer else b""


def _convert(event) -> Optional[Event]:
    kind = _lib.bcast_event_kind(event)
    if kind == _EVENT_RECEIPT:
        return Receipt(_lib.bcast_event_request_id(event), _lib.bcast_event_seq(event),
                       _gseq(event))
    if kind == _EVENT_DELIVERY:
        return Delivery(_text(_bytes(_lib.bcast_event_group, event)),
                        _lib.bcast_event_sender(event), _lib.bcast_event_seq(event),
                        _gseq(event), _MODES[_lib.bcast_event_mode(event)],
                        _ORDERS[_lib.bcast_event_order(event)],
                        _bytes(_lib.bcast_event_payload, event),
                        _lib.bcast_event_stream_seq(event)
                        if hasattr(_lib, "bcast_event_stream_seq") else 0)
    if kind == _EVENT_VIEW:
        count = _lib.bcast_event_member_count(event)
        return View(_text(_bytes(_lib.bcast_event_group, event)),
                    tuple(_lib.bcast_event_member(event, i) for i in range(count)))
    if kind == _EVENT_ERROR:
        message = _lib.bcast_event_error_message(event) or b""
        return ErrorEvent(_lib.bcast_event_request_id(event),
                          _lib.bcast_code_name(_lib.bcast_event_error_code(event)).decode(),
                          message.decode(errors="replace"))
    if kind == _EVENT_GAP:
        return _gap(event)
    return None  # a kind from a newer libbcast_c than this package knows: skipped


def _gap(event) -> Gap:
    origin, first, last = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_uint64()
    stream = _lib.bcast_event_gap(event, ctypes.byref(origin), ctypes.byref(first),
                                  ctypes.byref(last)) == 1
    reason = _lib.bcast_event_gap_reason(event) or b""
    return Gap(_text(_bytes(_lib.bcast_event_group, event)), reason.decode(errors="replace"),
               origin.value if stream else None,
               _MODES[_lib.bcast_event_mode(event)] if stream else None, first.value,
               None if last.value == 2**64 - 1 else last.value)


@dataclass(frozen=True)
class Status:
    """The local daemon's view of the cluster (docs/protocol.md, status_reply)."""
    node_id: int
    role: str  # "leader", "follower", "candidate", "learner" (accept others)
    term: int
    leader: Optional[int]
    members: Tuple[int, ...]
    commit_index: int  # the Raft commit index


# ---- The client ------------------------------------------------------------------------------

def _encode(value, what) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8", errors="surrogateescape")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _seconds_to_ms(timeout: Optional[float]) -> int:
    """None waits without limit (-1 for libbcast_c)."""
    if timeout is None:
        return -1
    if timeout < 0:
        raise ValueError("timeout must be None or >= 0 seconds")
    return int(timeout * 1000)


class Client:
    """One connection to the local bcastd: connects and says hello on construction.

    socket_path: the daemon's --client-socket (default $BCAST_SOCKET, else /tmp/bcastd.sock).
    client_name: shown in the daemon's logs (at most 255 bytes).
    max_in_flight: publishes unacknowledged before publish() waits (1 to 2**20).
    request_timeout: seconds that connect, join, leave, status and a publish waiting for room
      wait (keep it above the daemon's total-order timeout, 3 s, to wait out elections).
    Raises Unavailable when no daemon answers in time, the daemon's refusal otherwise.
    """

    def __init__(self, socket_path: Optional[str] = None, *, client_name: str = "",
                 max_in_flight: int = 1024, request_timeout: float = 5.0,
                 max_frame_bytes: int = 64 << 20):
        self._client = None
        if socket_path is None:
            socket_path = os.environ.get("BCAST_SOCKET") or DEFAULT_SOCKET
        options = _lib.bcast_options_new()
        if not options:
            raise NoMemory("no_memory", "cannot allocate options")
        try:
            for code in (
                    _lib.bcast_options_set_socket_path(options, os.fsencode(socket_path)),
                    _lib.bcast_options_set_client_name(options, client_name.encode()),
                    _lib.bcast_options_set_max_in_flight(options, max_in_flight),
                    _lib.bcast_options_set_request_timeout_ms(options,
                                                              _seconds_to_ms(request_timeout)),
                    _lib.bcast_options_set_max_frame_bytes(options, max_frame_bytes)):
                if code != 0:
                    raise _error(code, "bad option value")
            client = ctypes.c_void_p()
            _check(_lib.bcast_connect, options, ctypes.byref(client))
            self._client = client
        finally:
            _lib.bcast_options_free(options)

    # -- lifetime --
    def close(self) -> None:
        """Closes the connection (the daemon forgets this client). Idempotent."""
        if self._client is not None:
            _lib.bcast_client_close(self._client)
            self._client = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        self.close()

    def _handle(self):
        if self._client is None:
            raise Unavailable("unavailable", "the client is closed")
        return self._client

    # -- requests --
    def join(self, group: Union[str, bytes], from_gseq: Optional[int] = None) -> None:
        """Deliveries of `group` reach this client from now on; a View follows as an event.

        With `from_gseq`, the group's total-order messages from that gseq (0: the oldest the
        daemon's history holds) are replayed first, then the live ones follow with no gap and no
        duplicate; a position older than the history is a Gap ("history-trimmed") first."""
        name = _encode(group, "group")
        if from_gseq is None:
            _check(_lib.bcast_join, self._handle(), name, len(name))
            return
        if not hasattr(_lib, "bcast_join_from"):
            raise Error("unavailable", "the C library is too old to replay (no bcast_join_from)")
        _check(_lib.bcast_join_from, self._handle(), name, len(name), int(from_gseq))

    def leave(self, group: Union[str, bytes]) -> None:
        name = _encode(group, "group")
        _check(_lib.bcast_leave, self._handle(), name, len(name))

    def publish(self, group: Union[str, bytes], payload: Union[bytes, str] = b"", *,
                mode: Union[Mode, str] = Mode.RELIABLE,
                order: Union[Order, str] = Order.FIFO) -> int:
        """Sends a message and returns its request id; its Receipt or ErrorEvent comes later
        through the events. Waits only while max_in_flight publishes are unacknowledged."""
        name, body = _encode(group, "group"), _encode(payload, "payload")
        request_id = ctypes.c_uint64()
        _check(_lib.bcast_publish, self._handle(), name, len(name),
               _MODE_NUMBERS[Mode(mode)], _ORDER_NUMBERS[Order(order)], body, len(body),
               ctypes.byref(request_id))
        return request_id.value

    def publish_and_wait(self, group: Union[str, bytes], payload: Union[bytes, str] = b"", *,
                         mode: Union[Mode, str] = Mode.RELIABLE,
                         order: Union[Order, str] = Order.FIFO,
                         timeout: Optional[float] = None) -> Receipt:
        """publish() and wait for that message's receipt (timeout: seconds, None = the request
        timeout). A refusal is raised; on Timeout the publish stays in flight."""
        name, body = _encode(group, "group"), _encode(payload, "payload")
        receipt = ctypes.c_void_p()
        _check(_lib.bcast_publish_and_wait, self._handle(), name, len(name),
               _MODE_NUMBERS[Mode(mode)], _ORDER_NUMBERS[Order(order)], body, len(body),
               -1 if timeout is None else _seconds_to_ms(timeout), ctypes.byref(receipt))
        try:
            return _convert(receipt)
        finally:
            _lib.bcast_event_free(receipt)

    def status(self) -> Status:
        """The local daemon's view of the cluster."""
        status = ctypes.c_void_p()
        _check(_lib.bcast_get_status, self._handle(), ctypes.byref(status))
        try:
            leader = ctypes.c_uint64()
            has_leader = _lib.bcast_status_leader(status, ctypes.byref(leader))
            count = _lib.bcast_status_member_count(status)
            return Status(_lib.bcast_status_node_id(status),
                          _lib.bcast_status_role(status).decode(),
                          _lib.bcast_status_term(status), leader.value if has_leader else None,
                          tuple(_lib.bcast_status_member(status, i) for i in range(count)),
                          _lib.bcast_status_commit_index(status))
        finally:
            _lib.bcast_status_free(status)

    # -- events --
    def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, waiting up to `timeout` seconds (0: only what is there; None: no
        limit). None if nothing arrived in time (or a signal interrupted the wait). Raises
        Unavailable once the connection is lost, after the events that arrived before."""
        ms = _seconds_to_ms(timeout)
        while True:
            event = ctypes.c_void_p()
            _check(_lib.bcast_next_event, self._handle(), ms, ctypes.byref(event))
            if not event:
                return None
            try:
                converted = _convert(event)
            finally:
                _lib.bcast_event_free(event)
            if converted is not None:
                return converted

    def events(self, timeout: Optional[float] = None):
        """Yields events until `timeout` seconds pass without one (None: forever)."""
        while (event := self.next_event(timeout)) is not None:
            yield event

    def __iter__(self):
        return self.events()

    def fileno(self) -> int:
        """A file descriptor that becomes readable when events may have arrived. Edge-triggered:
        after it is readable (and after any other call), take events with next_event(0) until
        it returns None before waiting on it again; it does not signal a lost connection, so
        wait with a timeout. next_event_async() does all this."""
        return _lib.bcast_client_fd(self._handle())

    fd = fileno

    async def next_event_async(self, timeout: Optional[float] = None) -> Optional[Event]:
        """next_event() for asyncio: waits on fileno() without blocking the loop."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            event = self.next_event(0)
            if event is not None:
                return event
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return None
            # At most a second at a time: a lost connection does not wake the fd.
            wait = 1.0 if left is None else min(left, 1.0)
            ready = loop.create_future()
            fd = self.fileno()
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
            try:
                await asyncio.wait_for(ready, wait)
            except asyncio.TimeoutError:
                pass
            finally:
                loop.remove_reader(fd)

    def __aiter__(self):
        return self._events_async()

    async def _events_async(self):
        while True:
            yield await self.next_event_async()

    # -- facts --
    @property
    def sender(self) -> int:
        """This connection's cluster-unique sender id."""
        return _lib.bcast_client_sender(self._handle())

    @property
    def node_id(self) -> int:
        """The local daemon's node id."""
        return _lib.bcast_client_node_id(self._handle())

    @property
    def max_message_bytes(self) -> int:
        """The daemon's payload limit."""
        return _lib.bcast_client_max_message_bytes(self._handle())

    @property
    def in_flight(self) -> int:
        """Publishes awaiting their receipt or error."""
        return _lib.bcast_client_in_flight(self._handle())


def connect(socket_path: Optional[str] = None, **options) -> Client:
    """Client(socket_path, **options): connects and says hello."""
    return Client(socket_path, **options)
