"""The demo outlets, their server and the trap routes of the test mock server, fetched over 127.0.0.1."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import feedparser
import lxml.html
import pytest
import yaml

from monitor.demo import EXPECTED, OUTLETS_DIR, WATCHES, demo_sources
from monitor.demo.server import OutletServer
from monitor.sitemaps import parse_sitemap
from monitor.urls import canonicalize
from tests.mockserver import ARTICLES, MockServer

FEEDS = {"/sham/feed.xml": 8, "/levant/atom.xml": 8, "/pars/rss.xml": 4}
SITEMAPS = {"/sham/sitemap-news.xml": 7}
GOLD: dict[str, dict[str, Any]] = json.loads(EXPECTED.read_text(encoding="utf-8"))
ARTICLE_PATHS = sorted(path for path, gold in GOLD.items() if gold["is_article"])
# How each wire agency's canonical name may be written on a page.
AGENCY_SPELLINGS = {"Reuters": ("(Reuters)",), "AFP": ("(أ ف ب)",), "SANA": ("SANA", "سانا")}
SITE_SEPARATORS = {"ar": " | ", "en": " | ", "fa": " - "}


@pytest.fixture
def srv() -> Iterator[MockServer]:
    """A fresh mock server per test (trap state such as the 429 counter starts at zero)."""
    with MockServer() as server:
        yield server


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET without raising on HTTP errors: (status, headers, body)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def raw_get(server: OutletServer, path: str) -> tuple[int, str | None]:
    """GET through http.client (no redirect following, the path sent as given): (status, Location)."""
    parts = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


def norm(text: str) -> str:
    """Collapse whitespace."""
    return " ".join(text.split())


def feed_links(server: OutletServer, feed_path: str) -> list[str]:
    """Entry links of one demo feed."""
    if feed_path in SITEMAPS:
        return [entry.loc for entry in parse_sitemap(get(server.url(feed_path))[2]).entries]
    parsed = feedparser.parse(get(server.url(feed_path))[2])
    return [entry.link for entry in parsed.entries]


# --- the sample outlets -------------------------------------------------------------------------------


@pytest.mark.parametrize(("feed_path", "count"), FEEDS.items())
def test_demo_feed_parses_with_absolute_links(srv: MockServer, feed_path: str, count: int) -> None:
    status, headers, body = get(srv.url(feed_path))
    parsed = feedparser.parse(body)
    assert status == 200 and not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == count
    assert b"{{BASE}}" not in body
    assert all(entry.link.startswith(srv.base_url + "/") for entry in parsed.entries)
    expected_type = "application/atom+xml" if feed_path.endswith("atom.xml") else "application/rss+xml"
    assert headers["Content-Type"].startswith(expected_type)


def test_sham_feed_declares_language_period_and_damascus_offsets(srv: MockServer) -> None:
    body = get(srv.url("/sham/feed.xml"))[2]
    parsed = feedparser.parse(body)
    assert parsed.feed.language == "ar"
    assert parsed.feed.sy_updateperiod == "hourly"
    offsets = re.findall(rb"<pubDate>[^<]* ([+-]\d{4})</pubDate>", body)
    assert offsets and set(offsets) == {b"+0300"}


def test_cross_posted_article_is_in_both_feeds_under_one_canonical_url(srv: MockServer) -> None:
    sham = feed_links(srv, "/sham/feed.xml")
    levant = feed_links(srv, "/levant/atom.xml")
    tracked = [link for link in sham if "utm_source=rss" in link]
    assert len(tracked) == 1
    assert tracked[0] not in levant
    assert canonicalize(tracked[0]) in {canonicalize(link) for link in levant}


def test_every_feed_link_is_gold_and_every_gold_page_is_linked(srv: MockServer) -> None:
    linked: dict[str, set[str]] = {}
    for feed_path in [*FEEDS, *SITEMAPS]:
        for link in feed_links(srv, feed_path):
            linked.setdefault(urlsplit(link).path, set()).add(feed_path)
    assert set(linked) == set(GOLD)
    for path, gold in GOLD.items():
        assert sorted(linked[path]) == gold["feeds"], path


def test_gold_publication_dates_match_the_outlets_own_feed_dates(srv: MockServer) -> None:
    checked = 0
    for feed_path in FEEDS:
        for entry in feedparser.parse(get(srv.url(feed_path))[2]).entries:
            path = urlsplit(entry.link).path
            raw = entry.get("published")
            own_feed = feed_path.split("/")[1] == path.split("/")[1]
            if not GOLD[path]["is_article"] or not own_feed or raw is None:
                continue
            local = datetime.fromisoformat(raw) if raw[:4].isdigit() else parsedate_to_datetime(raw)
            assert local.date().isoformat() == GOLD[path]["published"], path
            checked += 1
    assert checked == len(ARTICLE_PATHS)


@pytest.mark.parametrize("path", sorted(GOLD))
def test_gold_is_true_to_the_page(srv: MockServer, path: str) -> None:
    gold = GOLD[path]
    status, headers, body = get(srv.url(path))
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    doc = lxml.html.fromstring(body.decode("utf-8"))
    page_text = norm(doc.text_content())
    blocks = [norm(el.text_content()) for el in doc.iter("p", "div", "h2", "aside")]
    assert doc.get("lang") == gold["language"]
    title_tag = doc.findtext(".//title")
    if not gold["is_article"]:
        assert gold["title"] in title_tag and doc.find(".//article") is None
        return
    assert title_tag == gold["title"] + SITE_SEPARATORS[gold["language"]] + gold["site_name"]
    assert gold["first_paragraph"] == gold["paragraphs"][0] and gold["first_paragraph"] in blocks
    positions = [blocks.index(paragraph) for paragraph in gold["paragraphs"]]
    assert positions == sorted(positions), "paragraphs out of page order"
    assert gold["lede"] is None or gold["lede"] in blocks
    assert gold["disclaimer"] in blocks
    for name in [*gold["authors"], gold["original_source"], gold["translator"]]:
        assert name is None or name in page_text, name
    spellings = AGENCY_SPELLINGS.get(gold["agency"], ()) if gold["agency"] else ()
    assert gold["agency"] is None or any(spelling in page_text for spelling in spellings)


@pytest.mark.parametrize("path", ARTICLE_PATHS)
def test_article_pages_carry_full_chrome(srv: MockServer, path: str) -> None:
    doc = lxml.html.fromstring(get(srv.url(path))[2].decode("utf-8"))
    for selector in (
        "header nav",
        "form[role=search]",
        "nav.breadcrumbs",
        ".share-bar",
        "#cookie-consent",
        ".tags",
        "section.related a",
        "#comments .comment",
        "footer",
    ):
        assert doc.cssselect(selector), f"{path}: no {selector}"


def test_attribution_cases_are_all_covered() -> None:
    articles = [GOLD[path] for path in ARTICLE_PATHS]
    assert len(ARTICLE_PATHS) == 18
    assert {a["agency"] for a in articles} >= {"Reuters", "AFP", "SANA"}
    assert {a["original_source"] for a in articles} >= {
        "al-Araby al-Jadeed",
        "Asharq Al-Awsat",
        "الشرق الأوسط",
        "ایرنا",
    }
    assert {a["translator"] for a in articles} >= {"The Levant Monitor", "هبة الصالح"}
    text = " ".join(" ".join(a["paragraphs"]) for a in articles)
    bylines = " ".join(path.read_text(encoding="utf-8") for path in OUTLETS_DIR.rglob("*.html"))
    for marker in ("By ", "Written by", "بقلم:", "كتب:", "إعداد:", "مراسل", "نویسنده:", "گزارش:", "وكالات"):
        assert marker in bylines, marker
    for marker in (
        "al-Araby al-Jadeed writes.",
        "(Reuters) -",
        "نقلاً عن صحيفة الشرق الأوسط",
        "به نقل از ایرنا",
    ):
        assert marker in text, marker
    assert "translated and edited by The Levant Monitor" in text and "جمادى الأولى 1446" in bylines
    assert re.search("[٠-٩]{4}", bylines) and "۲۷ آبان ۱۴۰۳" in bylines


def test_demo_sources_point_at_the_server(srv: MockServer) -> None:
    sources = demo_sources(srv.base_url)
    assert [s["language"] for s in sources] == ["ar", "en", "fa"]
    for source in sources:
        fields = {"id", "name", "language", "country", "timezone", "homepage", "feeds"}
        assert set(source) - {"sitemaps"} == fields
        assert [urlsplit(feed).path for feed in source["feeds"]] == [
            p for p in FEEDS if p in source["feeds"][0]
        ]
        assert get(source["feeds"][0])[0] == 200
    assert [s["id"] for s in sources if "sitemaps" in s] == ["sham-today"]
    (sitemap,) = sources[0]["sitemaps"]
    assert urlsplit(sitemap).path in SITEMAPS and get(sitemap)[0] == 200


def test_watches_have_the_agreed_shape_and_match_demo_pages() -> None:
    watches = yaml.safe_load(WATCHES.read_text(encoding="utf-8"))["watches"]
    assert len(watches) == 3
    corpus = " ".join(" ".join([g["title"], *g["paragraphs"]]) for g in GOLD.values() if g["is_article"])
    for watch in watches:
        assert set(watch) == {"name", "any", "all", "none", "channels"}
        assert any(term in corpus for term in watch["any"]), watch["name"]
        assert all(term in corpus for term in watch["all"]), watch["name"]
    iran = next(w for w in watches if w["name"] == "iran-in-syria")
    assert all(term in corpus for term in iran["any"])  # one spelling per language, each used


# --- the server ---------------------------------------------------------------------------------------


def test_conditional_get_answers_304_and_records_requests(srv: MockServer) -> None:
    status, headers, _ = get(srv.url("/sham/feed.xml"))
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert status == 200 and etag.startswith('"') and not etag.startswith('"W/')
    assert get(srv.url("/sham/feed.xml"), {"If-None-Match": etag})[0] == 304
    assert get(srv.url("/sham/feed.xml"), {"If-Modified-Since": modified})[0] == 304
    assert (
        get(srv.url("/sham/feed.xml"), {"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
    )
    assert get(srv.url("/sham/feed.xml"))[1]["ETag"] == etag  # stable across requests
    statuses = [r.status for r in srv.fetched("/sham/feed.xml")]
    assert statuses == [200, 304, 304, 200, 200]
    assert srv.fetched("/sham/feed.xml")[1].headers["If-None-Match"] == etag


def test_changed_feed_gets_a_new_etag(srv: MockServer) -> None:
    etag = get(srv.url("/pars/rss.xml"))[1]["ETag"]
    srv.set_override("/pars/rss.xml", "<rss version='2.0'><channel><title>x</title></channel></rss>")
    status, headers, body = get(srv.url("/pars/rss.xml"), {"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag and b"<title>x</title>" in body


def test_robots_404_traversal_and_directory_index(srv: MockServer) -> None:
    status, _, body = get(srv.url("/robots.txt"))
    assert status == 200 and b"User-agent: *" in body
    assert f"Sitemap: {srv.base_url}/sham/sitemap-news.xml".encode() in body
    assert get(srv.url("/sham/sitemap-news.xml"))[0] == 200
    assert get(srv.url("/nowhere/page.html"))[0] == 404
    assert raw_get(srv, "/../server.py")[0] == 404
    assert raw_get(srv, "/levant/tag/syria") == (301, srv.url("/levant/tag/syria/"))
    assert get(srv.url("/levant/tag/syria/"))[0] == 200


def test_server_stops_and_url_needs_a_running_server() -> None:
    server = OutletServer().start()
    url = server.url("/robots.txt")
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


# --- the traps ----------------------------------------------------------------------------------------


def parse_trap(srv: MockServer, name: str) -> tuple[int, dict[str, str], bytes, Any]:
    """Fetch one trap feed and parse it with feedparser."""
    status, headers, body = get(srv.trap_feeds[name])
    return status, headers, body, feedparser.parse(body)


def test_malformed_feed_is_bozo_but_readable(srv: MockServer) -> None:
    status, _, _, parsed = parse_trap(srv, "malformed")
    assert status == 200 and parsed.bozo and len(parsed.entries) == 2
    assert all(get(entry.link)[0] == 200 for entry in parsed.entries)


def test_truncated_feed_is_cut_inside_an_item(srv: MockServer) -> None:
    status, _, body, parsed = parse_trap(srv, "truncated")
    assert status == 200 and parsed.bozo
    assert (
        body.count(b"<item>") == 2 and body.count(b"</item>") == 1 and not body.rstrip().endswith(b"</rss>")
    )


def test_html_instead_of_feed(srv: MockServer) -> None:
    status, headers, _, parsed = parse_trap(srv, "html")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and not parsed.entries


def test_cp1256_feed_and_page_carry_no_charset_anywhere(srv: MockServer) -> None:
    status, headers, body, _ = parse_trap(srv, "cp1256")
    assert status == 200 and headers["Content-Type"] == "text/xml" and b"encoding=" not in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert ARTICLES["cp1256"].title in body.decode("cp1256")
    page_status, page_headers, page = get(srv.trap_article_url("cp1256"))
    assert page_status == 200 and page_headers["Content-Type"] == "text/html"
    assert b"charset" not in page.lower() and ARTICLES["cp1256"].paragraphs[0] in page.decode("cp1256")


def test_latin1_feed_has_no_declaration(srv: MockServer) -> None:
    status, headers, body, _ = parse_trap(srv, "latin1")
    assert status == 200 and "charset" not in headers["Content-Type"] and b"encoding=" not in body
    assert "après" in body.decode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    assert get(srv.trap_article_url("latin1"))[0] == 200


def test_gzip_feed_decodes(srv: MockServer) -> None:
    status, headers, body = get(srv.trap_feeds["gzip"])
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    parsed = feedparser.parse(gzip.decompress(body))
    assert not parsed.bozo and [e.link for e in parsed.entries] == [srv.trap_article_url("gzip-1")]


def test_error_statuses(srv: MockServer) -> None:
    assert get(srv.trap_feeds["404"])[0] == 404
    assert [get(srv.trap_feeds["500"])[0] for _ in range(3)] == [500, 500, 500]
    assert get(srv.url("/trap/feeds.xml"))[0] == get(srv.url("/trap/articles/none.html"))[0] == 404


def test_redirect_loop_never_ends(srv: MockServer) -> None:
    path = "/trap/redirect-loop.xml"
    for _ in range(4):
        status, location = raw_get(srv, path)
        assert status == 302 and location is not None
        path = urlsplit(location).path
    assert path == "/trap/redirect-loop.xml"


def test_huge_feed_streams_the_configured_size_without_length(srv: MockServer) -> None:
    status, headers, body = get(srv.trap_feeds["huge"])
    assert status == 200 and "Content-Length" not in headers
    assert len(body) == MockServer.huge_bytes and body.startswith(b"<?xml")
    srv.huge_bytes = 10_000
    assert len(get(srv.trap_feeds["huge"])[2]) == 10_000


def test_429_then_feed(srv: MockServer) -> None:
    status, headers, _ = get(srv.trap_feeds["429"])
    assert status == 429 and headers["Retry-After"] == "1"
    status, _, body = get(srv.trap_feeds["429"])
    assert status == 200 and len(feedparser.parse(body).entries) == 1


def test_entry_traps(srv: MockServer) -> None:
    nolink = parse_trap(srv, "nolink")[3].entries
    assert (
        len(nolink) == 2 and "link" not in nolink[0] and nolink[1].link == srv.trap_article_url("nolink-good")
    )
    dup = parse_trap(srv, "dupguid")[3].entries
    assert dup[0].id == dup[1].id != dup[2].id and len({e.link for e in dup}) == 3
    schemes = [urlsplit(e.link).scheme for e in parse_trap(srv, "filelink")[3].entries]
    assert schemes == ["file", "ftp", "http"]
    hosts = [urlsplit(e.link).netloc for e in parse_trap(srv, "private")[3].entries]
    assert hosts[:4] == ["10.255.255.1", "169.254.169.254", "127.0.0.1:1", "[::1]:1"]
    assert hosts[4] == urlsplit(srv.base_url).netloc


def test_every_trap_link_on_the_server_answers(srv: MockServer) -> None:
    links = set()
    for name in ("malformed", "gzip", "nolink", "dupguid", "filelink", "private", "notarticle", "latin1"):
        body = get(srv.trap_feeds[name])[2]
        body = gzip.decompress(body) if name == "gzip" else body
        links |= {
            e.link for e in feedparser.parse(body).entries if e.get("link", "").startswith(srv.base_url)
        }
    assert len(links) == 13
    assert all(get(link)[0] == 200 for link in links)


def test_not_article_pages(srv: MockServer) -> None:
    links = [e.link for e in parse_trap(srv, "notarticle")[3].entries]
    bodies = [get(link)[2] for link in links]
    assert b"Checking your browser" in bodies[0] and b"Sign in" in bodies[1] and bodies[2] == b""


def test_hang_does_not_block_other_requests_nor_shutdown() -> None:
    server = MockServer().start()
    server.hang_seconds = 30
    outcome: list[object] = []

    def fetch_hang() -> None:
        try:
            outcome.append(get(server.trap_feeds["hang"])[0])
        except OSError as error:
            outcome.append(error)

    waiter = threading.Thread(target=fetch_hang, daemon=True)
    waiter.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert get(server.url("/sham/feed.xml"))[0] == 200
    assert time.monotonic() - started < 2
    started = time.monotonic()
    server.stop()
    waiter.join(timeout=5)
    assert time.monotonic() - started < 5 and not waiter.is_alive() and outcome


def test_hang_answers_after_the_delay(srv: MockServer) -> None:
    srv.hang_seconds = 0.5
    started = time.monotonic()
    status, _, body = get(srv.trap_feeds["hang"])
    assert status == 200 and time.monotonic() - started >= 0.5
    assert len(feedparser.parse(body).entries) == 1
