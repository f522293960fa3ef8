"""Shared fixtures: the mock outlet server, databases, and real-service gating.

Tests that need PostgreSQL or Redis use the real servers (URLs from MONITOR_TEST_POSTGRES_URL /
MONITOR_TEST_REDIS_URL, defaulting to the local ones) and skip with a reason when they are unreachable — unless
MONITOR_REQUIRE_SERVICES=1 (set by .ci/run), which turns those skips into failures.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
POSTGRES_URL = os.environ.get("MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MONITOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("MONITOR_REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    """A TCP connect to the service's host:port succeeds."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip (or fail, under MONITOR_REQUIRE_SERVICES=1) when a service is unreachable."""
    if _reachable(url, default_port):
        return
    reason = f"{name} not reachable at {url} (set MONITOR_TEST_{name.upper()}_URL)"
    if REQUIRE_SERVICES:
        pytest.fail(f"MONITOR_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for one test, dropped afterwards."""
    require_service("postgres", POSTGRES_URL, 5432)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    """The test Redis (database 15), flushed before the test."""
    require_service("redis", REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()
    return REDIS_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file database."""
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))


def eval_dir() -> Path | None:
    """The evaluation corpus: MONITOR_EVAL_DIR, else ../shared/eval beside the repo."""
    env = os.environ.get("MONITOR_EVAL_DIR")
    path = Path(env) if env else REPO.parent / "shared" / "eval"
    return path if path.is_dir() else None
