"""Fixtures of the Python binding's tests: a real bcastd --dev for the session, connected clients,
fresh group names. The daemon helper and the case tables are the conformance suite's
(tests/conformance), so both check the same sentences of docs/protocol.md.

By default `bcast` is imported from this source tree; with BCAST_TEST_INSTALLED=1 it must come
from the environment (an installed package) instead."""
import itertools
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "tests", "conformance"))
if not os.environ.get("BCAST_TEST_INSTALLED"):
    sys.path.insert(0, os.path.dirname(HERE))

import bcast  # noqa: E402
from daemon_process import Bcastd  # noqa: E402

MAX_MESSAGE_BYTES = 4096
_groups = itertools.count(1)


@pytest.fixture(scope="session")
def daemon():
    with Bcastd(args=["--max-message-bytes", str(MAX_MESSAGE_BYTES)]) as d:
        d.wait_leader()
        yield d


@pytest.fixture
def client(daemon):
    with bcast.connect(daemon.socket, client_name="pytest") as c:
        yield c


@pytest.fixture
def group(request):
    return f"{request.node.name[:200]}-{next(_groups)}"


def events_until(client, done, timeout=10.0):
    """Events until done(events) holds; fails after `timeout` seconds."""
    import time
    events = []
    deadline = time.monotonic() + timeout
    while not done(events):
        left = deadline - time.monotonic()
        assert left > 0, f"gave up waiting; got {events!r}"
        event = client.next_event(min(left, 1.0))
        if event is not None:
            events.append(event)
    return events
