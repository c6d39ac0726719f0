"""bcast.Client in asyncio: async iteration and next_event_async() wait on the client's fd
without blocking the loop."""
import asyncio
import time

import pytest

import bcast
from daemon_process import Bcastd


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 30))


def test_async_for_yields_every_event(client, group):
    async def main():
        client.join(group)
        for i in range(50):
            client.publish(group, f"m{i}".encode(), order="total")
        deliveries, receipts = [], []
        async for event in client:
            if isinstance(event, bcast.Delivery):
                deliveries.append(event.payload)
            elif isinstance(event, bcast.Receipt):
                receipts.append(event.gseq)
            if len(receipts) == 50:
                break
        return deliveries, receipts

    deliveries, receipts = run(main())
    assert deliveries == [f"m{i}".encode() for i in range(50)]
    assert receipts == sorted(receipts)


def test_waiting_does_not_block_the_loop(daemon, client, group):
    """While one task waits for a delivery, another publishes it: a blocking wait would hang."""
    async def main():
        client.join(group)
        assert isinstance(await client.next_event_async(5), bcast.View)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def publish_later():
            await asyncio.sleep(0.3)
            with bcast.connect(daemon.socket) as publisher:
                publisher.publish_and_wait(group, b"later")

        ticking = asyncio.create_task(ticker())
        publishing = asyncio.create_task(publish_later())
        event = await client.next_event_async(10)
        await publishing
        ticking.cancel()
        return event, ticks

    event, ticks = run(main())
    assert isinstance(event, bcast.Delivery) and event.payload == b"later"
    assert ticks >= 10, f"the loop ran only {ticks} ticks while waiting"


def test_a_timeout_returns_none_on_time(client):
    async def main():
        start = time.monotonic()
        event = await client.next_event_async(0.3)
        return event, time.monotonic() - start

    event, waited = run(main())
    assert event is None and 0.25 <= waited < 2


def test_many_clients_in_one_loop(daemon, group):
    async def consume(c, count):
        got = []
        async for event in c:
            if isinstance(event, bcast.Delivery):
                got.append(event.payload)
                if len(got) == count:
                    return got

    async def main():
        clients = [bcast.connect(daemon.socket) for _ in range(4)]
        for c in clients:
            c.join(group)
        tasks = [asyncio.create_task(consume(c, 20)) for c in clients]
        with bcast.connect(daemon.socket) as publisher:
            for i in range(20):
                publisher.publish(group, bytes([i]), mode="gossip", order="fifo")
            results = await asyncio.gather(*tasks)
            for c in clients:
                c.close()
        return results

    results = run(main())
    assert all(r == [bytes([i]) for i in range(20)] for r in results)


def test_a_lost_connection_ends_async_iteration():
    with Bcastd() as own:
        c = bcast.connect(own.socket)

        async def main():
            own.process.kill()
            with pytest.raises(bcast.Unavailable):
                async for _ in c:
                    pass

        start = time.monotonic()
        run(main())
        assert time.monotonic() - start < 5
        c.close()
