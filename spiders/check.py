"""`monitor sources check`: fetch each configured feed, sitemap and listing page once and report whether it
works (nothing stored).

Settings: ``MONITOR_SOURCES``, ``MONITOR_SOURCE_IDS`` (as for the feed spider; disabled sources are checked too).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from monitor.errors import ErrorClass
from monitor.failures import classify_failure
from monitor.feeds import parse_feed
from monitor.listings import listing_links
from monitor.sitemaps import SitemapTooLarge, parse_robots, parse_sitemap, unpack
from spiders.base import PollTarget, SourcesSpider, header


@dataclass(slots=True)
class CheckResult:
    """One polled URL's check."""

    source_id: str
    feed_url: str
    ok: bool
    status: int | None
    error: str | None
    message: str
    entries: int
    seconds: float


class CheckSpider(SourcesSpider):
    """Fetch and read every configured feed, sitemap and listing page once."""

    name = "check"
    include_disabled = True

    async def start(self) -> AsyncIterator[Any]:
        """One request per polled URL."""
        for target in self.poll_targets():
            yield scrapy.Request(
                target.url,
                callback=self.parsed,
                errback=self.failed,
                cb_kwargs={"target": target, "started": time.monotonic()},
                dont_filter=True,
            )

    def parsed(self, response: Response, target: PollTarget, started: float) -> Iterator[CheckResult]:
        """Report what the body reads as."""
        ok, message, entries = describe(response, target, self.settings.getint("DOWNLOAD_MAXSIZE"))
        yield CheckResult(
            target.source.id,
            response.request.url if response.request else response.url,
            ok,
            response.status,
            None if ok else ErrorClass.BAD_FEED.value,
            message,
            entries,
            time.monotonic() - started,
        )

    def failed(self, failure: Failure) -> Iterator[CheckResult]:
        """Report why the URL could not be fetched."""
        request = failure.request  # type: ignore[attr-defined]
        error, message, status = classify_failure(failure)
        started = request.cb_kwargs["started"]
        target: PollTarget = request.cb_kwargs["target"]
        yield CheckResult(
            target.source.id, request.url, False, status, error.value, message, 0, time.monotonic() - started
        )


def describe(response: Response, target: PollTarget, max_size: int) -> tuple[bool, str, int]:
    """(usable, what it is, how many entries) of a polled URL's body, read as its kind."""
    if target.kind == "listing" and target.listing is not None:
        if not isinstance(response, TextResponse):
            return False, "not a text page", 0
        found = listing_links(
            response.selector, response.urljoin(""), target.listing.link_selector, target.listing.link_pattern
        )
        return (
            bool(found.entries),
            f"listing, {found.matched} elements, {len(found.entries)} links",
            len(found.entries),
        )
    if target.kind == "sitemap":
        return _describe_sitemap(response, max_size)
    feed = parse_feed(response.body, response.url, header(response, b"Content-Type"))
    message = f"{feed.version or 'not a feed'}, {len(feed.entries)} entries"
    if feed.bozo:
        message += f" (bozo: {feed.bozo_message})"
    return feed.is_feed, message, len(feed.entries)


def _describe_sitemap(response: Response, max_size: int) -> tuple[bool, str, int]:
    """A sitemap, index or robots.txt."""
    if response.url.endswith("/robots.txt"):
        parsed = parse_robots(response.body, response.url)
    else:
        try:
            body = unpack(response.body, max_size)
        except SitemapTooLarge as exc:
            return False, str(exc), 0
        parsed = parse_sitemap(body or b"")
    if not parsed.is_sitemap:
        return False, f"not a sitemap: {parsed.problem}", 0
    kind = f"{parsed.kind} (news)" if parsed.is_news else parsed.kind
    return bool(parsed.entries), f"{kind}, {len(parsed.entries)} entries", len(parsed.entries)
