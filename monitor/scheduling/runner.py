"""`monitor run`: a long-running scheduler that runs one `monitor crawl --due` per cycle in a child process.

The Twisted reactor cannot be restarted in one process, so each cycle is a fresh child (its own session, so a
terminal's Ctrl-C reaches only the scheduler, which forwards it once). The scheduler holds the database's
``scheduler`` lock for its whole life (two schedulers never run at once); each child takes the ``crawl`` lock as
any `monitor crawl` does (a cron crawl and a cycle never overlap). On SIGTERM/SIGINT the scheduler forwards the
signal to a running child, whose Scrapy shutdown finishes the in-flight requests and items (everything else is
fetched by the next run), waits for it and exits; a second signal is forwarded too and forces the child to stop.
Between cycles it sleeps until the next feed is due, waking at least every ``check_every`` seconds (the sources
file is read again each cycle).

Distributed (``redis_url`` set, `monitor run --distributed`): instead of crawling, each cycle queues the due URLs
in Redis for `monitor worker` processes (`monitor.distributed.producer.enqueue_feeds`); a URL queued less than
``ENQUEUE_GRACE`` seconds ago is not queued again while its poll is still waiting or in flight.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from monitor.config import load_sources
from monitor.lock import database_lock
from monitor.scheduling.metrics import RunMetrics
from monitor.scheduling.stale import StaleAlerts
from storage.models import utcnow
from storage.store import Store

logger = logging.getLogger("monitor.run")
# A URL queued for the workers this recently is not queued again (its poll is waiting or in flight).
ENQUEUE_GRACE = 600.0
# The sleep between cycles never goes below this (a feed due "now" that the child skipped must not spin us).
MIN_SLEEP = 1.0


@dataclass(slots=True)
class RunOptions:
    """What `monitor run` was asked to do."""

    db_url: str
    sources_path: str
    watches: str | None = None
    settings: Sequence[str] = ()
    once: bool = False
    check_every: float = 60.0
    verbose: int = 1
    extra_env: dict[str, str] = field(default_factory=dict)
    redis_url: str | None = None
    redis_prefix: str | None = None
    stale_channels: Sequence[str] = ()


def polled_feed_urls(sources_path: str) -> list[str]:
    """Polled URLs (feeds, sitemaps, listing pages) of the enabled sources whose `poll:` does not disable them."""
    config = load_sources(sources_path)
    return [url for s in config.sources if s.enabled and not s.poll.disabled for _, url, _ in s.polled()]


def queue(store: Store, feed_urls: Sequence[str], now: datetime) -> tuple[int, datetime | None]:
    """(feeds due now, the earliest later poll time)."""
    schedule = store.poll_schedule(feed_urls)
    due = sum(1 for at in schedule.values() if at is None or at <= now)
    later = [at for at in schedule.values() if at is not None and at > now]
    return due, min(later) if later else None


def sleep_seconds(now: datetime, next_at: datetime | None, check_every: float) -> float:
    """How long to sleep before looking again: until the next due feed, bounded by check_every."""
    if next_at is None:
        return check_every
    return min(check_every, max(MIN_SLEEP, (next_at - now).total_seconds()))


def crawl_command(options: RunOptions, stats_path: Path) -> list[str]:
    """The child's command line: `monitor crawl --due` with the scheduler's options."""
    cmd = [sys.executable, "-m", "monitor", "crawl", "--due", "--no-progress"]
    cmd += ["--sources", options.sources_path, "--db", options.db_url, "--stats-json", str(stats_path)]
    if options.watches:
        cmd += ["--watches", options.watches]
    for pair in options.settings:
        cmd += ["-s", pair]
    return cmd + (["-" + "v" * options.verbose] if options.verbose else [])


class Scheduler:
    """The cycle loop; `run()` returns the process exit code."""

    def __init__(self, options: RunOptions, metrics: RunMetrics | None = None) -> None:
        self.options = options
        self.metrics = metrics or RunMetrics()
        self.stopping = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self.cycles = 0
        self.queued_at: dict[str, float] = {}
        self.stale = StaleAlerts(options.stale_channels)

    def run(self) -> int:
        """Hold the scheduler lock and run cycles until stopped (or once)."""
        with database_lock(self.options.db_url, "scheduler"):
            self._install_signals()
            store = Store.from_url(self.options.db_url)
            try:
                return self._loop(store)
            finally:
                store.engine.dispose()

    def _loop(self, store: Store) -> int:
        """Cycle, sleep, repeat."""
        failed = False
        while not self.stopping.is_set():
            now = utcnow()
            due, next_at = queue(store, polled_feed_urls(self.options.sources_path), now)
            self.metrics.due.set(due)
            if due and self.options.redis_url:
                self.enqueue(store, now)
            elif due:
                failed = not self.cycle(due) or failed
            self.stale.check(store)
            if self.options.once:
                break
            self.stopping.wait(sleep_seconds(utcnow(), next_at, self.options.check_every))
        logger.info("scheduler stopped after %d cycles", self.cycles)
        return 1 if failed and self.options.once else 0

    def cycle(self, due: int) -> bool:
        """One child crawl over the due feeds; True when it ran to its end (or was stopped by us)."""
        self.cycles += 1
        with tempfile.TemporaryDirectory(prefix="monitor-run-") as tmp:
            stats_path = Path(tmp) / "stats.json"
            started = time.monotonic()
            logger.info("cycle %d: %d feeds due", self.cycles, due)
            code = self._run_child(crawl_command(self.options, stats_path))
            summary = _read_summary(stats_path)
        result = "ok" if code == 0 else ("stopped" if self.stopping.is_set() else "failed")
        self.metrics.observe(summary, result, time.monotonic() - started)
        logger.info(
            "cycle %d %s: exit %d, polls %s, unchanged %s, new articles %s",
            *(self.cycles, result, code),
            *(summary.get(k, 0) for k in ("feeds_polled", "feeds_not_modified", "articles_new")),
        )
        return result != "failed"

    def enqueue(self, store: Store, now: datetime) -> int:
        """Queue the due URLs in Redis for the workers (not those queued within ENQUEUE_GRACE); how many."""
        from monitor.distributed.producer import enqueue_feeds

        self.cycles += 1
        sources = load_sources(self.options.sources_path).sources
        clock = time.monotonic()
        due = store.due_feed_urls(polled_feed_urls(self.options.sources_path), now)
        fresh = sorted(url for url in due if clock - self.queued_at.get(url, -ENQUEUE_GRACE) >= ENQUEUE_GRACE)
        assert self.options.redis_url is not None
        count = enqueue_feeds(self.options.redis_url, sources, fresh, prefix=self.options.redis_prefix)
        self.queued_at.update(dict.fromkeys(fresh, clock))
        logger.info("cycle %d: %d due, %d queued for the workers", self.cycles, len(due), count)
        return count

    def _run_child(self, cmd: list[str]) -> int:
        """Start the child in its own session and wait for it."""
        env = {**os.environ, **self.options.extra_env}
        self.child = subprocess.Popen(cmd, env=env, start_new_session=True)
        try:
            return self.child.wait()
        finally:
            self.child = None

    def _install_signals(self) -> None:
        """SIGTERM and SIGINT stop the loop and are forwarded to a running child."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """Stop after the current cycle; the child shuts down gracefully (a second signal forces it)."""
        logger.warning("received %s: stopping", signal.Signals(signum).name)
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signum)


def _read_summary(path: Path) -> dict[str, Any]:
    """The child's summary JSON, or {} when it wrote none (it failed before the end)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
