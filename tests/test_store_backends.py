"""The storage suite, run on SQLite and PostgreSQL alike (`db_url`): sources, entries, fetch log, articles
(single and batched writes), known keys; idempotent on re-run."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from monitor.article import Article
from monitor.errors import ErrorClass
from monitor.items import ArticleItem, EntryContext, FetchEvent
from storage.models import ArticleRevision, ArticleRow, ArticleURL, Feed, FeedEntry, FetchLog, Source
from storage.store import Store

FEED = "https://levant.example/feed.xml"
FETCHED = datetime(2024, 11, 17, 9, 30, tzinfo=UTC)
# A vocabulary for texts that never look like near-duplicates of each other (dedup clusters stay singletons).
VOCAB = [f"w{i:04d}" for i in range(3000)]


@dataclass
class FakeSource:
    """The fields of a configured source the store mirrors."""

    id: str = "levant"
    name: str = "Levant Daily"
    language: str = "ar"
    country: str | None = "LB"
    timezone: str | None = "Asia/Beirut"
    enabled: bool = True
    homepage: Any = "https://levant.example/"
    feeds: list[str] = field(default_factory=lambda: [FEED])

    def polled(self) -> list[tuple[str, str, None]]:
        """(kind, URL, listing) like SourceConfig.polled: feeds only."""
        return [("feed", url, None) for url in self.feeds]


def body_text(seed: int, words: int = 120) -> str:
    """A text of three paragraphs unlike any other seed's."""
    rng = random.Random(seed)
    paras = [" ".join(rng.choice(VOCAB) for _ in range(words // 3)) for _ in range(3)]
    return "\n".join(paras)


def make_item(
    n: int, *, source: str = "levant", text: str | None = None, title: str | None = None
) -> ArticleItem:
    """An extracted article number `n` as the pipeline hands it to the store."""
    url = f"https://{source}.example/news/{n}"
    published = datetime(2024, 11, 17, 8, 0, tzinfo=timezone(timedelta(hours=2)))
    article = Article(
        url=url,
        canonical_url=url,
        is_article=True,
        title=title or f"Title {n}",
        lede=f"Lede {n}",
        text=text if text is not None else body_text(n),
        authors=["Rana Haddad"],
        published_at=published,
        language="ar",
    )
    entry = EntryContext(source, f"https://{source}.example/feed.xml", url + "?utm_source=rss", guid=f"g{n}")
    return ArticleItem(entry, url, article, FETCHED)


@pytest.fixture
def store(db_url: str) -> Store:
    """A migrated store with one synced source."""
    store = Store.from_url(db_url)
    store.sync_sources([FakeSource()])
    return store


def count(store: Store, model: Any) -> int:
    """Rows in a table."""
    with store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_sync_sources_upserts_without_duplicating_feeds(store: Store) -> None:
    store.sync_sources([FakeSource(name="Levant Daily (renamed)")])
    with store.sessions() as session:
        assert session.get_one(Source, "levant").name == "Levant Daily (renamed)"
    assert count(store, Feed) == 1


def test_sync_sources_writes_only_what_changed(store: Store) -> None:
    with store.sessions() as session:
        before = session.get_one(Source, "levant").updated_at
    store.sync_sources([FakeSource()])  # unchanged: the row is not rewritten
    with store.sessions() as session:
        assert session.get_one(Source, "levant").updated_at == before
    other = "https://levant.example/sitemap.xml"
    store.sync_sources(
        [FakeSource(enabled=False, feeds=[FEED, other]), FakeSource(id="gulf", name="Gulf", feeds=[])]
    )
    with store.sessions() as session:
        assert session.get_one(Source, "levant").enabled is False
        assert session.get_one(Source, "gulf").name == "Gulf"
        assert set(session.scalars(select(Feed.url))) == {FEED, other}


def test_sync_sources_gives_a_moved_url_its_new_kind(store: Store) -> None:
    class AsSitemap(FakeSource):
        def polled(self) -> list[tuple[str, str, None]]:
            return [("sitemap", url, None) for url in self.feeds]

    store.sync_sources([AsSitemap()])
    with store.sessions() as session:
        assert session.scalar(select(Feed.kind).where(Feed.url == FEED)) == "sitemap"
    assert count(store, Feed) == 1


def test_record_entries_counts_new_ones_once(store: Store) -> None:
    entries = [EntryContext("levant", FEED, f"https://levant.example/news/{i}", f"g{i}") for i in range(3)]
    assert store.record_entries(entries) == 3
    assert store.record_entries(entries) == 0
    assert count(store, FeedEntry) == 3


def test_record_entries_refuses_unknown_feed(store: Store) -> None:
    with pytest.raises(LookupError, match="sync sources first"):
        store.record_entries(
            [EntryContext("levant", "https://other.example/rss", "https://x.example/1", "g")]
        )


def test_record_fetch_updates_health_and_validators(store: Store) -> None:
    ok = FetchEvent("levant", FEED, FEED, "feed", 200, etag='"abc"', body_hash="h1")
    store.record_fetch(ok)
    bad = FetchEvent("levant", FEED, FEED, "feed", 503, error=ErrorClass.HTTP_5XX, message="503")
    store.record_fetch(bad)
    store.record_fetch(bad)
    state = store.feed_state(FEED)
    assert state is not None and state.etag == '"abc"' and state.body_hash == "h1"
    with store.sessions() as session:
        feed = session.scalars(select(Feed)).one()
        assert feed.consecutive_failures == 2 and feed.last_error_class == ErrorClass.HTTP_5XX.value
    assert count(store, FetchLog) == 3


def test_save_article_new_then_duplicate_then_revision(store: Store) -> None:
    first = store.save_article(make_item(1))
    assert first.created and first.revision == 1
    again = store.save_article(make_item(1))
    assert not again.created and again.article_id == first.article_id and again.revision is None
    edited = store.save_article(make_item(1, text=body_text(1) + "\nA correction was added."))
    assert not edited.created and edited.revision == 2
    assert count(store, ArticleRow) == 1 and count(store, ArticleRevision) == 1


def test_saved_article_keeps_offsets_and_utc(store: Store) -> None:
    stored = store.save_article(make_item(7))
    with store.sessions() as session:
        row = session.get_one(ArticleRow, stored.article_id)
    assert row.published_at is not None and row.published_at.utcoffset() == timedelta(hours=2)
    assert row.published_at_utc == datetime(2024, 11, 17, 6, 0, tzinfo=UTC)
    assert row.fetched_at == FETCHED and row.authors == ["Rana Haddad"]


def test_known_keys_cover_aliases_and_not_articles(store: Store) -> None:
    store.save_article(make_item(2))
    store.record_entries([EntryContext("levant", FEED, "https://levant.example/tag/x", "gx")])
    store.mark_entries("https://levant.example/tag/x", "not_article")
    asked = [
        "http://www.levant.example/news/2/",  # same identity key as the stored article
        "https://levant.example/tag/x",
        "https://levant.example/news/999",
    ]
    known = store.known_keys(asked)
    assert len(known) == 2
    assert store.known_keys([]) == set()


def test_save_articles_batch_is_idempotent(store: Store) -> None:
    items = [make_item(i) for i in range(50)]
    stored = store.save_articles(items)
    assert [s.created for s in stored] == [True] * 50
    again = store.save_articles(items)
    assert not any(s.created for s in again)
    assert [s.article_id for s in again] == [s.article_id for s in stored]
    assert count(store, ArticleRow) == 50
    assert (
        count(store, ArticleURL) == 50
    )  # the entry URL differs only by utm_source, which canonicalize drops
    assert store.save_articles([]) == []


def test_save_articles_same_article_twice_in_one_batch(store: Store) -> None:
    stored = store.save_articles([make_item(3), make_item(3)])
    assert stored[0].created and not stored[1].created
    assert stored[0].article_id == stored[1].article_id
    assert count(store, ArticleRow) == 1


def test_save_articles_falls_back_to_one_by_one_on_conflict(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Store._save_article
    calls = {"n": 0}

    def racing(self: Store, session: Any, item: ArticleItem) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # another process won the race for this row during the batch
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))
        return original(self, session, item)

    monkeypatch.setattr(Store, "_save_article", racing)
    stored = store.save_articles([make_item(10), make_item(11), make_item(12)])
    assert [s.created for s in stored] == [True, True, True]
    assert count(store, ArticleRow) == 3  # the rolled-back batch left nothing half-written


def test_batch_with_a_bad_item_keeps_the_good_ones_and_raises(store: Store) -> None:
    bad = make_item(21, source="unknown-source")  # foreign key to sources fails, on retry too
    with pytest.raises(IntegrityError):
        store.save_articles([make_item(20), bad])
    assert count(store, ArticleRow) == 1  # the one-by-one fallback stored the good item before the bad one
    assert not store.save_articles([make_item(20)])[0].created


def test_background_checkpoints_take_over_from_the_writers(sqlite_url: str) -> None:
    from sqlalchemy import text

    from storage.db import BackgroundCheckpoints

    store = Store.from_url(sqlite_url)
    checkpoints = BackgroundCheckpoints(store.engine, every=0.05).start()
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            conn.execute(text("INSERT INTO t VALUES ('a')"))
            conn.commit()
        deadline = time.monotonic() + 5
        while checkpoints.done < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert checkpoints.done >= 2
    finally:
        checkpoints.stop()
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000  # writers checkpoint again
    store.engine.dispose()


def test_background_checkpoints_keep_the_wal_bounded_under_steady_writes(sqlite_url: str) -> None:
    """Passive checkpoints alone let the WAL grow as large as everything written (seen in a 100k crawl)."""
    from sqlalchemy import text

    from storage.db import BackgroundCheckpoints

    store = Store.from_url(sqlite_url)
    wal = Path(store.engine.url.database + "-wal")
    limit = 2 * 1024 * 1024
    checkpoints = BackgroundCheckpoints(store.engine, every=0.02, wal_limit=limit).start()
    try:
        with store.engine.begin() as conn:
            conn.execute(text("CREATE TABLE blobs (b BLOB)"))
        written, largest = 0, 0
        while written < 12 * limit:  # a writer with short gaps between transactions, like the crawler's
            with store.engine.begin() as conn:
                conn.execute(text("INSERT INTO blobs VALUES (:b)"), [{"b": os.urandom(16_000)}] * 16)
            written += 16 * 16_000
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
            time.sleep(0.003)
        assert checkpoints.resets >= 2
        assert largest < 6 * limit  # bounded: reset each time it passed the limit, not grown with the data
    finally:
        checkpoints.stop()
    store.engine.dispose()
