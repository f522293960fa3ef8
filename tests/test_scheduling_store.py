"""Every poll records the scheduler's decision on the feed row (SQLite and PostgreSQL): interval, next poll,
disable after N failures and revive, conditional GET switched off when the server lies; due feeds; unfinished
entries; the health rows of `sources status`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor.errors import ErrorClass
from monitor.items import EntryContext, FetchEvent
from monitor.scheduling.policy import HOUR, PollPolicy
from storage.models import Feed, FeedEntry, utcnow
from storage.queries import feed_health
from storage.store import ENTRY_ATTEMPTS, Store
from tests.test_store_backends import FEED, FakeSource, make_item

OTHER = "https://levant.example/other.xml"


@pytest.fixture
def store(db_url: str) -> Store:
    store = Store.from_url(db_url)
    store.sync_sources([FakeSource(feeds=[FEED, OTHER])])
    return store


def feed_row(store: Store, url: str = FEED) -> Feed:
    with store.sessions() as session:
        return session.scalars(select(Feed).where(Feed.url == url)).one()


def ok(**kwargs: object) -> FetchEvent:
    return FetchEvent("levant", FEED, FEED, "feed", 200, **kwargs)  # type: ignore[arg-type]


def failed(**kwargs: object) -> FetchEvent:
    return FetchEvent("levant", FEED, FEED, "feed", 503, ErrorClass.HTTP_5XX, "503", **kwargs)  # type: ignore[arg-type]


def test_a_poll_records_interval_next_poll_and_reason(store: Store) -> None:
    assert store.due_feed_urls([FEED, OTHER, "https://new.example/rss"], utcnow()) == {
        FEED,
        OTHER,
        "https://new.example/rss",
    }
    before = utcnow()
    decision = store.record_fetch(ok(etag='"a"', body_hash="h1", seen_share=0.0))
    assert decision is not None and decision.interval == 6 * HOUR  # the first poll keeps the default
    feed = feed_row(store)
    assert (feed.interval_seconds, feed.poll_reason, feed.seen_share) == (6 * HOUR, "adapted", 0.0)
    assert feed.next_poll_at is not None and feed.next_poll_at - before >= timedelta(hours=6)
    assert feed.last_body_at is not None
    assert store.due_feed_urls([FEED, OTHER], utcnow()) == {OTHER}
    assert store.due_feed_urls([FEED], utcnow() + timedelta(hours=7)) == {FEED}
    store.record_fetch(ok(not_modified=True, seen_share=1.0))
    assert feed_row(store).interval_seconds == 9 * HOUR


def test_article_events_do_not_touch_the_schedule(store: Store) -> None:
    event = FetchEvent("levant", FEED, "https://levant.example/a", "article", 404, ErrorClass.HTTP_4XX)
    assert store.record_fetch(event) is None
    assert feed_row(store).next_poll_at is None


def test_disabled_after_n_failures_and_revived_by_a_success(store: Store) -> None:
    policy = PollPolicy(disable_after=3)
    store.record_fetch(ok(body_hash="h1", policy=policy))
    for _ in range(3):
        store.record_fetch(failed(policy=policy, retry_after=None))
    feed = feed_row(store)
    assert feed.disabled_at is not None and feed.consecutive_failures == 3 and feed.poll_reason == "disabled"
    assert feed.next_poll_at is not None and feed.next_poll_at - utcnow() > timedelta(days=6)
    assert feed.last_error_class == "http_5xx"
    store.record_fetch(ok(body_hash="h2", policy=policy))
    feed = feed_row(store)
    assert feed.disabled_at is None and feed.consecutive_failures == 0 and feed.poll_reason == "revived"


def test_retry_after_sets_the_next_poll(store: Store) -> None:
    store.record_fetch(ok(body_hash="h1"))
    decision = store.record_fetch(failed(retry_after=20 * HOUR))
    assert decision is not None and decision.reason == "retry_after" and decision.delay == 20 * HOUR


def test_conditional_get_switched_off_when_validators_lie(store: Store) -> None:
    store.record_fetch(ok(etag='"a"', body_hash="h1"))
    state = store.feed_state(FEED)
    assert state is not None and state.conditional_get
    store.record_fetch(ok(etag='"a"', body_hash="h2", validators_lied=True))
    feed = feed_row(store)
    assert not feed.conditional_get and feed.conditional_get_off_at is not None
    state = store.feed_state(FEED)
    assert state is not None and not state.conditional_get and state.body_hash == "h2"


def entry(n: int) -> EntryContext:
    return EntryContext("levant", FEED, f"https://levant.example/news/{n}", f"g{n}", f"Title {n}")


def test_unfinished_entries_are_pending_or_failed_fewer_than_n_times(store: Store) -> None:
    store.record_entries([entry(n) for n in range(1, 5)])
    store.save_article(make_item(1))  # stored, although its entry was never marked (a crash in between)
    store.mark_entries(entry(2).entry_url, "not_article")
    for _ in range(ENTRY_ATTEMPTS):
        store.mark_entries(entry(3).entry_url, "failed")
    unfinished = store.unfinished_entries(FEED)
    assert [e.guid for e in unfinished] == ["g4"]
    assert unfinished[0].source_id == "levant" and unfinished[0].title == "Title 4"
    store.mark_entries(entry(4).entry_url, "failed")
    assert [e.guid for e in store.unfinished_entries(FEED)] == ["g4"]


def test_health_rows_count_items_and_flag_stale_feeds(store: Store) -> None:
    store.record_entries([entry(n) for n in range(1, 4)])
    store.record_fetch(ok(body_hash="h1", seen_share=0.0))
    with store.transaction() as session:
        old = session.scalars(select(FeedEntry).where(FeedEntry.guid == "g1")).one()
        old.first_seen_at = utcnow() - timedelta(days=3)
    with store.sessions() as session:
        rows = {r.feed_url: r for r in feed_health(session)}
        later = {r.feed_url: r for r in feed_health(session, now=utcnow() + timedelta(days=5))}
    row = rows[FEED]
    assert (row.items_24h, row.items_7d, row.interval_seconds, row.stale) == (2, 3, 6 * HOUR, False)
    assert row.next_poll_at is not None and row.to_dict()["next_poll_at"].endswith("+00:00")
    assert rows[OTHER].stale is None  # never polled: unknown
    assert later[FEED].stale is True and later[FEED].items_24h == 0


def test_batched_poll_records_keep_each_feeds_order(store: Store) -> None:
    events = [ok(etag='"a"', body_hash="h1"), FetchEvent("levant", OTHER, OTHER, "feed", 200), failed()]
    decisions = store.record_fetches(events)
    assert [d is not None for d in decisions] == [True, True, True]
    assert feed_row(store).consecutive_failures == 1  # FEED's success, then its failure, in that order
    assert feed_row(store, OTHER).last_success_at is not None
    assert set(store.feed_states([FEED, OTHER, "https://new.example/rss"])) == {FEED, OTHER}


def test_fetch_log_pipeline_writes_polls_in_batches(db_url: str) -> None:
    from scrapy.utils.test import get_crawler

    from monitor.pipelines import FetchLogPipeline

    crawler = get_crawler(settings_dict={"MONITOR_DATABASE_URL": db_url, "MONITOR_FETCHLOG_BATCH": 3})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    pipeline = FetchLogPipeline.from_crawler(crawler)
    pipeline.store.sync_sources([FakeSource(feeds=[FEED, OTHER])])

    def logged() -> int:
        return sum(1 for f in (feed_row(pipeline.store), feed_row(pipeline.store, OTHER)) if f.last_polled_at)

    pipeline.process_item(failed())
    pipeline.process_item(FetchEvent("levant", OTHER, OTHER, "feed", 200))
    assert logged() == 0  # buffered
    pipeline.process_item(ok())
    assert feed_row(pipeline.store).last_polled_at is not None  # the third filled the batch
    pipeline.process_item(FetchEvent("levant", OTHER, OTHER, "feed", 304, not_modified=True))
    before = feed_row(pipeline.store, OTHER).last_not_modified_at
    pipeline.close_spider()
    assert before is None and feed_row(pipeline.store, OTHER).last_not_modified_at is not None


@pytest.mark.parametrize("columns", ["80", "200"])
def test_status_is_readable_on_narrow_and_wide_terminals(
    store: Store, db_url: str, columns: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from monitor.commands.sources import sources

    store.record_fetch(failed())
    monkeypatch.setenv("COLUMNS", columns)
    result = CliRunner().invoke(sources, ["status", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert all(len(line) <= int(columns) for line in result.output.splitlines())
    assert "http_5xx" in result.output
    if columns == "80":  # one block per feed: the URL whole on its line
        assert FEED in result.output and "last error http_5xx" in result.output
    else:
        assert "feed health (2 feeds" in result.output
