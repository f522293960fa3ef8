"""`monitor sources discover URL`: a tiny crawl that finds a homepage's feeds and news sitemaps.

Settings:
- ``MONITOR_DISCOVER_URL``: the homepage (its host:port is trusted like a configured source's).
- ``MONITOR_DISCOVER_MAX_REQUESTS``: at most this many requests of our own (Scrapy's robots.txt fetch aside).
- ``CLOSESPIDER_TIMEOUT``: the time budget; every request's timeout is cut to the time left.

Why a Scrapy crawl and not a plain HTTP client: every request then goes through the same network guard (on
every redirect hop), robots.txt, size limits, decompression and User-Agent as the crawl itself, with nothing
re-implemented for a one-off tool. Stage one fetches the homepage and robots.txt and follows what they name;
when that is done (spider idle) and no feed or news sitemap was found, stage two probes the common paths.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from monitor.discover import (
    COMMON_FEED_PATHS,
    NEWS_SITEMAP_PATHS,
    Candidate,
    Homepage,
    classify,
    news_children,
    probe_urls,
    read_homepage,
)
from monitor.failures import classify_failure
from monitor.netguard import host_port
from monitor.sitemaps import parse_robots
from monitor.urls import canonicalize
from spiders.base import header

# At most this many links of one kind followed from the homepage, robots.txt or a sitemap index.
MAX_FOLLOWED = 4


class DiscoverSpider(scrapy.Spider):
    """Fetch a homepage, robots.txt and candidate feeds/sitemaps within a request and time budget."""

    name = "discover"
    home: Homepage | None = None
    homepage: str
    trusted_hosts: set[str]
    budget: int
    deadline: float
    found: list[Candidate]
    tried: set[str]
    requests_made: int = 0
    probed: bool = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> DiscoverSpider:
        """Read the homepage URL and the budgets; probe the common paths when stage one is done."""
        spider: DiscoverSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.homepage = crawler.settings.get("MONITOR_DISCOVER_URL")
        spider.trusted_hosts = {host_port(spider.homepage)}
        spider.budget = crawler.settings.getint("MONITOR_DISCOVER_MAX_REQUESTS", 20)
        spider.deadline = time.monotonic() + crawler.settings.getfloat("CLOSESPIDER_TIMEOUT", 20)
        spider.found, spider.tried = [], set()
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """The homepage and its robots.txt."""
        for request in (
            self._request(self.homepage, self.parse_homepage),
            self._request(probe_urls(self.homepage, ("/robots.txt",))[0], self.parse_robots),
        ):
            if request is not None:
                yield request

    def _request(self, url: str, callback: Any) -> scrapy.Request | None:
        """A request within budget (None once the requests or the time are spent, or the URL was tried)."""
        left = self.deadline - time.monotonic()
        key = canonicalize(url)
        if key in self.tried or self.requests_made >= self.budget or left <= 0.5:
            return None
        self.tried.add(key)
        self.requests_made += 1
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.failed,
            cb_kwargs={"rank": self.requests_made},
            meta={"download_timeout": left},
            dont_filter=True,
        )

    def _follow(self, urls: list[str], limit: int = MAX_FOLLOWED) -> Iterator[scrapy.Request]:
        """Requests for candidate URLs; `rank` (the order they were asked for) orders the results."""
        for url in urls[:limit]:
            request = self._request(url, self.parse_candidate)
            if request is not None:
                yield request

    def parse_homepage(self, response: Response, rank: int) -> Iterator[scrapy.Request]:
        """Read the outlet's name and language; follow its alternate feed links."""
        if not isinstance(response, TextResponse):
            return
        self.home = read_homepage(response.selector, response.url)
        yield from self._follow(self.home.feed_links)

    def parse_robots(self, response: Response, rank: int) -> Iterator[scrapy.Request]:
        """Follow robots.txt `Sitemap:` lines."""
        yield from self._follow([e.loc for e in parse_robots(response.body, response.url).entries])

    def parse_candidate(self, response: Response, rank: int) -> Iterator[scrapy.Request]:
        """Keep a candidate that parses; look into an index for news sitemaps."""
        max_size = self.settings.getint("DOWNLOAD_MAXSIZE")
        candidate, sitemap = classify(
            response.url, response.body, header(response, b"Content-Type"), max_size
        )
        self.found.append(Candidate(candidate.url, candidate.kind, candidate.detail, rank))
        if sitemap is not None and sitemap.is_index:
            yield from self._follow(news_children(sitemap, MAX_FOLLOWED))

    def failed(self, failure: Failure) -> None:
        """A candidate that could not be fetched is noted, not fatal."""
        request = failure.request  # type: ignore[attr-defined]
        error, message, _ = classify_failure(failure)
        self.found.append(
            Candidate(request.url, None, f"{error.value}: {message}", request.cb_kwargs["rank"])
        )

    def idle(self) -> None:
        """Stage two, once: probe the common paths for what stage one did not find."""
        if self.probed:
            return
        self.probed = True
        kinds = {c.kind for c in self.found}
        base = self.home.url if self.home else self.homepage
        paths = (() if "feed" in kinds else COMMON_FEED_PATHS) + (
            () if "news_sitemap" in kinds else NEWS_SITEMAP_PATHS
        )
        requests = list(self._follow(probe_urls(base, paths), limit=len(paths)))
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider
