"""Two crawler processes writing to one PostgreSQL at once lose nothing and double nothing; a connection that
goes away mid-write costs a retry, not the article; concurrent first-use migrations do not collide."""

from __future__ import annotations

import asyncio
import multiprocessing
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from monitor import pipelines
from monitor.pipelines import StorePipeline, _is_disconnect
from storage import migrate
from storage.models import ArticleRow, ArticleURL, FeedEntry
from storage.store import Store
from tests.test_store_backends import FakeSource, make_item

SHARED = range(150)


def _writer(url: str, worker: int, barrier: Any, batch: int) -> list[tuple[int, int, bool]]:
    """One crawler process: the shared articles plus its own, in batches; (n, article id, created) each."""
    store = Store.from_url(url)
    store.sync_sources([FakeSource()])
    numbers = list(SHARED) + [10_000 * (worker + 1) + i for i in range(75)]
    if worker == 1:
        numbers.reverse()  # meet the other process from the other end
    barrier.wait(timeout=60)
    out: list[tuple[int, int, bool]] = []
    for start in range(0, len(numbers), batch):
        chunk = numbers[start : start + batch]
        stored = (
            store.save_articles([make_item(n) for n in chunk])
            if batch > 1
            else [store.save_article(make_item(chunk[0]))]
        )
        out += [(n, s.article_id, s.created) for n, s in zip(chunk, stored, strict=True)]
    store.engine.dispose()
    return out


def _upgrader(url: str, barrier: Any) -> str | None:
    """First use of an empty database by one process."""
    barrier.wait(timeout=60)
    return migrate.upgrade(url)


def _count(store: Store, model: Any) -> int:
    with store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.postgres
@pytest.mark.parametrize("batch", [1, 25])
def test_two_processes_same_and_different_articles(postgres_url: str, batch: int) -> None:
    migrate.upgrade(postgres_url)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(2)
    with ctx.Pool(2) as pool:
        runs = [pool.apply_async(_writer, (postgres_url, w, barrier, batch)) for w in (0, 1)]
        results = [r.get(timeout=240) for r in runs]
    store = Store.from_url(postgres_url)
    assert _count(store, ArticleRow) == len(SHARED) + 2 * 75
    assert _count(store, ArticleURL) == len(SHARED) + 2 * 75
    ids = [{n: article_id for n, article_id, _ in result} for result in results]
    assert all(ids[0][n] == ids[1][n] for n in SHARED)  # both processes see the one row of each article
    created = [{n for n, _, was_new in result if was_new} for result in results]
    assert created[0].isdisjoint(created[1])  # each shared article created by exactly one process
    assert set(SHARED) <= created[0] | created[1]
    store.engine.dispose()


@pytest.mark.postgres
def test_concurrent_first_use_migrates_once(postgres_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Manager().Barrier(3)
    with ctx.Pool(3) as pool:
        runs = [pool.apply_async(_upgrader, (postgres_url, barrier)) for _ in range(3)]
        messages = [r.get(timeout=120) for r in runs]
    assert sum(m is not None for m in messages) == 1
    assert migrate.check(postgres_url) == []


@pytest.mark.postgres
def test_connection_terminated_mid_write_is_retried_not_lost(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)
    store = Store.from_url(postgres_url)
    store.sync_sources([FakeSource()])
    admin = create_engine(
        make_url(postgres_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    killed: list[int] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def terminate_own_backend(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO articles") and not killed:
            pid = cursor.connection.info.backend_pid
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    with pytest.raises(OperationalError) as caught:
        store.save_article(make_item(1))
    assert killed and _is_disconnect(caught.value)  # StorePipeline retries exactly this class of error
    assert _count(store, ArticleRow) == 0  # the aborted transaction left nothing half-written
    stored = store.save_article(make_item(1))  # the retry gets a fresh connection from the pool
    assert stored.created and _count(store, ArticleRow) == 1
    assert not store.save_article(make_item(1)).created
    admin.dispose()
    store.engine.dispose()


def _terminate_first_article_insert(
    store: Store, admin: Any, prefix: str = "INSERT INTO articles"
) -> list[int]:
    """Kill the store's own backend the first time it runs a statement starting with `prefix` (by default:
    inserts an article), a server restart as seen by it."""
    killed: list[int] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def terminate(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(prefix) and not killed:
            pid = cursor.connection.info.backend_pid
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    return killed


async def _no_wait(_seconds: float) -> None:
    """Stand-in for the reactor sleep between retries."""


def _pipeline_on_postgres(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, StorePipeline, Any]:
    """A crawler's StorePipeline on a migrated PostgreSQL database with one source, retries without sleeping,
    and an autocommit admin engine to kill its connection with."""
    migrate.upgrade(postgres_url)
    monkeypatch.setattr(pipelines, "sleep", _no_wait)
    crawler = get_crawler(settings_dict={"MONITOR_DATABASE_URL": postgres_url})
    crawler.stats.open_spider()
    pipeline = StorePipeline(crawler)
    pipeline.store.sync_sources([FakeSource()])
    admin = create_engine(
        make_url(postgres_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    return crawler, pipeline, admin


@pytest.mark.postgres
def test_store_pipeline_retries_after_the_connection_dies(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawler, pipeline, admin = _pipeline_on_postgres(postgres_url, monkeypatch)
    killed = _terminate_first_article_insert(pipeline.store, admin)
    stored = asyncio.run(pipeline._save(make_item(1)))
    assert killed and stored.created
    assert crawler.stats.get_value("monitor/db/retries") == 1
    assert _count(pipeline.store, ArticleRow) == 1
    admin.dispose()
    pipeline.store.engine.dispose()


@pytest.mark.postgres
def test_store_pipeline_retries_marking_the_entry_after_the_connection_dies(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The article was saved, then the connection died before its feed entry was marked: the retry marks the
    entry, with one article row and the save's own outcome."""
    crawler, pipeline, admin = _pipeline_on_postgres(postgres_url, monkeypatch)
    item = make_item(1)
    pipeline.store.record_entries([item.entry])
    killed = _terminate_first_article_insert(pipeline.store, admin, prefix="UPDATE feed_entries")
    stored = asyncio.run(pipeline._save(item))
    assert killed and stored.created  # what the save said, not what a second save would say
    assert crawler.stats.get_value("monitor/db/retries") == 1
    assert _count(pipeline.store, ArticleRow) == 1
    with pipeline.store.sessions() as session:
        assert session.execute(select(FeedEntry.status, FeedEntry.attempts)).one() == ("stored", 1)
    admin.dispose()
    pipeline.store.engine.dispose()


def test_store_pipeline_gives_up_loudly_when_the_database_stays_away(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(sqlite_url)
    monkeypatch.setattr(pipelines, "sleep", _no_wait)
    crawler = get_crawler(settings_dict={"MONITOR_DATABASE_URL": sqlite_url, "MONITOR_DB_RETRIES": 2})
    crawler.stats.open_spider()
    crawler.engine = SimpleNamespace(close_spider_async=lambda reason: reason)  # type: ignore[assignment]
    stops: list[Any] = []
    monkeypatch.setattr(pipelines, "call_soon", lambda func, *args: stops.append(func()))
    pipeline = StorePipeline(crawler)

    def unreachable(_item: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(pipeline.store, "save_article", unreachable)
    with pytest.raises(DropItem, match="will be fetched again next run"):
        asyncio.run(pipeline._save(make_item(1)))
    assert crawler.stats.get_value("monitor/db/retries") == 2
    assert crawler.stats.get_value("monitor/db/errors") == 1
    assert "database write failed" in crawler.stats.get_value("monitor/db/last_error")
    assert stops == [
        "database_error"
    ]  # the crawl is closed with reason database_error, not left running without a store
