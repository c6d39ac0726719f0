"""docs/protocol.md, "Groups" and the group rows of "Errors" and "Limits"."""
import pytest

from cases import BAD_GROUP_NAMES, LONGEST_GROUP_NAME
from raw_client import RawClient


# "join makes the daemon forward every later delivery of the group to this client; the ok reply
# comes first, then a view of the group."
def test_join_answers_ok_then_a_view(client, group):
    request_id = client.send({"type": "join", "group": group})
    ok = client.expect("ok")
    assert ok.type == "ok" and ok["id"] == request_id, ok
    view = client.expect("view")
    assert view.type == "view" and view["group"] == group, view
    assert client.welcome["node_id"] in view["members"]


# "leave stops that."
def test_leave_stops_deliveries(daemon, client, group):
    client.join(group)
    with RawClient(daemon.socket) as publisher:
        publisher.hello()
        publisher.reply_to(publisher.publish(group, b"before"))
        assert [m.payload for m in client.drain() if m.type == "delivery"] == [b"before"]
        assert client.request({"type": "leave", "group": group}).type == "ok"
        publisher.reply_to(publisher.publish(group, b"after"))
        # A round hands out its deliveries before its receipts: had "after" been forwarded, it
        # would already be on its way.
        assert [m for m in client.drain() if m.type == "delivery"] == []


# "Joining twice or leaving a group not joined is not an error."
def test_join_twice_and_leave_unjoined_are_fine(client, group):
    client.join(group)
    client.join(group)
    client.reply_to(client.publish(group, b"once"))
    deliveries = [m for m in client.drain() if m.type == "delivery"]
    assert [d.payload for d in deliveries] == [b"once"], "joined twice, delivered once"
    assert client.request({"type": "leave", "group": group + "-never"}).type == "ok"


# "Messages are published to a group whether or not the publisher joined it; a publisher that
# joined its own group receives its own messages too."
def test_publishers_need_not_join_and_joined_ones_receive_their_own(daemon, client, group):
    client.join(group)
    with RawClient(daemon.socket) as outsider:
        outsider.hello()
        assert outsider.reply_to(outsider.publish(group, b"from outside")).type == "receipt"
        assert [m for m in outsider.drain() if m.type == "delivery"] == []
    client.reply_to(client.publish(group, b"mine"))
    payloads = [m.payload for m in client.drain() if m.type == "delivery"]
    assert payloads == [b"from outside", b"mine"]


# "A group name is 1..255 bytes; join, leave and publish refuse any other (an empty one included)
# with invalid_argument."
@pytest.mark.parametrize("name_case", sorted(BAD_GROUP_NAMES))
@pytest.mark.parametrize("request_type", ["join", "leave", "publish"])
def test_bad_group_names_are_refused_alike(client, name_case, request_type):
    header = {"type": request_type, "group": BAD_GROUP_NAMES[name_case]}
    payload = None
    if request_type == "publish":
        header.update(mode="reliable", order="fifo")
        payload = b"x"
    reply = client.request(header, payload)
    assert reply.type == "error", f"{request_type} accepted a group name publish refuses: {reply}"
    assert reply["code"] == "invalid_argument", reply


@pytest.mark.parametrize("request_type", ["join", "leave", "publish"])
def test_the_longest_group_name_is_accepted(client, request_type):
    header = {"type": request_type, "group": LONGEST_GROUP_NAME}
    payload = None
    if request_type == "publish":
        header.update(mode="reliable", order="fifo")
        payload = b"x"
    reply = client.request(header, payload)
    assert reply.type in ("ok", "receipt"), reply
