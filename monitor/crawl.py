"""Running one crawl in this process: settings, the lock, progress, and the summary read from Scrapy stats.

The Twisted reactor cannot be restarted, so a process runs one crawl (`monitor run` will use child processes).
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from monitor.lock import database_lock


@dataclass(slots=True)
class CrawlSummary:
    """What one crawl did, from its stats."""

    sources: int = 0
    feeds_polled: int = 0
    feeds_not_modified: int = 0
    entries_new: int = 0
    articles_new: int = 0
    duplicates_skipped: int = 0
    revisions: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    finish_reason: str = ""
    database_url: str = ""
    # Every monitor/* stats value, for `monitor run` (which reads it back from `crawl --stats-json`).
    stats: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_stats(cls, stats: dict[str, Any], sources: int, database_url: str) -> CrawlSummary:
        """Read the monitor/* stats keys."""
        errors: Counter[str] = Counter()
        prefix = "monitor/fetch/error/"
        for key, value in stats.items():
            if key.startswith(prefix):
                errors[key.removeprefix(prefix)] += int(value)
        return cls(
            sources=sources,
            feeds_polled=int(stats.get("monitor/feeds/ok", 0)) + int(stats.get("monitor/feeds/failed", 0)),
            feeds_not_modified=int(stats.get("monitor/feeds/not_modified", 0)),
            entries_new=int(stats.get("monitor/entries/new", 0)),
            articles_new=int(stats.get("monitor/articles/new", 0)),
            # Entries already stored, pages that turned out to be a stored article, and links announced twice
            # in this crawl (Scrapy's dupefilter drops the second request).
            duplicates_skipped=int(stats.get("monitor/entries/known", 0))
            + int(stats.get("monitor/articles/duplicate", 0))
            + int(stats.get("dupefilter/filtered", 0)),
            revisions=int(stats.get("monitor/articles/revised", 0)),
            errors=errors,
            finish_reason=str(stats.get("finish_reason", "")),
            database_url=database_url,
            stats={k: v for k, v in stats.items() if k.startswith("monitor/")},
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (dataclasses.asdict would rebuild the Counter from (key, count) pairs, keyed by tuples)."""
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["errors"] = dict(self.errors)
        return out

    @property
    def ok(self) -> bool:
        """True only when the crawl ran to its end (not stopped on a database error, a signal or a start error)."""
        return self.finish_reason == "finished"

    def line(self) -> str:
        """The one-line summary printed at the end of a crawl."""
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items())) or "none"
        return (
            f"sources {self.sources} · feeds polled {self.feeds_polled} ({self.feeds_not_modified} unchanged)"
            f" · new articles {self.articles_new} · duplicates skipped {self.duplicates_skipped}"
            f" · revisions {self.revisions} · errors: {errors}"
        )


def build_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The project settings module plus command-line overrides."""
    settings = Settings()
    settings.setmodule("monitor.settings", priority="project")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_crawl(
    database_url: str,
    sources_path: str,
    *,
    source_ids: list[str] | None = None,
    watches: str | None = None,
    overrides: dict[str, Any] | None = None,
    spider: str = "feeds",
    lock: bool = True,
) -> CrawlSummary:
    """Crawl every (selected) source once under the database's crawl lock; raises LockBusy if one runs.

    `lock=False` is for distributed workers, many of which share one database by design."""
    from monitor.config import load_sources

    config = load_sources(sources_path)
    count = len([s for s in config.sources if s.enabled and (not source_ids or s.id in source_ids)])
    settings = build_settings(
        {
            "MONITOR_DATABASE_URL": database_url,
            "MONITOR_SOURCES": str(sources_path),
            "MONITOR_SOURCE_IDS": source_ids or [],
            "MONITOR_WATCHES": watches,
            **(overrides or {}),
        }
    )
    with database_lock(database_url, "crawl") if lock else nullcontext():
        process = CrawlerProcess(settings, install_root_handler=True)
        crawler = process.create_crawler(spider)
        process.crawl(crawler)
        process.start()
    assert crawler.stats is not None
    return CrawlSummary.from_stats(crawler.stats.get_stats(), count, database_url)
