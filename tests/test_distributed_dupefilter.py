"""The bounded seen-set: a URL is remembered for one window, then forgotten; memory does not grow forever."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from scrapy import Request

from monitor.distributed.dupefilter import (
    FINGERPRINT_BYTES,
    TimeBucketDupeFilter,
    bucket_count,
    bucket_expiry,
    bucket_keys,
)

windows = st.tuples(st.integers(1, 10_000), st.integers(1, 10_000)).map(lambda wb: (max(wb), min(wb)))
times = st.floats(min_value=1e9, max_value=2e9, allow_nan=False)


@given(windows, times, st.floats(min_value=0, max_value=20_000))
def test_a_fingerprint_is_looked_up_until_its_bucket_expires(
    wb: tuple[int, int], added: float, later: float
) -> None:
    window, bucket = wb
    written = bucket_keys("k", added, window, bucket)[0]
    expiry = bucket_expiry(added, window, bucket)
    looked_up = written in bucket_keys("k", added + later, window, bucket)
    assert looked_up == (added + later < expiry)


@given(windows, times)
def test_memory_span_is_between_window_minus_bucket_and_window(wb: tuple[int, int], added: float) -> None:
    window, bucket = wb
    remembered = bucket_expiry(added, window, bucket) - added
    span = bucket_count(window, bucket) * bucket
    assert span - bucket <= remembered <= span
    assert window <= span < window + bucket


@pytest.fixture
def make_filter(redis_url: str):  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(redis_url)
    key = f"test-seen-{uuid.uuid4().hex[:8]}"
    now = [time.time()]  # Redis applies EXPIREAT against its own clock: start from the real time

    def build() -> TimeBucketDupeFilter:
        return TimeBucketDupeFilter(client, key, window=3600, bucket=600, clock=lambda: now[0])

    yield build, now, client, key
    build().clear()
    client.close()


@pytest.mark.redis
def test_seen_within_the_window_and_forgotten_after(make_filter) -> None:  # type: ignore[no-untyped-def]
    build, now, _, _ = make_filter
    seen = build()
    request = Request("https://example.com/a")
    assert seen.request_seen(request) is False
    assert seen.request_seen(request) is True
    assert build().request_seen(Request("https://example.com/a")) is True  # shared by every worker
    now[0] += 3000
    assert seen.request_seen(request) is True
    now[0] += 1200
    assert seen.request_seen(request) is False  # the window has passed: the URL may be queued again


@pytest.mark.redis
def test_buckets_carry_an_expiry_and_store_short_fingerprints(make_filter) -> None:  # type: ignore[no-untyped-def]
    build, now, client, key = make_filter
    seen = build()
    for n in range(50):
        seen.request_seen(Request(f"https://example.com/{n}"))
    (bucket,) = client.keys(f"{key}:*")
    assert client.expiretime(bucket) == bucket_expiry(now[0], 3600, 600)
    assert {len(m) for m in client.smembers(bucket)} == {FINGERPRINT_BYTES}
    seen.close()
    assert client.exists(bucket)  # closing one worker keeps the shared set
    seen.clear()
    assert not client.keys(f"{key}:*")
