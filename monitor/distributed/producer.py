"""The producer: feed jobs into the shared Redis queue, for workers to poll.

`monitor crawl --distributed` enqueues every feed of the sources file; the scheduler (`monitor run`) calls
`enqueue_feeds` with the feeds that are due. A feed already waiting in the queue is not queued twice (jobs are
identical members of one sorted set), so an overdue cycle cannot pile up duplicate polls.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from scrapy_redis import picklecompat

from monitor.config import SourceConfig, load_app_config
from monitor.distributed import queue_key
from monitor.distributed.queue import TIE_SPREAD
from monitor.distributed.redisconn import connect, with_retry
from spiders.feeds_redis import feed_job

# Queue score of a feed job: after article requests (score -priority = 0), so announced articles are fetched
# before more feeds are polled (backpressure when workers fall behind).
FEED_JOB_SCORE = 1.0


def feed_jobs(
    sources: Iterable[SourceConfig], feed_urls: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """(source id, polled URL) for the given URLs (None: every feed, sitemap and listing page of every enabled
    source); ValueError if a URL belongs to no enabled source."""
    owner = {str(url): source.id for source in sources if source.enabled for _, url, _ in source.polled()}
    if feed_urls is None:
        return [(source_id, url) for url, source_id in owner.items()]
    wanted = list(dict.fromkeys(feed_urls))
    unknown = [url for url in wanted if url not in owner]
    if unknown:
        raise ValueError(f"not a polled URL of any enabled source: {', '.join(unknown)}")
    return [(owner[url], url) for url in wanted]


def enqueue_feeds(
    redis_url: str,
    sources: Iterable[SourceConfig],
    feed_urls: Iterable[str] | None = None,
    *,
    prefix: str | None = None,
) -> int:
    """Queue one feed job per feed URL (None: every feed of every enabled source); returns how many.

    `prefix` defaults to $MONITOR_REDIS_PREFIX (else "monitor"), as for `monitor worker`. Retries while Redis is
    unreachable (about a minute), then raises redis.ConnectionError; ValueError for a URL of no enabled source."""
    prefix = prefix or load_app_config().redis_prefix
    jobs = feed_jobs(sources, feed_urls)
    if not jobs:
        return 0
    payloads = {
        picklecompat.dumps(feed_job(source_id, url)): FEED_JOB_SCORE + random.random() * TIE_SPREAD
        for source_id, url in jobs
    }
    client = connect(redis_url)
    try:
        with_retry(lambda: client.zadd(queue_key(prefix), payloads))
    finally:
        client.close()
    return len(jobs)
