"""A bounded Redis seen-set for scrapy-redis: fingerprints in time buckets that expire (scrapy-redis #84, #144).

scrapy-redis' RFPDupeFilter adds every fingerprint to one set that is never trimmed. Here a fingerprint goes into
the set of the current bucket (``<key>:<bucket number>``, `MONITOR_SEEN_BUCKET` seconds wide); a request counts
as seen while any of the last ``ceil(window / bucket)`` buckets holds it, and each bucket key carries an
EXPIREAT for the moment it stops being looked at. So a URL is remembered for between ``window - bucket`` and
``window`` seconds and memory is bounded by the URLs queued in one window. Fingerprints are stored as 16 raw
bytes (half of scrapy-redis' 40 hex characters).

Settings: ``MONITOR_SEEN_WINDOW`` (seconds, default 6 h) and ``MONITOR_SEEN_BUCKET`` (default 1 h); the key is
scrapy-redis' ``SCHEDULER_DUPEFILTER_KEY``. Feed requests use ``dont_filter=True`` and are never filtered.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import redis
from scrapy import Request
from scrapy_redis import defaults
from scrapy_redis.connection import get_redis_from_settings
from scrapy_redis.dupefilter import RFPDupeFilter

FINGERPRINT_BYTES = 16
DEFAULT_WINDOW = 6 * 3600
DEFAULT_BUCKET = 3600

# KEYS: the window's bucket keys, current first; ARGV: fingerprint, EXPIREAT of the current bucket.
SEEN_SCRIPT = """
for i = 1, #KEYS do
  if redis.call('SISMEMBER', KEYS[i], ARGV[1]) == 1 then return 1 end
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 0
"""


def bucket_count(window: int, bucket: int) -> int:
    """How many buckets one window spans."""
    return max(1, math.ceil(window / bucket))


def bucket_keys(base: str, now: float, window: int, bucket: int) -> list[str]:
    """The keys a lookup at `now` checks, the current bucket first."""
    current = int(now // bucket)
    return [f"{base}:{current - age}" for age in range(bucket_count(window, bucket))]


def bucket_expiry(now: float, window: int, bucket: int) -> int:
    """Unix time at which the bucket written at `now` leaves every later lookup's window."""
    return (int(now // bucket) + bucket_count(window, bucket)) * bucket


class TimeBucketDupeFilter(RFPDupeFilter):
    """RFPDupeFilter with expiring time buckets instead of one ever-growing set."""

    def __init__(
        self,
        server: redis.Redis,
        key: str,
        debug: bool = False,
        window: int = DEFAULT_WINDOW,
        bucket: int = DEFAULT_BUCKET,
        fingerprint: Callable[[Request], bytes] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(server, key, debug)
        self.window, self.bucket, self.clock = window, bucket, clock
        self._fingerprint = fingerprint
        self._seen = server.register_script(SEEN_SCRIPT)

    @classmethod
    def from_spider(cls, spider: Any) -> TimeBucketDupeFilter:
        """Built by scrapy-redis' scheduler, keyed by spider name."""
        settings = spider.settings
        key = settings.get("SCHEDULER_DUPEFILTER_KEY", defaults.SCHEDULER_DUPEFILTER_KEY) % {
            "spider": spider.name
        }
        crawler = getattr(spider, "crawler", None)
        return cls(
            get_redis_from_settings(settings),
            key,
            debug=settings.getbool("DUPEFILTER_DEBUG"),
            window=settings.getint("MONITOR_SEEN_WINDOW", DEFAULT_WINDOW),
            bucket=settings.getint("MONITOR_SEEN_BUCKET", DEFAULT_BUCKET),
            fingerprint=crawler.request_fingerprinter.fingerprint if crawler else None,
        )

    def fingerprint(self, request: Request) -> bytes:
        """The request's fingerprint, truncated to FINGERPRINT_BYTES."""
        if self._fingerprint is not None:
            return self._fingerprint(request)[:FINGERPRINT_BYTES]
        return bytes.fromhex(self.request_fingerprint(request))[:FINGERPRINT_BYTES]

    def request_seen(self, request: Request) -> bool:
        """True if seen within the window; otherwise remember it in the current bucket."""
        return self.seen_fingerprint(self.fingerprint(request))

    def seen_fingerprint(self, fingerprint: bytes) -> bool:
        """request_seen for a ready fingerprint (one round trip)."""
        now = self.clock()
        keys = bucket_keys(self.key, now, self.window, self.bucket)
        return bool(self._seen(keys=keys, args=[fingerprint, bucket_expiry(now, self.window, self.bucket)]))

    def close(self, reason: str = "") -> None:
        """Keep the fingerprints: other workers share them (scrapy-redis' close() would delete them)."""

    def clear(self) -> None:
        """Delete every bucket of this filter."""
        keys = list(self.server.scan_iter(match=f"{self.key}:*", count=1000))
        if keys:
            self.server.delete(*keys)
