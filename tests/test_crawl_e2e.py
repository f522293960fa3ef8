"""End-to-end crawls (in subprocesses, as cron would run them) against the local mock outlets and traps."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from monitor.demo import EXPECTED, demo_sources
from monitor.lock import database_lock
from storage.models import ArticleRow, FetchLog
from storage.queries import feed_urls
from storage.store import Store
from tests.conftest import REPO
from tests.mockserver import ARTICLES, MockServer

pytestmark = pytest.mark.slow

# Short timeouts and a small size limit so the hang and huge traps fail fast.
TEST_SETTINGS = {
    "DOWNLOAD_TIMEOUT": "3",
    "DOWNLOAD_MAXSIZE": str(1024 * 1024),
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "RETRY_TIMES": "1",
    "MONITOR_RETRY_AFTER_MAX": "5",
}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """The sample outlets plus traps on 127.0.0.1."""
    srv = MockServer()
    srv.hang_seconds = 10
    with srv:
        yield srv


def write_sources(folder: Path, server: MockServer, traps: bool = True) -> Path:
    """A sources file: the three demo outlets, plus one source per trap feed."""
    entries: list[dict[str, Any]] = demo_sources(server.base_url)
    if traps:
        for name, url in server.trap_feeds.items():
            entries.append({"id": f"trap-{name}", "name": f"Trap {name}", "language": "en", "feeds": [url]})
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": entries}, allow_unicode=True), encoding="utf-8")
    return path


def run_monitor(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a fresh process (the Twisted reactor is not restartable)."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=240,
    )


def crawl(db: str, sources: Path) -> subprocess.CompletedProcess[str]:
    """`monitor crawl` with the test settings."""
    sets = [arg for key, value in TEST_SETTINGS.items() for arg in ("-s", f"{key}={value}")]
    return run_monitor("crawl", "--sources", str(sources), "--db", db, "--no-progress", *sets)


@pytest.fixture(scope="module")
def crawled(server: MockServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One crawl of everything, then a second one over the unchanged outlets."""
    folder = tmp_path_factory.mktemp("crawl")
    sources = write_sources(folder, server)
    db = f"sqlite:///{folder / 'monitor.db'}"
    first = crawl(db, sources)
    assert first.returncode == 0, first.stderr[-3000:]
    store = Store.from_url(db)
    with store.sessions() as session:
        count_after_first = session.scalar(select(func.count()).select_from(ArticleRow))
    requests_before = len(server.requests)
    second = crawl(db, sources)
    assert second.returncode == 0, second.stderr[-3000:]
    second_requests = server.requests[requests_before:]
    return {
        "db": db,
        "store": store,
        "first": first,
        "second": second,
        "count_after_first": count_after_first,
        "second_requests": second_requests,
        "sources": sources,
    }


def test_every_sample_article_stored_exactly_once(crawled: dict[str, Any], server: MockServer) -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    store: Store = crawled["store"]
    with store.sessions() as session:
        rows = session.scalars(select(ArticleRow)).all()
        by_path = {}
        for row in rows:
            path = row.url.removeprefix(server.base_url).split("?")[0]
            assert path not in by_path, f"{path} stored twice"
            by_path[path] = row
        feeds = feed_urls(session, [r.id for r in rows])
    articles = {p for p, e in expected.items() if e["is_article"]}
    assert articles <= set(by_path), f"missing: {sorted(articles - set(by_path))}"
    for path, gold in expected.items():
        if not gold["is_article"]:
            assert path not in by_path, f"non-article {path} was stored"
            continue
        row = by_path[path]
        assert row.language == gold["language"], path
        linked = {u.removeprefix(server.base_url) for u in feeds.get(row.id, [])}
        assert linked == set(gold["feeds"]), f"{path}: feeds {linked} != {gold['feeds']}"


def test_cross_posted_article_is_one_row_with_both_feeds(crawled: dict[str, Any]) -> None:
    store: Store = crawled["store"]
    with store.sessions() as session:
        row = session.scalar(select(ArticleRow).where(ArticleRow.url.contains("iranian-envoy-nasirzadeh")))
        assert row is not None
        feeds = feed_urls(session, [row.id])[row.id]
    assert (
        len(feeds) == 2 and any("sham/feed.xml" in f for f in feeds) and any("atom.xml" in f for f in feeds)
    )


def test_second_run_stores_nothing_and_uses_conditional_get(crawled: dict[str, Any]) -> None:
    store: Store = crawled["store"]
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ArticleRow)) == crawled["count_after_first"]
    assert "new articles 0" in crawled["second"].stdout
    demo_feeds = [
        r for r in crawled["second_requests"] if r.path.endswith(("feed.xml", "atom.xml", "rss.xml"))
    ]
    assert demo_feeds and all(r.status == 304 for r in demo_feeds), [(r.path, r.status) for r in demo_feeds]
    article_pages = [
        r for r in crawled["second_requests"] if r.path.endswith(".html") and "/trap/" not in r.path
    ]
    assert article_pages == [], "unchanged feeds must not make us fetch known articles again"


def _errors(store: Store, source_id: str) -> list[str]:
    """Error classes recorded for one source."""
    with store.sessions() as session:
        return list(
            session.scalars(
                select(FetchLog.error_class).where(
                    FetchLog.source_id == source_id, FetchLog.error_class.is_not(None)
                )
            )
        )


@pytest.mark.parametrize(
    ("trap", "error_class"),
    [
        ("404", "http_4xx"),
        ("500", "http_5xx"),
        ("hang", "timeout"),
        ("redirect-loop", "redirect_loop"),
        ("huge", "too_large"),
        ("html", "bad_feed"),
        ("nolink", "bad_entry"),
        ("filelink", "bad_url"),
        ("private", "forbidden_address"),
        ("notarticle", "not_article"),
    ],
)
def test_bad_input_is_recorded_with_its_error_class(
    crawled: dict[str, Any], trap: str, error_class: str
) -> None:
    assert error_class in _errors(crawled["store"], f"trap-{trap}")


def test_private_addresses_are_refused_without_connecting(crawled: dict[str, Any]) -> None:
    errors = _errors(crawled["store"], "trap-private")
    # Four hostile links, each refused once: the second run finds the feed unchanged and does not re-read it.
    assert errors.count("forbidden_address") == 4
    assert _stored_titles(crawled["store"], "trap-private") == [ARTICLES["private-good"].title]


def _stored_titles(store: Store, source_id: str) -> list[str]:
    with store.sessions() as session:
        return list(session.scalars(select(ArticleRow.title).where(ArticleRow.source_id == source_id)))


@pytest.mark.parametrize(
    ("trap", "count"),
    [
        ("malformed", 2),
        ("gzip", 1),
        ("429", 1),
        ("cp1256", 1),
        ("latin1", 1),
        ("dupguid", 2),
        ("nolink", 1),
        ("filelink", 1),
        ("private", 1),
    ],
)
def test_readable_feeds_still_yield_their_articles(crawled: dict[str, Any], trap: str, count: int) -> None:
    assert len(_stored_titles(crawled["store"], f"trap-{trap}")) == count


def test_undeclared_windows_1256_is_decoded(crawled: dict[str, Any]) -> None:
    (title,) = _stored_titles(crawled["store"], "trap-cp1256")
    assert any("\u0600" <= ch <= "\u06ff" for ch in title), title


def test_one_bad_feed_never_stops_the_others(crawled: dict[str, Any]) -> None:
    for outlet in ("sham-today", "levant-monitor", "pars-negar"):
        assert _stored_titles(crawled["store"], outlet), outlet


def test_sources_status_lists_failing_feeds_first(crawled: dict[str, Any]) -> None:
    result = run_monitor("sources", "status", "--db", crawled["db"], "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[0]["consecutive_failures"] >= 2
    by_source = {r["source_id"]: r for r in rows}
    assert by_source["trap-404"]["last_error_class"] == "http_4xx"
    assert by_source["sham-today"]["last_not_modified_at"] is not None


def test_export_jsonl_has_the_documented_fields(crawled: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    result = run_monitor("export", "--format", "jsonl", "--db", crawled["db"], "--output", str(out))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == crawled["count_after_first"]
    fields = {
        "id",
        "url",
        "canonical_url",
        "source_id",
        "source_name",
        "feed_urls",
        "title",
        "text",
        "authors",
        "published_at",
        "language",
        "fetched_at",
        "tags",
    }
    for record in records:
        assert fields <= record.keys()
        assert isinstance(record["authors"], list) and isinstance(record["feed_urls"], list)
    arabic = [r for r in records if r["source_id"] == "sham-today"]
    assert arabic and all(r["published_at"] and r["published_at"].endswith("+03:00") for r in arabic)


def test_items_list_and_show(crawled: dict[str, Any]) -> None:
    listed = run_monitor("items", "list", "--db", crawled["db"], "--source", "sham-today", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert rows and {r["source_id"] for r in rows} == {"sham-today"}
    shown = run_monitor("items", "show", str(rows[0]["id"]), "--db", crawled["db"], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["text"]
    missing = run_monitor("items", "show", "999999", "--db", crawled["db"])
    assert missing.returncode != 0 and "no article with id 999999" in missing.stderr


def test_overlapping_crawl_is_refused_with_a_clear_message(server: MockServer, tmp_path: Path) -> None:
    sources = write_sources(tmp_path, server, traps=False)
    db = f"sqlite:///{tmp_path / 'locked.db'}"
    with database_lock(db, "crawl"):
        result = crawl(db, sources)
    assert result.returncode != 0
    assert "another crawl is running on this database" in result.stderr


def test_scrapy_crawl_from_project_root_uses_the_same_settings(server: MockServer, tmp_path: Path) -> None:
    sources = write_sources(tmp_path, server, traps=False)
    db = f"sqlite:///{tmp_path / 'scrapy.db'}"
    env = {"MONITOR_DATABASE_URL": db, "MONITOR_SOURCES": str(sources)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "feeds",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "LOG_LEVEL=WARNING",
        ],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    with Store.from_url(db).sessions() as session:
        stored = session.scalar(select(func.count()).select_from(ArticleRow))
    assert stored == sum(1 for e in expected.values() if e["is_article"])


def test_summary_counts_links_announced_twice_as_duplicates(crawled: dict[str, Any]) -> None:
    # The cross-posted story (two feeds) and the Arabic outlet's pages (its feed and its news sitemap) are
    # announced twice in the first crawl: fetched once, and counted as skipped duplicates.
    found = re.search(r"duplicates skipped (\d+)", crawled["first"].stdout)
    assert found is not None and int(found.group(1)) >= 2, crawled["first"].stdout
