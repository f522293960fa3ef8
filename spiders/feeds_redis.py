"""The feed spider for distributed crawling: the same callbacks, requests taken from and pushed to Redis.

Run by `monitor worker` with the scheduler of `monitor.distributed` (scrapy-redis' scheduler with leases). It has
no start requests of its own: feeds arrive as *feed jobs* pushed by a producer (`monitor crawl --distributed`,
or the scheduler through `monitor.distributed.producer.enqueue_feeds`), and each job becomes the usual
conditional GET, with the feed's validators read from the database when a worker takes it.

Requests must survive pickling into Redis and being picked up by another process, so `to_queue` sends a source
by id (`SourceRef`; SourceConfig stays in the sources file every worker loads) and `from_queue` looks it up
again and restarts the `started` clock (a monotonic time means nothing in another process).

Settings: those of `spiders.feeds`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.utils.request import request_from_dict

from monitor.config import SourceConfig
from spiders.feeds import FeedSpider

# Meta key of a feed job: the id of the source the feed belongs to.
FEED_JOB = "monitor_feed_job"


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A source by id, as it travels through Redis."""

    id: str


def feed_job(source_id: str, feed_url: str) -> dict[str, Any]:
    """The queue entry asking a worker to poll one feed (identical jobs collapse into one in the queue)."""
    return {"url": feed_url, "meta": {FEED_JOB: source_id}}


class DistributedFeedSpider(FeedSpider):
    """FeedSpider whose requests flow through the shared Redis queue."""

    name = "feeds_redis"
    by_id: dict[str, SourceConfig]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DistributedFeedSpider:
        """FeedSpider's set-up plus a source lookup by id."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        assert isinstance(spider, DistributedFeedSpider)
        spider.by_id = {source.id: source for source in spider.sources}
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """Mirror the sources into the database; the requests come from Redis."""
        self.store.sync_sources(self.sources)
        return
        yield  # an async generator that yields nothing

    def to_queue(self, request: scrapy.Request) -> dict[str, Any]:
        """Scrapy's request dict with SourceConfig values replaced by SourceRef."""
        data = request.to_dict(spider=self)
        data["cb_kwargs"] = {
            k: SourceRef(v.id) if isinstance(v, SourceConfig) else v for k, v in data["cb_kwargs"].items()
        }
        return data

    def from_queue(self, data: dict[str, Any]) -> scrapy.Request | None:
        """The request for a queue entry; None (logged) for a source this worker does not know."""
        job = data.get("meta", {}).get(FEED_JOB)
        if job is not None:
            source = self._source(job)
            return self.feed_request(source, data["url"]) if source else None
        kwargs = dict(data.get("cb_kwargs") or {})
        for key, value in kwargs.items():
            if isinstance(value, SourceRef):
                source = self._source(value.id)
                if source is None:
                    return None
                kwargs[key] = source
        if "started" in kwargs:
            kwargs["started"] = time.monotonic()
        return request_from_dict({**data, "cb_kwargs": kwargs}, spider=self)

    def _source(self, source_id: str) -> SourceConfig | None:
        """A configured source by id; an unknown one is logged and counted."""
        source = self.by_id.get(source_id)
        if source is None:
            self.logger.error(
                "queue entry for source %r, which is not in this worker's sources file", source_id
            )
            self.crawler.stats.inc_value("monitor/distributed/unknown_source")
        return source
