"""`monitor crawl` over sitemap and listing-page sources against the local mock server: news, plain, index and
gzip sitemaps, a listing page, broken ones recorded as feed health, and a second crawl that is incremental by
lastmod (old URLs and unchanged child sitemaps are not fetched again)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from storage.models import ArticleRow, Feed
from storage.store import Store
from tests.mockserver import MockServer
from tests.test_crawl_e2e import crawl

pytestmark = pytest.mark.slow

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
NOW = datetime.now(UTC)
OLD = "2019-01-01"


def urlset(*urls: str) -> str:
    return f"<?xml version='1.0' encoding='UTF-8'?><urlset {NS}>{''.join(urls)}</urlset>"


def url(server: MockServer, slug: str, lastmod: str | None = None, news: str | None = None) -> str:
    extra = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    if news:
        extra += (
            "<news:news><news:publication><news:name>Gulf Ledger</news:name><news:language>en</news:language>"
            f"</news:publication><news:publication_date>{news}</news:publication_date>"
            f"<news:title>{slug}</news:title></news:news>"
        )
    return f"<url><loc>{server.trap_article_url(slug)}</loc>{extra}</url>"


def index(server: MockServer, children: dict[str, str]) -> str:
    items = "".join(
        f"<sitemap><loc>{server.url(p)}</loc><lastmod>{m}</lastmod></sitemap>" for p, m in children.items()
    )
    return f"<sitemapindex {NS}>{items}</sitemapindex>"


LISTING = """<!DOCTYPE html><html><head><title>Latest</title></head><body><nav><a href="/">Home</a></nav>
<ul><li class="story"><a href="/trap/articles/nolink-good.html?utm_source=home">Oman visas</a></li>
<li class="story"><a href="/tag/gulf">Gulf</a></li>
<li class="story"><a href="/trap/articles/dupguid-c.html">Heat map</a></li></ul></body></html>"""


def publish_first(server: MockServer) -> None:
    """What the outlets serve for the first crawl."""
    recent = (NOW - timedelta(days=1)).isoformat(timespec="seconds")
    server.set_override(
        "/src/news.xml",
        urlset(url(server, "malformed-1", news=recent), url(server, "malformed-2", news=recent)),
    )
    server.set_override(
        "/src/plain.xml", urlset(url(server, "ratelimit-1", recent), url(server, "filelink-good", OLD))
    )
    month = gzip.compress(
        urlset(url(server, "truncated-1", recent), url(server, "gzip-1", recent)).encode(), mtime=0
    )
    server.set_override("/src/2024-11.xml.gz", month, "application/x-gzip")
    server.set_override("/src/2019.xml", urlset(url(server, "latin1", OLD)))
    server.set_override(
        "/src/index.xml", index(server, {"/src/2024-11.xml.gz": recent, "/src/2019.xml": OLD})
    )
    server.set_override("/src/broken.xml", "<html><body><h1>Moved</h1></body></html>", "text/html")
    server.set_override("/src/latest.html", LISTING, "text/html; charset=utf-8")
    server.set_override("/src/redesigned.html", LISTING.replace('class="story"', 'class="card"'), "text/html")


def publish_second(server: MockServer) -> None:
    """New URLs for the second crawl: one fresh, one dated before the first crawl; a grown gzip child."""
    fresh = (datetime.now(UTC) + timedelta(minutes=5)).isoformat(timespec="seconds")
    server.set_override(
        "/src/plain.xml",
        urlset(
            url(server, "ratelimit-1", OLD),
            url(server, "filelink-good", OLD),
            url(server, "private-good", fresh),
            url(server, "dupguid-a", OLD),
        ),
    )
    month = urlset(url(server, "truncated-1", OLD), url(server, "gzip-1", OLD), url(server, "cp1256", fresh))
    server.set_override("/src/2024-11.xml.gz", gzip.compress(month.encode(), mtime=0), "application/x-gzip")
    server.set_override("/src/index.xml", index(server, {"/src/2024-11.xml.gz": fresh, "/src/2019.xml": OLD}))


def sources(server: MockServer) -> list[dict[str, Any]]:
    listing = {"link_selector": "li.story a", "link_pattern": r"/trap/articles/[\w-]+\.html$"}
    return [
        {
            "id": "sm-news",
            "name": "News sitemap",
            "language": "en",
            "sitemaps": [server.url("/src/news.xml")],
        },
        {
            "id": "sm-plain",
            "name": "Plain sitemap",
            "language": "en",
            "sitemaps": [server.url("/src/plain.xml")],
        },
        {"id": "sm-index", "name": "Index", "language": "en", "sitemaps": [server.url("/src/index.xml")]},
        {
            "id": "listing",
            "name": "Listing",
            "language": "en",
            "listings": [{"url": server.url("/src/latest.html"), **listing}],
        },
        {
            "id": "broken",
            "name": "Broken",
            "language": "en",
            "sitemaps": [server.url("/src/broken.xml")],
            "listings": [{"url": server.url("/src/redesigned.html"), **listing}],
        },
    ]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two crawls; what the database and the server saw after each."""
    folder = tmp_path_factory.mktemp("sources")
    with MockServer() as server:
        publish_first(server)
        path = folder / "sources.yaml"
        path.write_text(yaml.safe_dump({"sources": sources(server)}), encoding="utf-8")
        db = f"sqlite:///{folder / 'monitor.db'}"
        first = crawl(db, path)
        assert first.returncode == 0, first.stderr[-3000:]
        store = Store.from_url(db)
        after_first = stored(store)
        seen = len(server.requests)
        publish_second(server)
        second = crawl(db, path)
        assert second.returncode == 0, second.stderr[-3000:]
        yield {
            "server": server,
            "store": store,
            "first": after_first,
            "second": stored(store),
            "second_paths": [r.path for r in server.requests[seen:]],
            "second_statuses": {r.path: r.status for r in server.requests[seen:]},
        }


def stored(store: Store) -> dict[str, list[str]]:
    """Source id → slugs of the stored articles."""
    with store.sessions() as session:
        rows = session.execute(select(ArticleRow.source_id, ArticleRow.url)).all()
    found: dict[str, list[str]] = {}
    for source_id, page in rows:
        found.setdefault(source_id, []).append(Path(page.split("?")[0]).stem)
    return {k: sorted(v) for k, v in found.items()}


def test_first_crawl_stores_every_sitemap_and_listing_article_once(crawled: dict[str, Any]) -> None:
    assert crawled["first"] == {
        "sm-news": ["malformed-1", "malformed-2"],
        "sm-plain": ["filelink-good", "ratelimit-1"],
        "sm-index": ["gzip-1", "latin1", "truncated-1"],
        "listing": ["dupguid-c", "nolink-good"],
    }


def test_second_crawl_fetches_only_what_is_new_by_lastmod(crawled: dict[str, Any]) -> None:
    second = crawled["second"]
    assert set(second["sm-plain"]) - set(crawled["first"]["sm-plain"]) == {"private-good"}
    assert set(second["sm-index"]) - set(crawled["first"]["sm-index"]) == {"cp1256"}
    paths = crawled["second_paths"]
    assert "/trap/articles/dupguid-a.html" not in paths, (
        "a URL dated before the last poll must not be fetched"
    )
    assert "/src/2019.xml" not in paths, "an unchanged child sitemap must not be fetched again"
    assert not [
        p
        for p in paths
        if p.startswith("/trap/articles/")
        and p.split("/")[-1][:-5] in {"malformed-1", "ratelimit-1", "gzip-1", "nolink-good"}
    ]
    assert crawled["second_statuses"]["/src/news.xml"] == 304


def test_every_article_is_stored_exactly_once(crawled: dict[str, Any]) -> None:
    slugs = [slug for found in crawled["second"].values() for slug in found]
    assert len(slugs) == len(set(slugs))


def test_feed_health_per_polled_url(crawled: dict[str, Any]) -> None:
    server: MockServer = crawled["server"]
    with crawled["store"].sessions() as session:
        feeds = {f.url.removeprefix(server.base_url): f for f in session.scalars(select(Feed))}
    assert {p: f.kind for p, f in feeds.items()} == {
        "/src/news.xml": "sitemap",
        "/src/plain.xml": "sitemap",
        "/src/index.xml": "sitemap",
        "/src/latest.html": "listing",
        "/src/broken.xml": "sitemap",
        "/src/redesigned.html": "listing",
    }
    for path in ("/src/broken.xml", "/src/redesigned.html"):
        assert feeds[path].last_error_class == "bad_feed" and feeds[path].consecutive_failures == 2, path
        assert feeds[path].last_success_at is None
    for path in ("/src/news.xml", "/src/plain.xml", "/src/index.xml", "/src/latest.html"):
        assert feeds[path].last_success_at is not None and feeds[path].consecutive_failures == 0, path
    assert feeds["/src/news.xml"].last_not_modified_at is not None
