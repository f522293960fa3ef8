"""Sitemaps (sitemaps.org urlsets and indexes, Google News sitemaps) read with Scrapy's own parser.

`scrapy.utils.sitemap.Sitemap` reads `<url>`/`<sitemap>` elements with a recovering, entity-free lxml parser but
keeps only their direct children's text; `_NewsSitemap` also keeps `news:publication_date` and `news:title`.
Picking which URLs of a sitemap are worth a look (`select_entries`) is a pure function of dates and bounds.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import lxml.etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

# The sitemaps.org limit per file; a longer one is read up to here (and said so).
MAX_SITEMAP_URLS = 50_000
GZIP_MAGIC = b"\x1f\x8b\x08"
# W3C Datetime (the sitemaps.org date format) allows a bare year or year-month, which fromisoformat refuses.
W3C_PARTIAL_DATE = re.compile(r"^\d{4}(?:-\d{2})?$")


@dataclass(slots=True, frozen=True)
class SitemapEntry:
    """One `<url>` (or `<sitemap>` of an index): its location and what the sitemap says about it."""

    loc: str
    lastmod: datetime | None = None
    title: str | None = None  # news:title
    published: datetime | None = None  # news:publication_date

    @property
    def date(self) -> datetime | None:
        """The newest thing we know about the URL: lastmod, else the news publication date."""
        return self.lastmod or self.published


@dataclass(slots=True)
class ParsedSitemap:
    """A parsed sitemap document: `kind` is the root element (urlset, sitemapindex), "robots", or "" if none."""

    kind: str
    entries: list[SitemapEntry] = field(default_factory=list)
    problem: str | None = None  # why it is not a sitemap, or what was wrong with a readable one

    @property
    def is_sitemap(self) -> bool:
        """A urlset, an index or a robots.txt with Sitemap: lines."""
        return self.kind in ("urlset", "sitemapindex", "robots")

    @property
    def is_index(self) -> bool:
        """Its entries are sitemaps, not pages."""
        return self.kind in ("sitemapindex", "robots")

    @property
    def is_news(self) -> bool:
        """A Google News sitemap: some entry carries news:news data."""
        return any(e.title is not None or e.published is not None for e in self.entries)


class _NewsSitemap(Sitemap):
    """Scrapy's Sitemap that also keeps the `news:news` children (which it would clear unread)."""

    __slots__ = ()

    def _process_sitemap_element(self, elem: lxml.etree._Element) -> dict[str, Any] | None:
        news = _news_fields(elem)
        found = super()._process_sitemap_element(elem)
        if found is not None:
            found.update(news)
        return found


def _news_fields(elem: lxml.etree._Element) -> dict[str, str]:
    """`news_title` and `news_publication_date` of a `<url>` element, when it has a news:news child."""
    fields: dict[str, str] = {}
    for child in elem:
        if Sitemap._get_tag_name(child) != "news":
            continue
        for item in child:
            name = Sitemap._get_tag_name(item)
            if name in ("title", "publication_date") and item.text and item.text.strip():
                fields[f"news_{name}"] = item.text.strip()
    return fields


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """An aware UTC datetime from a W3C Datetime (`2024-11-17`, `2024-11-17T10:15:00+03:00`), or None."""
    if not value:
        return None
    text = value.strip()
    if W3C_PARTIAL_DATE.match(text):
        text = (text + "-01-01")[:10]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _entry(raw: dict[str, Any]) -> SitemapEntry:
    """Wrap one of Scrapy's sitemap dicts."""
    return SitemapEntry(
        loc=raw["loc"],
        lastmod=parse_w3c_datetime(raw.get("lastmod")),
        title=raw.get("news_title"),
        published=parse_w3c_datetime(raw.get("news_publication_date")),
    )


class SitemapTooLarge(ValueError):
    """A gzipped sitemap that unpacks to more than the download size limit."""


def unpack(body: bytes, max_size: int) -> bytes | None:
    """The XML of a sitemap body, gunzipped when it is a .gz file; None for corrupt gzip data."""
    if body[:3] != GZIP_MAGIC:
        return body
    try:
        return gunzip(body, max_size=max_size)
    except ValueError as exc:  # scrapy's _DecompressionMaxSizeExceeded
        raise SitemapTooLarge(str(exc)) from None
    except (OSError, EOFError, zlib.error):
        return None


def parse_sitemap(body: bytes) -> ParsedSitemap:
    """Parse an (already unpacked) sitemap; never raises: a broken one has kind "" and a problem."""
    try:
        sitemap = _NewsSitemap(body)
    except (lxml.etree.XMLSyntaxError, StopIteration) as exc:
        return ParsedSitemap("", problem=f"not XML: {str(exc) or type(exc).__name__}")
    if sitemap.type not in ("urlset", "sitemapindex"):
        return ParsedSitemap("", problem=f"root element <{sitemap.type}> is not urlset or sitemapindex")
    parsed = ParsedSitemap(sitemap.type)
    try:
        for raw in sitemap:
            if len(parsed.entries) == MAX_SITEMAP_URLS:
                parsed.problem = f"more than {MAX_SITEMAP_URLS} entries; the rest ignored"
                break
            if raw.get("loc"):
                parsed.entries.append(_entry(raw))
    except lxml.etree.XMLSyntaxError as exc:
        parsed.problem = f"broken XML after {len(parsed.entries)} entries: {exc}"
    return parsed


def parse_robots(body: bytes, url: str) -> ParsedSitemap:
    """The `Sitemap:` lines of a robots.txt as the entries of an index."""
    return ParsedSitemap("robots", [SitemapEntry(u) for u in sitemap_urls_from_robots(body, base_url=url)])


def select_entries(
    entries: Iterable[SitemapEntry],
    since: datetime | None,
    limit: int,
    retry: Collection[str] = (),
) -> list[SitemapEntry]:
    """Entries dated at or after `since` (all when None), undated ones and those whose loc is in `retry`:
    newest first, then the undated in document order, at most `limit`."""
    kept = [e for e in entries if since is None or e.date is None or e.date >= since or e.loc in retry]
    dated = sorted((e for e in kept if e.date is not None), key=_date_key, reverse=True)
    return (dated + [e for e in kept if e.date is None])[: max(limit, 0)]


def _date_key(entry: SitemapEntry) -> datetime:
    return entry.date or datetime.min.replace(tzinfo=UTC)


def has_undated(entries: Sequence[SitemapEntry]) -> bool:
    """True when some entry has no date: an index like that can change under an unchanged body."""
    return any(e.date is None for e in entries)
