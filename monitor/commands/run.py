"""`monitor run`: the long-running scheduler (see monitor.scheduling.runner)."""

from __future__ import annotations

import logging

import click

from monitor.alerts.channels import parse_channel
from monitor.commands.common import db_option, resolve_db, sources_option
from monitor.commands.worker import redis_option, resolve_redis
from monitor.config import ConfigError, load_app_config, load_sources
from monitor.lock import LockBusy


@click.command()
@sources_option("; read again every cycle")
@db_option
@click.option("--watches", type=click.Path(exists=True, dir_okay=False), help="Apply these keyword watches.")
@click.option("--once", is_flag=True, help="Run one cycle over the due feeds, then exit.")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve Prometheus metrics on 127.0.0.1:PORT (e.g. 9410; default: off).",
)
@click.option(
    "--check-every",
    type=click.FloatRange(1, 3600),
    default=60.0,
    show_default=True,
    help="Longest sleep (seconds) between looks at the schedule.",
)
@click.option(
    "-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Scrapy setting for crawls."
)
@click.option("-q", "--quiet", is_flag=True, help="Only warnings (no per-poll lines).")
@click.option(
    "--distributed", is_flag=True, help="Queue due URLs in Redis for `monitor worker`s instead of crawling."
)
@redis_option
@click.option(
    "--stale-alert",
    "stale_channels",
    multiple=True,
    metavar="CHANNEL",
    help="Announce sources that went stale here: console, log, email:ADDR or webhook:URL (repeatable).",
)
def run(
    sources_path: str | None,
    db_url: str | None,
    watches: str | None,
    once: bool,
    metrics_port: int | None,
    check_every: float,
    settings: tuple[str, ...],
    quiet: bool,
    distributed: bool,
    redis_url: str | None,
    stale_channels: tuple[str, ...],
) -> None:
    """Poll each feed when it is due, for as long as it runs: one `monitor crawl --due` per cycle in a child
    process, sleeping until the next feed is due. SIGTERM or Ctrl-C stops it cleanly (in-flight articles are
    finished; the rest are fetched next time). Only one scheduler runs per database.

    Example: monitor run --sources sources.yaml --db sqlite:///monitor.db --metrics-port 9410

    Distributed: monitor run --distributed --redis redis://queue:6379/0 --db postgresql://db/monitor
    """
    from monitor.scheduling.metrics import RunMetrics
    from monitor.scheduling.runner import RunOptions, Scheduler

    path = sources_path or load_app_config().sources_path
    try:
        load_sources(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )
    options = RunOptions(
        resolve_db(db_url), str(path), watches, settings, once, check_every, 0 if quiet else 1
    )
    if distributed:
        options.redis_url, options.redis_prefix = resolve_redis(redis_url)
    for channel in stale_channels:
        try:
            parse_channel(channel)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--stale-alert") from None
    options.stale_channels = stale_channels
    metrics = RunMetrics()
    server = metrics.serve(metrics_port) if metrics_port else None
    try:
        code = Scheduler(options, metrics).run()
    except LockBusy as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if server is not None:
            server.shutdown()
    if code:
        raise click.ClickException("the crawl cycle failed (see the log above)")
