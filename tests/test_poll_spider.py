"""The polling spider's callbacks on hand-built responses: sitemaps (news, plain, index, gzip, robots.txt,
lastmod-incremental), listing pages, and the health records of broken ones. No network, a real SQLite store."""

from __future__ import annotations

import gzip
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse
from scrapy.utils.test import get_crawler

from monitor.errors import ErrorClass
from monitor.items import FeedEntriesItem, FetchEvent
from spiders.base import PollTarget
from spiders.check import describe
from spiders.feeds import FeedSpider
from storage.models import Feed
from storage.store import FeedState

SITE = "https://news.example"
NEWS_SITEMAP = f"{SITE}/sitemap_news.xml"
PLAIN_SITEMAP = f"{SITE}/sitemap.xml"
INDEX = f"{SITE}/sitemap_index.xml"
ROBOTS = f"{SITE}/robots.txt"
LISTING = f"{SITE}/latest/"
URLSET = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{}</urlset>'
INDEX_XML = '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{}</sitemapindex>'


def news_url(path: str, published: str, title: str) -> str:
    return (
        f"<url><loc>{SITE}{path}</loc><news:news><news:publication><news:name>N</news:name>"
        f"<news:language>ar</news:language></news:publication><news:publication_date>{published}"
        f"</news:publication_date><news:title>{title}</news:title></news:news></url>"
    )


def plain_url(path: str, lastmod: str | None = None) -> str:
    return f"<url><loc>{SITE}{path}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>"


def child(path: str, lastmod: str | None = None) -> str:
    return (
        f"<sitemap><loc>{SITE}{path}</loc>"
        + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "")
        + "</sitemap>"
    )


@pytest.fixture
def spider(tmp_path: Path, sqlite_url: str) -> FeedSpider:
    """The feed spider over one source with every kind of polled URL, its store synced."""
    source = {
        "id": "news-example",
        "name": "News Example",
        "language": "ar",
        "feeds": [f"{SITE}/feed.xml"],
        "sitemaps": [NEWS_SITEMAP, PLAIN_SITEMAP, INDEX, ROBOTS],
        "listings": [{"url": LISTING, "link_selector": "h2.title a", "link_pattern": r"/\d{4}/\d+\.html$"}],
    }
    path = tmp_path / "sources.yaml"
    other = {"id": "other", "name": "Other", "language": "en", "feeds": ["https://other.example/rss"]}
    path.write_text(yaml.safe_dump({"sources": [source, other]}), encoding="utf-8")
    crawler = get_crawler(
        FeedSpider,
        {"MONITOR_SOURCES": str(path), "MONITOR_DATABASE_URL": sqlite_url, "MONITOR_SITEMAP_MAX_URLS": 3},
    )
    spider: FeedSpider = FeedSpider.from_crawler(crawler)
    spider.store.sync_sources(spider.sources)
    return spider


def target(spider: FeedSpider, url: str) -> PollTarget:
    return next(t for t in spider.poll_targets() if t.url == url)


def response(url: str, body: bytes, cls: type[Response] = XmlResponse, **kwargs: Any) -> Response:
    return cls(url=url, body=body, request=Request(url, meta={"monitor_origin": url}), **kwargs)


def poll(spider: FeedSpider, url: str, body: bytes, state: FeedState | None = None, **kw: Any) -> list[Any]:
    """Run parse_feed on a hand-built response of a configured URL."""
    resp = response(url, body, **kw)
    return list(spider.parse_feed(resp, target(spider, url), state, time.monotonic()))


def requests(out: list[Any]) -> list[str]:
    return [r.url for r in out if isinstance(r, Request)]


def event(out: list[Any]) -> FetchEvent:
    (found,) = [e for e in out if isinstance(e, FetchEvent) and e.kind in ("feed", "sitemap")]
    return found


def test_poll_targets_cover_every_kind_feeds_first(spider: FeedSpider) -> None:
    kinds = [(t.kind, t.url) for t in spider.poll_targets()]
    assert kinds == [
        ("feed", f"{SITE}/feed.xml"),
        ("feed", "https://other.example/rss"),
        ("sitemap", NEWS_SITEMAP),
        ("sitemap", PLAIN_SITEMAP),
        ("sitemap", INDEX),
        ("sitemap", ROBOTS),
        ("listing", LISTING),
    ]
    with spider.store.sessions() as session:
        stored = {f.url: f.kind for f in session.query(Feed)}
    assert stored == {url: kind for kind, url in kinds}


def test_news_sitemap_entries_carry_title_and_publication_date(spider: FeedSpider) -> None:
    body = URLSET.format(
        news_url("/2024/1.html", "2024-11-17T10:15:00+03:00", "أزمة المياه")
        + news_url("/2024/2.html", "2024-11-16", "Two")
    )
    out = poll(spider, NEWS_SITEMAP, body.encode())
    (entries,) = [i for i in out if isinstance(i, FeedEntriesItem)]
    first = entries.entries[0]
    assert first.title == "أزمة المياه" and first.published == datetime(2024, 11, 17, 7, 15, tzinfo=UTC)
    assert first.feed_url == NEWS_SITEMAP and first.guid == f"{SITE}/2024/1.html"
    assert requests(out) == [f"{SITE}/2024/1.html", f"{SITE}/2024/2.html"]
    assert event(out).new_items == 2 and event(out).error is None and event(out).body_hash


def test_plain_sitemap_takes_the_newest_urls_up_to_the_bound(spider: FeedSpider) -> None:
    urls = [plain_url(f"/p/{day}.html", f"2024-11-{day:02d}") for day in (3, 9, 1, 7)] + [
        plain_url("/undated")
    ]
    out = poll(spider, PLAIN_SITEMAP, URLSET.format("".join(urls)).encode())
    assert requests(out) == [f"{SITE}/p/9.html", f"{SITE}/p/7.html", f"{SITE}/p/3.html"]


def test_gzipped_sitemap_is_unpacked(spider: FeedSpider) -> None:
    body = gzip.compress(URLSET.format(plain_url("/gz/1.html")).encode())
    out = poll(spider, PLAIN_SITEMAP, body, cls=Response, headers={"Content-Type": "application/x-gzip"})
    assert requests(out) == [f"{SITE}/gz/1.html"]


def test_gzip_bomb_is_too_large(spider: FeedSpider) -> None:
    spider.max_size = 1000
    body = gzip.compress(URLSET.format(plain_url("/x" * 2000)).encode())
    out = poll(spider, PLAIN_SITEMAP, body, cls=Response)
    assert event(out).error is ErrorClass.TOO_LARGE and not requests(out)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><h1>Home</h1></body></html>",
        b"",
        b"\x1f\x8b\x08 not really gzip",
        b"<rss version='2.0'/>",
    ],
)
def test_broken_sitemap_is_a_bad_feed_record(spider: FeedSpider, body: bytes) -> None:
    out = poll(spider, NEWS_SITEMAP, body)
    found = event(out)
    assert found.error is ErrorClass.BAD_FEED and "not a sitemap" in (found.message or "")
    assert found.body_hash is None and not requests(out)


def test_index_follows_children_changed_since_the_last_success(spider: FeedSpider) -> None:
    body = INDEX_XML.format(
        child("/s/2024-11.xml", "2024-11-18T06:00:00Z")
        + child("/s/2024-10.xml", "2024-10-31")
        + child("/s/old.xml", "2019-01-01")
    )
    state = FeedState(1, None, None, None, last_success_at=datetime(2024, 11, 1, tzinfo=UTC))
    out = poll(spider, INDEX, body.encode(), state)
    assert requests(out) == [f"{SITE}/s/2024-11.xml"]
    found = event(out)
    assert found.kind == "feed" and found.body_hash and "3 sitemaps, 1 followed" in (found.message or "")
    assert [r.cb_kwargs["depth"] for r in out if isinstance(r, Request)] == [1]


def test_index_with_undated_children_keeps_no_validators(spider: FeedSpider) -> None:
    out = poll(
        spider,
        INDEX,
        INDEX_XML.format(child("/s/a.xml") + child("/s/b.xml")).encode(),
        headers={"ETag": '"x"'},
    )
    assert requests(out) == [f"{SITE}/s/a.xml", f"{SITE}/s/b.xml"]
    found = event(out)
    assert found.etag is None and found.body_hash is None and found.error is None


def test_child_sitemap_entries_belong_to_the_configured_index(spider: FeedSpider) -> None:
    resp = response(f"{SITE}/s/a.xml", URLSET.format(plain_url("/c/1.html", "2024-11-18")).encode())
    out = list(spider.parse_child_sitemap(resp, target(spider, INDEX), None, 1, time.monotonic()))
    (entries,) = [i for i in out if isinstance(i, FeedEntriesItem)]
    assert entries.feed_url == INDEX and requests(out) == [f"{SITE}/c/1.html"]
    assert event(out).kind == "sitemap" and event(out).feed_url == INDEX


def test_children_are_not_followed_past_the_depth_bound(spider: FeedSpider) -> None:
    resp = response(f"{SITE}/s/deep.xml", INDEX_XML.format(child("/s/deeper.xml")).encode())
    out = list(spider.parse_child_sitemap(resp, target(spider, INDEX), None, 2, time.monotonic()))
    assert requests(out) == []


def test_robots_txt_sitemap_lines_are_followed(spider: FeedSpider) -> None:
    body = b"User-agent: *\nDisallow: /search\nSitemap: /news.xml\nSitemap: https://cdn.example/s.xml.gz\n"
    out = poll(spider, ROBOTS, body, cls=TextResponse)
    assert requests(out) == [f"{SITE}/news.xml", "https://cdn.example/s.xml.gz"]


def test_lastmod_incremental_skips_old_urls_but_retries_unstored_ones(spider: FeedSpider) -> None:
    first = URLSET.format(plain_url("/a.html", "2024-11-10") + plain_url("/b.html", "2024-11-11"))
    out = poll(spider, PLAIN_SITEMAP, first.encode())
    spider.store.record_entries(next(i for i in out if isinstance(i, FeedEntriesItem)).entries)
    spider.store.mark_entries(f"{SITE}/a.html", "stored")  # b's page never got stored (crawl stopped)
    second = URLSET.format(
        plain_url("/a.html", "2024-11-10")
        + plain_url("/b.html", "2024-11-11")
        + plain_url("/c.html", "2024-11-20")
    )
    state = FeedState(1, None, None, None, last_success_at=datetime(2024, 11, 15, tzinfo=UTC))
    out = poll(spider, PLAIN_SITEMAP, second.encode(), state)
    assert requests(out) == [f"{SITE}/c.html", f"{SITE}/b.html"]


def test_lastmod_newer_than_the_stored_one_refetches_a_known_page(
    spider: FeedSpider, monkeypatch: Any
) -> None:
    body = URLSET.format(plain_url("/a.html", "2024-11-10T08:00:00Z"))
    spider.store.record_entries(
        next(i for i in poll(spider, PLAIN_SITEMAP, body.encode()) if isinstance(i, FeedEntriesItem)).entries
    )
    # The page is stored: known, and so not an unfinished entry either.
    monkeypatch.setattr(spider.store, "known_keys", lambda urls: {"news.example/a.html"})
    monkeypatch.setattr(spider.store, "unfinished_entries", lambda url: [])
    assert requests(poll(spider, PLAIN_SITEMAP, body.encode())) == []
    edited = URLSET.format(plain_url("/a.html", "2024-11-12T08:00:00Z"))
    assert requests(poll(spider, PLAIN_SITEMAP, edited.encode())) == [f"{SITE}/a.html"]


def test_unchanged_sitemap_body_is_not_parsed(spider: FeedSpider) -> None:
    body = URLSET.format(plain_url("/a.html")).encode()
    from monitor.feeds import body_hash

    out = poll(spider, PLAIN_SITEMAP, body, FeedState(1, None, None, body_hash(body)))
    assert event(out).not_modified and requests(out) == []


LISTING_PAGE = """<html><head><base href="https://news.example/"></head><body>
<nav><a href="/about">About</a></nav>
<h2 class="title"><a href="2024/1001.html?utm_source=home">First story</a></h2>
<h2 class="title"><a href="/tag/economy">Economy</a></h2>
<h2 class="title"><a href="https://news.example/2024/1002.html">Second story</a></h2>
<h2 class="title"><a href="/2024/1001.html">First story again</a></h2>
</body></html>"""


def test_listing_page_links_are_selected_filtered_and_canonicalised(spider: FeedSpider) -> None:
    out = poll(spider, LISTING, LISTING_PAGE.encode(), cls=HtmlResponse)
    assert requests(out) == [f"{SITE}/2024/1001.html", f"{SITE}/2024/1002.html"]
    (entries,) = [i for i in out if isinstance(i, FeedEntriesItem)]
    assert [e.title for e in entries.entries] == ["First story", "Second story"]
    assert event(out).new_items == 2 and event(out).error is None


def test_listing_page_whose_selector_finds_nothing_is_a_bad_feed(spider: FeedSpider) -> None:
    redesigned = LISTING_PAGE.replace('class="title"', 'class="headline"')
    out = poll(spider, LISTING, redesigned.encode(), cls=HtmlResponse)
    found = event(out)
    assert found.error is ErrorClass.BAD_FEED and "matched 0 elements" in (found.message or "")
    assert requests(out) == []


def test_listing_known_links_are_not_fetched_again(spider: FeedSpider, monkeypatch: Any) -> None:
    monkeypatch.setattr(spider.store, "known_keys", lambda urls: {"news.example/2024/1001.html"})
    out = poll(spider, LISTING, LISTING_PAGE.encode(), cls=HtmlResponse)
    assert requests(out) == [f"{SITE}/2024/1002.html"]


def test_check_describes_each_kind(spider: FeedSpider) -> None:
    listing = response(LISTING, LISTING_PAGE.encode(), HtmlResponse)
    assert describe(listing, target(spider, LISTING), 10**6) == (True, "listing, 4 elements, 2 links", 2)
    news = response(NEWS_SITEMAP, URLSET.format(news_url("/n.html", "2024-11-17", "T")).encode())
    assert describe(news, target(spider, NEWS_SITEMAP), 10**6) == (True, "urlset (news), 1 entries", 1)
    broken = response(NEWS_SITEMAP, b"<html/>")
    assert describe(broken, target(spider, NEWS_SITEMAP), 10**6)[0] is False


RSS_ITEM = "<item><title>Port strike</title><link>{SITE}/2024/1.html</link><guid>g1</guid>{extra}</item>"


def rss(description: str) -> bytes:
    """A one-entry RSS feed without <pubDate> or any updated time: only its content can change."""
    item = RSS_ITEM.format(SITE=SITE, extra=f"<description>{description}</description>")
    return f'<rss version="2.0"><channel><title>N</title>{item}</channel></rss>'.encode()


def test_entry_content_edited_without_a_new_updated_time_is_fetched_again(
    spider: FeedSpider, monkeypatch: Any
) -> None:
    feed = f"{SITE}/feed.xml"
    first = poll(spider, feed, rss("Dockers stopped work on Monday."))
    assert requests(first) == [f"{SITE}/2024/1.html"]
    spider.store.record_entries(next(i for i in first if isinstance(i, FeedEntriesItem)).entries)
    # The page is stored now: known, and not an unfinished entry.
    monkeypatch.setattr(spider.store, "known_keys", lambda urls: {"news.example/2024/1.html"})
    monkeypatch.setattr(spider.store, "unfinished_entries", lambda url: [])
    assert requests(poll(spider, feed, rss("Dockers  stopped work on Monday. "))) == []  # white space only
    edited = poll(spider, feed, rss("Dockers stopped work on Monday; the port is closed."))
    assert requests(edited) == [f"{SITE}/2024/1.html"]
