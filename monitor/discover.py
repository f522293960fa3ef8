"""Finding the feeds and news sitemaps of a homepage, as pure functions over fetched bodies.

Where candidates come from: the homepage's `<link rel="alternate">` feeds, robots.txt `Sitemap:` lines (and the
news-looking children of a sitemap index), then common feed paths and the news-sitemap paths Media Cloud probes
when robots.txt names none. A candidate counts only if it parses (feedparser, or Scrapy's sitemap parser).
The crawl that fetches them is `spiders/discover.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from monitor.feeds import parse_feed
from monitor.sitemaps import ParsedSitemap, SitemapTooLarge, parse_sitemap, unpack

# WordPress, Drupal, Ghost, Jekyll/Hugo and generic CMS feed locations.
COMMON_FEED_PATHS = ("/feed/", "/rss", "/rss.xml", "/atom.xml", "/feed.xml")
# News sitemaps are often unlisted; Media Cloud probes these (NOTES.md, "Polling").
NEWS_SITEMAP_PATHS = (
    "/sitemap_news.xml",
    "/news-sitemap.xml",
    "/sitemap/news.xml",
    "/arc/outboundfeeds/news-sitemap/?outputType=xml",
)
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
# Comment feeds (WordPress "Comments Feed", `/comments/feed/`) list comments, not articles.
COMMENT_FEED = re.compile(r"comments?\b", re.I)
# A sitemap index's children worth a look for news: `sitemap-news.xml`, `news_sitemap.xml`, `/news/`.
NEWS_HINT = re.compile(r"news", re.I)
LANG_ATTR = re.compile(r"^([a-z]{2})(?:[-_].*)?$", re.I)
SLUG_JUNK = re.compile(r"[^a-z0-9]+")
MAX_NAME = 200
TEXT_SAMPLE = 2000


@dataclass(slots=True)
class Homepage:
    """What a homepage says about its outlet."""

    url: str
    title: str | None = None
    site_name: str | None = None
    lang: str | None = None
    feed_links: list[str] = field(default_factory=list)
    text: str = ""


@dataclass(slots=True, frozen=True)
class Candidate:
    """A fetched candidate URL and what it turned out to be: feed, news_sitemap, sitemap, index or None."""

    url: str
    kind: str | None
    detail: str
    rank: int = 0


def read_homepage(page: Selector, url: str) -> Homepage:
    """Title, site name, declared language, alternate feed links and some visible text of a homepage."""
    title = " ".join(" ".join(page.css("title::text").getall()).split()) or None
    site_name = (page.css("meta[property='og:site_name']::attr(content)").get() or "").strip() or None
    lang = LANG_ATTR.match(page.css("html::attr(lang)").get() or "")
    text = " ".join(" ".join(page.css("body *:not(script):not(style)::text").getall()).split())
    return Homepage(
        url,
        title,
        site_name,
        lang.group(1).lower() if lang else None,
        feed_links(page, url),
        text[:TEXT_SAMPLE],
    )


def feed_links(page: Selector, url: str) -> list[str]:
    """Absolute URLs of the `<link rel="alternate">` RSS/Atom feeds, comment feeds left out, page order."""
    found: list[str] = []
    for link in page.css("link[href]"):
        rels = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").split(";")[0].strip().lower()
        title = link.attrib.get("title") or ""
        href = urljoin(url, link.attrib["href"].strip())
        wanted = "alternate" in rels and kind in FEED_TYPES and not COMMENT_FEED.search(f"{title} {href}")
        if wanted and href not in found:
            found.append(href)
    return found


def probe_urls(base_url: str, paths: tuple[str, ...]) -> list[str]:
    """The well-known paths on the homepage's origin."""
    parts = urlsplit(base_url)
    return [urljoin(f"{parts.scheme}://{parts.netloc}/", path) for path in paths]


def classify(
    url: str, body: bytes, content_type: str | None, max_size: int
) -> tuple[Candidate, ParsedSitemap | None]:
    """What a fetched candidate is, and the parsed sitemap when it is one (for an index's children)."""
    try:
        xml = unpack(body, max_size) or b""
    except SitemapTooLarge as exc:
        return Candidate(url, None, f"too large: {exc}"), None
    sitemap = parse_sitemap(xml)
    if sitemap.is_sitemap:
        kind = "index" if sitemap.is_index else "news_sitemap" if sitemap.is_news else "sitemap"
        return Candidate(url, kind, f"{sitemap.kind}, {len(sitemap.entries)} entries"), sitemap
    feed = parse_feed(body, url, content_type)
    if feed.version:
        return Candidate(url, "feed", f"{feed.version}, {len(feed.entries)} entries"), None
    return Candidate(url, None, f"neither a feed nor a sitemap ({content_type or 'no content type'})"), None


def news_children(sitemap: ParsedSitemap, limit: int) -> list[str]:
    """The children of a sitemap index whose URL looks like a news sitemap."""
    return [e.loc for e in sitemap.entries if NEWS_HINT.search(e.loc)][:limit]


def language_of(home: Homepage) -> str | None:
    """The declared `<html lang>`, else the language of the homepage's text."""
    if home.lang:
        return home.lang
    from monitor.extract.language import detect_language

    return detect_language(home.title, home.text)


def slug_from_host(url: str) -> str:
    """A source id from the host: `https://www.enabbaladi.net/` → `enabbaladi-net`."""
    host = (urlsplit(url).hostname or "source").lower()
    for prefix in ("www.", "m."):
        host = host.removeprefix(prefix)
    return SLUG_JUNK.sub("-", host).strip("-")[:63] or "source"


def source_entry(home: Homepage, found: list[Candidate], language: str) -> dict[str, Any]:
    """A sources-file entry: verified feeds and news sitemaps (plain sitemaps only when nothing else)."""
    ranked = sorted(found, key=lambda c: c.rank)
    feeds = [c.url for c in ranked if c.kind == "feed"]
    sitemaps = [c.url for c in ranked if c.kind == "news_sitemap"]
    if not feeds and not sitemaps:
        sitemaps = [c.url for c in ranked if c.kind in ("sitemap", "index")][:1]
    name = home.site_name or home.title or urlsplit(home.url).hostname or home.url
    entry: dict[str, Any] = {
        "id": slug_from_host(home.url),
        "name": name[:MAX_NAME],
        "language": language,
        "homepage": home.url,
    }
    return entry | ({"feeds": feeds} if feeds else {}) | ({"sitemaps": sitemaps} if sitemaps else {})
