"""Properties of `extract_article` on malformed pages: it returns an Article, never raises, keeps its invariants.

Pages are built from a small grammar of the elements the extractor reads (headings, bylines, `<time>`, `<meta>`,
JSON-LD with arbitrary JSON), filled with the words its rules react to (bylines, credits, dates in three
calendars, CJK dates, offsets, challenge text) and random text. A crawl meets such pages every day; one that
crashed the extractor would be lost with its feed entry.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.extract import extract_article

TAGS = (
    "p", "div", "span", "h1", "h2", "article", "main", "time", "a", "li", "ul", "script", "meta", "title",
    "header", "footer", "nav", "dd", "table", "td", "br", "img",
)  # fmt: skip
ATTRS = (
    "class", "id", "property", "name", "content", "datetime", "itemprop", "type", "href", "rel", "src", "lang",
    "dir",
)  # fmt: skip
LD_KEYS = (
    "@type", "headline", "author", "name", "datePublished", "dateModified", "@graph", "mainEntity", "publisher",
    "keywords", "articleBody", "image",
)  # fmt: skip
WORDS = st.sampled_from(
    [
        "By", "Reuters", "نقلاً عن", "كتب", "بقلم", "ترجمة:", "Source:", "AFP", "Opinion:", "Updated", "|", "—",
        "2024-11-17T10:30:00+03:00", "17 نوفمبر 2024", "۲۷ آبان ۱۴۰۳", "1446 هـ", "2020年07月12日",
        "12:00:00-04:00", "99/99/9999", "Just a moment...", "\u200f", "&amp;", "<", "\x00",
    ]
)  # fmt: skip
TEXT = st.lists(st.one_of(WORDS, st.text(max_size=20)), max_size=12).map(" ".join)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=15) | WORDS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(LD_KEYS), inner, max_size=4),
    max_leaves=12,
)
URLS = st.sampled_from(
    [
        "https://e.org/2024/11/17/x",
        "https://e.org/",
        "https://news.example.ca/a",
        "https://blog.example.jp/e/1",
    ]
)


@st.composite
def element(draw: st.DrawFn, depth: int = 0) -> str:
    """One element with random attributes and children (JSON-LD scripts hold random JSON)."""
    tag = draw(st.sampled_from(TAGS))
    attrs = draw(st.dictionaries(st.sampled_from(ATTRS), TEXT, max_size=3))
    if tag == "script" and draw(st.booleans()):
        attrs["type"] = "application/ld+json"
        body = json.dumps(draw(JSON))
    elif depth < 3:
        body = "".join(draw(st.lists(st.one_of(TEXT, element(depth + 1)), max_size=4)))
    else:
        body = draw(TEXT)
    rendered = "".join(f' {name}="{value.replace(chr(34), "")}"' for name, value in attrs.items())
    return f"<{tag}{rendered}>{body}</{tag}>"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(element(), max_size=6), URLS, st.booleans())
def test_malformed_pages_extract_without_error(parts: list[str], url: str, as_bytes: bool) -> None:
    html = f"<html><head>{''.join(parts[:2])}</head><body>{''.join(parts[2:])}</body></html>"
    article = extract_article(html.encode("utf-8", "surrogatepass") if as_bytes else html, url)
    assert isinstance(article.is_article, bool)
    assert (article.not_article_reason is None) == article.is_article
    for moment in (article.published_at, article.modified_at):
        assert moment is None or moment.utcoffset() is not None
    assert "\n\n" not in article.text
    if article.published_at and article.modified_at:
        assert article.modified_at >= article.published_at


@settings(max_examples=100, deadline=None)
@given(
    st.binary(max_size=3000),
    st.sampled_from([None, "utf-8", "windows-1256", "no-such-charset", "iso-8859-1"]),
)
def test_arbitrary_bytes_extract_without_error(data: bytes, charset: str | None) -> None:
    page = b"<html><head><meta charset='windows-1256'></head><body><p>" + data + b"</p></body></html>"
    article = extract_article(page, "https://e.org/a/1", headers_charset=charset)
    assert isinstance(article.is_article, bool) and isinstance(article.text, str)
