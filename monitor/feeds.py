"""Feed parsing: feedparser's loose output wrapped into typed records at the call site.

feedparser never raises on bad XML; it sets `bozo`. A bozo feed that still yields entries is used (and the
problem recorded); one that yields nothing is a `bad_feed` error.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

# feedparser's author-email regex had a ReDoS (feedparser #562) and it is slow on huge feeds (#209): refuse
# bodies above this size before parsing (the downloader's DOWNLOAD_MAXSIZE is the first guard).
MAX_FEED_BYTES = 16 * 1024 * 1024


# feedparser flags these although the XML itself was fine (a wrong Content-Type, a charset it had to override).
BENIGN_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


@dataclass(slots=True, frozen=True)
class ParsedEntry:
    """One feed entry: link may be None (recorded as a bad entry by the caller)."""

    guid: str | None
    link: str | None
    title: str | None
    published: datetime | None
    updated: datetime | None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # Digest of the entry's title, summary and content: an edit the feed announces without a new `updated`.
    content_hash: str | None = None


@dataclass(slots=True)
class ParsedFeed:
    """A parsed feed: entries plus feedparser's diagnosis."""

    version: str
    title: str | None
    entries: list[ParsedEntry] = field(default_factory=list)
    bozo: bool = False
    bozo_message: str | None = None
    ttl_minutes: int | None = None
    # sy:updatePeriod (hourly, daily, weekly, monthly, yearly) and sy:updateFrequency (times per period).
    update_period: str | None = None
    update_frequency: int | None = None

    @property
    def is_feed(self) -> bool:
        """True when feedparser recognised a feed format or found entries."""
        return bool(self.version) or bool(self.entries)


def body_hash(body: bytes) -> str:
    """Stable hash of a feed body, to skip parsing unchanged feeds."""
    return hashlib.sha256(body).hexdigest()


def _struct_to_datetime(value: Any) -> datetime | None:
    """feedparser's UTC `time.struct_time` → aware datetime."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _entry_link(entry: Any) -> str | None:
    """The entry's article link: `link`, else the first alternate/any `links[].href`."""
    link = entry.get("link")
    if link:
        return str(link).strip() or None
    for candidate in entry.get("links", []):
        if candidate.get("href") and candidate.get("rel", "alternate") == "alternate":
            return str(candidate["href"]).strip()
    return None


def _entry(entry: Any) -> ParsedEntry:
    """Wrap one feedparser entry."""
    authors = tuple(a.get("name", "").strip() for a in entry.get("authors", []) if a.get("name", "").strip())
    tags = tuple(t.get("term", "").strip() for t in entry.get("tags", []) if t.get("term", "").strip())
    guid = entry.get("id") or entry.get("guid")
    return ParsedEntry(
        guid=str(guid).strip() if guid else None,
        link=_entry_link(entry),
        title=entry.get("title"),
        published=_struct_to_datetime(entry.get("published_parsed")),
        # dict.get: FeedParserDict maps a missing `updated_parsed` to `published_parsed` (with a warning).
        updated=_struct_to_datetime(dict.get(entry, "updated_parsed")),
        authors=authors,
        tags=tags,
        content_hash=entry_digest(entry),
    )


def entry_digest(entry: Any) -> str | None:
    """SHA-256 of an entry's title, summary and content with white space folded (None when all are empty)."""
    parts = [entry.get("title") or "", entry.get("summary") or ""]
    parts += [c.get("value") or "" for c in entry.get("content") or []]
    text = " ".join(" ".join(parts).split())
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


def _ttl(feed: Any) -> int | None:
    """RSS `<ttl>` in minutes, when it is a sane number."""
    try:
        ttl = int(feed.get("ttl", ""))
    except (TypeError, ValueError):
        return None
    return ttl if 0 < ttl < 60 * 24 * 30 else None


def _update_frequency(feed: Any) -> int | None:
    """`sy:updateFrequency`, when it is a positive number."""
    try:
        frequency = int(feed.get("sy_updatefrequency", ""))
    except (TypeError, ValueError):
        return None
    return frequency if frequency > 0 else None


def _update_period(feed: Any) -> str | None:
    """`sy:updatePeriod`, lower-cased, or None."""
    period = str(feed.get("sy_updateperiod") or "").strip().lower()
    return period or None


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes (charset detected by feedparser from headers, XML declaration and content)."""
    if len(body) > MAX_FEED_BYTES:
        raise ValueError(f"feed body of {len(body)} bytes exceeds {MAX_FEED_BYTES}")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=True)
    exc = parsed.get("bozo_exception")
    return ParsedFeed(
        version=parsed.get("version", ""),
        title=parsed.feed.get("title"),
        entries=[_entry(e) for e in parsed.entries],
        bozo=bool(parsed.get("bozo")) and not isinstance(exc, BENIGN_BOZO),
        bozo_message=f"{type(exc).__name__}: {exc}" if exc else None,
        ttl_minutes=_ttl(parsed.feed),
        update_period=_update_period(parsed.feed),
        update_frequency=_update_frequency(parsed.feed),
    )
