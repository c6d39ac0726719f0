"""docs/protocol.md, "Order of arrival", "Receipts", the seq/gseq/commit_index rules of
"Message types", and the refused combinations."""
import time

import pytest

from cases import OFFERED_CELLS, REFUSED_CELLS
from daemon_process import Bcastd
from raw_client import RawClient


def publish_all(client, group, cells, per_cell):
    """Pipelines `per_cell` publishes of each cell; returns {request id: (cell, payload)}."""
    sent = {}
    for i in range(per_cell):
        for mode, order in cells:
            payload = f"{mode}/{order}/{i}".encode()
            sent[client.publish(group, payload, mode, order)] = ((mode, order), payload)
    return sent


def collect(client, sent, timeout=10.0):
    """Every message until each publish in `sent` got its receipt or error."""
    waiting = set(sent)
    arrived = []
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        message = client.receive(timeout=max(deadline - time.monotonic(), 0.01))
        if message is None:
            break
        arrived.append(message)
        if message.type in ("receipt", "error"):
            assert message["id"] in waiting, f"a second answer or an unknown id: {message}"
            waiting.discard(message["id"])
    assert not waiting, f"{len(waiting)} publishes got neither receipt nor error"
    return arrived


# "A publish ends in exactly one receipt or one error with its id."
# "Own deliveries come first: when the publisher joined the group, its own delivery of a message
# arrives before that message's receipt, in every mode and order"
def test_own_delivery_arrives_before_its_receipt_in_every_cell(client, group):
    client.join(group)
    client.drain()
    sent = publish_all(client, group, OFFERED_CELLS, per_cell=20)
    arrived = collect(client, sent)
    arrived += client.drain(0.3)  # a second answer to any publish would show up here
    delivered = set()
    for message in arrived:
        if message.type == "delivery":
            delivered.add((message["mode"], message["order"], message.payload))
        elif message.type == "receipt":
            (mode, order), payload = sent[message["id"]]
            assert (mode, order, payload) in delivered, (
                f"the receipt of {payload!r} ({mode}/{order}) arrived before its own delivery")
        else:
            pytest.fail(f"unexpected {message}")
    assert sum(1 for m in arrived if m.type == "receipt") == len(sent)


# "seq numbers one sender's publishes 1, 2, 3, ... in the order the daemon accepted them."
# "Receipts of one sender's non-total publishes arrive in publish order"
def test_seq_counts_accepted_publishes_and_receipts_keep_publish_order(client, group):
    ids = []
    refused = []
    for i in range(30):
        ids.append(client.publish(group, b"x", "gossip", "causal"))
        if i % 10 == 5:  # refused: takes no seq
            refused.append(client.publish(group, b"x", "best-effort", "total"))
    arrived = collect(client, {i: None for i in ids + refused}, 10)
    assert sorted(m["id"] for m in arrived if m.type == "error") == refused
    arrived = [m for m in arrived if m.type == "receipt"]
    assert [m["id"] for m in arrived] == ids
    assert [m["seq"] for m in arrived] == list(range(1, 31))


# "gseq is the message's position in the one global total order; it is present (non-nil) only
# for order "total"." "total-order receipts arrive in gseq order."
def test_gseq_only_for_total_order_increasing_and_matching_the_delivery(client, group):
    client.join(group)
    client.drain()
    sent = publish_all(client, group, OFFERED_CELLS, per_cell=10)
    arrived = collect(client, sent)
    gseq_of_delivery = {m["seq"]: m["gseq"] for m in arrived if m.type == "delivery"}
    total_gseqs = []
    for m in arrived:
        if m.type != "receipt":
            continue
        (mode, order), _ = sent[m["id"]]
        if order == "total":
            assert m["gseq"] is not None and m["gseq"] >= 1, m
            total_gseqs.append(m["gseq"])
        else:
            assert m["gseq"] is None, m
        assert gseq_of_delivery[m["seq"]] == m["gseq"], "a receipt and its delivery disagree"
    assert total_gseqs == sorted(total_gseqs) and len(set(total_gseqs)) == len(total_gseqs)


# "Not every combination is offered: best-effort with causal or total is refused with
# invalid_argument"
@pytest.mark.parametrize("mode,order", sorted(REFUSED_CELLS))
def test_refused_combinations(client, group, mode, order):
    reply = client.reply_to(client.publish(group, b"x", mode, order))
    assert reply.type == "error" and reply["code"] == "invalid_argument", reply


# "Each is answered while it is handled by its immediate reply [...]. These come in request
# order."
def test_immediate_replies_come_in_request_order(client, group):
    requests = [
        {"type": "status"},
        {"type": "join", "group": group},
        {"type": "publish", "group": group, "mode": "best-effort", "order": "causal"},
        {"type": "status"},
        {"type": "leave", "group": group},
        {"type": "publish", "group": "", "mode": "reliable", "order": "none"},
        {"type": "status"},
    ]
    ids = [client.send(r, b"x" if r["type"] == "publish" else None) for r in requests]
    replies = [m for m in (client.expect("a reply") for _ in range(len(ids) + 1))
               if m.type != "view"]
    assert [m["id"] for m in replies] == ids


# "commit_index is the daemon's Raft commit index [...] It never decreases while the daemon
# runs, and once a total-order publish's receipt arrives, the status of the daemon that sent it
# shows a larger commit_index than before the publish."
def test_commit_index_grows_with_each_committed_total_order_publish(client, group):
    previous = client.status()["commit_index"]
    for _ in range(3):
        receipt = client.reply_to(client.publish(group, b"t", "reliable", "total"))
        assert receipt.type == "receipt", receipt
        now = client.status()["commit_index"]
        assert now > previous, f"commit_index {now} after a committed publish, {previous} before"
        previous = now
    for _ in range(3):
        client.reply_to(client.publish(group, b"n", "reliable", "fifo"))
        now = client.status()["commit_index"]
        assert now >= previous
        previous = now


# "every total-order publish on the minority side of a partition [is refused with timeout]" and
# "one that gets no position within the daemon's total-order timeout (3 s by default) is refused
# with timeout"; "fifo, causal and gossip keep flowing" (guarantees).
def test_without_quorum_total_order_is_held_then_refused_with_timeout():
    with Bcastd(peers=[2]) as daemon:  # node 2 never starts: no majority, no leader
        with RawClient(daemon.socket) as c:
            c.hello()
            start = time.monotonic()
            total = c.publish("minority", b"t", "reliable", "total")
            fifo = c.publish("minority", b"f", "reliable", "fifo")
            assert c.reply_to(fifo).type == "receipt", "non-total publishes keep flowing"
            reply = c.reply_to(total, timeout=15)
            waited = time.monotonic() - start
            assert reply.type == "error" and reply["code"] == "timeout", reply
            assert waited >= 2.0, f"refused after {waited:.1f} s: it should have been held"
            status = c.status()
            assert status["role"] in ("follower", "candidate") and status["leader"] is None
