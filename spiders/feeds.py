"""The generic feed spider: polls every configured RSS/Atom feed and follows entries not stored yet.

Settings:
- ``MONITOR_SOURCES``: path of the sources file (YAML).
- ``MONITOR_SOURCE_IDS``: optional list of source ids to poll (default: every enabled source).
- ``MONITOR_DATABASE_URL``: the database (via the shared store).
- ``MONITOR_POLL_*``: the polling policy (see ``monitor.scheduling.policy``); with ``MONITOR_POLL_DUE_ONLY`` only
  feeds whose next poll time has passed are requested. Sources with ``poll: {disabled: true}`` are skipped
  unless named in ``MONITOR_SOURCE_IDS``.

Everything per-outlet comes from the sources file; the spider has no outlet-specific code. Per-request context
travels in ``cb_kwargs``; fetched pages go to the item pipelines for extraction and storage.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from monitor.config import SourceConfig, load_sources
from monitor.errors import ErrorClass
from monitor.failures import classify_failure
from monitor.feeds import ParsedEntry, body_hash, parse_feed
from monitor.items import EntryContext, FeedEntriesItem, FetchEvent, PageItem
from monitor.netguard import host_port
from monitor.pipelines import store_for
from monitor.retry import retry_after_seconds
from monitor.scheduling.policy import (
    PollPolicy,
    hint_seconds,
    policy_for,
    policy_from_settings,
    use_conditional_get,
    validators_lied,
)
from monitor.scheduling.pollog import log_conditional_off
from monitor.urls import UnsupportedURL, canonicalize, url_key
from storage.models import utcnow
from storage.store import FeedState, Store

# Article pages we hand to the extractor; anything else (PDF, images, video) is recorded as not_article.
HTML_TYPES = (b"text/html", b"application/xhtml+xml")


class FeedSpider(scrapy.Spider):
    """Poll feeds from the sources file; request the article pages of new or updated entries."""

    name = "feeds"
    store: Store
    sources: tuple[SourceConfig, ...]
    trusted_hosts: set[str]
    policies: dict[str, PollPolicy]
    due_only: bool = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> FeedSpider:
        """Bind the shared store and the configured sources."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.store = store_for(crawler)
        wanted = set(crawler.settings.getlist("MONITOR_SOURCE_IDS"))
        config = load_sources(crawler.settings.get("MONITOR_SOURCES", "sources.yaml"))
        spider.sources = tuple(s for s in config.sources if _selected(s, wanted))
        spider.trusted_hosts = {host_port(url) for s in spider.sources for _, url in s.fetch_urls()}
        defaults = policy_from_settings(crawler.settings)
        spider.policies = {s.id: policy_for(defaults, s.poll) for s in spider.sources}
        spider.due_only = crawler.settings.getbool("MONITOR_POLL_DUE_ONLY")
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """Mirror the sources into the database, then request every feed (or every due feed) once."""
        self.store.sync_sources(self.sources)
        feeds = [(source, url) for source in self.sources for url in source.feeds]
        if self.due_only:
            due = self.store.due_feed_urls((url for _, url in feeds), utcnow())
            self.crawler.stats.set_value("monitor/feeds/not_due", len(feeds) - len(due))
            feeds = [(source, url) for source, url in feeds if url in due]
        self.crawler.stats.set_value("monitor/feeds/due", len(feeds))
        for source, feed_url in feeds:
            yield self.feed_request(source, feed_url)

    def feed_request(self, source: SourceConfig, feed_url: str) -> scrapy.Request:
        """A GET of one feed, conditional unless the policy or the feed's state says otherwise."""
        state = self.store.feed_state(feed_url)
        policy = self.policies[source.id]
        headers = {}
        if state and self._conditional(state, policy):
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
        return scrapy.Request(
            feed_url,
            headers=headers,
            callback=self.parse_feed,
            errback=self.feed_failed,
            cb_kwargs={"source": source, "state": state, "started": time.monotonic()},
            meta={"monitor_origin": feed_url, "handle_httpstatus_list": [304]},
            dont_filter=True,
        )

    def _conditional(self, state: FeedState, policy: PollPolicy) -> bool:
        """Send the stored validators on this poll? (see use_conditional_get)."""
        return use_conditional_get(
            policy.conditional_get,
            state.conditional_get,
            state.last_body_at,
            policy.verify_after,
            utcnow(),
        )

    def parse_feed(
        self, response: Response, source: SourceConfig, state: FeedState | None, started: float
    ) -> Iterator[Any]:
        """Parse a feed and yield its entries plus requests for the pages we have not stored."""
        feed_url = response.request.meta["monitor_origin"] if response.request else response.url
        event = FetchEvent(source.id, feed_url, response.url, "feed", status=response.status)
        event.duration_ms = int((time.monotonic() - started) * 1000)
        event.policy = self.policies[source.id]
        digest = body_hash(response.body)
        event.etag = _header(response, b"ETag")
        event.last_modified = _header(response, b"Last-Modified")
        if response.status == 200 and state is not None:
            self._check_validators(source, feed_url, state, event, digest)
        if response.status == 304 or (state is not None and state.body_hash == digest):
            event.not_modified, event.seen_share = True, 1.0
            event.message = "304 Not Modified" if response.status == 304 else "body unchanged"
            self.crawler.stats.inc_value("monitor/feeds/not_modified")
            yield event
            yield from self._unfinished(source, feed_url, set())
            return
        event.body_hash = digest
        yield from self._entries(response, source, feed_url, event)

    def _unfinished(
        self, source: SourceConfig, feed_url: str, requested: set[str]
    ) -> Iterator[scrapy.Request]:
        """Requests for the feed's entries left unfetched by an earlier crawl (stopped, or failed pages)."""
        for entry in self.store.unfinished_entries(feed_url):
            if url_key(entry.entry_url) not in requested:
                self.crawler.stats.inc_value("monitor/entries/resumed")
                yield self.article_request(source, entry)

    def _check_validators(
        self, source: SourceConfig, feed_url: str, state: FeedState, event: FetchEvent, digest: str
    ) -> None:
        """Flag a server that sent a changed body under the validators we already had."""
        if not validators_lied(
            state.etag, state.last_modified, state.body_hash, event.etag, event.last_modified, digest
        ):
            return
        event.validators_lied = True
        self.crawler.stats.inc_value("monitor/feeds/stale_validators")
        if state.conditional_get:
            log_conditional_off(source.id, feed_url, event.etag, event.last_modified)

    def _entries(
        self, response: Response, source: SourceConfig, feed_url: str, event: FetchEvent
    ) -> Iterator[Any]:
        """Validate a feed's entries, record the bad ones, follow the new ones."""
        parsed = parse_feed(response.body, response.url, _header(response, b"Content-Type"))
        if not parsed.is_feed:
            event.error = ErrorClass.BAD_FEED
            event.message = f"not a feed ({_header(response, b'Content-Type')}): {parsed.bozo_message}"
            event.body_hash = None
            yield event
            return
        if parsed.bozo:
            event.message = f"bozo feed, {len(parsed.entries)} entries read: {parsed.bozo_message}"
            self.crawler.stats.inc_value("monitor/feeds/bozo")
        event.hint_seconds = hint_seconds(parsed.ttl_minutes, parsed.update_period, parsed.update_frequency)
        entries, bad = self._valid_entries(parsed.entries, source, feed_url)
        yield from bad
        wanted, event.seen_share = self._to_fetch(feed_url, entries)
        yield FeedEntriesItem(feed_url, entries)
        event.new_items = len(wanted)
        self.crawler.stats.inc_value("monitor/feeds/parsed")
        yield event
        for entry in wanted:
            yield self.article_request(source, entry)
        yield from self._unfinished(source, feed_url, {url_key(e.entry_url) for e in wanted})

    def _valid_entries(
        self, entries: list[ParsedEntry], source: SourceConfig, feed_url: str
    ) -> tuple[list[EntryContext], list[FetchEvent]]:
        """Entries with a fetchable link and a GUID not seen earlier in this feed body; events for the rest."""
        valid: list[EntryContext] = []
        bad: list[FetchEvent] = []
        seen: set[str] = set()
        for position, entry in enumerate(entries):
            try:
                url = canonicalize(entry.link) if entry.link else None
                problem = (ErrorClass.BAD_ENTRY, f"entry #{position} ({entry.title!r}) has no link")
            except UnsupportedURL as exc:
                url, problem = None, (ErrorClass.BAD_URL, f"entry #{position}: {exc}")
            if url is None:
                self.crawler.stats.inc_value(problem[0].stats_key)
                bad.append(FetchEvent(source.id, feed_url, entry.link or feed_url, "entry", None, *problem))
                continue
            guid = entry.guid or url
            if guid in seen:
                self.crawler.stats.inc_value("monitor/feeds/duplicate_guid")
                continue
            seen.add(guid)
            valid.append(
                EntryContext(
                    source.id,
                    feed_url,
                    url,
                    guid,
                    entry.title,
                    entry.published,
                    entry.updated,
                    entry.authors,
                    entry.tags,
                )
            )
        return valid, bad

    def _to_fetch(
        self, feed_url: str, entries: list[EntryContext]
    ) -> tuple[list[EntryContext], float | None]:
        """Entries whose page is not stored yet, or whose feed `updated` time changed since we stored them;
        and the share of entries this feed had announced before (the scheduler's signal)."""
        known = self.store.known_keys(e.entry_url for e in entries)
        previous = self.store.entry_updates(feed_url, [e.guid for e in entries])
        wanted = []
        for entry in entries:
            edited = entry.updated is not None and previous.get(entry.guid) not in (None, entry.updated)
            if url_key(entry.entry_url) not in known or edited:
                wanted.append(entry)
        self.crawler.stats.inc_value("monitor/entries/known", len(entries) - len(wanted))
        seen = sum(1 for e in entries if e.guid in previous) / len(entries) if entries else None
        return wanted, seen

    def article_request(self, source: SourceConfig, entry: EntryContext) -> scrapy.Request:
        """Request one article page."""
        return scrapy.Request(
            entry.entry_url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"source": source, "entry": entry},
            meta={"monitor_origin": entry.feed_url},
        )

    def parse_article(self, response: Response, source: SourceConfig, entry: EntryContext) -> Iterator[Any]:
        """Hand an HTML page to the pipelines; anything else is not an article."""
        content_type = (response.headers.get(b"Content-Type") or b"").lower()
        if content_type and not content_type.startswith(HTML_TYPES):
            message = f"content type {content_type.decode('latin-1')}"
            yield FetchEvent(
                source.id,
                entry.feed_url,
                response.url,
                "article",
                response.status,
                ErrorClass.NOT_ARTICLE,
                message,
            )
            return
        yield PageItem(
            entry=entry,
            url=response.url,
            status=response.status,
            headers={
                k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()
            },
            body=response.body,
            fetched_at=utcnow(),
            default_tz=source.timezone,
            extract_overrides=source.extract.model_dump(exclude_defaults=True) or None,
        )

    def feed_failed(self, failure: Failure) -> Iterator[Any]:
        """Record a feed that could not be fetched."""
        yield from self._failed(failure, "feed")

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        """Record an article page that could not be fetched."""
        yield from self._failed(failure, "article")

    def _failed(self, failure: Failure, kind: str) -> Iterator[Any]:
        """A FetchEvent with the failure's error class."""
        request = failure.request  # type: ignore[attr-defined]
        error, message, status = classify_failure(failure)
        kwargs = request.cb_kwargs
        source: SourceConfig = kwargs["source"]
        feed_url = request.meta.get("monitor_origin", request.url)
        self.crawler.stats.inc_value(error.stats_key)
        self.logger.warning("%s %s failed [%s]: %s", kind, request.url, error.value, message)
        event = FetchEvent(source.id, feed_url, request.url, kind, status, error, message)
        if kind == "feed":
            event.policy = self.policies.get(source.id)
            if isinstance(failure.value, HttpError):
                event.retry_after = retry_after_seconds(failure.value.response.headers.get(b"Retry-After"))
        yield event


def _selected(source: SourceConfig, wanted: set[str]) -> bool:
    """An enabled source, polled unless its `poll:` disables it (naming it explicitly polls it anyway)."""
    if not source.enabled:
        return False
    if wanted:
        return source.id in wanted
    return not source.poll.disabled


def _header(response: Response, name: bytes) -> str | None:
    """A response header as text, or None."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
