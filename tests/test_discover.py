"""`monitor sources discover`: the pure parts on fixture bodies, then the command against fixture homepages
served on 127.0.0.1 (tests/fixtures/discover/README.md says what each one holds), with its time and request bounds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from parsel import Selector

from monitor.config import parse_sources
from monitor.demo.server import OutletServer
from monitor.discover import (
    Candidate,
    Homepage,
    classify,
    feed_links,
    probe_urls,
    read_homepage,
    slug_from_host,
    source_entry,
)
from tests.conftest import REPO
from tests.mockserver import MockServer

FIXTURES = Path(__file__).parent / "fixtures" / "discover"


def page(site: str, base: str = "https://outlet.example") -> Selector:
    return Selector(
        text=(FIXTURES / site / "index.html").read_text(encoding="utf-8").replace("{{BASE}}", base)
    )


def test_homepage_alternate_feeds_without_comments_feed() -> None:
    home = read_homepage(page("alternate"), "https://outlet.example/")
    assert home.feed_links == [
        "https://outlet.example/feeds/main.xml",
        "https://outlet.example/feeds/atom.xml",
        "https://outlet.example/feeds/gone.xml",
    ]
    assert (home.site_name, home.lang, home.title) == ("الشام اليوم", "ar", "الشام اليوم | أخبار سوريا")


def test_homepage_without_declarations() -> None:
    home = read_homepage(page("common"), "https://outlet.example/")
    assert home.feed_links == [] and home.lang is None and home.site_name is None
    assert "صادرات گاز" in home.text


def test_feed_link_needs_rel_alternate_and_a_feed_type() -> None:
    html = """<link rel="Alternate" type="application/RSS+xml; charset=utf-8" href="/a.xml">
    <link rel="alternate" type="text/html" href="/b.html"><link rel="feed" type="application/rss+xml" href="/c">
    <link rel="alternate nofollow" type="application/atom+xml" href="a.xml">"""
    assert feed_links(Selector(text=html), "https://x.example/") == ["https://x.example/a.xml"]


def test_probe_urls_are_on_the_homepage_origin() -> None:
    assert probe_urls("https://x.example/ar/index.php?x=1", ("/rss", "/a/?b=c")) == [
        "https://x.example/rss",
        "https://x.example/a/?b=c",
    ]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("alternate/feeds/main.xml", "feed"),
        ("alternate/feeds/atom.xml", "feed"),
        ("robots/sitemap_index.xml", "index"),
        ("robots/sitemaps/news.xml", "news_sitemap"),
        ("robots/index.html", None),
        ("robots/robots.txt", None),
    ],
)
def test_candidates_are_kept_only_when_they_parse(path: str, kind: str | None) -> None:
    body = (FIXTURES / path).read_bytes()
    candidate, _ = classify("https://x.example/c", body, None, 10**6)
    assert candidate.kind == kind, candidate.detail


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://www.enabbaladi.net/", "enabbaladi-net"),
        ("https://m.aawsat.com/home", "aawsat-com"),
        ("http://127.0.0.1:8080/", "127-0-0-1"),
        ("https://news.BBC.co.uk", "news-bbc-co-uk"),
    ],
)
def test_slug_from_host(url: str, slug: str) -> None:
    assert slug_from_host(url) == slug


def test_entry_prefers_feeds_and_news_sitemaps_and_parses_back() -> None:
    home = Homepage("https://www.outlet.example/", title="Outlet - News", site_name=None)
    found = [
        Candidate("https://www.outlet.example/sitemap.xml", "sitemap", "", 3),
        Candidate("https://www.outlet.example/atom.xml", "feed", "", 2),
        Candidate("https://www.outlet.example/rss.xml", "feed", "", 1),
        Candidate("https://www.outlet.example/sitemap_news.xml", "news_sitemap", "", 4),
        Candidate("https://www.outlet.example/feed/", None, "http_4xx", 0),
    ]
    entry = source_entry(home, found, "en")
    assert entry["feeds"] == ["https://www.outlet.example/rss.xml", "https://www.outlet.example/atom.xml"]
    assert entry["sitemaps"] == ["https://www.outlet.example/sitemap_news.xml"]
    (parsed,) = parse_sources(yaml.safe_dump({"sources": [entry]}), "entry").sources
    assert parsed.id == "outlet-example" and parsed.name == "Outlet - News"


def test_plain_sitemap_only_when_nothing_better() -> None:
    home = Homepage("https://x.example/")
    found = [Candidate("https://x.example/sitemap_index.xml", "index", "", 1)]
    assert source_entry(home, found, "en")["sitemaps"] == ["https://x.example/sitemap_index.xml"]
    assert "sitemaps" not in source_entry(
        home, [Candidate("https://x.example/f", "feed", "", 0), *found], "en"
    )


# --- the command, against fixture homepages on 127.0.0.1 ------------------------------------------------


def discover(url: str, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `monitor sources discover` in a fresh process (the reactor runs once per process)."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "sources", "discover", url, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, time.monotonic() - started


def entry_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The printed entry, checked to be a valid sources-file entry."""
    assert result.returncode == 0, result.stderr
    (source,) = parse_sources("sources:\n" + result.stdout, "stdout").sources
    return source.model_dump(exclude_defaults=True)


@pytest.mark.slow
def test_discovers_alternate_feeds(tmp_path: Path) -> None:
    with OutletServer(FIXTURES / "alternate") as server:
        base = server.base_url
        result, _ = discover(base + "/")
        entry = entry_of(result)
    assert entry["feeds"] == (base + "/feeds/main.xml", base + "/feeds/atom.xml")
    assert "sitemaps" not in entry
    assert (entry["name"], entry["language"], entry["id"]) == ("الشام اليوم", "ar", "127-0-0-1")
    assert server.fetched("/comments/feed/") == []
    assert not [r for r in server.requests if r.path in ("/feed/", "/rss", "/rss.xml")], (
        "feeds found: no probing"
    )


@pytest.mark.slow
def test_discovers_a_news_sitemap_named_only_in_robots_txt() -> None:
    with OutletServer(FIXTURES / "robots") as server:
        base = server.base_url
        result, _ = discover(base + "/")
        entry = entry_of(result)
    assert entry["sitemaps"] == (base + "/sitemaps/news.xml",) and "feeds" not in entry
    assert entry["language"] == "en" and entry["name"] == "Gulf Ledger - Business news from the Gulf"
    assert server.fetched("/sitemaps/pages-1.xml") == [], "only the news-looking children of an index"
    assert server.fetched("/sitemap_news.xml") == [], "news sitemap found: no probing"


@pytest.mark.slow
def test_discovers_a_feed_at_a_common_path_with_json() -> None:
    with OutletServer(FIXTURES / "common") as server:
        base = server.base_url
        result, _ = discover(base + "/", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["source"]["feeds"] == [base + "/rss.xml"]
    assert report["source"]["language"] == "fa"
    kinds = {c["url"].removeprefix(base): c["kind"] for c in report["candidates"]}
    assert kinds["/rss.xml"] == "feed" and kinds["/feed/"] is None and kinds["/sitemap_news.xml"] is None


@pytest.mark.slow
def test_nothing_found_exits_non_zero_within_the_request_bound() -> None:
    with OutletServer(FIXTURES / "nothing") as server:
        result, _ = discover(server.base_url + "/", "--max-requests", "4")
        own = [r for r in server.requests if r.path != "/robots.txt"]
    assert result.returncode == 1 and "no feed or sitemap found" in result.stderr
    assert "listings:" in result.stderr and result.stdout == ""
    assert len(own) == 3, [r.path for r in own]  # 4 requests: the homepage, robots.txt and two probes


@pytest.mark.slow
def test_a_hanging_candidate_is_cut_by_the_time_bound() -> None:
    server = MockServer()
    server.hang_seconds = 60
    with server:
        homepage = "<html><head><link rel='alternate' type='application/rss+xml' href='/trap/hang.xml'></head></html>"
        server.set_override("/home/", homepage, "text/html; charset=utf-8")
        server.set_override("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
        result, seconds = discover(server.url("/home/"), "--timeout", "3", "--json")
    assert result.returncode == 1 and "no feed or sitemap found" in result.stderr
    assert seconds < 3 + 6, f"took {seconds:.1f} s with --timeout 3"
    report = json.loads(result.stdout)
    hang = [c for c in report["candidates"] if c["url"].endswith("/trap/hang.xml")]
    assert hang and hang[0]["detail"].startswith("timeout"), hang
