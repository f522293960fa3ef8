"""Schema migrations (Alembic, configured here in code: no alembic.ini to find).

- `ensure_schema(engine)`: upgrade to head on first use (called by `Store.from_url`); a message if it did anything.
- `upgrade(url)`, `current(url)`, `check(url)`: what `monitor db upgrade|current|check` run.
- Regenerate the initial revision after a model change (models are the source of truth)::

      rm storage/migrations/versions/*.py
      python -m storage.migrate revision --autogenerate -m initial

  Later changes add a revision the same way without deleting anything.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine, MetaData, inspect, text

from storage.db import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Every module that defines tables on `storage.models.Base`; all must be imported before metadata is complete.
MODEL_MODULES = (
    "storage.models",
    "storage.dedup_models",
    "storage.alert_models",
    "storage.workflow_models",
    "storage.capture_models",
)
# Key of the PostgreSQL advisory lock that serialises concurrent upgrades (two crawlers starting at once).
PG_MIGRATE_LOCK = 7_248_361_905


class SchemaError(RuntimeError):
    """The database cannot be brought to the models' schema automatically."""


def target_metadata() -> MetaData:
    """`Base.metadata` with the tables of every model module (modules not written yet are skipped)."""
    for name in MODEL_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    from storage.models import Base

    return Base.metadata


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at `storage/migrations`, bound to a URL or an open connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    """The newest revision in `storage/migrations/versions`."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None: never migrated)."""
    return MigrationContext.configure(conn).get_current_revision()


def schema_diffs(conn: Connection) -> list[Any]:
    """Differences between the models and the database (empty: `alembic check` passes)."""
    ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
    return list(compare_metadata(ctx, target_metadata()))


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """One transaction for a migration: locked against concurrent upgrades; SQLite foreign keys off meanwhile.

    SQLite batch mode recreates tables; with foreign keys on, dropping the old table would cascade-delete rows
    of the tables that point at it, so they are switched off for the migration and checked afterwards.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATE_LOCK})
                yield conn
            if sqlite:
                _check_foreign_keys(conn)
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def _check_foreign_keys(conn: Connection) -> None:
    """Fail loudly when a SQLite migration left rows pointing at nothing."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    conn.rollback()
    if broken:
        raise SchemaError(f"migration left {len(broken)} broken foreign keys, first: {tuple(broken[0])}")


def _has_tables(conn: Connection) -> bool:
    """The database already holds some of the models' tables."""
    return bool(set(inspect(conn).get_table_names()) & set(target_metadata().tables))


def _adopt(conn: Connection, head: str) -> str:
    """Stamp a database made before migrations existed, when it matches the models exactly."""
    diffs = schema_diffs(conn)
    if diffs:
        raise SchemaError(
            f"the database has tables but no migration history, and differs from the models "
            f"({len(diffs)} differences, first: {diffs[0]!r}); back it up and recreate it, or migrate by hand"
        )
    command.stamp(alembic_config(connection=conn), head)
    return f"existing schema adopted at revision {head}"


def _known(revision: str) -> bool:
    """The revision exists in storage/migrations/versions."""
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def _describe(engine: Engine) -> str:
    """The database URL without its password."""
    return engine.url.render_as_string(hide_password=True)


def ensure_schema(engine: Engine) -> str | None:
    """Bring the database to the newest revision; a one-line message when something was done, else None."""
    head = head_revision()
    if head is None:
        raise SchemaError(f"no migrations in {MIGRATIONS / 'versions'}: run `python -m storage.migrate`")
    with _migration_connection(engine) as conn:
        before = current_revision(conn)
        if before == head:
            return None
        if before is None and _has_tables(conn):
            return f"{_describe(engine)}: {_adopt(conn, head)}"
        if before is not None and not _known(before):
            raise SchemaError(
                f"{_describe(engine)} is at revision {before}, unknown to this version of monitor "
                f"(newest known: {head}): upgrade monitor, or use the database it was made with"
            )
        command.upgrade(alembic_config(connection=conn), "head")
    origin = f"revision {before}" if before else "an empty database"
    return f"{_describe(engine)}: schema upgraded from {origin} to revision {head}"


def upgrade(url: str) -> str | None:
    """`monitor db upgrade`: ensure_schema on a URL."""
    engine = make_engine(url)
    try:
        return ensure_schema(engine)
    finally:
        engine.dispose()


def current(url: str) -> tuple[str | None, str | None]:
    """(database revision, newest revision available)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return current_revision(conn), head_revision()
    finally:
        engine.dispose()


def check(url: str) -> list[Any]:
    """Schema differences between the models and the database at `url` (what `alembic check` reports)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return schema_diffs(conn)
    finally:
        engine.dispose()


def new_revision(message: str, autogenerate: bool = True) -> Path | None:
    """Write a revision comparing the models with a scratch SQLite database upgraded to the current head."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        if head_revision() is not None:
            upgrade(url)
        script = command.revision(alembic_config(url), message=message, autogenerate=autogenerate)
    scripts = script if isinstance(script, list) else [script]
    paths = [Path(s.path) for s in scripts if s is not None]
    for path in paths:
        subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "-q", str(path)], check=False)
        subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(path)], check=False)
    return paths[0] if paths else None


def main(argv: list[str] | None = None) -> int:
    """`python -m storage.migrate revision --autogenerate -m MESSAGE`."""
    parser = argparse.ArgumentParser(prog="python -m storage.migrate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="write a new revision from the models")
    rev.add_argument("--autogenerate", action="store_true", help="compare the models with the schema")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    path = new_revision(args.message, args.autogenerate)
    print(f"wrote {path}" if path else "no revision written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
