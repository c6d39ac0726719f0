"""docs/protocol.md, "Frames": header encoding rules, checked on a real daemon."""
import struct

import msgpack
import pytest

from raw_client import pack


def fixstr(text):
    data = text.encode()
    assert len(data) < 32
    return bytes([0xA0 | len(data)]) + data


def raw_map(entries):
    """A msgpack map from (key, already-encoded value) pairs: encodings no library picks."""
    assert len(entries) < 16
    return bytes([0x80 | len(entries)]) + b"".join(fixstr(k) + v for k, v in entries)


def signed_forms(value):
    """`value` in each signed integer format: int 8, 16, 32, 64."""
    return {
        "int 8": b"\xd0" + struct.pack(">b", value),
        "int 16": b"\xd1" + struct.pack(">h", value),
        "int 32": b"\xd2" + struct.pack(">i", value),
        "int 64": b"\xd3" + struct.pack(">q", value),
    }


def expect_error(client, frames, code, request_id, mentions=None):
    client.send_frames(frames)
    reply = client.expect(f"an error for {frames!r}")
    assert reply.type == "error", reply
    assert reply["code"] == code, reply
    assert reply["id"] == request_id, f"the error should carry the request's id: {reply}"
    if mentions:
        assert mentions in reply["message"], reply
    return reply


# "Integers are msgpack unsigned integers [...]. A signed format (int 8/16/32/64, negative
# fixint) is an error even when the value is not negative."
@pytest.mark.parametrize("form", ["int 8", "int 16", "int 32", "int 64"])
def test_signed_formats_are_refused_where_an_integer_is_expected(client, form):
    request_id = client.take_id()
    # The id itself in a signed format: refused, and still echoed ("in any integer format").
    expect_error(client, [raw_map([("type", fixstr("status")),
                                   ("id", signed_forms(request_id)[form])])],
                 "protocol", request_id, '"id" must be an unsigned integer')
    request_id = client.take_id()
    expect_error(client, [raw_map([("type", fixstr("hello")), ("id", bytes([request_id])),
                                   ("version", signed_forms(1)[form])])],
                 "protocol", request_id, '"version" must be an unsigned integer')


def test_unsigned_formats_of_any_width_are_accepted(client):
    for width, code in ((1, b"\xcc"), (2, b"\xcd"), (4, b"\xce"), (8, b"\xcf")):
        request_id = client.take_id()
        encoded = code + request_id.to_bytes(width, "big")
        client.send_frames([raw_map([("type", fixstr("status")), ("id", encoded)])])
        reply = client.expect("a status reply")
        assert reply.type == "status_reply" and reply["id"] == request_id, reply


def test_negative_float_and_string_integers_are_refused(client):
    for bad in (-1, 1.0, "1"):
        request_id = client.take_id()
        expect_error(client, [{"type": "hello", "id": request_id, "version": bad}], "protocol",
                     request_id, '"version"')


# "Strings are msgpack str (UTF-8 expected, not checked); never bin."
def test_bin_is_not_a_string(client, group):
    request_id = client.take_id()
    expect_error(client, [pack({"type": "join", "id": request_id, "group": group.encode()})],
                 "protocol", request_id, '"group" must be a string')
    # Not checked for UTF-8: any bytes in a str are a name.
    client.send_frames([raw_map([("type", fixstr("join")), ("id", b"\x05"),
                                 ("group", b"\xa2\xff\xfe")])])
    assert client.expect("ok").type == "ok"


# "An optional key (O below) may be absent or nil; both mean "none", whatever the key's type."
def test_nil_means_none_for_an_optional_string(raw):
    welcome = raw.request({"type": "hello", "version": 1, "client_name": None})
    assert welcome.type == "welcome", welcome


# "A required key (R) may not be nil."
def test_nil_is_refused_for_a_required_key(client):
    request_id = client.take_id()
    expect_error(client, [{"type": "hello", "id": request_id, "version": None}], "protocol",
                 request_id, '"version"')


# "A header holds at most 64 keys"
def test_64_keys_accepted_65_refused_with_the_id(client):
    def header(keys):
        request_id = client.take_id()
        h = {"type": "status", "id": request_id}
        h.update({f"k{i}": i for i in range(keys - 2)})
        return request_id, h

    request_id, h = header(64)
    client.send_frames([h])
    reply = client.expect("status_reply")
    assert reply.type == "status_reply" and reply["id"] == request_id, reply
    request_id, h = header(65)
    expect_error(client, [h], "protocol", request_id)


# "it nests at most 4 levels, the header map being level 1"
def test_depth_4_accepted_5_refused_with_the_id(client):
    def nested(levels):
        value = 0
        for _ in range(levels):
            value = [value]
        return value

    request_id = client.take_id()
    client.send_frames([{"type": "status", "id": request_id, "x": nested(3)}])
    reply = client.expect("status_reply")
    assert reply.type == "status_reply", reply
    request_id = client.take_id()
    expect_error(client, [{"type": "status", "id": request_id, "x": nested(4)}], "protocol",
                 request_id)
    # Far deeper, the id after the deep value.
    request_id = client.take_id()
    deep = b"\x91" * 10000 + b"\x00"
    expect_error(client, [raw_map([("type", fixstr("status")), ("x", deep),
                                   ("id", bytes([request_id]))])], "protocol", request_id)


# "every map in it holds at most 64 entries and every array at most 65535 elements"
def test_nested_maps_and_arrays_are_bounded(client):
    request_id = client.take_id()
    expect_error(client, [{"type": "status", "id": request_id,
                           "x": {f"k{i}": i for i in range(65)}}], "protocol", request_id)
    request_id = client.take_id()
    # An array claiming 65536 elements (which a 64 KiB header could not hold anyway).
    frame = raw_map([("type", fixstr("status")), ("id", bytes([request_id])),
                     ("x", b"\xdd\x00\x01\x00\x00" + b"\x00" * 100)])
    expect_error(client, [frame], "protocol", request_id)


# "A key may not appear twice, whether or not the type uses it."
@pytest.mark.parametrize("key,first,second", [("group", fixstr("a"), fixstr("b")),
                                              ("unknown", b"\x01", b"\x01"),
                                              ("seq", b"\x01", b"\x02")])
def test_a_repeated_key_is_refused(client, key, first, second):
    request_id = client.take_id()
    entries = [("type", fixstr("join")), ("id", bytes([request_id])), (key, first), (key, second)]
    if key != "group":
        entries.append(("group", fixstr("g")))
    expect_error(client, [raw_map(entries)], "protocol", request_id, f'repeats key "{key}"')


# "Keys a message type does not use are ignored, whatever their value; so are unknown keys."
def test_unused_and_unknown_keys_are_ignored_whatever_their_value(client, group):
    extra = {"seq": "not a number", "members": {"a": [1.5, None]}, "sender": -7,
             "future_key": b"\x00\x01", "version": 99}
    reply = client.request(dict({"type": "join", "group": group}, **extra))
    assert reply.type == "ok", reply
    # Signed encodings are fine in keys the type does not use.
    request_id = client.take_id()
    client.send_frames([raw_map([("type", fixstr("status")), ("id", bytes([request_id])),
                                 ("seq", b"\xd0\x01"), ("gseq", b"\xff")])])
    assert client.reply_to(request_id).type == "status_reply"


# "The sender writes only the keys its type uses [...]; gseq and leader are written as nil when
# absent." -- RawClient.check_header checks every daemon message against the type tables (keys,
# kinds, smallest encodings); here the nil-valued keys.
def test_gseq_is_written_as_nil_without_total_order(client, group):
    client.join(group)
    request_id = client.publish(group, b"x", "reliable", "fifo")
    receipt = client.reply_to(request_id)
    assert receipt.type == "receipt" and "gseq" in receipt.header and receipt["gseq"] is None
    deliveries = [m for m in client.drain() if m.type == "delivery"]
    assert deliveries and "gseq" in deliveries[0].header and deliveries[0]["gseq"] is None


# "Every message, in both directions, is one ZeroMQ multipart message of one or two frames" /
# "Present exactly for publish [...] A request of another type than publish with a payload frame
# is refused (protocol)."
def test_a_payload_frame_on_another_request_is_refused_with_the_id(client, group):
    for header in ({"type": "join", "group": group}, {"type": "status"},
                   {"type": "leave", "group": group}):
        request_id = client.take_id()
        expect_error(client, [dict(header, id=request_id), b"payload"], "protocol", request_id,
                     "payload")


def test_more_than_two_frames_are_refused_with_the_id(client, group):
    request_id = client.take_id()
    expect_error(client, [{"type": "publish", "id": request_id, "group": group,
                           "mode": "reliable", "order": "fifo"}, b"a", b"b"],
                 "protocol", request_id, "3 frames")


# "The daemon takes a publish that lacks it as an empty payload"
def test_a_publish_without_payload_frame_carries_an_empty_payload(client, group):
    client.join(group)
    request_id = client.send({"type": "publish", "group": group, "mode": "reliable",
                              "order": "fifo"})
    assert client.reply_to(request_id).type == "receipt"
    deliveries = [m for m in client.drain() if m.type == "delivery"]
    assert [d.payload for d in deliveries] == [b""]


def test_the_daemon_encodes_its_headers_in_the_smallest_forms(client):
    # Done by check_header on every message; this decodes one by hand to show what is checked.
    client.send_frames([{"type": "status", "id": 300}])
    frame = client.socket.recv_multipart()[0]
    assert msgpack.packb(msgpack.unpackb(frame)) == frame
    assert b"\xcd\x01\x2c" in frame  # 300 as uint 16, the smallest form
