"""bcast.Client against a real bcastd --dev: the API, and the sentences of docs/protocol.md a
binding user sees (the conformance suite checks the same ones over the raw protocol)."""
import time

import pytest

import bcast
from cases import BAD_GROUP_NAMES, LONGEST_GROUP_NAME, OFFERED_CELLS, REFUSED_CELLS
from conftest import MAX_MESSAGE_BYTES, events_until
from daemon_process import Bcastd


def receipts_and_errors(events):
    return [e for e in events if isinstance(e, (bcast.Receipt, bcast.ErrorEvent))]


def test_connect_facts_and_status(client):
    assert client.sender >> 48 == client.node_id
    assert client.max_message_bytes == MAX_MESSAGE_BYTES
    status = client.status()
    assert status.node_id == client.node_id
    assert status.role == "leader" and status.leader == status.node_id
    assert status.node_id in status.members
    assert status.commit_index >= 1 and status.term >= 1
    assert bcast.library_version()


def test_connecting_where_no_daemon_listens_fails_quickly(tmp_path):
    start = time.monotonic()
    with pytest.raises(bcast.Unavailable) as refused:
        bcast.connect(str(tmp_path / "nobody.sock"), request_timeout=0.3)
    assert time.monotonic() - start < 3
    assert "does not exist" in refused.value.message


def test_bad_options_are_refused(daemon):
    with pytest.raises(bcast.InvalidArgument):
        bcast.connect(daemon.socket, max_in_flight=0)
    with pytest.raises(bcast.InvalidArgument):
        bcast.connect(daemon.socket, client_name="n" * 256)
    with pytest.raises(ValueError):
        bcast.connect(daemon.socket, request_timeout=-1)


def test_the_socket_defaults_to_bcast_socket(daemon, monkeypatch):
    monkeypatch.setenv("BCAST_SOCKET", daemon.socket)
    with bcast.connect() as c:
        assert c.status().role == "leader"


# "join [...]: the ok reply comes first, then a view of the group."
def test_join_gives_a_view(client, group):
    client.join(group)
    view = client.next_event(5)
    assert view == bcast.View(group, (client.node_id,))


# "Own deliveries come first" / "A publish ends in exactly one receipt or one error with its id"
# -- in every offered cell, through the binding.
def test_every_cell_round_trips_with_own_delivery_before_receipt(client, group):
    client.join(group)
    client.next_event(5)  # the view
    sent = {}
    for i in range(10):
        for mode, order in OFFERED_CELLS:
            payload = f"{mode}/{order}/{i}".encode() + b"\x00\xff"
            sent[client.publish(group, payload, mode=mode, order=order)] = (mode, order, payload)
    events = events_until(client, lambda es: len(receipts_and_errors(es)) == len(sent))
    delivered = {}
    for event in events:
        if isinstance(event, bcast.Delivery):
            assert event.group == group and event.sender == client.sender
            assert (event.gseq is not None) == (event.order == bcast.Order.TOTAL)
            delivered[event.payload] = event
        else:
            assert isinstance(event, bcast.Receipt), event
            mode, order, payload = sent.pop(event.request_id)
            assert payload in delivered, f"receipt of {payload!r} before its delivery"
            delivery = delivered[payload]
            assert (delivery.mode, delivery.order) == (bcast.Mode(mode), bcast.Order(order))
            assert event.seq == delivery.seq and event.gseq == delivery.gseq
    assert sent == {}
    assert client.in_flight == 0
    assert client.next_event(0.2) is None, "a second answer to some publish"


# "Not every combination is offered: best-effort with causal or total is refused with
# invalid_argument"
@pytest.mark.parametrize("mode,order", sorted(REFUSED_CELLS))
def test_refused_cells_end_in_an_error_event(client, group, mode, order):
    request_id = client.publish(group, b"x", mode=mode, order=order)
    event = client.next_event(5)
    assert isinstance(event, bcast.ErrorEvent) and event.request_id == request_id
    assert event.code == "invalid_argument"
    assert isinstance(event.error(), bcast.InvalidArgument)
    with pytest.raises(bcast.InvalidArgument):
        client.publish_and_wait(group, b"x", mode=mode, order=order)


# "A group name is 1..255 bytes; join, leave and publish refuse any other (an empty one
# included) with invalid_argument."
@pytest.mark.parametrize("name_case", sorted(BAD_GROUP_NAMES))
def test_bad_group_names_are_refused_alike(client, name_case):
    name = BAD_GROUP_NAMES[name_case]
    with pytest.raises(bcast.InvalidArgument):
        client.join(name)
    with pytest.raises(bcast.InvalidArgument):
        client.leave(name)
    with pytest.raises(bcast.InvalidArgument):
        client.publish_and_wait(name, b"x")


def test_the_longest_group_name_and_binary_names_work(client):
    client.join(LONGEST_GROUP_NAME)
    binary = b"\xff\x00g"
    client.join(binary)
    client.publish_and_wait(binary, b"b")
    events = events_until(client, lambda es: any(isinstance(e, bcast.Delivery) for e in es))
    delivery = [e for e in events if isinstance(e, bcast.Delivery)][0]
    assert delivery.group.encode("utf-8", "surrogateescape") == binary


def test_a_payload_over_the_limit_is_refused_before_sending(client, group):
    with pytest.raises(bcast.TooLarge):
        client.publish(group, b"p" * (MAX_MESSAGE_BYTES + 1))
    client.publish_and_wait(group, b"p" * MAX_MESSAGE_BYTES)


def test_unknown_modes_and_orders_are_value_errors(client, group):
    with pytest.raises(ValueError):
        client.publish(group, b"x", mode="pigeon")
    with pytest.raises(ValueError):
        client.publish(group, b"x", order="alphabetical")
    with pytest.raises(TypeError):
        client.publish(group, 42)


# "seq numbers one sender's publishes 1, 2, 3, ..." with a small window: pipelined, bounded.
def test_pipelining_through_a_small_window(daemon, group):
    with bcast.connect(daemon.socket, max_in_flight=16) as c:
        ids = []
        for i in range(1000):
            ids.append(c.publish(group, str(i), mode="reliable", order="causal"))
            assert c.in_flight <= 16
        events = events_until(c, lambda es: len(es) == 1000)
    assert all(isinstance(e, bcast.Receipt) for e in events)
    assert [e.request_id for e in events] == ids
    assert [e.seq for e in events] == list(range(1, 1001))


def test_publish_and_wait_returns_the_receipt_and_queues_the_rest(client, group):
    client.join(group)
    receipt = client.publish_and_wait(group, b"t", order="total")
    assert receipt.seq == 1 and receipt.gseq is not None
    kinds = [type(e) for e in client.events(timeout=0.3)]
    assert kinds == [bcast.View, bcast.Delivery], "what arrived while waiting is kept, in order"


# commit_index: "once a total-order publish's receipt arrives, the status of the daemon that
# sent it shows a larger commit_index than before the publish."
def test_commit_index_grows_with_committed_total_order_publishes(client, group):
    before = client.status().commit_index
    client.publish_and_wait(group, b"t", order="total")
    assert client.status().commit_index > before


# "leave stops that"; deliveries reach every joined client.
def test_two_clients_and_leave(daemon, client, group):
    with bcast.connect(daemon.socket) as other:
        other.join(group)
        assert isinstance(other.next_event(5), bcast.View)
        client.publish_and_wait(group, b"one")
        delivery = other.next_event(5)
        assert isinstance(delivery, bcast.Delivery) and delivery.payload == b"one"
        assert delivery.sender == client.sender
        other.leave(group)
        client.publish_and_wait(group, b"two")
        assert other.next_event(0.3) is None


def test_iterating_a_client_yields_events(client, group):
    client.join(group)
    client.publish(group, b"it")
    seen = []
    for event in client:
        seen.append(event)
        if isinstance(event, bcast.Receipt):
            break
    assert [type(e) for e in seen] == [bcast.View, bcast.Delivery, bcast.Receipt]


def test_a_closed_client_is_unavailable(daemon):
    c = bcast.connect(daemon.socket)
    c.close()
    c.close()  # idempotent
    with pytest.raises(bcast.Unavailable):
        c.join("g")


def test_a_lost_daemon_is_reported_as_unavailable():
    with Bcastd() as own:
        c = bcast.connect(own.socket)
        own.process.kill()
        own.process.wait()
        deadline = time.monotonic() + 10
        with pytest.raises(bcast.Unavailable) as lost:
            while time.monotonic() < deadline:
                c.next_event(0.2)
        assert "lost" in lost.value.message
        with pytest.raises(bcast.Unavailable):
            c.publish("g", b"x")
        c.close()


# "A join with from_gseq N first streams the group's total-order deliveries with gseq >= N out of
# that history [...], then the live ones" (docs/protocol.md, Replay).
def test_join_from_a_gseq_replays_the_total_order_then_goes_live(daemon, client, group):
    receipts = [client.publish_and_wait(group, f"old {i}", mode="reliable", order="total")
                for i in range(5)]
    gseqs = [r.gseq for r in receipts]
    with bcast.connect(daemon.socket, client_name="replayer") as replayer:
        replayer.join(group, from_gseq=gseqs[1])
        live = client.publish_and_wait(group, "live", mode="reliable", order="total")
        events = events_until(replayer, lambda es: sum(
            isinstance(e, bcast.Delivery) for e in es) == 5)
    delivered = [(e.gseq, e.payload) for e in events if isinstance(e, bcast.Delivery)]
    assert delivered == [(g, f"old {i}".encode()) for i, g in enumerate(gseqs)][1:] + [
        (live.gseq, b"live")]
