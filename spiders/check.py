"""`monitor sources check`: fetch each configured feed once and report whether it works (nothing stored).

Settings: ``MONITOR_SOURCES``, ``MONITOR_SOURCE_IDS`` (as for the feed spider).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from monitor.config import load_sources
from monitor.errors import ErrorClass
from monitor.failures import classify_failure
from monitor.feeds import parse_feed
from monitor.netguard import host_port


@dataclass(slots=True)
class CheckResult:
    """One feed's check."""

    source_id: str
    feed_url: str
    ok: bool
    status: int | None
    error: str | None
    message: str
    entries: int
    seconds: float


class CheckSpider(scrapy.Spider):
    """Fetch and parse every configured feed once."""

    name = "check"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> CheckSpider:
        """Read the sources file."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        wanted = set(crawler.settings.getlist("MONITOR_SOURCE_IDS"))
        config = load_sources(crawler.settings.get("MONITOR_SOURCES", "sources.yaml"))
        spider.sources = [s for s in config.sources if not wanted or s.id in wanted]
        spider.trusted_hosts = {host_port(u) for s in spider.sources for _, u in s.fetch_urls()}
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """One request per feed."""
        for source in self.sources:
            for url in source.feeds:
                yield scrapy.Request(
                    url,
                    callback=self.parsed,
                    errback=self.failed,
                    cb_kwargs={"source_id": source.id, "started": time.monotonic()},
                    dont_filter=True,
                )

    def parsed(self, response: Response, source_id: str, started: float) -> Iterator[CheckResult]:
        """Report what the feed parses into."""
        content_type = response.headers.get(b"Content-Type", b"").decode("latin-1") or None
        feed = parse_feed(response.body, response.url, content_type)
        ok = feed.is_feed
        message = f"{feed.version or 'not a feed'}, {len(feed.entries)} entries"
        if feed.bozo:
            message += f" (bozo: {feed.bozo_message})"
        yield CheckResult(
            source_id,
            response.request.url if response.request else response.url,
            ok,
            response.status,
            None if ok else ErrorClass.BAD_FEED.value,
            message,
            len(feed.entries),
            time.monotonic() - started,
        )

    def failed(self, failure: Failure) -> Iterator[CheckResult]:
        """Report why the feed could not be fetched."""
        request = failure.request  # type: ignore[attr-defined]
        error, message, status = classify_failure(failure)
        started = request.cb_kwargs["started"]
        yield CheckResult(
            request.cb_kwargs["source_id"],
            request.url,
            False,
            status,
            error.value,
            message,
            0,
            time.monotonic() - started,
        )
