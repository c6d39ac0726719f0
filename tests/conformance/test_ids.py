"""docs/protocol.md, "Request ids" and "Errors": every reply echoes its request's id, and every
refusal carries the id whenever it is readable."""
import msgpack
import pytest

from conftest import MAX_MESSAGE_BYTES

HEADER_LIMIT = 64 * 1024


def expect_refusal(client, frames, request_id, code="protocol"):
    client.send_frames(frames)
    reply = client.expect(f"an error for a frame with id {request_id}")
    assert reply.type == "error", reply
    assert reply["code"] == code, reply
    assert reply["id"] == request_id, (
        f"the error should carry the request's readable id {request_id}: {reply}")
    assert reply["message"], "an error without a reason"
    return reply


# "Every reply (welcome, ok, receipt, status_reply, error) echoes the id of the request it
# answers."
def test_every_reply_echoes_its_id(raw, group):
    ids = {}
    ids["welcome"] = raw.send({"type": "hello", "version": 1, "id": 1000})
    ids["ok"] = raw.send({"type": "join", "group": group, "id": 1_000_000})
    ids["status_reply"] = raw.send({"type": "status", "id": 2**40})
    ids["receipt"] = raw.send({"type": "publish", "group": group, "mode": "reliable",
                               "order": "total", "id": 2**64 - 1}, b"x")
    ids["error"] = raw.send({"type": "publish", "group": group, "mode": "best-effort",
                             "order": "total", "id": 7}, b"x")
    for expected_type, request_id in ids.items():
        reply = raw.reply_to(request_id)
        assert reply.type == expected_type, reply


# "Events (delivery, view) have no id"  (check_header refuses an id on them)
def test_events_carry_no_id(client, group):
    client.join(group)
    client.reply_to(client.publish(group, b"x"))
    events = client.drain()
    assert {e.type for e in events} == {"view", "delivery"}
    assert all("id" not in e.header for e in events)


# "an unsigned integer >= 1"
def test_id_zero_is_refused(client):
    expect_refusal(client, [{"type": "status", "id": 0}], 0)


# The frames whose errors used to come back with id 0 although their id was readable (issue 13):
# "That includes a header over 64 KiB, one with trailing bytes, more than 64 keys or deeper
# nesting, and a message of more than two frames."
def test_header_over_64_kib(client):
    request_id = client.take_id()
    header = {"type": "status", "id": request_id, "pad": "x" * HEADER_LIMIT}
    expect_refusal(client, [header], request_id, code="too_large")


def test_header_over_64_kib_with_the_id_last(client):
    request_id = client.take_id()
    frame = msgpack.packb({"type": "status", "pad": "x" * HEADER_LIMIT, "id": request_id})
    expect_refusal(client, [frame], request_id, code="too_large")


def test_trailing_bytes(client):
    request_id = client.take_id()
    frame = msgpack.packb({"type": "status", "id": request_id}) + b"junk"
    expect_refusal(client, [frame], request_id)


def test_too_many_keys(client):
    request_id = client.take_id()
    header = {f"k{i}": i for i in range(80)}
    header.update({"type": "status", "id": request_id})  # after the 64th key
    expect_refusal(client, [header], request_id)


def test_too_deep(client):
    request_id = client.take_id()
    deep = 0
    for _ in range(50):
        deep = [deep]
    expect_refusal(client, [{"type": "status", "x": deep, "id": request_id}], request_id)


def test_too_many_frames(client):
    request_id = client.take_id()
    expect_refusal(client, [{"type": "status", "id": request_id}, b"a", b"b", b"c"], request_id)


def test_payload_too_large(client, group):
    request_id = client.take_id()
    expect_refusal(client, [{"type": "publish", "id": request_id, "group": group,
                             "mode": "reliable", "order": "fifo"},
                            b"p" * (MAX_MESSAGE_BYTES + 1)], request_id, code="too_large")


@pytest.mark.parametrize("what,header", [
    ("no type", {"version": 1}),
    ("an unknown type", {"type": "frobnicate"}),
    ("a daemon-only type", {"type": "receipt", "seq": 1, "gseq": None}),
    ("a missing required key", {"type": "join"}),
    ("a wrong value type", {"type": "join", "group": 5}),
    ("an unknown mode", {"type": "publish", "group": "g", "mode": "pigeon", "order": "fifo"}),
    ("an unknown order", {"type": "publish", "group": "g", "mode": "gossip", "order": "abc"}),
])
def test_malformed_headers(client, what, header):
    request_id = client.take_id()
    expect_refusal(client, [dict(header, id=request_id)], request_id)


# "Only when no id can be read is the error's id 0."
@pytest.mark.parametrize("what,frame", [
    ("not msgpack", b"\xc1garbage"),
    ("not a map", msgpack.packb(["status", 5])),
    ("a string id", msgpack.packb({"type": "status", "id": "5"})),
    ("a negative id", msgpack.packb({"type": "status", "id": -5})),
    ("cut short before the id", msgpack.packb({"type": "status", "id": 5})[:-3]),
    ("no id", msgpack.packb({"type": "status"})),
])
def test_unreadable_ids_are_answered_with_id_0(client, what, frame):
    expect_refusal(client, [frame], 0)
