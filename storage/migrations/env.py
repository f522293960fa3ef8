"""Alembic environment: the models' metadata is the target; SQLite migrations run in batch mode.

Run through `storage.migrate` (or `monitor db upgrade`), which passes the database URL or an open connection
in the Alembic config; there is no alembic.ini to find.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from alembic.operations import ops
from sqlalchemy import ForeignKeyConstraint
from sqlalchemy.engine import Connection

from storage.db import make_engine
from storage.migrate import target_metadata


def _take_deferred_fks(table_op: ops.CreateTableOp) -> list[ForeignKeyConstraint]:
    """Remove the `use_alter` foreign keys (the articles ↔ story_clusters cycle) from a CREATE TABLE."""
    deferred = [c for c in table_op.columns if isinstance(c, ForeignKeyConstraint) and c.use_alter]
    table_op.columns = [c for c in table_op.columns if not any(c is d for d in deferred)]
    return deferred


def defer_cyclic_fks(_context: Any, _revision: Any, directives: list[Any]) -> None:
    """Create `use_alter` foreign keys after all tables (and drop them first on downgrade).

    PostgreSQL omits them from CREATE TABLE (SQLAlchemy expects an ALTER later), so without this the initial
    revision would leave them out and `alembic check` would report them missing.
    """
    script = directives[0]
    for up, down in zip(script.upgrade_ops_list, script.downgrade_ops_list, strict=True):
        deferred = [fk for op in up.ops if isinstance(op, ops.CreateTableOp) for fk in _take_deferred_fks(op)]
        for fk in deferred:
            name = fk.table.name
            up.ops.append(ops.ModifyTableOps(name, [ops.CreateForeignKeyOp.from_constraint(fk)]))
            down.ops.insert(0, ops.ModifyTableOps(name, [ops.DropConstraintOp.from_constraint(fk)]))


def run_with(connection: Connection) -> None:
    """Configure Alembic on a connection and run the migrations in one transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        render_as_batch=True,
        compare_type=True,
        compare_server_default=False,
        process_revision_directives=defer_cyclic_fks,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Use the caller's connection when it gave one, else open the configured URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            run_with(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `monitor db upgrade` on a database")
run_online()
