"""The one polling spider: every configured RSS/Atom feed, sitemap and listing page, then the new articles.

Settings:
- ``MONITOR_SOURCES`` / ``MONITOR_SOURCE_IDS``: which sources (see `spiders.base`).
- ``MONITOR_DATABASE_URL``: the database (via the shared store).
- ``MONITOR_SITEMAP_MAX_URLS``: at most this many URLs of one sitemap document per poll, newest first.
- ``MONITOR_SITEMAP_MAX_CHILDREN``: at most this many child sitemaps of an index per poll, newest first.
- ``MONITOR_POLL_DUE_ONLY``: request only the URLs whose next poll time has passed (``monitor crawl --due``);
  the rest of ``MONITOR_POLL_*`` is the polling policy (``monitor.scheduling.policy``).
- ``MONITOR_SITEMAP_LASTMOD_SLACK``: seconds before the last successful poll from which a `lastmod` still
  counts as new (sites that publish with a past lastmod, clocks that differ).

Everything per-outlet comes from the sources file; the kind of a polled URL picks how its body is read, and the
rest (conditional GET, health records, known-URL filter, article requests) is shared. A sitemap is incremental:
after its first successful poll only URLs whose `lastmod` (else `news:publication_date`) is newer than that
poll, undated URLs and URLs whose page never got stored are looked at; the store then skips stored ones.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from monitor.errors import ErrorClass
from monitor.feeds import ParsedEntry, body_hash, parse_feed
from monitor.items import FetchEvent
from monitor.listings import listing_links
from monitor.pipelines import store_for
from monitor.scheduling.policy import hint_seconds, use_conditional_get, validators_lied
from monitor.scheduling.pollog import log_conditional_off
from monitor.sitemaps import (
    ParsedSitemap,
    SitemapEntry,
    SitemapTooLarge,
    has_undated,
    parse_robots,
    parse_sitemap,
    select_entries,
    unpack,
)
from spiders.base import ArticleSpider, PollTarget, header
from storage.models import utcnow
from storage.store import FeedState

# Index → child index → urlset: deeper nesting is not in the protocol and not followed.
MAX_SITEMAP_DEPTH = 2

Handler = Callable[[Response, PollTarget, FeedState | None, FetchEvent], Iterator[Any]]


class FeedSpider(ArticleSpider):
    """Poll feeds, sitemaps and listing pages from the sources file; request the pages of new entries."""

    name = "feeds"
    max_urls: int
    max_children: int
    slack: timedelta
    max_size: int
    due_only: bool = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedSpider:
        """Bind the shared store, the configured sources and the sitemap bounds."""
        spider: FeedSpider = super().from_crawler(crawler, *args, **kwargs)
        spider.store = store_for(crawler)
        settings = crawler.settings
        spider.max_urls = settings.getint("MONITOR_SITEMAP_MAX_URLS", 1000)
        spider.max_children = settings.getint("MONITOR_SITEMAP_MAX_CHILDREN", 50)
        spider.slack = timedelta(seconds=settings.getfloat("MONITOR_SITEMAP_LASTMOD_SLACK", 3600))
        spider.max_size = settings.getint("DOWNLOAD_MAXSIZE")
        spider.due_only = settings.getbool("MONITOR_POLL_DUE_ONLY")
        spider.known_states = {}
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """Mirror the sources into the database, then request every polled URL (or every due one) once."""
        self.store.sync_sources(self.sources)
        targets = list(self.poll_targets())
        if self.due_only:
            due = self.store.due_feed_urls((t.url for t in targets), utcnow())
            self.crawler.stats.set_value("monitor/feeds/not_due", len(targets) - len(due))
            targets = [t for t in targets if t.url in due]
        self.crawler.stats.set_value("monitor/feeds/due", len(targets))
        # Read every polled URL's state up front in a few queries (not one query per feed and per 304).
        urls = [t.url for t in targets]
        self.known_states = self.store.feed_states(urls)
        self.with_unfinished = self.store.with_unfinished_entries(urls)
        for target in targets:
            yield self.feed_request(target)

    def feed_request(self, target: PollTarget) -> scrapy.Request:
        """A GET of one polled URL (feed, sitemap or listing page), conditional unless the policy or the
        URL's state says otherwise."""
        state = self.known_states.pop(target.url, None) or self.store.feed_state(target.url)
        headers = {}
        if state and self._conditional(state, target):
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
        return scrapy.Request(
            target.url,
            headers=headers,
            callback=self.parse_feed,
            errback=self.feed_failed,
            cb_kwargs={"target": target, "state": state, "started": time.monotonic()},
            meta={"monitor_origin": target.url, "handle_httpstatus_list": [304]},
            dont_filter=True,
        )

    def _conditional(self, state: FeedState, target: PollTarget) -> bool:
        """Send the stored validators on this poll? (see use_conditional_get)."""
        policy = self.policies[target.source.id]
        return use_conditional_get(
            policy.conditional_get, state.conditional_get, state.last_body_at, policy.verify_after, utcnow()
        )

    def parse_feed(
        self, response: Response, target: PollTarget, state: FeedState | None, started: float
    ) -> Iterator[Any]:
        """Skip an unchanged body (still fetching entries left over by earlier crawls); read a changed one by
        the URL's kind."""
        event = _event(response, target, "feed", started)
        event.policy = self.policies[target.source.id]
        digest = body_hash(response.body)
        event.etag = header(response, b"ETag")
        event.last_modified = header(response, b"Last-Modified")
        if response.status == 200 and state is not None:
            self._check_validators(target, state, event, digest)
        if response.status == 304 or (state is not None and state.body_hash == digest):
            event.not_modified, event.seen_share = True, 1.0
            event.message = "304 Not Modified" if response.status == 304 else "body unchanged"
            self.crawler.stats.inc_value("monitor/feeds/not_modified")
            yield event
            yield from self.unfinished(target, set())
            return
        event.body_hash = digest
        handlers: dict[str, Handler] = {
            "feed": self._feed_body,
            "sitemap": self._sitemap_body,
            "listing": self._listing_body,
        }
        yield from handlers[target.kind](response, target, state, event)

    def _check_validators(self, target: PollTarget, state: FeedState, event: FetchEvent, digest: str) -> None:
        """Flag a server that sent a changed body under the validators we already had."""
        if not validators_lied(
            state.etag, state.last_modified, state.body_hash, event.etag, event.last_modified, digest
        ):
            return
        event.validators_lied = True
        self.crawler.stats.inc_value("monitor/feeds/stale_validators")
        if state.conditional_get:
            log_conditional_off(target.source.id, target.url, event.etag, event.last_modified)

    def _feed_body(
        self, response: Response, target: PollTarget, state: FeedState | None, event: FetchEvent
    ) -> Iterator[Any]:
        """An RSS/Atom feed: a bozo one that still has entries is used, with the problem recorded."""
        parsed = parse_feed(response.body, response.url, header(response, b"Content-Type"))
        if not parsed.is_feed:
            message = f"not a feed ({header(response, b'Content-Type')}): {parsed.bozo_message}"
            yield _broken(event, message)
            return
        if parsed.bozo:
            event.message = f"bozo feed, {len(parsed.entries)} entries read: {parsed.bozo_message}"
            self.crawler.stats.inc_value("monitor/feeds/bozo")
        event.hint_seconds = hint_seconds(parsed.ttl_minutes, parsed.update_period, parsed.update_frequency)
        yield from self.follow(target, parsed.entries, event)

    def _listing_body(
        self, response: Response, target: PollTarget, state: FeedState | None, event: FetchEvent
    ) -> Iterator[Any]:
        """A listing page: the links the selector finds; none at all means the page changed under us."""
        listing = target.listing
        assert listing is not None
        if not isinstance(response, TextResponse):
            yield _broken(event, f"listing page is not text ({header(response, b'Content-Type')})")
            return
        found = listing_links(
            response.selector, response.urljoin(""), listing.link_selector, listing.link_pattern
        )
        if not found.entries:
            pattern = f" matching {listing.link_pattern!r}" if listing.link_pattern else ""
            message = f"selector {listing.link_selector!r} matched {found.matched} elements, no link{pattern}"
            yield _broken(event, message)
            return
        yield from self.follow(target, found.entries, event)

    # -- sitemaps -------------------------------------------------------------------------------------------

    def _sitemap_body(
        self, response: Response, target: PollTarget, state: FeedState | None, event: FetchEvent
    ) -> Iterator[Any]:
        """A configured sitemap, sitemap index or robots.txt, read from what changed since the last success."""
        since = state.last_success_at - self.slack if state and state.last_success_at else None
        yield from self._sitemap_document(response, target, event, since, 0)

    def _sitemap_document(
        self, response: Response, target: PollTarget, event: FetchEvent, since: datetime | None, depth: int
    ) -> Iterator[Any]:
        """Follow the children of an index, or the new pages of a urlset."""
        parsed = self._read_sitemap(response, event)
        if parsed is None:
            yield event
            return
        if parsed.problem:
            event.message = parsed.problem
        if parsed.is_index:
            yield from self._sitemap_children(parsed.entries, target, event, since, depth)
            return
        retry = self.store.unfinished_guids(target.url)
        chosen = select_entries(parsed.entries, since, self.max_urls, retry)
        self.crawler.stats.inc_value("monitor/sitemaps/old_urls", len(parsed.entries) - len(chosen))
        yield from self.follow(target, [_parsed_entry(e) for e in chosen], event)

    def _read_sitemap(self, response: Response, event: FetchEvent) -> ParsedSitemap | None:
        """The parsed document, or None with the error set on `event`."""
        if response.url.endswith("/robots.txt"):
            return parse_robots(response.body, response.url)
        try:
            body = unpack(response.body, self.max_size)
        except SitemapTooLarge as exc:
            _broken(event, f"gzipped sitemap too large: {exc}", ErrorClass.TOO_LARGE)
            return None
        parsed = parse_sitemap(body) if body is not None else ParsedSitemap("", problem="corrupt gzip data")
        if not parsed.is_sitemap:
            _broken(event, f"not a sitemap ({header(response, b'Content-Type')}): {parsed.problem}")
            return None
        return parsed

    def _sitemap_children(
        self,
        children: list[SitemapEntry],
        target: PollTarget,
        event: FetchEvent,
        since: datetime | None,
        depth: int,
    ) -> Iterator[Any]:
        """Request the child sitemaps changed since `since` (bounded); the index's event first."""
        chosen = select_entries(children, since, self.max_children) if depth < MAX_SITEMAP_DEPTH else []
        event.message = f"sitemap index: {len(children)} sitemaps, {len(chosen)} followed"
        if has_undated(children):
            # Undated children can change under an unchanged index: keep no validators, re-read it next time.
            event.etag = event.last_modified = event.body_hash = None
        self.crawler.stats.inc_value("monitor/sitemaps/index", 1)
        yield event
        for child in chosen:
            yield scrapy.Request(
                child.loc,
                callback=self.parse_child_sitemap,
                errback=self.child_failed,
                cb_kwargs={"target": target, "since": since, "depth": depth + 1, "started": time.monotonic()},
                meta={"monitor_origin": target.url},
            )

    def parse_child_sitemap(
        self, response: Response, target: PollTarget, since: datetime | None, depth: int, started: float
    ) -> Iterator[Any]:
        """A child sitemap of an index: its own fetch record (kind "sitemap"), its entries under the index."""
        yield from self._sitemap_document(
            response, target, _event(response, target, "sitemap", started), since, depth
        )

    # -- failures -------------------------------------------------------------------------------------------

    def feed_failed(self, failure: Failure) -> Iterator[Any]:
        """Record a polled URL that could not be fetched."""
        yield from self._failed(failure, "feed")

    def child_failed(self, failure: Failure) -> Iterator[Any]:
        """Record a child sitemap that could not be fetched."""
        yield from self._failed(failure, "sitemap")


def _event(response: Response, target: PollTarget, kind: str, started: float) -> FetchEvent:
    """The fetch record of a polled document, timed from `started`."""
    event = FetchEvent(target.source.id, target.url, response.url, kind, status=response.status)
    event.duration_ms = int((time.monotonic() - started) * 1000)
    return event


def _broken(event: FetchEvent, message: str, error: ErrorClass = ErrorClass.BAD_FEED) -> FetchEvent:
    """Mark a polled document unreadable (its validators are not kept, so it is read again next time)."""
    event.error, event.message, event.body_hash = error, message, None
    return event


def _parsed_entry(entry: SitemapEntry) -> ParsedEntry:
    """A sitemap URL as a feed entry: the loc is the GUID, lastmod the update time."""
    return ParsedEntry(
        guid=entry.loc, link=entry.loc, title=entry.title, published=entry.published, updated=entry.lastmod
    )
