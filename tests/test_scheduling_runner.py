"""The scheduler's pieces that need no crawl: sleep bounds, queue depth, the child's command line, metrics
from a child's summary, and the structured poll line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from monitor.errors import ErrorClass
from monitor.items import FetchEvent
from monitor.scheduling.metrics import EXTRACT_COUNT_KEY, EXTRACT_SECONDS_KEY, RunMetrics
from monitor.scheduling.policy import PollDecision
from monitor.scheduling.pollog import poll_line
from monitor.scheduling.runner import RunOptions, crawl_command, polled_feed_urls, queue, sleep_seconds
from storage.store import Store
from tests.test_store_backends import FEED, FakeSource

NOW = datetime(2024, 11, 18, 9, 0, tzinfo=UTC)


def test_sleep_until_the_next_due_feed_within_bounds() -> None:
    assert sleep_seconds(NOW, None, 60) == 60
    assert sleep_seconds(NOW, NOW + timedelta(seconds=20), 60) == 20
    assert sleep_seconds(NOW, NOW + timedelta(hours=3), 60) == 60
    assert sleep_seconds(NOW, NOW - timedelta(seconds=5), 60) == 1.0


def test_queue_counts_due_feeds_and_finds_the_next_poll(sqlite_url: str) -> None:
    store = Store.from_url(sqlite_url)
    store.sync_sources([FakeSource()])
    assert queue(store, [FEED, "https://unknown.example/rss"], NOW) == (2, None)
    store.record_fetch(FetchEvent("levant", FEED, FEED, "feed", 200, body_hash="h"))
    due, next_at = queue(store, [FEED], datetime.now(UTC))
    assert due == 0 and next_at is not None and next_at > datetime.now(UTC) + timedelta(hours=5)


def test_polled_feed_urls_skip_disabled_sources(tmp_path: Path) -> None:
    entries = [
        {"id": "a", "name": "A", "language": "en", "feeds": ["https://a.example/rss"]},
        {"id": "b", "name": "B", "language": "en", "feeds": ["https://b.example/rss"], "enabled": False},
        {
            "id": "c",
            "name": "C",
            "language": "en",
            "feeds": ["https://c.example/rss"],
            "poll": {"disabled": True},
        },
    ]
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": entries}), encoding="utf-8")
    assert polled_feed_urls(str(path)) == ["https://a.example/rss"]


def test_child_command_line() -> None:
    options = RunOptions("sqlite:///m.db", "s.yaml", "w.yaml", ["DOWNLOAD_DELAY=0"], verbose=1)
    cmd = crawl_command(options, Path("/tmp/x.json"))
    assert cmd[1:5] == ["-m", "monitor", "crawl", "--due"]
    assert cmd[cmd.index("--stats-json") + 1] == "/tmp/x.json"
    assert cmd[cmd.index("--watches") : cmd.index("--watches") + 2] == ["--watches", "w.yaml"]
    assert cmd[-3:] == ["-s", "DOWNLOAD_DELAY=0", "-v"]


def test_metrics_add_up_child_summaries() -> None:
    metrics = RunMetrics()
    summary = {
        "feeds_polled": 5,
        "feeds_not_modified": 3,
        "articles_new": 7,
        "errors": {"timeout": 2},
        # The keys ExtractPipeline writes (tests/test_extract_pool.py checks it sets them).
        "stats": {EXTRACT_SECONDS_KEY: 1.5, EXTRACT_COUNT_KEY: 3},
    }
    metrics.observe(summary, "ok", 2.0)
    metrics.observe({**summary, "errors": {"timeout": 1, "http_5xx": 1}}, "ok", 1.0)
    metrics.due.set(4)
    text = metrics.text()
    for line in (
        "monitor_polls_total 10.0",
        "monitor_polls_not_modified_total 6.0",
        "monitor_articles_stored_total 14.0",
        'monitor_errors_total{error_class="timeout"} 3.0',
        'monitor_errors_total{error_class="http_5xx"} 1.0',
        "monitor_extract_seconds_total 3.0",
        "monitor_extracted_pages_total 6.0",
        'monitor_cycles_total{result="ok"} 2.0',
        "monitor_feeds_due 4.0",
        "monitor_last_cycle_seconds 1.0",
    ):
        assert line in text, line


def test_poll_line_is_key_value() -> None:
    event = FetchEvent("levant", FEED, FEED, "feed", 503, ErrorClass.HTTP_5XX, "boom", duration_ms=12)
    line = poll_line(event, PollDecision(3600, 7200, 2, False, "backoff"))
    assert line == (
        f"source=levant feed={FEED} status=503 outcome=http_5xx new=0 seen=- duration_ms=12"
        " interval=3600 next_in=7200 reason=backoff"
    )
    ok = FetchEvent("levant", FEED, FEED, "feed", 304, not_modified=True, seen_share=1.0)
    assert "outcome=not_modified" in poll_line(ok, None) and "seen=1.00" in poll_line(ok, None)


def test_crawl_summary_with_errors_round_trips_through_json() -> None:
    import json
    from collections import Counter

    from monitor.crawl import CrawlSummary

    summary = CrawlSummary(
        sources=2, errors=Counter({"not_article": 1, "timeout": 2}), stats={"monitor/x": 1}
    )
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["errors"] == {"not_article": 1, "timeout": 2} and data["sources"] == 2
