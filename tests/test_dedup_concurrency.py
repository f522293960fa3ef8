"""Cluster assignment from two processes writing near-duplicates to one database at the same time.

SQLite: a file database opened with `storage.db.make_engine` (WAL, `BEGIN IMMEDIATE`). PostgreSQL: the server at
MONITOR_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) in a throwaway schema; skipped when
unreachable unless MONITOR_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError

import storage.dedup_models  # noqa: F401  (registers the dedup tables)
from monitor import dedup
from storage.db import make_engine, make_sessionmaker
from storage.models import ArticleRow, Base, Source, StoryCluster

STORIES = 12
POSTGRES_URL = os.environ.get("MONITOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Made-up words: stories drawn from them share almost no 3-word shingles with each other.
VOCABULARY = [
    f"{a}{b}{c}"
    for a in ("ka", "mo", "ri", "te", "su")
    for b in ("lan", "dor", "vis", "pek")
    for c in "aeiou"
]


def story(n: int) -> str:
    """A reproducible 120-word synthetic story."""
    rng = random.Random(n)
    words = [rng.choice(VOCABULARY) for _ in range(120)]
    return "\n\n".join(" ".join(words[i : i + 30]) for i in range(0, 120, 30))


def version(n: int, source: str) -> str:
    """Source b runs the story with its own furniture and a translation note: a near-duplicate of a's copy."""
    if source == "a":
        return story(n)
    return f"Breaking from our partners.\n\n{story(n)}\n\nTranslated by the desk from the original report."


def engine_for(url: str, schema: str | None) -> Engine:
    """An engine on the test database (PostgreSQL: confined to the throwaway schema)."""
    if schema is None:
        return make_engine(url)
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"})


def write_copies(url: str, schema: str | None, source: str, barrier: Any) -> None:
    """One crawler process: store its copy of every story, one transaction each, as the storage writer does."""
    engine = engine_for(url, schema)
    maker = make_sessionmaker(engine)
    barrier.wait(timeout=60)
    for n in range(STORIES):
        with maker.begin() as session:
            row = ArticleRow(
                source_id=source,
                canonical_url=f"https://{source}.example/story/{n}",
                url=f"https://{source}.example/story/{n}",
                title=f"Story {n}",
                text=version(n, source),
                content_hash=dedup.content_hash(f"Story {n}", version(n, source)),
                extractor_version="test",
            )
            session.add(row)
            session.flush()
            dedup.assign_cluster(session, row)
    engine.dispose()


def run_two_writers(url: str, schema: str | None) -> None:
    """Start both writers together and wait for them."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=write_copies, args=(url, schema, src, barrier)) for src in ("a", "b")]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=240)
    assert [p.exitcode for p in procs] == [0, 0]


def assert_one_cluster_per_story(engine: Engine) -> None:
    """Every story's two copies share one cluster whose size counts exactly its members."""
    maker = make_sessionmaker(engine)
    with maker() as session:
        rows = session.execute(select(ArticleRow.canonical_url, ArticleRow.cluster_id)).all()
        assert len(rows) == 2 * STORIES
        by_story: dict[str, set[int | None]] = {}
        for url, cluster_id in rows:
            by_story.setdefault(url.rsplit("/", 1)[1], set()).add(cluster_id)
        assert all(len(ids) == 1 and None not in ids for ids in by_story.values()), by_story
        clusters = session.scalars(select(StoryCluster)).all()
        assert len(clusters) == STORIES
        for cluster in clusters:
            members = dedup.cluster_members(session, cluster.id)
            assert cluster.size == len(members) == 2
            assert {m.source_id for m in members} == {"a", "b"}
            assert cluster.first_article_id in {m.id for m in members}


def prepare(engine: Engine) -> None:
    """Create the schema and the two sources."""
    Base.metadata.create_all(engine)
    with make_sessionmaker(engine).begin() as session:
        session.add_all([Source(id="a", name="A", language="en"), Source(id="b", name="B", language="en")])


def test_two_processes_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    engine = make_engine(url)
    prepare(engine)
    run_two_writers(url, None)
    assert_one_cluster_per_story(engine)


@pytest.fixture
def pg_schema() -> Iterator[tuple[str, str]]:
    """A throwaway schema on the test PostgreSQL server, dropped afterwards."""
    try:
        admin = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        if os.environ.get("MONITOR_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL at {POSTGRES_URL} unreachable and MONITOR_REQUIRE_SERVICES=1: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} unreachable (set MONITOR_TEST_POSTGRES_URL): {exc}")
    schema = f"dedup_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield POSTGRES_URL, schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.mark.postgres
def test_two_processes_postgres(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    engine = engine_for(url, schema)
    prepare(engine)
    run_two_writers(url, schema)
    assert_one_cluster_per_story(engine)
    engine.dispose()


@pytest.mark.postgres
def test_postgres_assignment_holds_a_transaction_advisory_lock(pg_schema: tuple[str, str]) -> None:
    url, schema = pg_schema
    engine = engine_for(url, schema)
    prepare(engine)
    maker = make_sessionmaker(engine)
    held = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    with maker.begin() as session:
        row = ArticleRow(source_id="a", canonical_url="https://a.example/x", url="https://a.example/x",
                         text=story(1), content_hash="0" * 64, extractor_version="test")  # fmt: skip
        session.add(row)
        session.flush()
        assert session.scalar(text(held)) == 0
        dedup.assign_cluster(session, row)
        assert session.scalar(text(held)) == 1
    with maker() as session:
        assert session.scalar(text(held)) == 0
        assert session.scalar(select(func.count()).select_from(StoryCluster)) == 1
    engine.dispose()
