"""scrapy-redis' Scheduler with leases: nothing a worker pops is lost when it dies, and Redis may restart.

Settings (besides scrapy-redis' own: REDIS_URL, SCHEDULER_QUEUE_KEY, SCHEDULER_DUPEFILTER_KEY, ...):
- ``MONITOR_LEASE_SECONDS`` (60): how long a popped request stays leased without a heartbeat. A heartbeat
  (every third of it, at most 5 s) extends the leases of requests still in progress, acknowledges the finished
  ones, and re-queues the expired leases of every worker (the reaper).
- ``MONITOR_RETRY_LATER`` (30): a request whose processing failed on a lost database connection is not
  acknowledged; its lease is shortened to this many seconds, after which the reaper puts it back.
- ``MONITOR_IDLE_EXIT`` (0 = never): close once the queue and every worker's leases have been empty this long.

Stats: ``monitor/distributed/{acked,retry_later,reaped,lost_leases,db_failures,bad_payload}`` and
``monitor/redis/{errors,buffered}``.

"Finished" means the engine is done with the request: downloaded, its callback run, every item it produced
through the pipelines, and every request it produced pushed to Redis. While Redis is unreachable, requests to
push wait in memory and nothing is acknowledged, so a worker killed then loses nothing either: its unacknowledged
leases expire and the parents are fetched again.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import time
import uuid
from collections import deque
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy_redis.scheduler import Scheduler
from sqlalchemy.exc import DBAPIError
from twisted.internet import task

from monitor.distributed.queue import LEASE_META, LeasedQueue
from monitor.distributed.redisconn import REDIS_ERRORS, Backoff
from monitor.pipelines import _is_disconnect

logger = logging.getLogger(__name__)
# Undecodable or unusable payloads skipped in one next_request() call before giving the engine a turn.
MAX_SKIPS = 16


def worker_id() -> str:
    """A name unique to this process, shown in lease tokens: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def in_progress(crawler: Crawler) -> set[Request]:
    """Requests the engine took from the scheduler and has not finished with.

    Scrapy has no public signal for "a response and all it produced are processed"; the engine slot's
    `inprogress` set is exactly that (filled when a request leaves the scheduler, emptied after its scrape).
    tests/test_distributed_scheduler.py fails if a Scrapy upgrade moves it.
    """
    slot = getattr(crawler.engine, "_slot", None)
    return slot.inprogress if slot is not None else set()


class LeasedScheduler(Scheduler):
    """Leased pops, heartbeats, acknowledgements, a reaper, and buffering while Redis is away."""

    queue: LeasedQueue

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeasedScheduler:
        """scrapy-redis' construction, then our settings and signals."""
        instance: LeasedScheduler = super().from_crawler(crawler)
        instance.configure(crawler)
        return instance

    def configure(self, crawler: Crawler) -> None:
        """Read the MONITOR_* lease settings and connect the failure signals."""
        settings = crawler.settings
        self.crawler = crawler
        self.lease_seconds = settings.getfloat("MONITOR_LEASE_SECONDS", 60.0)
        self.retry_later = settings.getfloat("MONITOR_RETRY_LATER", 30.0)
        self.idle_exit = settings.getfloat("MONITOR_IDLE_EXIT", 0.0)
        self.held: dict[str, Request | None] = {}
        self.failed: set[str] = set()
        self.backlog: deque[Request] = deque()
        self.backoff, self.retry_at, self.redis_down = Backoff(), 0.0, False
        self.idle_since: float | None = None
        self._tokens = (f"{worker_id()}/{n}" for n in itertools.count())
        self._loop: task.LoopingCall | None = None
        crawler.signals.connect(self._item_error, signal=signals.item_error)
        crawler.signals.connect(self._item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self._spider_error, signal=signals.spider_error)
        crawler.signals.connect(self._spider_idle, signal=signals.spider_idle)

    def open(self, spider: Any) -> None:
        """Open the queue and start the heartbeat."""
        super().open(spider)
        self._start_heartbeat()

    def _start_heartbeat(self) -> None:
        """Call beat() every third of a lease (0.5 to 5 s) on the reactor."""
        self._loop = task.LoopingCall(self.beat)  # binds the running reactor: not before open()
        interval = max(0.5, min(self.lease_seconds / 3, 5.0))
        self._loop.start(interval, now=False).addErrback(
            lambda failure: logger.error("lease heartbeat stopped: %s", failure.getTraceback())
        )

    def close(self, reason: str) -> None:
        """Settle what is finished (the engine drained its requests first) and put back anything else."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        try:
            self._flush()
            self._settle()
            self.queue.leases.requeue(list(self.held))
        except REDIS_ERRORS as exc:
            logger.error(
                "Redis unavailable at close (%s): %d requests not pushed; their parents' %d leases will expire "
                "and be fetched again by another worker",
                exc,
                len(self.backlog),
                len(self.held),
            )
        super().close(reason)

    # -- pushing -----------------------------------------------------------------------------------------

    def enqueue_request(self, request: Request) -> bool:
        """Filter and push; while Redis is away, keep the request in memory (in order) for later.

        A request whose seen-check failed is pushed unfiltered later: a duplicate fetch costs little (the store
        keeps one row), a request marked seen but never pushed would be lost."""
        try:
            if not self.backlog:
                if not request.dont_filter and self.df.request_seen(request):
                    self.df.log(request, self.spider)
                    return False
                self._push(request)
                return True
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
        self.backlog.append(request)
        self.stats.inc_value("monitor/redis/buffered")
        return True

    def _push(self, request: Request) -> None:
        """Push one request (scrapy-redis' stats key, without the deprecated `spider` argument)."""
        self.queue.push(request)
        self.stats.inc_value("scheduler/enqueued/redis")

    def _flush(self) -> None:
        """Push what waited for Redis; a request leaves the backlog only once pushed."""
        while self.backlog:
            self._push(self.backlog[0])
            self.backlog.popleft()

    # -- popping -----------------------------------------------------------------------------------------

    def next_request(self) -> Request | None:
        """The next request under a fresh lease, or None (queue empty, or Redis away: retried with backoff)."""
        if time.monotonic() < self.retry_at:
            return None
        try:
            self._flush()
            for _ in range(MAX_SKIPS):
                token = next(self._tokens)
                data = self.queue.take(token, self.lease_seconds)
                self._redis_back()
                if data is None:
                    return None
                request = self._hydrate(token, data)
                if request is not None:
                    return request
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
        return None

    def _hydrate(self, token: str, data: bytes) -> Request | None:
        """Decode a leased payload; one that cannot be used now is settled at the next heartbeat."""
        self.held[token] = None
        try:
            request = self.queue.decode(data)
        except DBAPIError as exc:
            if not _is_disconnect(exc):
                raise
            logger.warning("database unavailable while preparing a request (%s); retried later", exc)
            self.failed.add(token)
            return None
        except Exception:  # a payload no worker can decode would otherwise come back forever
            logger.exception("dropping an undecodable request payload (%d bytes)", len(data))
            self.stats.inc_value("monitor/distributed/bad_payload")
            return None
        if request is not None:
            request.meta[LEASE_META] = token
            self.held[token] = request
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        """True while requests are queued, buffered, or Redis cannot be asked (the worker must not idle out)."""
        if self.backlog or time.monotonic() < self.retry_at:
            return True
        try:
            return len(self.queue) > 0
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
            return True

    # -- heartbeat: acknowledge, extend, reap -----------------------------------------------------------

    def beat(self) -> None:
        """Flush, settle our leases, re-queue everyone's expired ones (skipped while Redis is away)."""
        try:
            self._flush()
            self._settle()
            reaped = self.queue.leases.reap()
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
            return
        self._redis_back()
        if reaped:
            logger.warning("re-queued %d requests whose worker stopped renewing its lease", reaped)
            self.stats.inc_value("monitor/distributed/reaped", reaped)

    def _settle(self) -> None:
        """Ack finished requests, shorten the leases of failed ones, extend the rest."""
        active = in_progress(self.crawler)
        done = [t for t, request in self.held.items() if request is None or request not in active]
        retry = [t for t in done if t in self.failed]
        finished = [t for t in done if t not in self.failed]
        self.queue.leases.ack(finished)
        self.queue.leases.extend(retry, self.retry_later)
        for token in done:
            del self.held[token]
            self.failed.discard(token)
        self.stats.inc_value("monitor/distributed/acked", len(finished))
        self.stats.inc_value("monitor/distributed/retry_later", len(retry))
        live = list(self.held)
        kept = self.queue.leases.extend(live, self.lease_seconds)
        if kept < len(live):
            logger.warning(
                "%d leases expired while in progress: those requests may be fetched twice", len(live) - kept
            )
            self.stats.inc_value("monitor/distributed/lost_leases", len(live) - kept)

    # -- Redis availability --------------------------------------------------------------------------------

    def _redis_failed(self, exc: Exception) -> None:
        """Back off before the next attempt; log once per outage."""
        if not self.redis_down:
            logger.warning("Redis unavailable (%s): requests to push wait in memory, pops back off", exc)
        self.redis_down = True
        self.retry_at = time.monotonic() + self.backoff.delay()
        self.stats.inc_value("monitor/redis/errors")

    def _redis_back(self) -> None:
        """Reset the backoff after a successful call."""
        if self.redis_down:
            logger.warning("Redis reachable again")
            self.redis_down = False
        self.backoff.reset()
        self.retry_at = 0.0

    # -- signals -----------------------------------------------------------------------------------------

    def _item_error(self, item: Any, response: Any, failure: Any) -> None:
        self._mark_failed(response, failure.value)

    def _item_dropped(self, item: Any, response: Any, exception: BaseException) -> None:
        self._mark_failed(response, exception.__cause__)

    def _spider_error(self, failure: Any, response: Any) -> None:
        self._mark_failed(response, failure.value)

    def _mark_failed(self, response: Any, error: BaseException | None) -> None:
        """A request whose item or callback failed on a lost database connection is retried, not acked."""
        if not (isinstance(error, DBAPIError) and _is_disconnect(error)):
            return
        request = response.request if isinstance(response, Response) else getattr(response, "request", None)
        token = request.meta.get(LEASE_META) if request is not None else None
        if token in self.held:
            self.failed.add(token)
            self.stats.inc_value("monitor/distributed/db_failures")

    def _spider_idle(self) -> None:
        """Keep the worker alive; with MONITOR_IDLE_EXIT, close once the whole job has been empty that long."""
        if not self.idle_exit or self.held or self.backlog:
            raise DontCloseSpider
        try:
            outstanding = self.queue.leases.pending() + self.queue.leases.in_flight()
        except REDIS_ERRORS as exc:
            self._redis_failed(exc)
            raise DontCloseSpider from None
        now = time.monotonic()
        if outstanding:
            self.idle_since = None
            raise DontCloseSpider
        self.idle_since = self.idle_since or now
        if now - self.idle_since < self.idle_exit:
            raise DontCloseSpider
