"""Redis connections that fail fast and come back: short socket timeouts, and a backoff for reconnecting.

A worker must not block its reactor for scrapy-redis' default 30 s connect timeout, nor hammer a Redis that is
restarting: callers catch `REDIS_ERRORS`, keep what they could not push, and try again after `Backoff.delay()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import redis

logger = logging.getLogger(__name__)
T = TypeVar("T")

# What a restarting, unreachable or full Redis raises: wait and retry, never drop (redis-py: TimeoutError is not
# a ConnectionError; BusyLoadingError, while an AOF is replayed, is one; OutOfMemoryError is a refused write
# under `maxmemory-policy noeviction`, ReadOnlyError a replica not yet promoted).
REDIS_ERRORS: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
)
# Client parameters for workers (scrapy-redis' REDIS_PARAMS setting takes the same names).
REDIS_PARAMS = {"socket_timeout": 5, "socket_connect_timeout": 3, "health_check_interval": 15}


def connect(url: str) -> redis.Redis:
    """A client for `url` with the worker's timeouts."""
    return redis.Redis.from_url(url, **REDIS_PARAMS)


@dataclass(slots=True)
class Backoff:
    """Exponential backoff: `delay()` doubles from `first` up to `cap`; `reset()` after a success."""

    first: float = 0.5
    cap: float = 15.0
    _next: float = field(default=0.0, init=False)

    def delay(self) -> float:
        """The wait before the next attempt (grows on every call)."""
        self._next = self.first if self._next == 0 else min(self._next * 2, self.cap)
        return self._next

    def reset(self) -> None:
        """Back to the first delay."""
        self._next = 0.0


def with_retry(
    func: Callable[[], T],
    attempts: int = 8,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `func`, retrying on Redis connection errors with backoff; the last error propagates."""
    backoff = backoff or Backoff()
    for attempt in range(attempts):
        try:
            return func()
        except REDIS_ERRORS as exc:
            if attempt == attempts - 1:
                raise
            wait = backoff.delay()
            logger.warning("Redis unavailable (%s); retrying in %.1f s", exc, wait)
            sleep(wait)
    raise AssertionError("unreachable")


def wait_for_redis(
    url: str, timeout: float | None = None, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Block until Redis at `url` answers PING (forever when `timeout` is None); raises on timeout."""
    client, backoff = connect(url), Backoff()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            client.ping()
            client.close()
            return
        except REDIS_ERRORS as exc:
            if deadline is not None and time.monotonic() >= deadline:
                raise
            wait = backoff.delay()
            logger.warning("waiting for Redis at %s (%s); next try in %.1f s", _safe(url), exc, wait)
            sleep(wait)


def _safe(url: str) -> str:
    """The URL without its password, for logs."""
    from monitor.config import mask_password

    return mask_password(url)
