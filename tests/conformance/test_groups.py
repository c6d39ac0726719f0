"""docs/protocol.md, "Groups" and the group rows of "Errors" and "Limits"."""
import time

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


def _next_agreed_view(client, group, timeout=10.0):
    """The next view of `group` that carries a view_id (an agreed group view)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = client.receive(max(deadline - time.monotonic(), 0.01))
        if message is not None and message.type == "view" and "view_id" in message.header:
            assert message["group"] == group, message
            return message
    raise AssertionError(f"no agreed view of {group} within {timeout} s")


# "Agreed group views": every change of a group's membership reaches its members as a view with
# view_id 1, 2, 3, ..., the members (sender, node, name), who joined or left, and the cause.
def test_agreed_views_follow_joins_leaves_and_disconnects(daemon, group):
    with RawClient(daemon.socket) as client:
        client.welcome = client.hello(client_name="conformance", group_views=True)
        _agreed_views_follow_joins_leaves_and_disconnects(daemon, client, group)


# "Without group_views in its hello, a client gets only the view after each join."
def test_agreed_views_only_when_asked(daemon, client, group):
    client.join(group)
    assert client.expect("view").get("view_id") is None
    with RawClient(daemon.socket) as other:
        other.hello()
        other.join(group)
    time.sleep(0.5)
    assert [m for m in client.drain() if m.type == "view"] == []


def _agreed_views_follow_joins_leaves_and_disconnects(daemon, client, group):
    client.join(group)
    first = _next_agreed_view(client, group)
    me = {"sender": client.welcome["sender"], "node": client.welcome["node_id"],
          "name": "conformance"}
    assert first["joined"] == [me] and first["clients"] == [me] and first["cause"] == "join"
    with RawClient(daemon.socket) as other:
        other.hello(client_name="other")
        other.join(group)
        joined = _next_agreed_view(client, group)
        assert joined["view_id"] == first["view_id"] + 1
        assert [m["name"] for m in joined["joined"]] == ["other"]
        assert joined["cause"] == "join" and len(joined["clients"]) == 2
        assert other.request({"type": "leave", "group": group}).type == "ok"
        left = _next_agreed_view(client, group)
        assert left["view_id"] == joined["view_id"] + 1
        assert left["cause"] == "leave" and left["clients"] == [me]
        other.join(group)
        assert _next_agreed_view(client, group)["cause"] == "join"
    gone = _next_agreed_view(client, group)  # the connection closed
    assert gone["cause"] == "disconnect" and gone["clients"] == [me]
