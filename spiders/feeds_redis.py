"""The feed spider for distributed crawling: the same callbacks, requests taken from and pushed to Redis.

Run by `monitor worker` with the scheduler of `monitor.distributed` (scrapy-redis' scheduler with leases). It has
no start requests of its own: feeds arrive as *feed jobs* pushed by a producer (`monitor crawl --distributed`,
or the scheduler through `monitor.distributed.producer.enqueue_feeds`), and each job becomes the usual
conditional GET, with the feed's validators read from the database when a worker takes it.

Requests must survive pickling into Redis and being picked up by another process, so `to_queue` sends a polled
URL's target by source id (`TargetRef`; SourceConfig stays in the sources file every worker loads) and
`from_queue` looks it up again and restarts the `started` clock (a monotonic time means nothing in another
process). A feed job names a source and one of its polled URLs (feed, sitemap or listing page).

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
from spiders.base import PollTarget
from spiders.feeds import FeedSpider

# Meta key of a feed job: the id of the source the feed belongs to.
FEED_JOB = "monitor_feed_job"


@dataclass(frozen=True, slots=True)
class TargetRef:
    """A polled URL's target with its source by id, as it travels through Redis."""

    source_id: str
    url: str
    kind: str


def feed_job(source_id: str, feed_url: str) -> dict[str, Any]:
    """The queue entry asking a worker to poll one URL of a source (identical jobs collapse into one)."""
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
        """Scrapy's request dict with PollTarget values replaced by TargetRef."""
        data = request.to_dict(spider=self)
        data["cb_kwargs"] = {
            k: TargetRef(v.source.id, v.url, v.kind) if isinstance(v, PollTarget) else v
            for k, v in data["cb_kwargs"].items()
        }
        return data

    def from_queue(self, data: dict[str, Any]) -> scrapy.Request | None:
        """The request for a queue entry; None (logged) for a source or URL this worker does not know."""
        job = data.get("meta", {}).get(FEED_JOB)
        if job is not None:
            target = self._target(job, data["url"], None)
            return self.feed_request(target) if target else None
        kwargs = dict(data.get("cb_kwargs") or {})
        for key, value in kwargs.items():
            if isinstance(value, TargetRef):
                target = self._target(value.source_id, value.url, value.kind)
                if target is None:
                    return None
                kwargs[key] = target
        if "started" in kwargs:
            kwargs["started"] = time.monotonic()
        return request_from_dict({**data, "cb_kwargs": kwargs}, spider=self)

    def _target(self, source_id: str, url: str, kind: str | None) -> PollTarget | None:
        """The PollTarget of a source's polled URL (any kind when `kind` is None); unknown ones are logged."""
        source = self._source(source_id)
        if source is None:
            return None
        for polled_kind, polled_url, listing in source.polled():
            if polled_url == url and kind in (None, polled_kind):
                return PollTarget(source, polled_url, polled_kind, listing)
        self.logger.error("queue entry for %s, which source %r no longer polls", url, source_id)
        self.crawler.stats.inc_value("monitor/distributed/unknown_source")
        return None

    def _source(self, source_id: str) -> SourceConfig | None:
        """A configured source by id; an unknown one is logged and counted."""
        source = self.by_id.get(source_id)
        if source is None:
            self.logger.error(
                "queue entry for source %r, which is not in this worker's sources file", source_id
            )
            self.crawler.stats.inc_value("monitor/distributed/unknown_source")
        return source
