"""docs/protocol.md, "Handshake", "Message types" (welcome, status_reply) and the client limits
of "Limits"."""
import resource
import time

import pytest
import zmq

from conftest import MAX_MESSAGE_BYTES
from daemon_process import Bcastd
from raw_client import RawClient


# "Nothing else may come first: any other request before a successful hello is answered with
# error protocol ("say hello before ...")."
@pytest.mark.parametrize("header", [{"type": "status"}, {"type": "join", "group": "g"},
                                    {"type": "leave", "group": "g"}])
def test_requests_before_hello_are_refused(raw, header):
    reply = raw.request(header)
    assert reply.type == "error" and reply["code"] == "protocol", reply
    assert "say hello before" in reply["message"]


def test_publish_before_hello_is_refused(raw):
    reply = raw.request({"type": "publish", "group": "g", "mode": "reliable", "order": "fifo"},
                        b"x")
    assert reply.type == "error" and reply["code"] == "protocol", reply


# "The daemon answers welcome with the client's sender, its own node_id, the protocol version
# and max_message_bytes"; "sender [...] bits 63..48 the daemon's node id"
def test_welcome(raw, daemon):
    welcome = raw.request({"type": "hello", "version": 1})
    assert welcome.type == "welcome"
    assert welcome["version"] == 1
    assert welcome["max_message_bytes"] == MAX_MESSAGE_BYTES
    assert welcome["sender"] >> 48 == welcome["node_id"]
    status = raw.request({"type": "status"})
    assert status["node_id"] == welcome["node_id"]


# "One DEALER connection is one client (one sender)"
def test_each_connection_is_its_own_sender(daemon):
    with RawClient(daemon.socket) as a, RawClient(daemon.socket) as b:
        assert a.hello()["sender"] != b.hello()["sender"]


# "Or it answers error and treats the connection as not connected: protocol with
# supported_versions (the versions it speaks) for an unsupported version"
@pytest.mark.parametrize("version", [2, 99, 2**32 - 1])
def test_an_unsupported_version_is_refused_with_the_supported_ones(raw, version):
    reply = raw.request({"type": "hello", "version": version})
    assert reply.type == "error" and reply["code"] == "protocol", reply
    assert reply.get("supported_versions") == [1], (
        f"a refused version must say, machine-readably, which versions are spoken: {reply}")
    after = raw.request({"type": "status"})
    assert after.type == "error" and "say hello before" in after["message"], after


# "A second hello that is refused ends the earlier session too."
def test_a_refused_second_hello_ends_the_session(client, group):
    client.join(group)
    client.drain()
    reply = client.request({"type": "hello", "version": 7})
    assert reply.type == "error" and reply.get("supported_versions") == [1], reply
    after = client.request({"type": "status"})
    assert after.type == "error" and "say hello before" in after["message"], after


# "version R (uint, 1..2^32-1)"
@pytest.mark.parametrize("version", [0, 2**32])
def test_a_version_out_of_range_is_malformed(raw, version):
    reply = raw.request({"type": "hello", "version": version})
    assert reply.type == "error" and reply["code"] == "protocol", reply


# "A second hello on the same connection starts over: a new sender, no joined groups, new seq
# numbering."
def test_a_second_hello_starts_over(client, group):
    client.join(group)
    client.reply_to(client.publish(group, b"1"))
    client.reply_to(client.publish(group, b"2"))
    client.drain()
    first_sender = client.welcome["sender"]
    second = client.hello()
    assert second["sender"] != first_sender
    receipt = client.reply_to(client.publish(group, b"3"))
    assert receipt["seq"] == 1, "seq numbering restarts"
    assert [m for m in client.drain() if m.type == "delivery"] == [], "no joined groups"


# "client_name O (str, <= 255 bytes)"; Limits: "client_name | 255 bytes | error protocol"
def test_client_name_limit(raw):
    assert raw.request({"type": "hello", "version": 1, "client_name": "n" * 255}).type == \
        "welcome"
    reply = raw.request({"type": "hello", "version": 1, "client_name": "n" * 256})
    assert reply.type == "error" and reply["code"] == "protocol", reply


# "role is "leader", "follower", "candidate" or "learner""; status_reply's keys and kinds are
# checked by check_header.
def test_status_reply(client):
    status = client.status()
    assert status["role"] == "leader"  # a --dev daemon leads its one-node cluster
    assert status["leader"] == status["node_id"]
    assert status["node_id"] in status["members"]


# Limits: "clients per daemon | 1024 by default | error busy on hello"
def test_the_1025th_client_is_refused_busy():
    needed = 2 * 1100 + 100  # a socket and a connection per client, in this process and bcastd
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"needs {needed} file descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    context = zmq.Context()
    context.set(zmq.MAX_SOCKETS, 1200)
    clients = []
    try:
        with Bcastd() as daemon:  # its own daemon: no other client counts
            for _ in range(1024):
                c = RawClient(daemon.socket, context)
                clients.append(c)
                c.send({"type": "hello", "version": 1})
            for c in clients:
                assert c.expect("welcome").type == "welcome"
            extra = RawClient(daemon.socket, context)
            clients.append(extra)
            reply = extra.request({"type": "hello", "version": 1})
            assert reply.type == "error" and reply["code"] == "busy", reply
    finally:
        for c in clients:
            c.close()
        context.term()


# Limits: "any frame | 2 x max_message_bytes + 64 KiB | ZeroMQ closes the connection; the next
# request needs a new hello"
def test_a_frame_over_the_socket_limit_drops_the_connection(client, group):
    client.send_frames([{"type": "publish", "id": client.take_id(), "group": group,
                         "mode": "reliable", "order": "fifo"},
                        b"h" * (2 * MAX_MESSAGE_BYTES + 64 * 1024 + 1)])
    # The DEALER reconnects by itself, to a daemon that forgot it. Requests sent before the drop
    # is noticed may be lost with the old connection, so each try waits only a second.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            reply = client.request({"type": "status"}, timeout=1.0)
        except AssertionError:
            continue
        if reply.type == "error":
            assert "say hello before" in reply["message"], reply
            break
        time.sleep(0.05)
    else:
        pytest.fail("the connection was not dropped: status still answered after 10 s")
    assert client.hello()["type"] == "welcome"
