"""docs/protocol.md, "Backpressure and busy": nothing is dropped silently."""
import re
import time

from raw_client import RawClient, check_header, pack

from conftest import CLIENT_QUEUE_BYTES

# "each message counts its header and payload and 128 bytes of overhead": an empty best-effort
# delivery costs at least 128 bytes.
MESSAGES_THE_BOUND_HOLDS = CLIENT_QUEUE_BYTES // 128


# "best-effort deliveries: the oldest still queued are dropped to make room [...] and the client
# is told at once [...] and exactly: one gap event per run of consecutive dropped positions of an
# origin's best-effort stream (group, origin, mode best-effort, from_seq..to_seq, reason
# slow-subscriber)". "Replies are never dropped".
def test_a_slow_reader_learns_which_deliveries_it_lost(daemon, group):
    total = MESSAGES_THE_BOUND_HOLDS + 20000
    with RawClient(daemon.socket, rcvhwm=1) as slow, RawClient(daemon.socket) as publisher:
        slow.hello()
        slow.join(group)
        slow.drain(0.1)
        publisher.hello()
        # Pipelined, a bounded window at a time (raw frames: this is the bulk of the test's time).
        frame = pack({"type": "publish", "id": 1, "group": group, "mode": "best-effort",
                      "order": "none"})
        answered = 0
        for sent in range(1, total + 1):
            publisher.socket.send_multipart([frame, b""])
            while publisher.socket.poll(0 if sent - answered < 5000 else 5000):
                check_header(publisher.socket.recv_multipart()[0])
                answered += 1
        while answered < total and publisher.socket.poll(5000):
            publisher.socket.recv_multipart()
            answered += 1
        assert answered == total
        # The slow client's queue is full; its request's reply waits for room.
        status_id = slow.send({"type": "status"})

        delivered = set()
        dropped = []
        status_replies = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not slow.socket.poll(1000):
                break
            frames = slow.socket.recv_multipart()
            message = check_header(frames[0])
            if len(frames) == 2:
                delivered.add(message["stream_seq"])
                continue
            if message["type"] == "gap":
                assert message["reason"] == "slow-subscriber", message
                assert message["group"] == group and message["mode"] == "best-effort", message
                dropped.extend(range(message["from_seq"], message["to_seq"] + 1))
            elif message["type"] == "status_reply":
                assert message["id"] == status_id
                status_replies += 1
            else:
                assert False, f"unexpected {message}"
        assert status_replies == 1, "a reply was lost behind a full queue"
        assert dropped, f"{total - len(delivered)} of {total} deliveries lost without a gap event"
        # Exactly: each position either delivered or named by a gap, once.
        assert len(dropped) == len(set(dropped)), "a position named twice"
        assert not delivered & set(dropped), "a delivered position named by a gap"
        assert len(delivered) + len(dropped) == total, (len(delivered), len(dropped))
