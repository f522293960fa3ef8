"""Item pipelines: health records, feed entries, extraction and storage, in the order set in `monitor.settings`.

Settings:
- ``MONITOR_DATABASE_URL``: where everything is stored (default ``sqlite:///monitor.db``).
- ``MONITOR_DB_RETRIES`` / ``MONITOR_DB_RETRY_DELAY``: how often and how long (seconds, doubled each time) a write
  is retried while the database is unreachable before the crawl stops with an error (nothing is dropped silently:
  an article not stored is fetched again by the next run).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import DBAPIError, OperationalError

from monitor.errors import ErrorClass
from monitor.items import ArticleItem, FeedEntriesItem, FetchEvent, PageItem, StoredArticle
from monitor.reactor import call_soon, sleep
from monitor.scheduling.pollog import log_poll
from storage.store import Store

DEFAULT_DATABASE_URL = "sqlite:///monitor.db"


def store_for(crawler: Crawler) -> Store:
    """The crawler's one shared Store (created on first use, schema ensured)."""
    store = getattr(crawler, "_monitor_store", None)
    if store is None:
        store = Store.from_url(crawler.settings.get("MONITOR_DATABASE_URL") or DEFAULT_DATABASE_URL)
        crawler._monitor_store = store  # type: ignore[attr-defined]
    return store


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
    """Stores every FetchEvent: the per-source, per-feed health record."""

    def process_item(self, item: Any) -> Any:
        """Record fetch outcomes; pass everything else on."""
        if isinstance(item, FetchEvent):
            decision = self.store.record_fetch(item)
            if decision is not None:
                log_poll(item, decision)
            self.stats.inc_value(f"monitor/{item.kind}s/{'failed' if item.error else 'ok'}")
            if item.kind == "article" and item.error is not None:
                self.store.mark_entries(item.url, _entry_status(item.error))
        return item


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
    """Turns fetched pages into extracted articles; non-articles are recorded and dropped."""

    def process_item(self, item: Any) -> Any:
        """Extract a PageItem."""
        if not isinstance(item, PageItem):
            return item
        from monitor.extract import ExtractOverrides, extract_article

        overrides = ExtractOverrides.from_mapping(item.extract_overrides) if item.extract_overrides else None
        article = extract_article(
            item.body,
            item.url,
            overrides=overrides,
            default_tz=ZoneInfo(item.default_tz) if item.default_tz else None,
            headers_charset=_charset(item.headers.get("Content-Type")),
        )
        if not article.is_article:
            reason = article.not_article_reason or "not an article"
            event = FetchEvent(item.entry.source_id, item.entry.feed_url, item.url, "article", item.status)
            event.error, event.message = ErrorClass.NOT_ARTICLE, reason
            FetchLogPipeline.process_item(self, event)  # type: ignore[arg-type]
            self.stats.inc_value(ErrorClass.NOT_ARTICLE.stats_key)
            raise DropItem(f"not an article ({reason}): {item.url}")
        return ArticleItem(item.entry, item.url, article, item.fetched_at, page=item)


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
        self.store.mark_entries(item.entry.entry_url, "stored")
        return stored

    async def _save(self, item: ArticleItem) -> StoredArticle:
        """save_article with bounded retries on connection errors; then stop the crawl loudly."""
        delay = self.delay
        for attempt in range(self.retries + 1):
            try:
                return self.store.save_article(item)
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
