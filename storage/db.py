"""Engine and session set-up: SQLite with WAL, busy timeout and foreign keys; PostgreSQL through psycopg 3."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Seconds between the background thread's passive WAL checkpoints (see BackgroundCheckpoints).
CHECKPOINT_EVERY = 0.5
# A WAL file past this size is reset by a TRUNCATE checkpoint (passive ones never reset it under steady writes).
WAL_RESET_BYTES = 64 * 1024 * 1024
logger = logging.getLogger("monitor.db")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL for concurrent readers, a busy timeout for concurrent writers, foreign keys enforced."""
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    """Take the write lock up front: read-then-write transactions cannot deadlock or lose an upgrade race."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for a database URL with the project's per-backend settings."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (items outlive their transaction)."""
    return sessionmaker(engine, expire_on_commit=False)


def _size(path: Path) -> int:
    """A file's size, 0 when it does not exist."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:
    """Switch off SQLite's automatic checkpoint on a new connection."""
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")


class BackgroundCheckpoints:
    """SQLite's automatic WAL checkpoint runs inside whichever commit crosses 1,000 pages, so that write waits
    for it (the dedup benchmark's p99 at 1M fingerprints: ~10 ms instead of ~1.5 ms). While started, this
    engine's connections skip it and a daemon thread runs a PASSIVE checkpoint (which never blocks writers)
    every CHECKPOINT_EVERY seconds; other processes keep the automatic one. A no-op for other backends.

    A passive checkpoint copies pages back but cannot restart the WAL while writers keep appending to it: under a
    steady crawl the file grew as large as the data written (1.2 GB in six minutes). So when the WAL passes
    `wal_limit` bytes the thread runs one TRUNCATE checkpoint, which waits for the current writer (the busy
    timeout), copies the few pages left and empties the file; writers wait for it only that once."""

    def __init__(
        self, engine: Engine, every: float = CHECKPOINT_EVERY, wal_limit: int = WAL_RESET_BYTES
    ) -> None:
        self.engine, self.every, self.wal_limit = engine, every, wal_limit
        self.path = engine.url.database if engine.dialect.name == "sqlite" else None
        self.done = 0
        self.resets = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundCheckpoints:
        """Move checkpoints to the thread (file databases only; in-memory ones have no WAL)."""
        if not self.path or self.path == ":memory:" or self._thread is not None:
            return self
        event.listen(self.engine, "connect", _no_autocheckpoint)
        self.engine.dispose()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        """Checkpoint until stopped; on an error give checkpoints back to the writers rather than let the WAL grow."""
        assert self.path is not None
        conn = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        )
        wal = Path(self.path + "-wal")
        try:
            while not self._stop.wait(self.every):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self.done += 1
                if _size(wal) > self.wal_limit:
                    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    if busy:
                        logger.warning("WAL reset postponed: a reader kept %s busy", self.path)
                    else:
                        self.resets += 1
        except sqlite3.Error as exc:
            logger.warning("background WAL checkpoints stopped (%s); writers checkpoint again", exc)
            event.remove(self.engine, "connect", _no_autocheckpoint)
            self.engine.dispose()
        finally:
            conn.close()

    def stop(self) -> None:
        """Join the thread, run a last checkpoint, and give checkpoints back to the writers."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        if event.contains(self.engine, "connect", _no_autocheckpoint):
            event.remove(self.engine, "connect", _no_autocheckpoint)
        self.engine.dispose()
