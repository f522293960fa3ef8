"""Running one distributed worker in this process (the Twisted reactor cannot restart: one worker per process)."""

from __future__ import annotations

from typing import Any

from monitor.crawl import CrawlSummary, run_crawl
from monitor.distributed import DEFAULT_PREFIX, SPIDER, worker_settings
from monitor.distributed.redisconn import wait_for_redis


def run_worker(
    database_url: str,
    redis_url: str,
    sources_path: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    idle_exit: float = 0.0,
    source_ids: list[str] | None = None,
    watches: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> CrawlSummary:
    """Wait for Redis, then take requests from it until stopped (or idle for `idle_exit` seconds)."""
    wait_for_redis(redis_url)
    settings = worker_settings(redis_url, prefix, MONITOR_IDLE_EXIT=idle_exit, **(overrides or {}))
    return run_crawl(
        database_url,
        sources_path,
        source_ids=source_ids,
        watches=watches,
        overrides=settings,
        spider=SPIDER,
        lock=False,
    )
