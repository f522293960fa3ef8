"""Scheduling end to end, in subprocesses against the mock server: `crawl --due`, the stale-ETag switch,
`monitor run --once`, and a SIGTERM in the middle of a `monitor run` cycle that loses nothing."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from monitor.demo import EXPECTED, demo_sources
from storage.models import ArticleRow, ArticleURL, Feed, FeedEntry
from storage.store import Store
from tests.conftest import REPO
from tests.mockserver import MockServer

pytestmark = pytest.mark.slow

FAST = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", "RETRY_TIMES": "0", "DOWNLOAD_TIMEOUT": "10"}


@pytest.fixture
def server() -> Iterator[MockServer]:
    with MockServer() as srv:
        yield srv


def sets(extra: dict[str, str] | None = None) -> list[str]:
    return [arg for k, v in {**FAST, **(extra or {})}.items() for arg in ("-s", f"{k}={v}")]


def monitor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process (the reactor cannot restart)."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def write_sources(folder: Path, entries: list[dict[str, Any]]) -> str:
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": entries}, allow_unicode=True), encoding="utf-8")
    return str(path)


def polled_urls(entries: list[dict[str, Any]]) -> int:
    """How many URLs the sources poll (feeds, sitemaps, listing pages)."""
    return sum(
        len(e.get("feeds", [])) + len(e.get("sitemaps", [])) + len(e.get("listings", [])) for e in entries
    )


def sample_articles() -> int:
    """How many of the demo's pages are articles."""
    return sum(1 for page in json.loads(EXPECTED.read_text(encoding="utf-8")).values() if page["is_article"])


def feed_requests(server: MockServer, since: int = 0) -> list[Any]:
    return [r for r in server.requests[since:] if r.path.endswith(".xml")]


def test_crawl_due_polls_only_what_is_due(server: MockServer, tmp_path: Path) -> None:
    entries = demo_sources(server.base_url)
    sources, polled = write_sources(tmp_path, entries), polled_urls(entries)
    db, stats = f"sqlite:///{tmp_path / 'm.db'}", tmp_path / "stats.json"
    args = ["crawl", "--due", "--no-progress", "--sources", sources, "--db", db, "--stats-json", str(stats)]
    first = monitor(*args, *sets())
    assert first.returncode == 0, first.stderr[-3000:]
    assert len(feed_requests(server)) == polled
    assert json.loads(stats.read_text())["stats"]["monitor/feeds/due"] == polled
    mark = len(server.requests)
    second = monitor(*args, *sets())
    assert second.returncode == 0, second.stderr[-3000:]
    assert server.requests[mark:] == []
    summary = json.loads(stats.read_text())
    assert summary["feeds_polled"] == 0 and summary["stats"]["monitor/feeds/not_due"] == polled


def test_stale_etag_switches_conditional_get_off(server: MockServer, tmp_path: Path) -> None:
    feed = server.url("/trap/stale-etag.xml")
    sources = write_sources(tmp_path, [{"id": "stale", "name": "Stale", "language": "en", "feeds": [feed]}])
    db = f"sqlite:///{tmp_path / 'm.db'}"
    args = ["crawl", "--no-progress", "--sources", sources, "--db", db]
    assert monitor(*args, *sets()).returncode == 0
    server.stale_version = 2
    mark = len(server.requests)
    assert monitor(*args, *sets()).returncode == 0
    (lied,) = feed_requests(server, mark)
    assert lied.status == 304 and lied.headers.get("If-None-Match") == server.STALE_ETAG  # the lie, unseen
    time.sleep(1.1)
    mark = len(server.requests)
    verify = monitor(*args, *sets({"MONITOR_POLL_VERIFY_AFTER": "1"}))
    assert verify.returncode == 0, verify.stderr[-3000:]
    (probe,) = feed_requests(server, mark)
    assert probe.status == 200 and "If-None-Match" not in probe.headers
    assert "conditional_get=off reason=stale_validators" in verify.stderr
    store = Store.from_url(db)
    with store.sessions() as session:
        row = session.scalars(select(Feed)).one()
        assert not row.conditional_get and row.conditional_get_off_at is not None
        titles = set(session.scalars(select(ArticleRow.title)))
    assert len(titles) == 2  # the article announced under the stale ETag was found
    mark = len(server.requests)
    assert monitor(*args, *sets()).returncode == 0
    (after,) = feed_requests(server, mark)
    assert (
        after.status == 200
        and "If-None-Match" not in after.headers
        and "If-Modified-Since" not in after.headers
    )


def test_run_once_then_nothing_due(server: MockServer, tmp_path: Path) -> None:
    sources = write_sources(tmp_path, demo_sources(server.base_url))
    db = f"sqlite:///{tmp_path / 'm.db'}"
    args = ["run", "--once", "--sources", sources, "--db", db, *sets()]
    first = monitor(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    assert (
        f"{polled_urls(demo_sources(server.base_url))} feeds due" in first.stderr
        and "monitor.poll" in first.stderr
    )
    store = Store.from_url(db)
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ArticleRow)) == sample_articles()
        assert all(f.next_poll_at is not None for f in session.scalars(select(Feed)))
    mark = len(server.requests)
    second = monitor(*args)
    assert second.returncode == 0 and server.requests[mark:] == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def served_slow(server: MockServer) -> set[str]:
    return {r.path for r in server.requests if r.path.startswith("/trap/slow/") and r.status == 200}


def test_sigterm_during_a_cycle_loses_nothing(server: MockServer, tmp_path: Path) -> None:
    server.slow_seconds = 2.0
    feed = server.url("/trap/slow.xml")
    sources = write_sources(tmp_path, [{"id": "slow", "name": "Slow", "language": "en", "feeds": [feed]}])
    db, port = f"sqlite:///{tmp_path / 'm.db'}", free_port()
    cmd = [
        sys.executable,
        "-m",
        "monitor",
        "run",
        "--sources",
        sources,
        "--db",
        db,
        "--metrics-port",
        str(port),
    ]
    # CONCURRENT_REQUESTS, not _PER_DOMAIN: with DOWNLOAD_DELAY=0 Scrapy 2.19 bursts past the per-slot limit.
    cmd += sets({"CONCURRENT_REQUESTS": "2"})
    scheduler = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: server.fetched("/trap/slow.xml"))
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "monitor_feeds_due 1.0" in metrics
        busy = monitor("run", "--once", "--sources", sources, "--db", db)
        assert busy.returncode == 1 and "another scheduler is running" in busy.stderr
        wait_for(lambda: len(served_slow(server)) >= 2)
        scheduler.send_signal(signal.SIGTERM)
        _, err = scheduler.communicate(timeout=60)
    finally:
        if scheduler.poll() is None:
            scheduler.kill()
    assert scheduler.returncode == 0, err[-3000:]
    assert "received SIGTERM" in err and "shutting down gracefully" in err
    slugs = {server.slow_url(s).removeprefix(server.base_url) for s in server.SLOW_SLUGS}
    first_run = stored_paths(db, server)
    assert served_slow(server) <= first_run < slugs  # everything served was stored, and the run was cut short
    assert_whole(db)
    server.slow_seconds = 0.1
    mark = len(server.requests)
    again = monitor("crawl", "--no-progress", "--sources", sources, "--db", db, *sets())
    assert again.returncode == 0, again.stderr[-3000:]
    assert [r.status for r in feed_requests(server, mark)] == [304]  # resumed from the database, not the feed
    assert stored_paths(db, server) == slugs
    assert_whole(db)


def stored_paths(db: str, server: MockServer) -> set[str]:
    """Paths of the stored articles; fails if one is stored twice."""
    store = Store.from_url(db)
    with store.sessions() as session:
        urls = list(session.scalars(select(ArticleRow.url)))
    paths = [u.removeprefix(server.base_url) for u in urls]
    assert len(paths) == len(set(paths)), "an article was stored twice"
    return set(paths)


def assert_whole(db: str) -> None:
    """No half-stored article: each has its URL aliases and its feed entry, marked stored."""
    store = Store.from_url(db)
    with store.sessions() as session:
        for article in session.scalars(select(ArticleRow)):
            keys = set(session.scalars(select(ArticleURL.key).where(ArticleURL.article_id == article.id)))
            assert keys, f"article {article.url} has no URL aliases"
            statuses = set(session.scalars(select(FeedEntry.status).where(FeedEntry.key.in_(keys))))
            assert statuses == {"stored"}, f"{article.url}: feed entries {statuses}"
