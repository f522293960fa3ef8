"""Article extraction off the reactor thread: a pool of worker processes fed picklable `ExtractJob`s.

Scrapy runs callbacks and pipelines on one thread, so trafilatura there caps a crawl at one core. `ExtractPool`
sends each page to a `ProcessPoolExecutor` (forkserver start method: the server imports the extractor once, and
workers are forked from it, never from the multi-threaded crawler) and awaits the result on the asyncio reactor.

- **Back-pressure**: at most ``max_inflight`` jobs are submitted at once (a semaphore); the items waiting for it keep
  their responses in Scrapy's scraper slot, so once ``SCRAPER_SLOT_MAX_ACTIVE_SIZE`` bytes are waiting the engine
  stops handing out new downloads (see `ExtractPipeline`).
- **Crashes**: a worker that dies (segfault, OOM kill) breaks the whole executor; the pool is recreated once per
  breakage and every job caught in it is retried once; a second crash raises `ExtractFailed`.
- **Signals**: workers ignore SIGINT/SIGTERM (the crawler shuts them down after finishing in-flight pages) and
  exit on their own when their parent disappears, so a killed crawler leaves no orphans.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from monitor.article import Article
from monitor.reactor import wait_future

logger = logging.getLogger(__name__)

# How often a worker checks that the crawler process is still there.
PARENT_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class ExtractJob:
    """Everything a worker needs to extract one page; only plain, picklable values."""

    body: bytes
    url: str
    default_tz: str | None = None
    overrides: dict[str, Any] | None = None
    headers_charset: str | None = None


@dataclass(frozen=True, slots=True)
class ExtractResult:
    """An extracted page and the CPU seconds the extractor spent on it (in the worker; waiting not included)."""

    article: Article
    seconds: float


class ExtractFailed(Exception):
    """The extractor raised, or its worker process died twice on the same page."""


def run_job(job: ExtractJob) -> ExtractResult:
    """Extract one page (runs in a worker process, or in-process when the pool has no workers)."""
    from monitor.extract import ExtractOverrides, extract_article

    started = time.process_time()
    article = extract_article(
        job.body,
        job.url,
        overrides=ExtractOverrides.from_mapping(job.overrides) if job.overrides else None,
        default_tz=ZoneInfo(job.default_tz) if job.default_tz else None,
        headers_charset=job.headers_charset,
    )
    return ExtractResult(article, time.process_time() - started)


def _worker_init(crawler_pid: int) -> None:
    """Leave shutdown to the crawler (ignore SIGINT/SIGTERM) and exit when the crawler process is gone.

    Workers are forked by the forkserver, not by the crawler, and keep the forkserver alive themselves, so they
    watch the crawler's pid rather than their parent.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        while _alive(crawler_pid):
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="crawler-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    """The process exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _context() -> Any:
    """forkserver (with the extractor preloaded) where available, spawn elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["monitor.extract", "monitor.extract_pool"])
        return ctx
    return multiprocessing.get_context("spawn")


def default_workers() -> int:
    """One worker per core."""
    return os.cpu_count() or 1


class ExtractPool:
    """Runs `func(job)` in `workers` processes (0: in this process), at most `max_inflight` at a time."""

    def __init__(
        self,
        workers: int,
        max_inflight: int = 0,
        func: Callable[[ExtractJob], ExtractResult] = run_job,
    ) -> None:
        import asyncio

        self.workers = max(workers, 0)
        self.max_inflight = max_inflight or 2 * max(self.workers, 1)
        self.func = func
        self.restarts = 0
        self._slots = asyncio.Semaphore(self.max_inflight)
        self._executor: Executor | None = None
        self._generation = 0

    def start(self) -> None:
        """Create the executor (workers are forked on first use)."""
        if self.workers and self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=_context(), initializer=_worker_init, initargs=(os.getpid(),)
            )

    def close(self) -> None:
        """Wait for running jobs, then stop the workers."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    async def run(self, job: ExtractJob) -> ExtractResult:
        """Extract one page off the reactor thread; ExtractFailed if the extractor raised or crashed twice."""
        async with self._slots:
            if not self.workers:
                return self._call(job)
            return await self._submit(job, retry=True)

    def _call(self, job: ExtractJob) -> ExtractResult:
        """In-process extraction, with the extractor's own exceptions turned into ExtractFailed."""
        try:
            return self.func(job)
        except Exception as exc:
            raise ExtractFailed(f"{type(exc).__name__}: {exc}") from exc

    async def _submit(self, job: ExtractJob, retry: bool) -> ExtractResult:
        """One attempt in the current executor; on a broken pool, restart it and (once) try again."""
        self.start()
        executor, generation = self._executor, self._generation
        assert executor is not None
        try:
            return await wait_future(executor.submit(self.func, job))
        except BrokenProcessPool as exc:
            self._restart(generation)
            if not retry:
                raise ExtractFailed(f"extraction worker died twice on this page: {exc}") from exc
            return await self._submit(job, retry=False)
        except Exception as exc:
            raise ExtractFailed(f"{type(exc).__name__}: {exc}") from exc

    def _restart(self, generation: int) -> None:
        """Replace a broken executor, once per breakage however many jobs saw it break."""
        if generation != self._generation:
            return
        broken, self._executor = self._executor, None
        self._generation += 1
        self.restarts += 1
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)
        logger.warning("extraction worker died: pool restarted (%d restarts so far)", self.restarts)
