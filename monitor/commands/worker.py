"""`monitor worker` (take requests from the shared Redis queue) and the producer side of `monitor crawl --distributed`."""

from __future__ import annotations

from typing import Any

import click
import redis

from monitor.commands.common import db_option, resolve_db, sources_option
from monitor.config import ConfigError, load_app_config, load_sources
from monitor.crawl import CrawlSummary


def redis_option(func: Any) -> Any:
    """`--redis URL`, defaulting to $MONITOR_REDIS_URL."""
    return click.option(
        "--redis", "redis_url", metavar="URL", default=None, help="Redis URL (default: $MONITOR_REDIS_URL)."
    )(func)


def resolve_redis(redis_url: str | None) -> tuple[str, str]:
    """(Redis URL, key prefix) from the option or the environment; a clear error when neither is set."""
    try:
        app = load_app_config()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    url = redis_url or app.redis_url
    if not url:
        raise click.ClickException("distributed mode needs Redis: pass --redis URL or set MONITOR_REDIS_URL")
    return url, app.redis_prefix


def enqueue_all(sources_path: str, redis_url: str, prefix: str, source_ids: tuple[str, ...]) -> int:
    """Queue every feed of the (selected) enabled sources; click errors for user mistakes."""
    from monitor.distributed.producer import enqueue_feeds

    try:
        sources = [s for s in load_sources(sources_path).sources if not source_ids or s.id in source_ids]
        return enqueue_feeds(redis_url, sources, prefix=prefix)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except redis.RedisError as exc:
        raise click.ClickException(f"could not queue the feeds in Redis: {exc}") from None


def work(
    db_url: str, sources_path: str, redis_url: str, prefix: str, idle_exit: float, **kwargs: Any
) -> CrawlSummary:
    """Run a worker; a summary line at the end, non-zero exit when it stopped early."""
    from monitor.distributed.worker import run_worker

    try:
        load_sources(sources_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    summary = run_worker(db_url, redis_url, sources_path, prefix=prefix, idle_exit=idle_exit, **kwargs)
    click.echo(summary.line())
    if not summary.ok:
        raise click.ClickException(f"worker stopped early: {summary.finish_reason}")
    return summary


@click.command()
@sources_option("; the producer's, or one listing the same ids")
@db_option
@redis_option
@click.option(
    "--idle-exit",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Stop once the queue and every worker's leases have been empty this long (default 0: run until stopped).",
)
@click.option("--watches", type=click.Path(exists=True, dir_okay=False), help="Apply these keyword watches.")
@click.option(
    "-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting."
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def worker(
    sources_path: str | None,
    db_url: str | None,
    redis_url: str | None,
    idle_exit: float,
    watches: str | None,
    settings: tuple[str, ...],
    verbose: int,
) -> None:
    """Distributed crawling: take feed and article requests from the shared Redis queue and store what they
    yield in the shared database, until stopped (SIGTERM finishes the requests in progress). Run any number, on
    any number of machines; a worker that dies loses nothing (its leases expire and others take them over).
    Feed jobs come from `monitor crawl --distributed` or the scheduler.

    Example: monitor worker --db postgresql://monitor@db/monitor --redis redis://queue:6379/0 --sources sources.yaml
    """
    from monitor.commands.crawl import _log_level, _parse_settings

    url, prefix = resolve_redis(redis_url)
    overrides = {**_parse_settings(settings), "LOG_LEVEL": _log_level(verbose), "MONITOR_PROGRESS": False}
    path = sources_path or str(load_app_config().sources_path)
    work(resolve_db(db_url), path, url, prefix, idle_exit, watches=watches, overrides=overrides)


def distributed_crawl(
    sources_path: str,
    db_url: str,
    redis_url: str | None,
    source_ids: tuple[str, ...],
    also_work: bool,
    overrides: dict[str, Any],
    watches: str | None = None,
) -> None:
    """`monitor crawl --distributed`: queue the feeds; with --work, also work until the whole job is done."""
    url, prefix = resolve_redis(redis_url)
    queued = enqueue_all(sources_path, url, prefix, source_ids)
    click.echo(f"queued {queued} feeds in Redis (key prefix {prefix!r})")
    if also_work:
        work(
            db_url,
            sources_path,
            url,
            prefix,
            idle_exit=10.0,
            source_ids=list(source_ids),
            watches=watches,
            overrides=overrides,
        )
