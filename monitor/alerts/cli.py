"""`monitor watch add|list|remove|test` and `monitor alerts list|retry|deliver` (click groups registered on `monitor`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from monitor.alerts.channels import redact_channel
from monitor.alerts.delivery import DeliveryReport, deliver_pending, retry_pending
from monitor.alerts.matcher import Matcher
from monitor.alerts.store import article_document, articles_since, list_alerts
from monitor.alerts.watches import (
    Term,
    Watch,
    WatchesError,
    add_watch,
    load_watches,
    parse_duration,
    remove_watch,
    watch_to_yaml,
)
from monitor.commands.common import db_option, json_option, resolve_db
from storage.db import make_engine, make_sessionmaker
from storage.models import ArticleRow, utcnow

F = TypeVar("F", bound=Callable[..., Any])


def watches_option(func_: F) -> F:
    """`--watches FILE` (default watches.yaml)."""
    return click.option(
        "--watches", "watches_path", default="watches.yaml", show_default=True, help="Watches YAML file."
    )(func_)


@contextmanager
def session_for(db_url: str | None) -> Iterator[Session]:
    """A session on the database (`--db`, else as every command resolves it); a missing schema becomes a clear
    user error."""
    url = resolve_db(db_url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    except (OperationalError, ProgrammingError) as exc:
        raise click.ClickException(f"database {url.split('@')[-1]}: {exc.orig}") from exc
    finally:
        engine.dispose()


def _load(path: str) -> list[Watch]:
    """Load watches or fail with the validation message."""
    try:
        return load_watches(path)
    except WatchesError as exc:
        raise click.ClickException(str(exc)) from exc


def _since(text: str) -> datetime:
    """`7d` → the instant seven days ago."""
    try:
        return utcnow() - parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc


def _terms(values: tuple[str, ...]) -> list[tuple[Term, ...]]:
    """CLI terms: `a|b` gives per-language variants of one term; `x*` a prefix term."""
    return [tuple(Term.model_validate(v) for v in value.split("|") if v.strip()) for value in values]


@click.group()
def watch() -> None:
    """Manage keyword watches (watches.yaml)."""


@watch.command("add")
@click.argument("name")
@click.option("--any", "any_", multiple=True, help="Term (repeatable); 'a|b' = variants; 'x*' = prefix.")
@click.option("--all", "all_", multiple=True, help="Term that must also appear (repeatable).")
@click.option("--none", "none_", multiple=True, help="Term that must not appear (repeatable).")
@click.option("--channel", "channels", multiple=True, help="console, log, email:ADDR, webhook:URL.")
@click.option("--source", "sources", multiple=True, help="Only these source ids.")
@click.option("--language", "languages", multiple=True, help="Only these languages (ar, fa, en…).")
@click.option("--title-only", is_flag=True, help="Match titles only.")
@click.option("--mode", type=click.Choice(["instant", "digest"]), default="instant", show_default=True)
@click.option("--digest-every", help="Digest window, e.g. 30m or 6h (digest mode).")
@watches_option
def watch_add(
    name: str, any_: tuple[str, ...], all_: tuple[str, ...], none_: tuple[str, ...], **kw: Any
) -> None:
    """Add a watch, e.g. `monitor watch add syria --any 'دمشق' --any Damascus --channel email:desk@example.org`."""
    try:
        new = Watch(
            name=name,
            any=_terms(any_),
            all=_terms(all_),
            none=_terms(none_),
            channels=list(kw["channels"]) or ["console"],
            sources=list(kw["sources"]),
            languages=list(kw["languages"]),
            title_only=kw["title_only"],
            mode=kw["mode"],
            digest_every=kw["digest_every"],
        )
        add_watch(kw["watches_path"], new)
    except (ValueError, WatchesError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"added watch {name!r} to {kw['watches_path']}")


@watch.command("list")
@watches_option
@json_option
def watch_list(watches_path: str, as_json: bool) -> None:
    """List watches, e.g. `monitor watch list --json`."""
    watches = _load(watches_path)
    if as_json:
        click.echo(json.dumps([watch_to_yaml(w) for w in watches], ensure_ascii=False, indent=2))
        return
    table = Table("name", "any", "all", "none", "scope", "mode", "channels")
    for w in watches:
        data = watch_to_yaml(w)
        scope = " ".join(
            [
                *(f"src:{s}" for s in w.sources),
                *(f"lang:{x}" for x in w.languages),
                *(["title"] if w.title_only else []),
            ]
        )
        mode = w.mode + (f"/{w.digest_every or '1h'}" if w.mode == "digest" else "")
        cells = [", ".join(map(str, data.get(g, []))) for g in ("any", "all", "none")]
        table.add_row(w.name, *cells, scope, mode, "\n".join(redact_channel(c) for c in w.channels))
    Console().print(table)


@watch.command("remove")
@click.argument("name")
@watches_option
def watch_remove(name: str, watches_path: str) -> None:
    """Remove a watch, e.g. `monitor watch remove syria`."""
    try:
        remove_watch(watches_path, name)
    except WatchesError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"removed watch {name!r} from {watches_path}")


@watch.command("test")
@click.argument("name")
@click.option("--since", default="7d", show_default=True, help="How far back: 30m, 6h, 7d, 2w.")
@click.option("--limit", default=100, show_default=True, help="Show at most this many matches.")
@watches_option
@db_option
@json_option
def watch_test(
    name: str, since: str, limit: int, watches_path: str, db_url: str | None, as_json: bool
) -> None:
    """Show what a watch would have matched among stored articles (stores nothing): `monitor watch test syria --since 7d`."""
    chosen = [w.model_copy(update={"enabled": True}) for w in _load(watches_path) if w.name == name]
    if not chosen:
        raise click.ClickException(f"{watches_path}: no watch named {name!r}")
    matcher, start = Matcher(chosen), _since(since)
    found: list[dict[str, Any]] = []
    with session_for(db_url) as session:
        total = session.scalar(
            select(func.count()).select_from(ArticleRow).where(ArticleRow.fetched_at >= start)
        )
        rows = articles_since(session, start)
        for article in track(rows, total=total, description="matching", disable=as_json, transient=True):
            for m in matcher.match(article_document(article)):
                found.append(_test_row(article, m.terms, m.snippet))
            if len(found) >= limit:
                break
    caption = f"{len(found)} match(es) for {name!r} among {total} articles since {since}"
    _print_rows(found, as_json, caption, ["article_id", "time", "source", "terms", "snippet"])


def _test_row(article: ArticleRow, terms: tuple[str, ...], snippet: str) -> dict[str, Any]:
    """One line of `watch test` output."""
    when = article.published_at or article.fetched_at
    return {
        "article_id": article.id,
        "time": when.isoformat() if when else None,
        "source": article.source_id,
        "title": article.title,
        "terms": list(terms),
        "snippet": snippet,
        "url": article.url,
    }


def _cell(value: Any) -> str:
    """A table cell: lists joined, instants shortened to the minute, None empty."""
    if isinstance(value, list):
        return "\n".join(map(str, value))
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-" and value[10:11] == "T":
        return value[:16].replace("T", " ")
    return "" if value is None else str(value)


def _print_rows(rows: list[dict[str, Any]], as_json: bool, caption: str, columns: list[str]) -> None:
    """JSON list (every field) or a rich table of the chosen columns with a caption."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    table = Table(*columns, caption=caption)
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in columns))
    Console().print(table)


@click.group()
def alerts() -> None:
    """Stored alerts and their delivery outbox."""


@alerts.command("list")
@click.option("--watch", "watch_name", help="Only this watch.")
@click.option("--since", help="Only alerts newer than this, e.g. 1d.")
@click.option("--limit", default=50, show_default=True)
@db_option
@json_option
def alerts_list(
    watch_name: str | None, since: str | None, limit: int, db_url: str | None, as_json: bool
) -> None:
    """List alerts, newest first, with delivery status: `monitor alerts list --watch syria --since 1d`."""
    with session_for(db_url) as session:
        rows = list_alerts(session, watch=watch_name, since=_since(since) if since else None, limit=limit)
        out: list[dict[str, Any]] = [
            {
                "id": r.id,
                "created_at": r.created_at.isoformat(),
                "watch": r.watch,
                "article_id": r.article_id,
                "story": r.story_key,
                "notified": r.notified,
                "reason": r.reason,
                "terms": list(r.matched_terms),
                "title": r.article.title,
                "deliveries": [_delivery(d) for d in r.deliveries],
            }
            for r in rows
        ]
    if not as_json:
        for row in out:
            row["deliveries"] = [
                f"{d['channel']}: {d['status']}" + (f" ({d['error']})" if d["error"] else "")
                for d in row["deliveries"]
            ]
    _print_rows(
        out,
        as_json,
        f"{len(out)} alert(s)",
        ["id", "created_at", "watch", "notified", "terms", "title", "deliveries"],
    )


def _delivery(row: Any) -> dict[str, Any]:
    """A delivery row for display (channel redacted)."""
    return {
        "channel": redact_channel(row.channel),
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat(),
        "error": row.last_error,
    }


def _report(report: DeliveryReport) -> None:
    """Print a delivery run's counts; non-zero exit when something failed."""
    click.echo(
        f"delivered {report.delivered}, failed {report.failed} (will retry), expired {report.expired}"
        f" in {report.messages} message(s)"
    )
    if report.failed:
        raise click.ClickException(f"{report.failed} deliveries failed; see `monitor alerts list`")


@alerts.command("retry")
@click.option("--expired", is_flag=True, help="Also revive expired deliveries.")
@db_option
def alerts_retry(expired: bool, db_url: str | None) -> None:
    """Re-send every pending delivery now (digests included): `monitor alerts retry`."""
    with session_for(db_url) as session:
        _report(retry_pending(session, utcnow(), include_expired=expired))


@alerts.command("deliver")
@db_option
def alerts_deliver(db_url: str | None) -> None:
    """Send the deliveries that are due (for cron outside a crawl): `monitor alerts deliver`."""
    with session_for(db_url) as session:
        _report(deliver_pending(session, utcnow()))
