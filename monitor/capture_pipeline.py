"""Item pipeline keeping the raw capture of every fetched article page (`PageItem`), before extraction.

Runs before `ExtractPipeline` so a page is kept even when the extractor fails on it or calls it a non-article
(`monitor reextract` can then try again with a newer extractor).

Settings:
- ``MONITOR_CAPTURES`` (default True): switch the pipeline off (NotConfigured).
- ``MONITOR_CAPTURE_RETENTION`` (environment, e.g. ``90d``): captures older than this are pruned when the spider
  closes; unset keeps them forever.
- ``MONITOR_DB_RETRIES`` / ``MONITOR_DB_RETRY_DELAY``: as for `StorePipeline`: a write is retried while the
  database is away, then the crawl stops with ``database_error`` (the page is fetched again next run).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from sqlalchemy.exc import DBAPIError

from monitor import captures
from monitor.items import PageItem
from monitor.pipelines import StorePipeline, _is_disconnect
from monitor.reactor import sleep

logger = logging.getLogger(__name__)


class CapturePipeline(StorePipeline):
    """Stores each PageItem's bytes, headers and fetch time (zstd) and passes the item on unchanged."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.retention = captures.retention()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        """Scrapy entry point; NotConfigured when MONITOR_CAPTURES is off."""
        if not crawler.settings.getbool("MONITOR_CAPTURES", True):
            raise NotConfigured("MONITOR_CAPTURES is off")
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        """Keep the capture of a PageItem; everything else passes through."""
        if isinstance(item, PageItem):
            new = await self._save_capture(item)
            self.stats.inc_value("monitor/captures/new" if new else "monitor/captures/unchanged")
        return item

    async def _save_capture(self, item: PageItem) -> int:
        """save_captures with bounded retries on lost connections; then stop the crawl loudly."""
        delay = self.delay
        for attempt in range(self.retries + 1):
            try:
                return captures.save_captures(self.store, [item])
            except DBAPIError as exc:
                if not _is_disconnect(exc) or attempt == self.retries:
                    self._stop(f"capture write failed for {item.url}: {exc}")
                    raise DropItem(
                        f"capture not stored, page will be fetched again next run: {item.url}"
                    ) from exc
                self.stats.inc_value("monitor/db/retries")
                await sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def close_spider(self) -> None:
        """Apply the retention setting."""
        if self.retention is None:
            return
        pruned = captures.prune(self.store, self.retention)
        self.stats.set_value("monitor/captures/pruned", pruned)
        logger.info("pruned %d captures older than %s", pruned, self.retention)
