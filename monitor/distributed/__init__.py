"""Distributed crawling: any number of `monitor worker` processes share one Redis queue and one PostgreSQL.

- `producer.enqueue_feeds` pushes feed jobs (by `monitor crawl --distributed`, or the scheduler for due feeds).
- Workers run `spiders.feeds_redis.DistributedFeedSpider` with `worker_settings()`: scrapy-redis' scheduler made
  lease-safe (`scheduler.LeasedScheduler`, `queue.LeasedQueue`, `lease.LeaseStore`) and a bounded seen-set
  (`dupefilter.TimeBucketDupeFilter`); everything else is the one-machine component graph of `monitor.settings`.
- The database's unique constraints keep two workers racing on one article from storing it twice.

Redis keys all start with a prefix (``monitor`` by default; ``MONITOR_REDIS_PREFIX``) so several deployments or
tests can share one Redis. See docs/deployment.md.
"""

from __future__ import annotations

from typing import Any

from monitor.distributed.redisconn import REDIS_PARAMS

DEFAULT_PREFIX = "monitor"
SPIDER = "feeds_redis"
# A worker waits this long for a database that went away before giving up (1 s doubled 10 times: ~17 min).
WORKER_DB_RETRIES = 10


def queue_key(prefix: str = DEFAULT_PREFIX, spider: str = SPIDER) -> str:
    """The Redis key of the request queue (its leases live beside it)."""
    return f"{prefix}:{spider}:requests"


def seen_key(prefix: str = DEFAULT_PREFIX, spider: str = SPIDER) -> str:
    """The base key of the seen-set buckets."""
    return f"{prefix}:{spider}:seen"


def worker_settings(redis_url: str, prefix: str = DEFAULT_PREFIX, **overrides: Any) -> dict[str, Any]:
    """Scrapy settings that switch a crawl into distributed mode (on top of `monitor.settings`)."""
    return {
        "SCHEDULER": "monitor.distributed.scheduler.LeasedScheduler",
        "SCHEDULER_QUEUE_CLASS": "monitor.distributed.queue.LeasedQueue",
        "DUPEFILTER_CLASS": "monitor.distributed.dupefilter.TimeBucketDupeFilter",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": queue_key(prefix, "%(spider)s"),
        "SCHEDULER_DUPEFILTER_KEY": seen_key(prefix, "%(spider)s"),
        "REDIS_URL": redis_url,
        "REDIS_PARAMS": dict(REDIS_PARAMS),
        "MONITOR_DB_RETRIES": WORKER_DB_RETRIES,
        **overrides,
    }
