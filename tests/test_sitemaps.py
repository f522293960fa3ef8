"""Sitemap reading and URL selection (pure functions), and listing-page link picking."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parsel import Selector

from monitor.demo import OUTLETS_DIR
from monitor.listings import listing_links
from monitor.sitemaps import (
    MAX_SITEMAP_URLS,
    SitemapEntry,
    SitemapTooLarge,
    parse_robots,
    parse_sitemap,
    parse_w3c_datetime,
    select_entries,
    unpack,
)

DEMO_NEWS = (OUTLETS_DIR / "sham" / "sitemap-news.xml").read_bytes()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-17", datetime(2024, 11, 17, tzinfo=UTC)),
        ("2024-11-17T10:15:00+03:00", datetime(2024, 11, 17, 7, 15, tzinfo=UTC)),
        ("2024-11-17T10:15Z", datetime(2024, 11, 17, 10, 15, tzinfo=UTC)),
        (" 2024-11-17T10:15:30.5-05:00 ", datetime(2024, 11, 17, 15, 15, 30, 500000, tzinfo=UTC)),
        ("2024-11", datetime(2024, 11, 1, tzinfo=UTC)),
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_w3c_datetimes(text: str | None, expected: datetime | None) -> None:
    assert parse_w3c_datetime(text) == expected


def test_demo_news_sitemap_is_read_with_its_news_fields() -> None:
    parsed = parse_sitemap(DEMO_NEWS)
    assert parsed.kind == "urlset" and parsed.is_news and not parsed.is_index and parsed.problem is None
    assert len(parsed.entries) == 7
    first = parsed.entries[0]
    assert first.loc == "{{BASE}}/sham/2024/11/17/water-crisis.html"
    assert first.title and first.title.startswith("أزمة مياه الشرب")
    assert first.published == datetime(2024, 11, 17, 7, 15, tzinfo=UTC) and first.lastmod is None


def test_gzip_is_unpacked_and_bounded() -> None:
    packed = gzip.compress(DEMO_NEWS)
    assert unpack(packed, 10**6) == DEMO_NEWS
    assert unpack(DEMO_NEWS, 10) == DEMO_NEWS  # not gzip: as it is
    with pytest.raises(SitemapTooLarge):
        unpack(packed, 100)
    assert unpack(packed[:20], 10**6) is None


def test_truncated_sitemap_keeps_what_it_read() -> None:
    parsed = parse_sitemap(DEMO_NEWS[: DEMO_NEWS.index(b"</url>", 2000)])
    assert parsed.kind == "urlset" and 1 <= len(parsed.entries) < 7


def test_robots_sitemap_lines_are_an_index() -> None:
    parsed = parse_robots(
        b"User-agent: *\nSITEMAP: /a.xml\n# Sitemap: /commented.xml\n", "https://x.example/robots.txt"
    )
    assert parsed.is_index and [e.loc for e in parsed.entries] == ["https://x.example/a.xml"]


def test_oversized_urlset_is_read_up_to_the_protocol_limit() -> None:
    urls = "".join(f"<url><loc>https://x.example/{i}</loc></url>" for i in range(MAX_SITEMAP_URLS + 5))
    parsed = parse_sitemap(
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    )
    assert len(parsed.entries) == MAX_SITEMAP_URLS and parsed.problem and "ignored" in parsed.problem


BASE = datetime(2024, 11, 1, tzinfo=UTC)
entries_st = st.lists(
    st.builds(
        SitemapEntry,
        loc=st.integers(0, 40).map(lambda n: f"https://x.example/{n}"),
        lastmod=st.none() | st.integers(0, 30).map(lambda d: BASE + timedelta(days=d)),
        published=st.none() | st.integers(0, 30).map(lambda d: BASE + timedelta(days=d)),
    ),
    max_size=30,
)
since_st = st.none() | st.integers(0, 30).map(lambda d: BASE + timedelta(days=d))


@given(
    entries_st,
    since_st,
    st.integers(0, 40),
    st.sets(st.integers(0, 40).map(lambda n: f"https://x.example/{n}")),
)
def test_selection_is_bounded_fresh_and_newest_first(
    entries: list[SitemapEntry], since: datetime | None, limit: int, retry: set[str]
) -> None:
    chosen = select_entries(entries, since, limit, retry)
    assert len(chosen) <= limit and all(e in entries for e in chosen)
    for entry in chosen:
        assert since is None or entry.date is None or entry.date >= since or entry.loc in retry
    dates = [e.date for e in chosen if e.date is not None]
    assert dates == sorted(dates, reverse=True)
    assert [e for e in chosen if e.date is None] == chosen[len(dates) :]  # undated last


@given(entries_st, since_st)
def test_selection_drops_only_old_urls(entries: list[SitemapEntry], since: datetime | None) -> None:
    chosen = select_entries(entries, since, len(entries))
    dropped = [e for e in entries if e not in chosen]
    assert all(since is not None and e.date is not None and e.date < since for e in dropped)


def test_selection_prefers_lastmod_over_publication_date() -> None:
    edited = SitemapEntry("https://x.example/e", lastmod=BASE + timedelta(days=9), published=BASE)
    stale = SitemapEntry("https://x.example/s", published=BASE + timedelta(days=1))
    assert select_entries([stale, edited], BASE + timedelta(days=5), 10) == [edited]


LISTING = """<html><body><ul class="latest">
<li><a href="/news/2024/11/17/a.html">A <em>story</em></a></li>
<li><div><a href="#comments">12</a> <a href="https://other.example/news/2024/11/17/b.html">B</a></div></li>
<li><span>no link here</span></li>
<li><a href="javascript:void(0)">More</a></li>
<li><a href="/news/2024/11/17/a.html?utm_source=home&amp;utm_medium=web">A again</a></li>
<li><a href="/video/42">Video</a></li>
</ul></body></html>"""


def test_listing_links_take_own_or_first_page_link_of_each_element() -> None:
    found = listing_links(Selector(text=LISTING), "https://x.example/latest", "ul.latest li", None)
    assert found.matched == 6
    assert [(e.link, e.title) for e in found.entries] == [
        ("https://x.example/news/2024/11/17/a.html", "A story"),
        ("https://other.example/news/2024/11/17/b.html", "B"),
        ("https://x.example/video/42", "Video"),
    ]


def test_listing_pattern_is_searched_in_the_canonical_url() -> None:
    found = listing_links(
        Selector(text=LISTING), "https://x.example/", "ul.latest a", r"/news/\d{4}/.*\.html$"
    )
    assert [e.link for e in found.entries] == [
        "https://x.example/news/2024/11/17/a.html",
        "https://other.example/news/2024/11/17/b.html",
    ]
