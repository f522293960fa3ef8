"""`monitor db upgrade|current|check`: the schema migrations (Alembic, models as the source of truth)."""

from __future__ import annotations

import sys

import click

from monitor.commands.common import db_option, resolve_db


@click.group()
def db() -> None:
    """Database schema: upgrade, show the revision, compare with the models."""


@db.command("upgrade")
@db_option
def upgrade_cmd(db_url: str | None) -> None:
    """Create or upgrade the schema to the newest revision (also done automatically on first use).

    Example: monitor db upgrade --db postgresql://monitor@db.example/monitor
    """
    from storage import migrate

    url = resolve_db(db_url)
    try:
        message = migrate.upgrade(url)
    except migrate.SchemaError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(message or f"already at the newest revision ({migrate.head_revision()})")


@db.command("current")
@db_option
def current_cmd(db_url: str | None) -> None:
    """The revision the database is at, and whether it is the newest.

    Example: monitor db current
    """
    from storage import migrate

    current, head = migrate.current(resolve_db(db_url))
    if current is None:
        click.echo(f"not migrated (newest revision: {head}); run `monitor db upgrade`")
    elif current == head:
        click.echo(f"{current} (head)")
    else:
        click.echo(f"{current} (newest is {head}; run `monitor db upgrade`)")


@db.command("check")
@db_option
def check_cmd(db_url: str | None) -> None:
    """Compare the database with the models, like `alembic check`; exit 1 on any difference.

    Example: monitor db check --db sqlite:///monitor.db
    """
    from storage import migrate

    diffs = migrate.check(resolve_db(db_url))
    if not diffs:
        click.echo("no difference between the models and the database")
        return
    for diff in diffs:
        click.echo(f"  {diff[0] if isinstance(diff, tuple) else diff}: {diff!r}"[:300])
    click.echo(f"{len(diffs)} differences: write a migration (python -m storage.migrate revision ...)")
    sys.exit(1)


@click.command("init")
@db_option
def init(db_url: str | None) -> None:
    """Create the database (or bring it to the newest schema) and say what to run next.

    Example: monitor init --db postgresql://monitor@db.example/monitor
    """
    ctx = click.get_current_context()
    ctx.invoke(upgrade_cmd, db_url=db_url)
    click.echo(f"database ready: {resolve_db(db_url)}\nnext: monitor crawl --sources sources.yaml")
