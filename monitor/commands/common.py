"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from monitor.config import ConfigError, load_app_config, parse_duration

F = TypeVar("F", bound=Callable[..., Any])
console = Console()


def _default_db() -> str:
    """MONITOR_DATABASE_URL, else sqlite:///monitor.db (unknown MONITOR_* variables are refused)."""
    try:
        return load_app_config().database_url
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def db_option(func: F) -> F:
    """`--db URL` on every subcommand that touches the database."""
    return click.option(
        "--db",
        "db_url",
        metavar="URL",
        default=None,
        help="Database URL (default: $MONITOR_DATABASE_URL or sqlite:///monitor.db).",
    )(func)


def sources_option(extra: str = "") -> Callable[[F], F]:
    """`--sources FILE` (default $MONITOR_SOURCES or sources.yaml); `extra` is appended to the help."""
    return click.option(
        "--sources",
        "sources_path",
        type=click.Path(dir_okay=False),
        default=None,
        help=f"Sources file (default: $MONITOR_SOURCES or sources.yaml){extra}.",
    )


def json_option(func: F) -> F:
    """`--json` on list commands."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(func)


def resolve_db(db_url: str | None) -> str:
    """The database URL to use; a bare file path means SQLite."""
    url = db_url or _default_db()
    return url if "://" in url else f"sqlite:///{Path(url).resolve()}"


def parse_since(value: str | None) -> datetime | None:
    """`7d`, `24h`, `90m` (ago) or an ISO date/datetime; naive means UTC."""
    if not value:
        return None
    try:
        return datetime.now(UTC) - parse_duration(value)
    except (ValueError, TypeError):
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use a duration like 7d / 24h or an ISO date like 2024-11-17"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def open_store(db_url: str | None) -> Any:
    """The Store for a URL (schema created or upgraded on first use; a schema problem is a clear error)."""
    from storage.migrate import SchemaError
    from storage.store import Store

    try:
        return Store.from_url(resolve_db(db_url))
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from None


def print_json(data: Any) -> None:
    """JSON to stdout, UTF-8, dates as ISO strings."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
