"""What every spider reading the sources file shares: the sources, the trusted hosts, the polled URLs, and the
article flow after a feed, sitemap or listing page was read (validate links, record entries, skip known URLs,
request and hand on article pages, record failures).

Settings:
- ``MONITOR_SOURCES``: path of the sources file (YAML).
- ``MONITOR_SOURCE_IDS``: optional list of source ids to poll (default: every enabled source). Sources with
  ``poll: {disabled: true}`` are skipped unless named here.
- ``MONITOR_POLL_*``: the polling policy (see ``monitor.scheduling.policy``), kept per source for the scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from monitor.config import ListingConfig, SourceConfig, load_sources
from monitor.errors import ErrorClass
from monitor.failures import classify_failure
from monitor.feeds import ParsedEntry
from monitor.items import EntryContext, FeedEntriesItem, FetchEvent, PageItem
from monitor.netguard import host_port
from monitor.retry import retry_after_seconds
from monitor.scheduling.policy import PollPolicy, policy_for, policy_from_settings
from monitor.urls import UnsupportedURL, canonicalize, url_key
from storage.models import utcnow
from storage.store import EntryVersion, FeedState, Store

# Article pages we hand to the extractor; anything else (PDF, images, video) is recorded as not_article.
HTML_TYPES = (b"text/html", b"application/xhtml+xml")
# The order in which kinds of polled URLs are requested (see SourcesSpider.poll_targets).
KIND_ORDER = ("feed", "sitemap", "listing")


@dataclass(slots=True, frozen=True)
class PollTarget:
    """One polled URL of a source; `kind` is "feed", "sitemap" or "listing" (as in `feeds.kind`)."""

    source: SourceConfig
    url: str
    kind: str
    listing: ListingConfig | None = None


class SourcesSpider(scrapy.Spider):
    """Base of the spiders driven by the sources file (no `name`: never run by itself)."""

    sources: tuple[SourceConfig, ...]
    trusted_hosts: set[str]
    policies: dict[str, PollPolicy]
    # Poll disabled sources too (`sources check` does, the crawl does not).
    include_disabled = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        """Read the (selected) sources and trust the host:port of every URL they configure."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        wanted = set(crawler.settings.getlist("MONITOR_SOURCE_IDS"))
        config = load_sources(crawler.settings.get("MONITOR_SOURCES", "sources.yaml"))
        spider.sources = tuple(s for s in config.sources if cls.selected(s, wanted))
        spider.trusted_hosts = {host_port(url) for s in spider.sources for _, url in s.fetch_urls()}
        defaults = policy_from_settings(crawler.settings)
        spider.policies = {s.id: policy_for(defaults, s.poll) for s in spider.sources}
        return spider

    @classmethod
    def selected(cls, source: SourceConfig, wanted: set[str]) -> bool:
        """An enabled source, polled unless its `poll:` disables it (naming it explicitly polls it anyway)."""
        if not (source.enabled or cls.include_disabled):
            return False
        if wanted:
            return source.id in wanted
        return cls.include_disabled or not source.poll.disabled

    def poll_targets(self) -> Iterator[PollTarget]:
        """Every (source, URL, kind) to poll: the one place to filter what is polled. Feeds of every source
        first, then sitemaps, then listing pages (each in sources-file order): when a feed and a sitemap
        announce one URL, the first request wins the dupefilter, and feed entries carry authors and tags."""
        targets = [
            PollTarget(source, url, kind, listing)
            for source in self.sources
            for kind, url, listing in source.polled()
        ]
        yield from sorted(targets, key=lambda t: KIND_ORDER.index(t.kind))


class ArticleSpider(SourcesSpider):
    """The article flow shared by every kind of polled URL (feed, sitemap, listing page)."""

    store: Store
    # Read at the start of a crawl (None: ask the store each time, as a long-lived distributed worker must).
    known_states: dict[str, FeedState]
    with_unfinished: set[str] | None = None

    def follow(self, target: PollTarget, entries: list[ParsedEntry], event: FetchEvent) -> Iterator[Any]:
        """Record the entries read from a polled URL and request the pages not stored yet; `event` last."""
        valid, bad = self._valid_entries(entries, target.source, target.url)
        yield from bad
        wanted, event.seen_share = self._to_fetch(target.url, valid)
        yield FeedEntriesItem(target.url, valid)
        event.new_items = len(wanted)
        self.crawler.stats.inc_value(f"monitor/{target.kind}s/parsed")
        yield event
        for entry in wanted:
            yield self.article_request(target, entry)
        yield from self.unfinished(target, {url_key(e.entry_url) for e in wanted})

    def unfinished(self, target: PollTarget, requested: set[str]) -> Iterator[scrapy.Request]:
        """Requests for the entries an earlier crawl left unfetched (it stopped, or their pages failed)."""
        if self.with_unfinished is not None and target.url not in self.with_unfinished:
            return
        for entry in self.store.unfinished_entries(target.url):
            if url_key(entry.entry_url) not in requested:
                self.crawler.stats.inc_value("monitor/entries/resumed")
                yield self.article_request(target, entry)

    def _valid_entries(
        self, entries: list[ParsedEntry], source: SourceConfig, feed_url: str
    ) -> tuple[list[EntryContext], list[FetchEvent]]:
        """Entries with a fetchable link and a GUID not seen earlier in this body; events for the rest."""
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
            valid.append(_context(source, feed_url, url, guid, entry))
        return valid, bad

    def _to_fetch(
        self, feed_url: str, entries: list[EntryContext]
    ) -> tuple[list[EntryContext], float | None]:
        """Entries whose page is not stored yet, or whose `updated` time or content changed since we stored
        them; and the share of entries this URL had announced before (the scheduler's signal)."""
        known = self.store.known_keys(e.entry_url for e in entries)
        previous = self.store.entry_updates(feed_url, [e.guid for e in entries])
        wanted = [e for e in entries if url_key(e.entry_url) not in known or _edited(e, previous.get(e.guid))]
        self.crawler.stats.inc_value("monitor/entries/known", len(entries) - len(wanted))
        seen = sum(1 for e in entries if e.guid in previous) / len(entries) if entries else None
        return wanted, seen

    def article_request(self, target: PollTarget, entry: EntryContext) -> scrapy.Request:
        """Request one article page."""
        return scrapy.Request(
            entry.entry_url,
            callback=self.parse_article,
            errback=self.article_failed,
            cb_kwargs={"target": target, "entry": entry},
            meta={"monitor_origin": entry.feed_url},
        )

    def parse_article(self, response: Response, target: PollTarget, entry: EntryContext) -> Iterator[Any]:
        """Hand an HTML page to the pipelines; anything else is not an article."""
        source = target.source
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
            default_tz=source.zone_name,
            extract_overrides=source.extract.model_dump(exclude_defaults=True) or None,
        )

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        """Record an article page that could not be fetched."""
        yield from self._failed(failure, "article")

    def _failed(self, failure: Failure, kind: str) -> Iterator[Any]:
        """A FetchEvent with the failure's error class."""
        request = failure.request  # type: ignore[attr-defined]
        error, message, status = classify_failure(failure)
        target: PollTarget = request.cb_kwargs["target"]
        feed_url = request.meta.get("monitor_origin", request.url)
        self.crawler.stats.inc_value(error.stats_key)
        self.logger.warning("%s %s failed [%s]: %s", kind, request.url, error.value, message)
        event = FetchEvent(target.source.id, feed_url, request.url, kind, status, error, message)
        if kind == "feed":
            event.policy = self.policies.get(target.source.id)
            if isinstance(failure.value, HttpError):
                event.retry_after = retry_after_seconds(failure.value.response.headers.get(b"Retry-After"))
        yield event


def _edited(entry: EntryContext, stored: EntryVersion | None) -> bool:
    """The feed now announces a different `updated` time or different content than when we stored it."""
    if stored is None:
        return False
    changed_time = entry.updated is not None and stored.updated not in (None, entry.updated)
    changed_text = entry.content_hash is not None and stored.content_hash not in (None, entry.content_hash)
    return changed_time or changed_text


def _context(source: SourceConfig, feed_url: str, url: str, guid: str, entry: ParsedEntry) -> EntryContext:
    """What the polled URL said about one entry, for the pipelines."""
    return EntryContext(
        source.id,
        feed_url,
        url,
        guid,
        entry.title,
        entry.published,
        entry.updated,
        entry.authors,
        entry.tags,
        entry.content_hash,
    )


def header(response: Response, name: bytes) -> str | None:
    """A response header as text, or None."""
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
