"""A live progress line on stderr while a crawl runs (rich), from Scrapy stats.

Settings:
- ``MONITOR_PROGRESS``: show it (the CLI turns it on when stderr is a terminal or ``--progress`` is given).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.task import LoopingCall

REFRESH_SECONDS = 0.5


def progress_text(stats: dict[str, Any]) -> str:
    """One line: feeds polled, pages fetched, articles stored, errors."""
    errors = sum(int(v) for k, v in stats.items() if k.startswith("monitor/fetch/error/"))
    feeds = int(stats.get("monitor/feeds/ok", 0)) + int(stats.get("monitor/feeds/failed", 0))
    return (
        f"feeds {feeds} · pages {int(stats.get('response_received_count', 0))}"
        f" · new articles {int(stats.get('monitor/articles/new', 0))} · errors {errors}"
    )


class ProgressExtension:
    """Prints the progress line while the spider runs."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.console = Console(stderr=True)
        self.status: Any = None
        self.loop = LoopingCall(self.refresh)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        """Enabled by MONITOR_PROGRESS."""
        if not crawler.settings.getbool("MONITOR_PROGRESS"):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.closed, signal=signals.spider_closed)
        return ext

    def opened(self) -> None:
        """Start the live line."""
        self.status = self.console.status("crawling…")
        self.status.start()
        self.loop.start(REFRESH_SECONDS)

    def refresh(self) -> None:
        """Redraw from the current stats."""
        assert self.crawler.stats is not None
        if self.status is not None:
            self.status.update(progress_text(self.crawler.stats.get_stats()))

    def closed(self) -> None:
        """Stop the live line."""
        if self.loop.running:
            self.loop.stop()
        if self.status is not None:
            self.status.stop()
