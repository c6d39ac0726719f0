"""Fixtures of the conformance suite: one bcastd --dev for the session (most tests), clients that
said hello, and group names no other test uses."""
import itertools

import pytest

from daemon_process import Bcastd
from raw_client import RawClient

# Small, so that limit tests move little data.
MAX_MESSAGE_BYTES = 4096
CLIENT_QUEUE_BYTES = 1 << 20

_groups = itertools.count(1)


@pytest.fixture(scope="session")
def daemon():
    # A reader that stops reading is not disconnected here (--stalled-subscriber-ms 0): tests such
    # as the backpressure one keep a client's queue full on purpose while they publish.
    with Bcastd(args=["--max-message-bytes", str(MAX_MESSAGE_BYTES),
                      "--client-queue-bytes", str(CLIENT_QUEUE_BYTES),
                      "--stalled-subscriber-ms", "0"]) as d:
        d.wait_leader()
        yield d


@pytest.fixture
def raw(daemon):
    """A connected DEALER that has not said hello."""
    with RawClient(daemon.socket) as c:
        yield c


@pytest.fixture
def client(daemon):
    """A connected DEALER after its welcome."""
    with RawClient(daemon.socket) as c:
        c.welcome = c.hello(client_name="conformance")
        yield c


@pytest.fixture
def group(request):
    return f"{request.node.name[:200]}-{next(_groups)}"
