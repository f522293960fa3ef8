"""The review desk (`monitor.web`) through Flask's test client: routes, filters, actions, security.

Data is seeded with the models directly: Arabic, Persian, Hebrew and English articles, a story cluster, alerts,
a revision, a raw capture, healthy and failing feeds, and an English article whose every field is an XSS payload.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import sqlite3
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.captures import compress
from monitor.urls import url_key
from monitor.web.app import create_app
from monitor.web.search import excerpt
from monitor.web.security import is_loopback, safe_href, safe_next, text_dir
from monitor.xliff import schema_errors
from storage.alert_models import AlertDelivery, AlertRow
from storage.capture_models import CaptureRow
from storage.db import make_engine, make_sessionmaker
from storage.migrate import target_metadata
from storage.models import (
    ArticleRevision,
    ArticleRow,
    ArticleURL,
    Feed,
    FetchLog,
    Source,
    StoryCluster,
)
from storage.search import ensure_fulltext, fts5_query, search_ids
from storage.workflow_models import WorkflowEvent, WorkflowRow

NOW = datetime.now(UTC).replace(microsecond=0)
DAMASCUS = timezone(timedelta(hours=3))
TEHRAN = timezone(timedelta(hours=3, minutes=30))

# Payloads in every field a scraper fills; none may come back as live markup or a clickable script URL.
XSS_TITLE = '<script>alert("title")</script>Headline <img src=x onerror=alert(1)>'
XSS_TEXT = "Body </pre><script>alert('body')</script>\n<iframe src=javascript:alert(2)></iframe> end"
XSS_AUTHOR = "<b onmouseover=alert('author')>Evil Author</b>"
XSS_URL = "javascript:alert('url')//https://example.org/"
XSS_ORIGINAL = '"><svg onload=alert(5)>'
XSS_TAG = "<a href=javascript:alert(6)>tag</a>"
XSS_CAPTURE = (
    b"<html><body><script>alert('capture')</script><p onclick=alert(7)>\xd9\x86\xd8\xb5</p></body></html>"
)
PAYLOAD_MARKERS = (
    "<script>alert",
    "<img src=x",
    "<iframe",
    "<svg onload",
    "<b onmouseover",
    "<a href=javascript",
)


@dataclass(slots=True)
class Seeded:
    """Ids of the seeded rows the tests refer to."""

    arabic: int
    arabic_copy: int
    persian: int
    hebrew: int
    xss: int
    fillers: list[int]
    capture: int


def _article(source: str, n: int, **fields: object) -> ArticleRow:
    """An article row with defaults for the required columns."""
    values: dict[str, object] = {
        "source_id": source,
        "canonical_url": f"https://{source}.example/news/{n}",
        "url": f"https://{source}.example/news/{n}",
        "text": "",
        "content_hash": f"{n:064d}",
        "extractor_version": "test",
        "fetched_at": NOW - timedelta(hours=n),
    }
    values.update(fields)
    return ArticleRow(**values)


def _sources(session: Session) -> None:
    """Four outlets and their feeds, one of them failing."""
    session.add_all(
        [
            Source(id="levant", name="Levant Daily", language="ar", country="SY"),
            Source(id="sham", name="Sham Times", language="ar", country="SY"),
            Source(id="pars", name="Pars News", language="fa", country="IR"),
            Source(id="wire", name="Wire English", language="en", country="GB"),
            Source(id="tel", name="Tel Hebrew", language="he", country="IL"),
        ]
    )
    session.flush()
    ok = Feed(
        source_id="levant",
        url="https://levant.example/rss",
        last_success_at=NOW - timedelta(minutes=5),
        next_poll_at=NOW + timedelta(hours=6),
    )
    bad = Feed(
        source_id="pars",
        url="https://pars.example/rss",
        last_success_at=NOW - timedelta(days=2),
        last_error_at=NOW - timedelta(minutes=3),
        last_error_class="timeout",
        last_error_message="no answer in 30 s",
        consecutive_failures=4,
    )
    session.add_all([ok, bad])
    session.flush()
    session.add(FetchLog(source_id="pars", feed_id=bad.id, url=bad.url, kind="feed", error_class="timeout"))


def _main_articles(session: Session) -> tuple[ArticleRow, ...]:
    """The Arabic story (two outlets), a Persian, a Hebrew and an XSS article."""
    arabic = _article(
        "levant",
        1,
        title="ارتفاع أسعار القمح في سوريا",
        lede="قالت وزارة الزراعة إن أسعار القمح ارتفعت.",
        text="قالت وزارة الزراعة السورية إن أسعار القمح ارتفعت هذا الأسبوع.\nوأضافت أن المخزون يكفي.",
        authors=["مراسل الشام"],
        original_source="سانا",
        agency="SANA",
        translator="فريق الترجمة",
        tags=["اقتصاد", "قمح"],
        language="ar",
        published_at=(NOW - timedelta(hours=1)).astimezone(DAMASCUS),
        published_at_utc=NOW - timedelta(hours=1),
        revision=2,
    )
    copy = _article(
        "sham", 2, title="القمح بأسعار جديدة", text="أسعار القمح الجديدة في دمشق وحلب.", language="ar"
    )
    persian = _article(
        "pars",
        3,
        title="افزایش قیمت نان در تهران",
        text="قیمت نان در تهران این هفته افزایش یافت.",
        language="fa",
        published_at=(NOW - timedelta(days=1)).astimezone(TEHRAN),
        published_at_utc=NOW - timedelta(days=1),
    )
    hebrew = _article("tel", 4, title="מחירי החיטה עולים", text="מחירי החיטה עלו השבוע.", language="he")
    xss = _article(
        "wire",
        5,
        title=XSS_TITLE,
        text=XSS_TEXT,
        lede=XSS_TITLE,
        authors=[XSS_AUTHOR],
        url=XSS_URL,
        original_source=XSS_ORIGINAL,
        agency=XSS_ORIGINAL,
        tags=[XSS_TAG],
        language="en",
    )
    session.add_all([arabic, copy, persian, hebrew, xss])
    session.flush()
    return arabic, copy, persian, hebrew, xss


def _context(session: Session, arabic: ArticleRow, copy: ArticleRow, persian: ArticleRow) -> int:
    """Cluster, workflow, alerts, revision and a raw capture around the seeded articles; the capture id."""
    cluster = StoryCluster(first_article_id=arabic.id, first_source_id="levant", size=2)
    session.add(cluster)
    session.flush()
    arabic.cluster_id = copy.cluster_id = cluster.id
    session.add(WorkflowRow(story_key=f"article:{persian.id}", article_id=persian.id, status="selected"))
    hit = AlertRow(
        watch="wheat", article_id=arabic.id, cluster_id=cluster.id, story_key=f"cluster:{cluster.id}"
    )
    hit.matched_terms, hit.snippet = ["القمح"], "أسعار القمح ارتفعت"
    later = AlertRow(
        watch="wheat",
        article_id=copy.id,
        story_key=f"cluster:{cluster.id}",
        notified=False,
        reason="story_already_alerted",
    )
    session.add_all(
        [hit, later, AlertRow(watch="iran", article_id=persian.id, story_key=f"article:{persian.id}")]
    )
    session.flush()
    session.add(
        AlertDelivery(
            alert_id=hit.id,
            channel="webhook:https://hooks.example/secret-token-path",
            next_attempt_at=NOW,
            expires_at=NOW + timedelta(days=3),
            status="delivered",
        )
    )
    session.add(
        ArticleRevision(
            article_id=arabic.id,
            revision=1,
            title="عنوان قديم",
            text="نص قديم",
            content_hash="0" * 64,
            fetched_at=NOW - timedelta(hours=3),
        )
    )
    key = url_key(arabic.url)
    session.add(ArticleURL(url=arabic.url, key=key, article_id=arabic.id, kind="fetched"))
    capture = CaptureRow(
        key=key,
        url=arabic.url,
        source_id="levant",
        status=200,
        headers={"Content-Type": "text/html; charset=utf-8"},
        compression="zstd",
        body=compress(XSS_CAPTURE),
        size=len(XSS_CAPTURE),
        sha256="1" * 64,
        fetched_at=NOW - timedelta(hours=1),
        extractor_version="test",
    )
    session.add(capture)
    session.flush()
    return capture.id


def seed(url: str) -> Seeded:
    """Create every table and the full-text index, and write the test rows."""
    engine = make_engine(url)
    target_metadata().create_all(engine)
    ensure_fulltext(engine)
    with make_sessionmaker(engine)() as session, session.begin():
        _sources(session)
        arabic, copy, persian, hebrew, xss = _main_articles(session)
        capture = _context(session, arabic, copy, persian)
        fillers = [
            _article(
                "wire",
                100 + i,
                title=f"Filler story {i}",
                text=f"Routine filler text number {i}.",
                language="en",
            )
            for i in range(12)
        ]
        session.add_all(fillers)
        session.flush()
        ids = Seeded(arabic.id, copy.id, persian.id, hebrew.id, xss.id, [f.id for f in fillers], capture)
    engine.dispose()
    return ids


@pytest.fixture
def seeded_url(db_url: str) -> tuple[str, Seeded]:
    """A seeded database on SQLite and on PostgreSQL."""
    return db_url, seed(db_url)


@pytest.fixture
def sqlite_seeded(sqlite_url: str) -> tuple[str, Seeded]:
    """A seeded SQLite database."""
    return sqlite_url, seed(sqlite_url)


@pytest.fixture
def client(sqlite_seeded: tuple[str, Seeded]) -> FlaskClient:
    """A test client on the seeded SQLite database, no login."""
    return create_app(sqlite_seeded[0], testing=True).test_client()


@pytest.fixture
def ids(sqlite_seeded: tuple[str, Seeded]) -> Seeded:
    """The seeded ids (SQLite)."""
    return sqlite_seeded[1]


def csrf(client: FlaskClient) -> str:
    """This client's CSRF token (a GET creates it)."""
    client.get("/")
    with client.session_transaction() as sess:
        return str(sess["csrf_token"])


def page(client: FlaskClient, url: str, status: int = 200) -> str:
    """GET a page, check the status, return the HTML."""
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    return response.get_data(as_text=True)


def row_ids(body: str) -> list[int]:
    """Article ids of the inbox rows, in order."""
    return [int(i) for i in re.findall(r'<tr class="item" data-id="(\d+)"', body)]


def total(body: str) -> int:
    """The inbox's total count."""
    found = re.search(r'<strong id="total">(\d+)</strong>', body)
    assert found, "no total on the page"
    return int(found.group(1))


# -- inbox -----------------------------------------------------------------------------------------------------


def test_inbox_newest_first_with_counts(seeded_url: tuple[str, Seeded]) -> None:
    url, ids = seeded_url
    client = create_app(url, testing=True).test_client()
    body = page(client, "/?per_page=200")
    rows = row_ids(body)
    assert total(body) == 17 and len(rows) == 17
    # Publication time where known (Arabic 1 h, Persian 1 day ago), else fetch time (2, 4, 5, 100+ hours ago).
    assert rows[:6] == [ids.arabic, ids.arabic_copy, ids.hebrew, ids.xss, ids.persian, ids.fillers[0]]
    assert 'data-status="selected">1</span>' in body and 'data-status="new">16</span>' in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("source=pars", ["persian"]),
        ("country=SY", ["arabic", "arabic_copy"]),
        ("language=he", ["hebrew"]),
        ("status=selected", ["persian"]),
        ("watch=wheat", ["arabic", "arabic_copy"]),
        ("watch=iran&language=fa", ["persian"]),
        ("q=القمح", ["arabic", "arabic_copy"]),
        ("q=نان+تهران", ["persian"]),
        ("q=חיטה", []),  # whole words only: Hebrew "החיטה" carries the article prefix
        ("q=החיטה", ["hebrew"]),
        ("q=filler*&source=levant", []),
        ("country=SY&status=new&q=دمشق", ["arabic_copy"]),
    ],
)
def test_inbox_filters(seeded_url: tuple[str, Seeded], query: str, expected: list[str]) -> None:
    url, ids = seeded_url
    client = create_app(url, testing=True).test_client()
    body = page(client, f"/?{query}")
    assert sorted(row_ids(body)) == sorted(getattr(ids, name) for name in expected)
    assert total(body) == len(expected)


def test_inbox_date_range(seeded_url: tuple[str, Seeded]) -> None:
    url, ids = seeded_url
    client = create_app(url, testing=True).test_client()
    day = (NOW - timedelta(days=1)).date().isoformat()
    body = page(client, f"/?from={day}&to={day}&source=pars")
    assert row_ids(body) == [ids.persian]
    future = (NOW + timedelta(days=2)).date().isoformat()
    assert row_ids(page(client, f"/?from={future}")) == []


def test_inbox_paging(client: FlaskClient, ids: Seeded) -> None:
    first = page(client, "/?per_page=5")
    second = page(client, "/?per_page=5&page=2")
    last = page(client, "/?per_page=5&page=4")
    assert len(row_ids(first)) == 5 and len(row_ids(second)) == 5 and len(row_ids(last)) == 2
    assert not set(row_ids(first)) & set(row_ids(second))
    assert "page 1 of 4" in first and 'rel="next" href="?page=2&amp;per_page=5"' in first
    assert 'rel="prev"' in second and 'rel="next"' not in last


def test_inbox_row_shows_source_cluster_watches(client: FlaskClient, ids: Seeded) -> None:
    body = page(client, "/?source=levant")
    row = body[body.index(f'data-id="{ids.arabic}"') :].split("</tr>")[0]
    for expected in ("Levant Daily", "سانا", "SANA", ">2<", ">wheat<", ">ar<", "+03:00"):
        assert expected in row


@pytest.mark.parametrize(
    "query", ["from=yesterday", "to=2024-13-01", "page=0", "per_page=5000", "status=bogus", "id=abc"]
)
def test_bad_filter_is_400_naming_the_parameter(client: FlaskClient, query: str) -> None:
    body = page(client, f"/?{query}", status=400)
    assert query.split("=")[0] in html.unescape(body)


# -- full-text search --------------------------------------------------------------------------------------------


def test_search_ids_ranks_and_follows_updates(seeded_url: tuple[str, Seeded]) -> None:
    url, ids = seeded_url
    engine = make_engine(url)
    ensure_fulltext(engine)  # idempotent: a second run changes nothing
    with make_sessionmaker(engine)() as session:
        assert set(search_ids(session, "القمح", 10)) == {ids.arabic, ids.arabic_copy}
        assert search_ids(session, '"; DROP TABLE articles; --', 10) == []
        assert search_ids(session, "   ", 10) == []
        row = session.get_one(ArticleRow, ids.hebrew)
        row.text = "טקסט חדש על זעפרן"
        session.commit()
        assert search_ids(session, "זעפרן", 10) == [ids.hebrew]
        assert search_ids(session, "השבוע", 10) == []
        session.delete(session.get_one(ArticleRow, ids.persian))
        session.commit()
        assert search_ids(session, "تهران", 10) == []
    engine.dispose()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('wheat OR "price" NEAR(x) pri*', '"wheat" OR "price" "NEAR(x)" "pri"*'),
        ("-c a", '"a" NOT "c"'),
        ("a -c OR d", '"a" NOT "c" OR "d"'),
        ('"wheat price" -"bad news"', '"wheat price" NOT "bad news"'),
        ('"; DROP TABLE articles; --', '"; DROP TABLE articles; --"'),
        ("-only OR", ""),
    ],
)
def test_fts5_query_quotes_every_word(query: str, expected: str) -> None:
    assert fts5_query(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("القمح OR نان", ["arabic", "arabic_copy", "persian"]),
        ("القمح -دمشق", ["arabic"]),
        ('"القمح ارتفعت"', ["arabic"]),
        ('"ارتفعت القمح"', []),
    ],
)
def test_search_syntax_same_on_both_backends(
    seeded_url: tuple[str, Seeded], query: str, expected: list[str]
) -> None:
    url, ids = seeded_url
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        assert sorted(search_ids(session, query, 10)) == sorted(getattr(ids, name) for name in expected)
    engine.dispose()


def test_fulltext_indexes_rows_that_existed_before(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    target_metadata().create_all(engine)
    with make_sessionmaker(engine)() as session, session.begin():
        session.add(Source(id="wire", name="Wire", language="en"))
        session.flush()
        session.add(_article("wire", 1, title="Saffron harvest", text="early"))
    ensure_fulltext(engine)
    with make_sessionmaker(engine)() as session:
        assert len(search_ids(session, "saffron", 5)) == 1
    engine.dispose()


def test_excerpt_marks_hits() -> None:
    pieces = excerpt("Prices of wheat rose; WHEAT stocks fell.", "wheat")
    assert [p for p, hit in pieces if hit] == ["wheat", "WHEAT"]
    assert excerpt("nothing here", "wheat") == []


# -- item page -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "lang"), [("arabic", "ar"), ("persian", "fa"), ("hebrew", "he")])
def test_item_rtl_with_lang(client: FlaskClient, ids: Seeded, name: str, lang: str) -> None:
    body = page(client, f"/items/{getattr(ids, name)}")
    assert re.search(rf'<article class="article" dir="rtl" lang="{lang}"', body)
    inbox = page(client, f"/?language={lang}")
    assert f'dir="rtl" lang="{lang}"' in inbox


def test_item_ltr_for_english(client: FlaskClient, ids: Seeded) -> None:
    body = page(client, f"/items/{ids.fillers[0]}")
    assert '<article class="article" dir="ltr" lang="en"' in body


def test_item_page_shows_attribution_cluster_revisions_alerts(client: FlaskClient, ids: Seeded) -> None:
    body = page(client, f"/items/{ids.arabic}")
    for expected in (
        "ارتفاع أسعار القمح في سوريا",
        "قالت وزارة الزراعة إن أسعار القمح ارتفعت.",  # lede
        "مراسل الشام",
        "سانا",
        "SANA",
        "فريق الترجمة",
        "اقتصاد",
        "القمح بأسعار جديدة",  # the other member, side by side
        "Sham Times",
        "revision 1",
        "عنوان قديم",
        "wheat",
        "story_already_alerted",
        "webhook:https://hooks.example/…",  # delivery channel redacted
        'href="https://levant.example/news/1"',
    ):
        assert expected in body, expected
    assert "secret-token-path" not in body
    assert body.count("<p>") >= 2  # paragraphs kept


def test_item_404(client: FlaskClient) -> None:
    assert "no article with id 999999" in page(client, "/items/999999", status=404)


def test_capture_is_inert_text(client: FlaskClient, ids: Seeded) -> None:
    body = page(client, f"/items/{ids.arabic}/captures/{ids.capture}")
    assert "&lt;script&gt;alert(&#39;capture&#39;)&lt;/script&gt;" in body
    assert "<script>alert" not in body and "onclick=alert" not in body.replace("&lt;p onclick=alert", "")
    assert "نص" in body and '<pre class="raw" id="raw">' in body
    page(client, f"/items/{ids.persian}/captures/{ids.capture}", status=404)  # not this article's capture


# -- XSS corpus and links -----------------------------------------------------------------------------------------


def _hrefs(body: str) -> list[str]:
    """Every href/src/action value on a page, unescaped as the browser sees it."""
    return [html.unescape(v).strip().lower() for v in re.findall(r'(?:href|src|action)="([^"]*)"', body)]


@pytest.mark.parametrize("where", ["inbox", "item", "search", "dashboard"])
def test_xss_corpus_is_escaped(client: FlaskClient, ids: Seeded, where: str) -> None:
    url = {
        "inbox": "/",
        "item": f"/items/{ids.xss}",
        "search": "/?q=Headline+body",
        "dashboard": "/dashboard",
    }[where]
    body = page(client, url)
    for marker in PAYLOAD_MARKERS:
        assert marker not in body, marker
    assert not any(h.startswith(("javascript:", "data:", "vbscript:")) for h in _hrefs(body))
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", body, re.S)
    assert scripts == [""], "only the one external script, no inline script"
    if where == "item":
        assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;Headline" in body
        assert "&lt;b onmouseover=alert(&#39;author&#39;)&gt;Evil Author&lt;/b&gt;" in body
        assert "open the original" not in body  # a javascript: URL gets no link
        assert html.escape(XSS_URL, quote=True).replace("&#x27;", "&#39;") in body


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        ("http://example.org", "http://example.org"),
        ("javascript:alert(1)", None),
        (" JavaScript:alert(1)", None),
        ("data:text/html,<script>", None),
        ("file:///etc/passwd", None),
        ("//evil.example/x", None),
        ("https:///nohost", None),
        (None, None),
    ],
)
def test_safe_href(url: str | None, expected: str | None) -> None:
    assert safe_href(url) == expected


def test_text_dir_and_next() -> None:
    assert [text_dir(x) for x in ("ar", "fa", "ur", "he", "en", None, "fa-IR")] == [
        "rtl",
        "rtl",
        "rtl",
        "rtl",
        "ltr",
        "ltr",
        "rtl",
    ]
    assert safe_next("//evil.example") == "/" and safe_next("https://evil.example") == "/"
    assert safe_next("/?source=pars") == "/?source=pars"


# -- security headers, CSRF, login -------------------------------------------------------------------------------


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


POST_ROUTES = ["/actions", "/items/{id}/actions", "/logout"]


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_every_post_needs_csrf(client: FlaskClient, ids: Seeded, route: str, token: str | None) -> None:
    csrf(client)
    data = {"action": "select", "id": str(ids.arabic)}
    if token:
        data["csrf_token"] = token
    response = client.post(route.format(id=ids.arabic), data=data)
    assert response.status_code == 403
    assert "CSRF" in response.get_data(as_text=True)


def test_login_post_needs_csrf(sqlite_seeded: tuple[str, Seeded]) -> None:
    client = create_app(sqlite_seeded[0], auth_token="t0ken", testing=True).test_client()
    client.get("/login")
    assert client.post("/login", data={"token": "t0ken"}).status_code == 403


def test_token_login(sqlite_seeded: tuple[str, Seeded]) -> None:
    client = create_app(sqlite_seeded[0], auth_token="t0ken", testing=True).test_client()
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/items/1").status_code == 302
    assert client.get("/", headers={"Authorization": "Bearer t0ken"}).status_code == 200
    assert client.get("/", headers={"Authorization": "Bearer nope"}).status_code == 302
    token = re.search(r'name="csrf_token" value="([^"]+)"', page(client, "/login?next=/dashboard")).group(1)  # type: ignore[union-attr]
    assert client.post("/login", data={"token": "bad", "csrf_token": token}).status_code == 403
    done = client.post("/login", data={"token": "t0ken", "csrf_token": token, "next": "/dashboard"})
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert client.get("/").status_code == 302


def test_basic_auth(sqlite_seeded: tuple[str, Seeded]) -> None:
    client = create_app(sqlite_seeded[0], basic_auth="desk:pa:ss", testing=True).test_client()
    refused = client.get("/")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    good = base64.b64encode(b"desk:pa:ss").decode()
    bad = base64.b64encode(b"desk:wrong").decode()
    assert client.get("/", headers={"Authorization": f"Basic {good}"}).status_code == 200
    assert client.get("/", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    assert client.get("/", headers={"Authorization": "Basic !!!"}).status_code == 401


def test_is_loopback() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "127.8.0.1", "[::1]"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "desk.example"))


# -- export ------------------------------------------------------------------------------------------------------


def test_export_jsonl_of_ticked_items(client: FlaskClient, ids: Seeded) -> None:
    response = client.post(
        "/actions",
        data={
            "csrf_token": csrf(client),
            "action": "export-jsonl",
            "id": [str(ids.arabic), str(ids.persian)],
        },
    )
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert sorted(r["id"] for r in records) == sorted([ids.arabic, ids.persian])
    assert {r["title"] for r in records} >= {"ارتفاع أسعار القمح في سوريا"}


def test_export_jsonl_of_filtered_view(client: FlaskClient, ids: Seeded) -> None:
    response = client.get("/export.jsonl?country=SY")
    records = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert sorted(r["id"] for r in records) == sorted([ids.arabic, ids.arabic_copy])
    assert client.get("/export.csv").status_code == 400


def test_export_nothing_ticked_is_400(client: FlaskClient) -> None:
    response = client.post("/actions", data={"csrf_token": csrf(client), "action": "export-jsonl"})
    assert response.status_code == 400


def test_export_xliff_one_language_is_valid(client: FlaskClient, ids: Seeded) -> None:
    response = client.get(f"/export.xliff?id={ids.arabic}&id={ids.arabic_copy}")
    assert response.status_code == 200 and response.mimetype == "application/xliff+xml"
    assert response.headers["Content-Disposition"].endswith('-ar.xlf"')
    root = etree.fromstring(response.data)
    assert schema_errors(root) == [] and root.get("srcLang") == "ar"
    assert sorted(f.get("id") for f in root) == sorted(f"article-{i}" for i in (ids.arabic, ids.arabic_copy))


def test_export_xliff_mixed_languages_is_a_zip(client: FlaskClient, ids: Seeded) -> None:
    response = client.post(
        "/actions",
        data={
            "csrf_token": csrf(client),
            "action": "export-xliff",
            "id": [str(ids.arabic), str(ids.persian)],
        },
    )
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = sorted(archive.namelist())
        assert [n.rsplit("-", 1)[1] for n in names] == ["ar.xlf", "fa.xlf"]
        assert all(schema_errors(etree.fromstring(archive.read(n))) == [] for n in names)


def test_page_views_do_not_hold_the_sqlite_write_lock(sqlite_seeded: tuple[str, Seeded]) -> None:
    url, _ids = sqlite_seeded
    client = create_app(url, testing=True).test_client()
    response = client.get("/export.jsonl?language=ar")  # streamed: its read transaction is still open
    writer = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=1)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE sources SET name = 'Levant' WHERE id = 'levant'")
        writer.commit()
    finally:
        writer.close()
        response.close()


# -- dashboard ---------------------------------------------------------------------------------------------------


def test_dashboard(seeded_url: tuple[str, Seeded]) -> None:
    client = create_app(seeded_url[0], testing=True).test_client()
    body = page(client, "/dashboard")
    today = NOW.date().isoformat()
    assert re.search(rf"<title>{today} · Wire English: \d+</title>", body)
    assert re.search(r"<title>[\d-]+ · fa: 1</title>", body)
    assert "<title>wheat: 2 matches</title>" in body and "<title>wheat: 1 notified</title>" in body
    health = body[body.index('id="health"') :]
    assert health.index("https://pars.example/rss") < health.index("https://levant.example/rss")
    assert 'class="failing"' in health and "timeout" in health
    assert f'datetime="{(NOW + timedelta(hours=6)).isoformat()}"' in health  # the next poll
    page(client, "/dashboard?days=0", status=400)


def test_dashboard_of_an_archive_ends_on_its_newest_day(sqlite_seeded: tuple[str, Seeded]) -> None:
    url, _ = sqlite_seeded
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as session:
        for row in session.scalars(select(ArticleRow)):
            row.fetched_at -= timedelta(days=400)
            if row.published_at_utc is not None:
                row.published_at_utc -= timedelta(days=400)
    engine.dispose()
    body = page(create_app(url, testing=True).test_client(), "/dashboard")
    old_day = (NOW - timedelta(days=400)).date().isoformat()
    assert re.search(rf"<title>{old_day} · Wire English: \d+</title>", body)


# -- actions (through monitor.workflow) ---------------------------------------------------------------------------


def _workflow(url: str, article_id: int) -> tuple[WorkflowRow | None, list[WorkflowEvent]]:
    """The workflow row and events of an article's story."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        article = session.get_one(ArticleRow, article_id)
        key = f"cluster:{article.cluster_id}" if article.cluster_id else f"article:{article.id}"
        row = session.scalar(select(WorkflowRow).where(WorkflowRow.story_key == key))
        events = list(
            session.scalars(select(WorkflowEvent).where(WorkflowEvent.workflow_id == (row.id if row else -1)))
        )
    engine.dispose()
    return row, events


def test_select_single_item_records_event(sqlite_seeded: tuple[str, Seeded]) -> None:
    url, ids = sqlite_seeded
    client = create_app(url, testing=True).test_client()
    response = client.post(
        f"/items/{ids.hebrew}/actions", data={"csrf_token": csrf(client), "action": "select"}
    )
    assert response.status_code == 302
    row, events = _workflow(url, ids.hebrew)
    assert row is not None and row.status == "selected"
    assert [(e.from_status, e.to_status) for e in events][-1] == ("new", "selected")
    assert events[-1].at is not None


@pytest.mark.parametrize(
    ("form", "check"),
    [
        ({"action": "reject"}, lambda r: r.status == "rejected"),
        ({"action": "priority", "priority": "3"}, lambda r: r.priority == 3),
        ({"action": "assign", "assignee": "Layla"}, lambda r: r.assignee == "Layla"),
        ({"action": "note", "note": "check the figures"}, lambda r: "check the figures" in (r.note or "")),
    ],
)
def test_bulk_actions(sqlite_seeded: tuple[str, Seeded], form: dict[str, str], check: object) -> None:
    url, ids = sqlite_seeded
    client = create_app(url, testing=True).test_client()
    data = {
        "csrf_token": csrf(client),
        "id": [str(ids.hebrew), str(ids.fillers[0])],
        "next": "/?language=he",
        **form,
    }
    response = client.post("/actions", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/?language=he"
    for article_id in (ids.hebrew, ids.fillers[0]):
        row, events = _workflow(url, article_id)
        assert row is not None and check(row)  # type: ignore[operator]
        assert events, "every change leaves an audit event"


def test_bad_action_is_400(client: FlaskClient, ids: Seeded) -> None:
    token = csrf(client)
    for form in (
        {"action": "explode"},
        {"action": "priority", "priority": "9"},
        {"action": "assign", "assignee": ""},
    ):
        response = client.post(f"/items/{ids.hebrew}/actions", data={"csrf_token": token, **form})
        assert response.status_code == 400


def test_bulk_without_ticks_flashes(client: FlaskClient) -> None:
    response = client.post(
        "/actions", data={"csrf_token": csrf(client), "action": "select"}, follow_redirects=True
    )
    assert "Tick at least one item first." in response.get_data(as_text=True)


def test_static_assets_served(client: FlaskClient) -> None:
    assert b"keydown" in client.get("/static/desk.js").data
    assert b".s0" in client.get("/static/desk.css").data


def test_status_found_through_the_article_when_marked_before_clustering(
    sqlite_seeded: tuple[str, Seeded],
) -> None:
    url, ids = sqlite_seeded
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        session.add(WorkflowRow(story_key=f"article:{ids.arabic}", article_id=ids.arabic, status="rejected"))
    engine.dispose()
    client = create_app(url, testing=True).test_client()
    assert row_ids(page(client, "/?status=rejected")) == [ids.arabic]
    assert "status-rejected" in page(client, f"/items/{ids.arabic}")


# -- monitor serve -----------------------------------------------------------------------------------------------


class _FakeServer:
    """Stands in for werkzeug's server: records the app and stops at once."""

    def __init__(self, host: str, port: int, app: object, threaded: bool) -> None:
        self.bound = (host, port, app, threaded)
        _FakeServer.last = self

    def serve_forever(self) -> None:
        raise KeyboardInterrupt

    def server_close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("host", "env", "warned"),
    [
        ("127.0.0.1", {}, False),
        ("0.0.0.0", {}, True),
        ("0.0.0.0", {"MONITOR_WEB_TOKEN": "t0ken"}, False),
        ("192.0.2.7", {"MONITOR_WEB_BASIC_AUTH": "desk:pw"}, False),
    ],
)
def test_serve_warns_beyond_loopback_without_login(
    monkeypatch: pytest.MonkeyPatch, sqlite_url: str, host: str, env: dict[str, str], warned: bool
) -> None:
    from click.testing import CliRunner

    from monitor.commands.serve import serve

    monkeypatch.setattr("werkzeug.serving.make_server", _FakeServer)
    for name in ("MONITOR_WEB_TOKEN", "MONITOR_WEB_BASIC_AUTH"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(serve, ["--host", host, "--port", "8099", "--db", sqlite_url], env=env)
    assert result.exit_code == 0, result.output
    assert ("WITHOUT a login" in result.output) is warned
    host_, port, app, threaded = _FakeServer.last.bound  # type: ignore[attr-defined]
    assert (host_, port, threaded) == (host, 8099, True)
    assert app.config["MONITOR_AUTH"].enabled is bool(env)  # type: ignore[attr-defined]


def test_serve_refuses_malformed_basic_auth(sqlite_url: str) -> None:
    from click.testing import CliRunner

    from monitor.commands.serve import serve

    result = CliRunner().invoke(serve, ["--db", sqlite_url], env={"MONITOR_WEB_BASIC_AUTH": "nocolon"})
    assert result.exit_code != 0 and "MONITOR_WEB_BASIC_AUTH must be user:password" in result.output
