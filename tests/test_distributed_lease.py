"""The leased Redis queue: pops are leases, acks forget, the reaper puts back what a dead worker held."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from monitor.distributed.lease import LeaseStore
from monitor.distributed.redisconn import Backoff, with_retry

pytestmark = pytest.mark.redis


@pytest.fixture
def store(redis_url: str) -> Iterator[LeaseStore]:
    """A LeaseStore on a key of its own."""
    client = redis.Redis.from_url(redis_url)
    leases = LeaseStore(client, f"test-lease-{uuid.uuid4().hex[:8]}:requests")
    yield leases
    leases.clear()
    client.close()


def test_pop_leases_instead_of_deleting(store: LeaseStore) -> None:
    store.push(b"a")
    assert store.pop("w1/1", 30) == b"a"
    assert (store.pending(), store.in_flight()) == (0, 1)
    assert store.pop("w1/2", 30) is None
    store.ack(["w1/1"])
    assert (store.pending(), store.in_flight()) == (0, 0)
    assert store.server.hlen(store.keys.leased) == 0


def test_lower_score_pops_first_and_identical_payloads_collapse(store: LeaseStore) -> None:
    store.push(b"feed", 1.0)
    store.push(b"feed", 1.0)
    store.push(b"article", 0.0)
    assert store.pending() == 2
    assert [store.pop(f"t{i}", 30) for i in range(3)] == [b"article", b"feed", None]


def test_expired_lease_is_reaped_with_its_score(store: LeaseStore) -> None:
    store.push(b"slow", 5.0)
    store.push(b"kept", 7.0)
    assert store.pop("dead/1", 0.2) == b"slow"
    assert store.pop("live/1", 30) == b"kept"
    assert store.reap() == 0
    time.sleep(0.3)
    assert store.reap() == 1
    assert store.server.zscore(store.keys.queue, b"slow") == 5.0
    assert store.in_flight() == 1  # the live worker's lease is untouched
    assert store.pop("live/2", 30) == b"slow"


def test_heartbeat_keeps_a_lease_alive(store: LeaseStore) -> None:
    store.push(b"x")
    store.pop("w/1", 0.3)
    for _ in range(3):
        time.sleep(0.15)
        assert store.extend(["w/1"], 0.3) == 1
    assert store.reap() == 0
    assert store.extend(["w/unknown"], 30) == 0  # a lease that was reaped is not resurrected
    assert store.server.zscore(store.keys.leases, "w/unknown") is None


def test_retry_later_shortens_a_lease(store: LeaseStore) -> None:
    store.push(b"x")
    store.pop("w/1", 60)
    store.extend(["w/1"], 0.1)
    time.sleep(0.2)
    assert store.reap() == 1 and store.pending() == 1


def test_requeue_puts_back_at_once(store: LeaseStore) -> None:
    store.push(b"x", 3.0)
    store.pop("w/1", 60)
    assert store.requeue(["w/1", "w/never"]) == 1
    assert store.server.zscore(store.keys.queue, b"x") == 3.0 and store.in_flight() == 0


def test_concurrent_consumers_never_share_a_request(store: LeaseStore, redis_url: str) -> None:
    for n in range(300):
        store.push(str(n).encode(), float(n))
    taken: list[list[bytes]] = [[] for _ in range(4)]

    def consume(slot: int) -> None:
        mine = LeaseStore(redis.Redis.from_url(redis_url), store.keys.queue)
        while (data := mine.pop(f"w{slot}/{len(taken[slot])}", 30)) is not None:
            taken[slot].append(data)

    threads = [threading.Thread(target=consume, args=(slot,)) for slot in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [item for part in taken for item in part]
    assert len(everything) == 300 and len(set(everything)) == 300
    assert store.in_flight() == 300


def test_with_retry_survives_a_short_outage() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise redis.ConnectionError("restarting")
        return "ok"

    assert with_retry(flaky, sleep=lambda _: None) == "ok" and len(calls) == 3
    with pytest.raises(redis.ConnectionError):
        with_retry(
            lambda: (_ for _ in ()).throw(redis.ConnectionError("down")), attempts=2, sleep=lambda _: None
        )


def test_backoff_doubles_to_its_cap_and_resets() -> None:
    backoff = Backoff(first=1, cap=5)
    assert [backoff.delay() for _ in range(5)] == [1, 2, 4, 5, 5]
    backoff.reset()
    assert backoff.delay() == 1
