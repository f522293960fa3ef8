"""Scrapy item pipeline: match each newly stored article against the watches, store alerts, deliver them.

Settings:
  MONITOR_WATCHES               path of watches.yaml; unset → the pipeline is disabled (NotConfigured)
  MONITOR_DATABASE_URL          the database holding articles and alerts (default: env, else sqlite:///monitor.db)
  MONITOR_ALERTS_DELIVER_EVERY  seconds between background outbox runs for retries and digests (default 60)

The item is the storage pipeline's result: any object with `article_id: int` and `created: bool`; only new
articles are matched. Matching and storing run on the reactor thread (≈ a millisecond per article); network sends
run in the reactor's thread pool (`deferToThread`), one outbox run at a time, and `close_spider` waits for a
final run. The watches file is re-read when its modification time changes; an invalid edit is logged and the
previous watches stay in force. Stats: monitor/alerts/{matched,notified,silent,watches_invalid} and
monitor/alerts/delivery/{delivered,failed,expired,error}.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task, threads
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from monitor.alerts.delivery import DeliveryReport, SenderFactory, deliver_pending, env_senders
from monitor.alerts.matcher import Matcher
from monitor.alerts.store import article_document, store_matches
from monitor.alerts.watches import Watch, WatchesError, load_watches
from storage.db import make_engine, make_sessionmaker
from storage.models import ArticleRow, utcnow

logger = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///monitor.db"
DEFAULT_DELIVER_EVERY_S = 60.0


class WatchSource:
    """The watches file and the matcher built from it, rebuilt when the file changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._mtime = os.stat(self.path).st_mtime_ns
        self.watches: dict[str, Watch] = {w.name: w for w in load_watches(self.path)}
        self.matcher = Matcher(self.watches.values())

    def refresh(self) -> bool:
        """Reload after a change; False (old watches kept) when the new file is invalid."""
        mtime = os.stat(self.path).st_mtime_ns
        if mtime == self._mtime:
            return True
        self._mtime = mtime
        try:
            watches = {w.name: w for w in load_watches(self.path)}
        except WatchesError as exc:
            logger.error("watches file changed but is invalid; keeping the previous watches:\n%s", exc)
            return False
        self.watches, self.matcher = watches, Matcher(watches.values())
        logger.info("reloaded %d watches from %s", len(watches), self.path)
        return True


class AlertPipeline:
    """Match, store and deliver alerts for newly stored articles."""

    def __init__(self, crawler: Crawler, source: WatchSource, database_url: str, every: float) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        self.source = source
        self.engine = make_engine(database_url)
        self.sessions = make_sessionmaker(self.engine)
        self.every = every
        self.senders: SenderFactory = env_senders()
        self.in_thread: Callable[[Callable[[], DeliveryReport]], Deferred[DeliveryReport]] = (
            threads.deferToThread
        )
        self._running: Deferred[Any] | None = None
        self._again = False
        self._loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AlertPipeline:
        """Build from settings; an invalid watches file stops the crawl before it starts."""
        path = crawler.settings.get("MONITOR_WATCHES")
        if not path:
            raise NotConfigured("MONITOR_WATCHES is not set")
        url = crawler.settings.get("MONITOR_DATABASE_URL") or os.environ.get(
            "MONITOR_DATABASE_URL", DEFAULT_DATABASE_URL
        )
        every = crawler.settings.getfloat("MONITOR_ALERTS_DELIVER_EVERY", DEFAULT_DELIVER_EVERY_S)
        return cls(crawler, WatchSource(path), url, every)

    def open_spider(self) -> None:
        """Start the periodic outbox run (retries with backoff, digests)."""
        if self.every > 0:
            self._loop = task.LoopingCall(self.kick)
            self._loop.start(self.every, now=True)

    def process_item(self, item: Any) -> Any:
        """Match a newly stored article; store alerts; start a delivery run when one notifies."""
        if not getattr(item, "created", False):
            return item
        if not self.source.refresh():
            self._inc("monitor/alerts/watches_invalid")
        with self.sessions() as session:
            article = session.get(ArticleRow, item.article_id)
            if article is None:
                raise LookupError(f"alert pipeline: article {item.article_id} is not in the database")
            matches = self.source.matcher.match(article_document(article))
            rows = store_matches(session, article, matches, self.source.watches, utcnow())
        self._inc("monitor/alerts/matched", len(rows))
        notified = sum(r.notified for r in rows)
        self._inc("monitor/alerts/notified", notified)
        self._inc("monitor/alerts/silent", len(rows) - notified)
        if notified:
            self.kick()
        return item

    def _inc(self, key: str, count: int = 1) -> None:
        """Increment a stat (no-op for zero)."""
        if count and self.stats is not None:
            self.stats.inc_value(key, count)

    def deliver_now(self) -> DeliveryReport:
        """One outbox run in its own session (runs in a worker thread)."""
        with self.sessions() as session:
            return deliver_pending(session, utcnow(), self.senders)

    def kick(self) -> None:
        """Start an outbox run, or schedule one more after the current run."""
        if self._running is not None:
            self._again = True
            return
        running = self._running = self.in_thread(self.deliver_now)
        running.addCallbacks(self._done, self._failed)  # may fire at once; _done then clears _running

    def _done(self, report: DeliveryReport) -> None:
        """Count the run's outcome and run again if asked meanwhile."""
        self._inc("monitor/alerts/delivery/delivered", report.delivered)
        self._inc("monitor/alerts/delivery/failed", report.failed)
        self._inc("monitor/alerts/delivery/expired", report.expired)
        self._finish_run()

    def _failed(self, failure: Failure) -> None:
        """An unexpected error in a run: logged with traceback; leased rows are retried after the lease."""
        logger.error("alert delivery run failed", exc_info=(failure.type, failure.value, failure.tb))
        self._inc("monitor/alerts/delivery/error")
        self._finish_run()

    def _finish_run(self) -> None:
        """Clear the running flag and honour a pending re-run."""
        self._running = None
        if self._again:
            self._again = False
            self.kick()

    async def close_spider(self) -> None:
        """Stop the loop, wait for the current run, do a final run, release the engine."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        while self._running is not None:
            await maybe_deferred_to_future(self._running)
        self._again = False
        self._done(await maybe_deferred_to_future(self.in_thread(self.deliver_now)))
        self.engine.dispose()
