"""One crawl at a time per database: a file lock beside a SQLite file, an advisory lock on PostgreSQL."""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import make_engine


class LockBusy(RuntimeError):
    """Another process holds the crawl lock for this database."""


def _lock_key(name: str, url: str) -> int:
    """A stable signed 32-bit advisory-lock key for (lock name, database)."""
    return zlib.crc32(f"monitor:{name}:{url}".encode()) - 2**31


@contextmanager
def _file_lock(path: Path, name: str) -> Iterator[None]:
    """flock() a file; the holder's pid is written into it for the error message."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise LockBusy(
                f"another {name} is running on this database (pid {holder}, lock {path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _advisory_lock(url: str, name: str) -> Iterator[None]:
    """pg_try_advisory_lock on a dedicated connection held for the duration."""
    engine = make_engine(url)
    key = _lock_key(name, url)
    with engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise LockBusy(f"another {name} is running on this database (PostgreSQL advisory lock {key})")
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
    engine.dispose()


@contextmanager
def database_lock(url: str, name: str = "crawl") -> Iterator[None]:
    """Hold the named lock for a database URL, or raise LockBusy at once."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        path = Path(f"{database}.{name}.lock") if database and database != ":memory:" else None
        if path is None:
            yield
            return
        with _file_lock(path.resolve(), name):
            yield
    else:
        with _advisory_lock(url, name):
            yield
