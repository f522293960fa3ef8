"""`monitor crawl` (poll every feed once) and `monitor demo` (the whole mission offline)."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import yaml
from rich.table import Table

from monitor.commands.common import console, db_option, resolve_db, sources_option
from monitor.commands.worker import distributed_crawl, redis_option
from monitor.config import ConfigError, load_app_config, load_sources
from monitor.crawl import CrawlSummary, run_crawl
from monitor.lock import LockBusy

# Settings for crawling our own local demo server: no politeness delays needed against 127.0.0.1.
LOCAL_FAST = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "DOWNLOAD_TIMEOUT": 10,
}


def _log_level(verbose: int) -> str:
    """WARNING by default (the progress line and summary speak), INFO with -v, DEBUG with -vv."""
    return ["WARNING", "INFO", "DEBUG"][min(verbose, 2)]


def _crawl(db_url: str, sources_path: str, overrides: dict[str, Any], **kwargs: Any) -> CrawlSummary:
    """run_crawl with user errors turned into click errors."""
    try:
        load_sources(sources_path)
        return run_crawl(db_url, sources_path, overrides=overrides, **kwargs)
    except (ConfigError, LockBusy) as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@sources_option()
@db_option
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only this source (repeatable).")
@click.option("--watches", type=click.Path(exists=True, dir_okay=False), help="Apply these keyword watches.")
@click.option("--progress/--no-progress", default=None, help="Live progress line (default: on a terminal).")
@click.option(
    "-s", "--set", "settings", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting."
)
@click.option(
    "--due", is_flag=True, help="Poll only feeds whose next poll time has passed (or never polled)."
)
@click.option(
    "--stats-json",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the crawl's summary and monitor/* stats to this JSON file.",
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option(
    "--distributed", is_flag=True, help="Queue the feeds in Redis for `monitor worker`s and return."
)
@redis_option
@click.option(
    "--work", "also_work", is_flag=True, help="With --distributed: also work until the job is done."
)
def crawl(
    sources_path: str | None,
    db_url: str | None,
    source_ids: tuple[str, ...],
    watches: str | None,
    progress: bool | None,
    settings: tuple[str, ...],
    due: bool,
    stats_json: str | None,
    verbose: int,
    distributed: bool,
    redis_url: str | None,
    also_work: bool,
) -> None:
    """Poll every feed once (or, with --due, every feed that is due) and store new articles. Safe from cron: a
    second run over unchanged feeds stores nothing, and an overlapping run stops at once with a clear message.

    Example: monitor crawl --due --sources sources.yaml --db sqlite:///monitor.db

    Distributed: monitor crawl --distributed --redis redis://queue:6379/0 --sources sources.yaml
    """
    path = sources_path or load_app_config().sources_path
    overrides = {
        "LOG_LEVEL": _log_level(verbose),
        "MONITOR_PROGRESS": sys.stderr.isatty() if progress is None else progress,
        "MONITOR_POLL_DUE_ONLY": due,
        **_parse_settings(settings),
    }
    if distributed:
        overrides["MONITOR_PROGRESS"] = False
        distributed_crawl(str(path), resolve_db(db_url), redis_url, source_ids, also_work, overrides, watches)
        return
    summary = _crawl(resolve_db(db_url), str(path), overrides, source_ids=list(source_ids), watches=watches)
    click.echo(summary.line())
    if stats_json:
        Path(stats_json).write_text(json.dumps(summary.to_dict(), default=str), encoding="utf-8")
    if not summary.ok:
        raise click.ClickException(f"crawl stopped early: {summary.finish_reason}")


def _parse_settings(pairs: tuple[str, ...]) -> dict[str, str]:
    """`NAME=VALUE` pairs as given to `-s`, like `scrapy crawl -s`."""
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: expected NAME=VALUE", param_hint="-s/--set")
        parsed[name] = value
    return parsed


def _summary_table(summary: CrawlSummary) -> Table:
    """The demo's summary as a table."""
    table = Table(title="monitor demo", show_header=False)
    table.add_row("sources polled", str(summary.sources))
    table.add_row("feeds parsed", str(summary.feeds_polled))
    table.add_row("articles stored", str(summary.articles_new))
    table.add_row("duplicates skipped", str(summary.duplicates_skipped))
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(summary.errors.items())) or "none"
    table.add_row("errors by class", errors)
    return table


@click.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to put the demo database and sources file (default: a new temporary directory).",
)
@click.option("-v", "--verbose", count=True, help="More log output.")
def demo(workdir: str | None, verbose: int) -> None:
    """Run the whole mission offline: serve the bundled sample outlets on 127.0.0.1, crawl them into a fresh
    SQLite database, and print what happened.

    Example: monitor demo
    """
    from monitor.demo import WATCHES, demo_sources
    from monitor.demo.server import OutletServer

    folder = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "demo.db"
    if db_path.exists():
        raise click.ClickException(
            f"{db_path} exists: the demo wants a fresh database (choose another --dir)"
        )
    with OutletServer() as server:
        sources_path = folder / "sources.yaml"
        sources_path.write_text(
            yaml.safe_dump({"sources": demo_sources(server.base_url)}, allow_unicode=True)
        )
        console.print(f"Serving the sample outlets at {server.base_url}")
        overrides = {**LOCAL_FAST, "LOG_LEVEL": _log_level(verbose), "MONITOR_PROGRESS": sys.stderr.isatty()}
        summary = _crawl(
            f"sqlite:///{db_path.resolve()}", str(sources_path), overrides, watches=_watches(WATCHES)
        )
    console.print(_summary_table(summary))
    console.print(f"Database: {db_path.resolve()}")
    console.print(f"Next: monitor items list --db {db_path.resolve()}")
    logging.shutdown()


def _watches(path: Path) -> str | None:
    """The demo's watches file, when alerting is installed."""
    try:
        import monitor.alerts.pipeline  # noqa: F401
    except ImportError:
        return None
    return str(path)
