"""Item pipelines: health records, feed entries, extraction and storage, in the order set in `monitor.settings`.

Settings:
- ``MONITOR_DATABASE_URL``: where everything is stored (default ``sqlite:///monitor.db``).
- ``MONITOR_DB_RETRIES`` / ``MONITOR_DB_RETRY_DELAY``: how often and how long (seconds, doubled each time) a write
  is retried while the database is unreachable before the crawl stops with an error (nothing is dropped silently:
  an article not stored is fetched again by the next run).
- ``MONITOR_FETCHLOG_BATCH`` (200) / ``MONITOR_FETCHLOG_FLUSH_SECONDS`` (2): poll records per transaction and
  the longest a record waits for its batch (see FetchLogPipeline).
- ``MONITOR_DEDUP``: overrides of the story-clustering thresholds (`monitor.dedup.settings.DedupSettings`, whose
  docstring gives each default), e.g. ``{"jaccard_threshold": 0.6}``.
- ``MONITOR_SQLITE_BACKGROUND_CHECKPOINTS`` (default True): on SQLite, WAL checkpoints run in a thread of the
  crawler instead of inside whichever write crosses the threshold (`storage.db.BackgroundCheckpoints`).
- ``MONITOR_EXTRACT_WORKERS``: extraction worker processes (default: one per core; 0 extracts on the reactor
  thread, for debugging).
- ``MONITOR_EXTRACT_MAX_INFLIGHT``: pages submitted to the workers at once (default 0 = 2 × workers).

Stats: ``monitor/extract/count`` and ``monitor/extract/seconds_total`` (extractor CPU seconds, summed over pages),
``monitor/extract/workers``, ``monitor/extract/pool_restarts``.
"""

from __future__ import annotations

import time
from dataclasses import fields
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import DBAPIError, OperationalError

from monitor.dedup import DedupSettings
from monitor.errors import ErrorClass
from monitor.extract_pool import ExtractFailed, ExtractJob, ExtractPool, default_workers
from monitor.items import ArticleItem, FeedEntriesItem, FetchEvent, PageItem, StoredArticle
from monitor.reactor import call_soon, sleep
from monitor.scheduling.metrics import EXTRACT_COUNT_KEY, EXTRACT_SECONDS_KEY
from monitor.scheduling.pollog import log_poll
from storage.db import BackgroundCheckpoints
from storage.store import POLL_KINDS, Store

DEFAULT_DATABASE_URL = "sqlite:///monitor.db"


def store_for(crawler: Crawler) -> Store:
    """The crawler's one shared Store (created on first use, schema ensured)."""
    store = getattr(crawler, "_monitor_store", None)
    if store is None:
        store = Store.from_url(crawler.settings.get("MONITOR_DATABASE_URL") or DEFAULT_DATABASE_URL)
        crawler._monitor_store = store  # type: ignore[attr-defined]
        store.dedup_settings = dedup_settings(crawler.settings.getdict("MONITOR_DEDUP"))
        if crawler.settings.getbool("MONITOR_SQLITE_BACKGROUND_CHECKPOINTS", True):
            checkpoints = BackgroundCheckpoints(store.engine).start()
            crawler.signals.connect(checkpoints.stop, signal=signals.engine_stopped, weak=False)
    return store


def dedup_settings(overrides: dict[str, Any]) -> DedupSettings:
    """DedupSettings with the MONITOR_DEDUP overrides; a clear error naming a wrong key or value."""
    known = {f.name: f.type for f in fields(DedupSettings)}
    unknown = sorted(set(overrides) - known.keys())
    if unknown:
        raise ValueError(f"MONITOR_DEDUP: unknown setting {', '.join(unknown)} (known: {', '.join(known)})")
    try:
        values = {k: float(v) if known[k] == "float" else int(v) for k, v in overrides.items()}
        return DedupSettings(**values)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"MONITOR_DEDUP: {exc}") from None


class _StorePipeline:
    """Base of the pipelines that talk to the store."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.store = store_for(crawler)
        self.stats = crawler.stats
        assert self.stats is not None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        """Scrapy entry point."""
        return cls(crawler)


class FetchLogPipeline(_StorePipeline):
    """Stores every FetchEvent: the per-source, per-feed health record.

    Polls' records (feeds, sitemaps, listing pages: most of an unchanged cycle is 304s) are written in batches
    of up to MONITOR_FETCHLOG_BATCH per transaction, flushed when full, after MONITOR_FETCHLOG_FLUSH_SECONDS,
    when the spider goes idle and when it closes. A crawl killed outright loses at most one batch of health
    records; their feeds were not marked polled, so the next run polls them again.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.batch = max(1, crawler.settings.getint("MONITOR_FETCHLOG_BATCH", 200))
        self.flush_after = crawler.settings.getfloat("MONITOR_FETCHLOG_FLUSH_SECONDS", 2.0)
        self.pending: list[FetchEvent] = []
        self.first_pending_at = 0.0
        crawler.signals.connect(self.flush, signal=signals.spider_idle)

    def process_item(self, item: Any) -> Any:
        """Record fetch outcomes; pass everything else on."""
        if not isinstance(item, FetchEvent):
            return item
        if item.kind not in POLL_KINDS:
            record_event(self.store, self.stats, item)
            return item
        self.stats.inc_value(f"monitor/{item.kind}s/{'failed' if item.error else 'ok'}")
        if not self.pending:
            self.first_pending_at = time.monotonic()
        self.pending.append(item)
        if len(self.pending) >= self.batch or time.monotonic() - self.first_pending_at >= self.flush_after:
            self.flush()
        return item

    def flush(self) -> None:
        """Write the buffered poll records in one transaction."""
        events, self.pending = self.pending, []
        if events:
            self._write(events)

    def close_spider(self) -> None:
        """The last batch."""
        self.flush()

    def _write(self, events: list[FetchEvent]) -> None:
        """Write records and log each poll's decision."""
        for event, decision in zip(events, self.store.record_fetches(events), strict=True):
            if decision is not None:
                log_poll(event, decision)


def record_event(store: Store, stats: Any, event: FetchEvent) -> None:
    """Write one fetch record at once (an article's or an entry's); a failed page marks its entries."""
    stats.inc_value(f"monitor/{event.kind}s/{'failed' if event.error else 'ok'}")
    store.record_fetch(event)
    if event.kind == "article" and event.error is not None:
        store.mark_entries(event.url, _entry_status(event.error))


def _entry_status(error: ErrorClass) -> str:
    """What an entry becomes when its page failed: "failed" is retried on later polls, the others are not."""
    if error is ErrorClass.NOT_ARTICLE:
        return "not_article"
    return "refused" if error.permanent else "failed"


class FeedEntriesPipeline(_StorePipeline):
    """Stores the entries of each polled feed (which feed announced which URL)."""

    def process_item(self, item: Any) -> Any:
        """Upsert feed entries."""
        if isinstance(item, FeedEntriesItem):
            new = self.store.record_entries(item.entries)
            self.stats.inc_value("monitor/entries/new", new)
        return item


class ExtractPipeline(_StorePipeline):
    """Turns fetched pages into extracted articles in worker processes; non-articles are recorded and dropped.

    Back-pressure relies on Scrapy itself: an item waiting here keeps its response in the scraper slot, and the
    engine stops scheduling downloads while the slot holds more than ``SCRAPER_SLOT_MAX_ACTIVE_SIZE`` bytes
    (``CONCURRENT_ITEMS`` only bounds items per response: one page per article response here).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        workers = settings.getint("MONITOR_EXTRACT_WORKERS", default_workers())
        self.pool = ExtractPool(workers, settings.getint("MONITOR_EXTRACT_MAX_INFLIGHT", 0))

    def open_spider(self) -> None:
        """Start the worker pool."""
        self.pool.start()
        self.stats.set_value("monitor/extract/workers", self.pool.workers)

    def close_spider(self) -> None:
        """Stop the workers once the pages in flight are done."""
        self.pool.close()
        self.stats.set_value("monitor/extract/pool_restarts", self.pool.restarts)

    async def process_item(self, item: Any) -> Any:
        """Extract a PageItem."""
        if not isinstance(item, PageItem):
            return item
        try:
            result = await self.pool.run(_job(item))
        except ExtractFailed as exc:
            self._record(item, ErrorClass.EXTRACT_FAILED, str(exc))
            raise DropItem(f"extraction failed ({exc}), will be fetched again next run: {item.url}") from exc
        self.stats.inc_value(EXTRACT_COUNT_KEY)
        seconds = self.stats.get_value(EXTRACT_SECONDS_KEY, 0.0) + result.seconds
        self.stats.set_value(EXTRACT_SECONDS_KEY, seconds)
        article = result.article
        if not article.is_article:
            reason = article.not_article_reason or "not an article"
            self._record(item, ErrorClass.NOT_ARTICLE, reason)
            raise DropItem(f"not an article ({reason}): {item.url}")
        return ArticleItem(item.entry, item.url, article, item.fetched_at, page=item)

    def _record(self, item: PageItem, error: ErrorClass, message: str) -> None:
        """A failed article fetch in the fetch log (and its entries marked), counted under its error class."""
        event = FetchEvent(item.entry.source_id, item.entry.feed_url, item.url, "article", item.status)
        event.error, event.message = error, message
        record_event(self.store, self.stats, event)
        self.stats.inc_value(error.stats_key)


def _job(item: PageItem) -> ExtractJob:
    """The picklable extraction input of a page."""
    return ExtractJob(
        item.body,
        item.url,
        item.default_tz,
        item.extract_overrides,
        _charset(item.headers.get("Content-Type")),
    )


class StorePipeline(_StorePipeline):
    """Writes extracted articles once (new row, revision or alias), retrying while the database is away."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.retries = crawler.settings.getint("MONITOR_DB_RETRIES", 5)
        self.delay = crawler.settings.getfloat("MONITOR_DB_RETRY_DELAY", 1.0)

    async def process_item(self, item: Any) -> Any:
        """Store an ArticleItem and return what happened as a StoredArticle."""
        if not isinstance(item, ArticleItem):
            return item
        stored = await self._save(item)
        if stored.created:
            self.stats.inc_value("monitor/articles/new")
        else:
            self.stats.inc_value("monitor/articles/duplicate")
        if stored.revision and not stored.created:
            self.stats.inc_value("monitor/articles/revised")
        return stored

    async def _save(self, item: ArticleItem) -> StoredArticle:
        """save_article, then the feed entry marked stored, with bounded retries on connection errors; then stop
        the crawl loudly. A connection lost after the save retries only the marking."""
        delay = self.delay
        stored: StoredArticle | None = None
        for attempt in range(self.retries + 1):
            try:
                if stored is None:
                    stored = self.store.save_article(item)
                self.store.mark_entries(item.entry.entry_url, "stored")
                return stored
            except (OperationalError, DBAPIError) as exc:
                if not _is_disconnect(exc) or attempt == self.retries:
                    self._stop(f"database write failed for {item.fetched_url}: {exc}")
                    raise DropItem(f"not stored, will be fetched again next run: {item.fetched_url}") from exc
                self.stats.inc_value("monitor/db/retries")
                await sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _stop(self, message: str) -> None:
        """Stop the crawl with reason `database_error` (the CLI exits non-zero on it)."""
        self.stats.inc_value("monitor/db/errors")
        self.stats.set_value("monitor/db/last_error", message)
        engine = self.crawler.engine
        if engine is not None:
            call_soon(lambda: deferred_from_coro(engine.close_spider_async(reason="database_error")))


def _is_disconnect(exc: DBAPIError) -> bool:
    """A lost or refused connection (worth retrying), as opposed to a bad statement."""
    return bool(getattr(exc, "connection_invalidated", False)) or isinstance(exc, OperationalError)


def _charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header."""
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip("\"' ")
    return None
