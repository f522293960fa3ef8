"""`monitor sources list|check|status|discover`."""

from __future__ import annotations

import dataclasses
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from monitor.commands.common import console, db_option, json_option, open_store, print_json, sources_option
from monitor.config import ConfigError, dump_source_entry, load_app_config, load_sources

sources_file_option = sources_option()


def _load(path: str | None) -> Any:
    """The validated sources file, or a click error naming the problems."""
    try:
        return load_sources(path or load_app_config().sources_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def sources() -> None:
    """Inspect the configured outlets and their feed health."""


@sources.command("list")
@sources_file_option
@json_option
def list_sources(sources_path: str | None, as_json: bool) -> None:
    """Show the sources in the sources file.

    Example: monitor sources list --sources sources.yaml
    """
    config = _load(sources_path)
    if as_json:
        print_json([s.model_dump(mode="json", exclude_defaults=True) for s in config.sources])
        return
    table = Table(title=f"{len(config.sources)} sources in {config.origin}")
    for column in ("id", "name", "lang", "country", "feeds", "verified"):
        table.add_column(column)
    for s in config.sources:
        feeds = "\n".join(s.feeds) or "-"
        table.add_row(s.id, s.name, s.language, s.country or "-", feeds, "yes" if s.verified else "no")
    console.print(table)


@sources.command("check")
@sources_file_option
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only this source (repeatable).")
@json_option
def check_sources(sources_path: str | None, source_ids: tuple[str, ...], as_json: bool) -> None:
    """Fetch each feed once (robots.txt and the network guard apply) and report its status. Stores nothing.

    Example: monitor sources check --sources sources.yaml --source enab-baladi
    """
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from monitor.crawl import build_settings

    config = _load(sources_path)
    results: list[Any] = []
    settings = build_settings(
        {
            "MONITOR_SOURCES": config.origin,
            "MONITOR_SOURCE_IDS": list(source_ids),
            "ITEM_PIPELINES": {},
            "LOG_LEVEL": "ERROR",
            "RETRY_TIMES": 0,
        }
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("check")
    crawler.signals.connect(lambda item, **_: results.append(item), signal=signals.item_scraped)
    process.crawl(crawler)
    process.start()
    _print_check(sorted(results, key=lambda r: (r.source_id, r.feed_url)), as_json)
    if not all(r.ok for r in results):
        sys.exit(1)


def _print_check(results: list[Any], as_json: bool) -> None:
    """Table or JSON of check results."""
    if as_json:
        print_json([dataclasses.asdict(r) for r in results])
        return
    table = Table(title="feed check")
    for column in ("source", "feed", "ok", "status", "error", "detail", "s"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.source_id,
            r.feed_url,
            "yes" if r.ok else "NO",
            str(r.status or "-"),
            r.error or "-",
            r.message,
            f"{r.seconds:.1f}",
        )
    console.print(table)


@sources.command("status")
@db_option
@click.option("--stale", "only_stale", is_flag=True, help="Only stale, disabled or failing feeds.")
@json_option
def status(db_url: str | None, only_stale: bool, as_json: bool) -> None:
    """Feed health and schedule from the database, failing feeds first: last success, last 304, last error and
    its class, failures in a row, entries first seen in the last 24 h / 7 d, share of already-seen entries in
    the last poll, current interval, next poll, and flags: `stale` (nothing new for 3× the feed's usual rhythm),
    `disabled` (too many failures; re-tried weekly), `no-cond` (conditional GET switched off: the server sent
    a changed feed under an unchanged ETag/Last-Modified).

    Example: monitor sources status --db sqlite:///monitor.db --json
    """
    from storage.queries import feed_health

    store = open_store(db_url)
    with store.sessions() as session:
        rows = feed_health(session)
    if only_stale:
        rows = [r for r in rows if r.stale or r.disabled_at or r.consecutive_failures]
    if as_json:
        print_json([r.to_dict() for r in rows])
        return
    if console.width >= WIDE_TABLE:
        console.print(_status_table(rows))
        return
    for r in rows:
        console.print(_status_block(r), highlight=False)


STATUS_COLUMNS = (
    "source", "feed", "last success", "last 304", "last error", "fails", "new 24h/7d", "seen", "interval",
    "next poll", "flags",
)  # fmt: skip


# Below this terminal width the status is printed as one block per feed instead of a table of 11 columns.
WIDE_TABLE = 130


def _status_table(rows: list[Any]) -> Table:
    """The `sources status` table."""
    table = Table(title=f"feed health ({len(rows)} feeds, times UTC)")
    for column in STATUS_COLUMNS:
        table.add_column(column, overflow="fold")
    for r in rows:
        error = f"{r.last_error_class}: {r.last_error_message}" if r.last_error_class else "-"
        table.add_row(
            r.source_id,
            r.feed_url,
            _when(r.last_success_at),
            _when(r.last_not_modified_at),
            error,
            str(r.consecutive_failures),
            f"{r.items_24h}/{r.items_7d}",
            "-" if r.seen_share is None else f"{r.seen_share:.0%}",
            _duration(r.interval_seconds),
            _when(r.next_poll_at),
            " ".join(_flags(r)) or "-",
        )
    return table


def _status_block(r: Any) -> str:
    """One feed's status in three or four lines, for narrow terminals."""
    flags = " ".join(_flags(r))
    seen = "-" if r.seen_share is None else f"{r.seen_share:.0%}"
    lines = [
        f"[bold]{escape(r.source_id)}[/bold]  {escape(r.feed_url)}"
        + (f"  [red]{flags}[/red]" if flags else ""),
        f"  last success {_when(r.last_success_at)} · last 304 {_when(r.last_not_modified_at)}"
        f" · fails {r.consecutive_failures} · new {r.items_24h}/{r.items_7d} (24h/7d)",
        f"  seen {seen} · every {_duration(r.interval_seconds)} · next {_when(r.next_poll_at)} (UTC)",
    ]
    if r.last_error_class:
        lines.append(f"  [red]last error {r.last_error_class}[/red]: {escape(r.last_error_message or '')}")
    return "\n".join(lines)


def _flags(r: Any) -> list[str]:
    """Short words for what needs a look."""
    flags = ["stale"] if r.stale else []
    if r.disabled_at:
        flags.append("disabled")
    if not r.conditional_get:
        flags.append("no-cond")
    return flags


def _duration(seconds: int | None) -> str:
    """A compact duration ('6h', '1h30m') or '-'."""
    from datetime import timedelta

    from monitor.config import format_duration

    return format_duration(timedelta(seconds=seconds)) if seconds else "-"


def _when(value: Any) -> str:
    """A compact UTC time ('12-01 17:44'; the year only when it is not this one) or '-'."""
    if not value:
        return "-"
    return value.strftime("%m-%d %H:%M" if value.year == datetime.now(UTC).year else "%Y-%m-%d %H:%M")


@sources.command("discover")
@click.argument("url")
@click.option("--timeout", type=float, default=20.0, show_default=True, help="Time budget in seconds.")
@click.option(
    "--max-requests", type=int, default=20, show_default=True, help="Request budget (robots.txt fetch aside)."
)
@json_option
def discover(url: str, timeout: float, max_requests: int, as_json: bool) -> None:
    """Find the feeds and news sitemaps of a homepage and print a ready-to-paste sources-file entry.

    Looks at <link rel="alternate"> feeds and robots.txt Sitemap: lines, then at common feed and news-sitemap
    paths; keeps only candidates that parse. Robots.txt and the network guard apply. What was tried goes to
    stderr, the entry to stdout.

    Example: monitor sources discover https://www.enabbaladi.net/ --timeout 30 >> sources.yaml
    """
    from monitor.urls import UnsupportedURL, check_fetchable

    try:
        homepage = check_fetchable(url)
    except UnsupportedURL as exc:
        raise click.ClickException(str(exc)) from None
    if timeout <= 0 or max_requests < 1:
        raise click.BadParameter("--timeout and --max-requests must be positive")
    started = time.monotonic()
    spider = _run_discovery(homepage, timeout, max_requests)
    seconds = time.monotonic() - started
    entry = _discovered_entry(spider, homepage)
    if as_json:
        found = [dataclasses.asdict(c) for c in sorted(spider.found, key=lambda c: c.rank)]
        print_json(
            {"source": entry, "candidates": found, "requests": spider.requests_made, "seconds": seconds}
        )
    else:
        for c in sorted(spider.found, key=lambda c: c.rank):
            click.echo(f"{c.kind or 'no':>12}  {c.url}  ({c.detail})", err=True)
        click.echo(f"{spider.requests_made} requests in {seconds:.1f} s", err=True)
    if entry is None:
        raise click.ClickException(
            f"no feed or sitemap found at {homepage} within {spider.requests_made} requests and {seconds:.1f} s;"
            " write a `listings:` entry by hand (url, link_selector, link_pattern)"
        )
    if not as_json:
        click.echo(dump_source_entry(entry), nl=False)


def _run_discovery(homepage: str, timeout: float, max_requests: int) -> Any:
    """The discovery crawl (spiders/discover.py), run in this process; returns the finished spider."""
    from scrapy.crawler import CrawlerProcess

    from monitor.crawl import build_settings

    settings = build_settings(
        {
            "MONITOR_DISCOVER_URL": homepage,
            "MONITOR_DISCOVER_MAX_REQUESTS": max_requests,
            "CLOSESPIDER_TIMEOUT": timeout,
            "DOWNLOAD_TIMEOUT": timeout,
            "ITEM_PIPELINES": {},
            "LOG_LEVEL": "ERROR",
            "RETRY_TIMES": 0,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
        }
    )
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("discover")
    process.crawl(crawler)
    process.start()
    return crawler.spider


def _discovered_entry(spider: Any, homepage: str) -> dict[str, Any] | None:
    """The sources-file entry for what the crawl verified, or None when it found nothing usable."""
    from monitor.discover import Homepage, language_of, source_entry

    home = spider.home or Homepage(homepage)
    language = language_of(home)
    if language is None:
        click.echo("language not declared nor detectable: set `language:` by hand", err=True)
    entry = source_entry(home, spider.found, language or "en")
    return entry if entry.get("feeds") or entry.get("sitemaps") else None
