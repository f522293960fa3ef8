"""Publication and modification dates of an article page, in the outlet's own UTC offset.

Sources, first found wins: a per-source selector, JSON-LD (`datePublished`/`dateModified`, `@graph` included),
meta tags, `<time datetime>`/itemprop, visible date text near the title or byline (Arabic, Persian, Turkish,
Hebrew, English; Hijri and Jalali converted), the URL, then htmldate's guess that trafilatura already made
(`hints["date"]`). A structured date whose calendar day contradicts both the URL and htmldate is skipped. A UTC
timestamp is moved to the offset of a shown local time of the same instant, else to the source's configured zone,
else to the zone of the host's country-code TLD (`monitor/extract/zones.py`), else to the offset most of the
page's other timestamps carry (`page_offset`), else to the media zone of a multi-zone country's TLD.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import cache, partial
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import lxml.html

from monitor.extract.datetext import is_update_label, parse_date_text
from monitor.extract.meta import json_ld_articles
from monitor.extract.zones import media_zone_for_url, zone_for_url

# Meta names/properties holding the publication date, most specific first (htmldate's and trafilatura's lists).
_META_PUBLISHED = (
    "article:published_time", "og:article:published_time", "article:published", "published_time",
    "datepublished", "parsely-pub-date", "sailthru.date", "pubdate", "publishdate", "publish-date",
    "publish_date", "dc.date.issued", "dcterms.created", "dc.date.created", "dc.date", "dcterms.date",
    "date", "og:published_time", "article.published", "cxenseparse:recs:publishtime", "originalpublicationdate",
    "rnews:datepublished", "datecreated", "created", "sort_date", "release_date",
)  # fmt: skip
_META_MODIFIED = (
    "article:modified_time", "og:updated_time", "og:article:modified_time", "datemodified",
    "last-modified", "dc.date.modified", "dcterms.modified", "article.updated", "modified_time",
    "lastmod", "updated_time",
)  # fmt: skip
# Class/id words of elements showing a date (htmldate's DATE_EXPRESSIONS, trimmed) plus Arabic-site usage.
_DATE_TAGS = ("span", "div", "p", "time", "li", "small", "em", "abbr", "header", "dd")
_DATE_CLASS = re.compile(r"date|time|publish|posted|byline|meta|tarikh", re.I)
_DATETIME_ELEMENTS = lxml.etree.XPath("//*[@datetime][not(self::meta)]")
# Page margins whose dates belong to other stories.
in_page_margins = lxml.etree.XPath("boolean(ancestor::nav or ancestor::footer or ancestor::aside)")
# Dates in URL paths: /2024/11/17/, /2024-11-17/, /20241117/ (htmldate's url patterns).
_URL_DATE = re.compile(
    r"(?<!\d)(20\d{2}|19\d{2})[/_\-]?(0[1-9]|1[0-2]|[1-9])[/_\-]?(0[1-9]|[12]\d|3[01]|[1-9])(?!\d)"
)
_URL_DATE_SEP = re.compile(
    r"/(20\d{2}|19\d{2})[/_\-](0?[1-9]|1[0-2])[/_\-](0?[1-9]|[12]\d|3[01])(?:/|[_\-]|$)"
)
_URL_DATE_COMPACT = re.compile(r"(?<![\d])(20\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
# A year and month directory without a day (/2023/12/slug, WordPress and press-release archives).
_URL_MONTH = re.compile(r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/")
_MAX_VISIBLE_TEXT = 120
_MAX_VISIBLE_DATES = 4
# Scripts whose written dates htmldate cannot read: Hebrew, Arabic (with its supplement and presentation forms),
# kana, CJK ideographs and Hangul.
_UNREAD_SCRIPT = re.compile(
    "[\u0590-\u05ff\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"
)
# A shown clock time has minute precision: allow this much between it and a structured timestamp.
_CLOCK_SLACK = timedelta(minutes=2)
# UTC offsets in use (IANA tz database): whole hours from -12 to +14 and these half/quarter hours, in minutes.
_ODD_OFFSETS = (-570, -210, 210, 270, 330, 345, 390, 525, 570, 630, 765, 825)
_REAL_OFFSETS = frozenset([60 * h for h in range(-12, 15)] + list(_ODD_OFFSETS))


# A timestamp with seconds and an explicit offset, in ISO or RFC 2822 form ("23:00:00-04:00", "23:00:00 -0400");
# seconds required, so a time range ("10:30-12:00") is not an offset.
_OFFSET_STAMP = re.compile(r"(?<=\d\d:\d\d):\d{2}(?:\.\d+)?\s?([+-])(\d{2}):?(\d{2})(?!\d)")
# The page's own offset needs this many timestamps, and most of those with an offset.
MIN_OFFSET_STAMPS = 2
_STAMP_TEXTS = lxml.etree.XPath("//script/text() | //meta/@content | //*[@datetime]/@datetime")


def _parse_value(value: object, tz: tzinfo) -> datetime | None:
    """Parse a machine-readable date value (ISO, RFC 2822, or text)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str) or not value.strip():
        return None
    return parse_date_text(value[:80], default_tz=tz, month_first=True)


def _from_json_ld(doc: lxml.html.HtmlElement, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """datePublished/dateModified from the first JSON-LD article object that has them."""
    for item in json_ld_articles(doc):
        published = _parse_value(item.get("datePublished") or item.get("dateCreated"), tz)
        if published is not None:
            return published, _parse_value(item.get("dateModified"), tz)
    return None, None


def _meta_values(doc: lxml.html.HtmlElement) -> dict[str, str]:
    """Lower-cased meta name/property/itemprop → content (first occurrence wins)."""
    out: dict[str, str] = {}
    for meta in doc.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv")
        content = meta.get("content") or meta.get("datetime")
        if key and content:
            out.setdefault(key.strip().lower(), content)
    return out


def _from_meta(doc: lxml.html.HtmlElement, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """Publication and modification dates from meta tags."""
    values = _meta_values(doc)
    published = next((d for k in _META_PUBLISHED if k in values and (d := _parse_value(values[k], tz))), None)
    modified = next((d for k in _META_MODIFIED if k in values and (d := _parse_value(values[k], tz))), None)
    return published, modified


def _from_time_elements(doc: lxml.html.HtmlElement, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """`<time datetime>` and itemprop=datePublished/dateModified elements outside navigation and asides."""
    published = modified = None
    for el in _DATETIME_ELEMENTS(doc):
        if in_page_margins(el):
            continue
        value = _parse_value(el.get("datetime"), tz)
        is_modified = "modif" in (el.get("itemprop", "") + el.get("class", "")).lower()
        if value is not None and is_modified:
            modified = modified or value
        elif value is not None and published is None:
            published = value
    return published, modified


def _date_regions(doc: lxml.html.HtmlElement) -> Iterator[lxml.html.HtmlElement]:
    """Page regions to search for a shown date: around the headline first (2 then 4 levels up), then the page."""
    for heading in doc.iterfind(".//h1"):
        region = heading
        for level in range(4):
            parent = region.getparent()
            if parent is None:
                break
            region = parent
            if level in (1, 3):
                yield region
        break
    yield doc


def _visible_dates(doc: lxml.html.HtmlElement, tz: tzinfo, whole_page: bool) -> list[tuple[datetime, bool]]:
    """Dates shown in short date/time/byline elements near the headline, each with an "is update" flag."""
    for region in _date_regions(doc):
        if region is doc and not whole_page:
            break
        found = _dates_in(region, tz)
        if found:
            return found
    return []


def _dates_in(region: lxml.html.HtmlElement, tz: tzinfo) -> list[tuple[datetime, bool]]:
    """Dates in the date-like elements of one region (navigation, asides and footers skipped)."""
    out: list[tuple[datetime, bool]] = []
    for el in region.iter(_DATE_TAGS):
        if not _DATE_CLASS.search(f"{el.get('class', '')} {el.get('id', '')}"):
            continue
        text = " ".join(el.text_content().split())
        if not (6 <= len(text) <= _MAX_VISIBLE_TEXT and any(c.isdigit() for c in text)):
            continue
        if in_page_margins(el):
            continue
        found = parse_date_text(text, default_tz=tz)
        if found is not None:
            out.append((found, is_update_label(text)))
        if len(out) >= _MAX_VISIBLE_DATES:
            break
    return out


def _localise(
    found: datetime, visible: list[tuple[datetime, bool]], outlet_zone: Callable[[], tzinfo | None]
) -> datetime:
    """Move a UTC timestamp into the outlet's offset: that of a shown local time of the same instant, else
    `outlet_zone()` (asked only then)."""
    if found.utcoffset() != timedelta(0) or found.time() == time(0):  # midnight: a bare calendar day
        return found
    offset = next((o for o in (_shown_offset(found, shown) for shown, _ in visible) if o is not None), None)
    if offset:  # a shown time in UTC (offset 0) says nothing about the outlet's zone
        return found.astimezone(timezone(offset))
    zone = outlet_zone()
    return found.astimezone(zone) if zone is not None else found


def _outlet_zone(doc: lxml.html.HtmlElement, url: str, default_tz: tzinfo | None) -> tzinfo | None:
    """The outlet's zone for a UTC timestamp: configured (or the ccTLD's), else the offset the page's other
    timestamps agree on, else the media zone of a multi-zone country's TLD."""
    if default_tz is not None:
        return default_tz
    offset = page_offset(doc)
    return timezone(offset) if offset else media_zone_for_url(url)


def page_offset(doc: lxml.html.HtmlElement) -> timedelta | None:
    """The UTC offset most of the page's offset-bearing timestamps (scripts, meta, datetime attributes) carry.

    A US site on a .com host that gives its article time in UTC still writes "-0400" into its video and schedule
    data; None when fewer than MIN_OFFSET_STAMPS agree or they are not most of them.
    """
    counts: Counter[int] = Counter()
    for sign, hours, minutes in _OFFSET_STAMP.findall("\n".join(map(str, _STAMP_TEXTS(doc)))):
        value = (-1 if sign == "-" else 1) * (60 * int(hours) + int(minutes))
        if value in _REAL_OFFSETS:
            counts[value] += 1
    if not counts:
        return None
    value, count = counts.most_common(1)[0]
    if count < MIN_OFFSET_STAMPS or 2 * count <= counts.total():
        return None
    return timedelta(minutes=value)


def _shown_offset(instant: datetime, shown: datetime) -> timedelta | None:
    """The UTC offset under which `shown` (a wall-clock time on the page) is the UTC `instant`, if plausible.

    A shown time equal to the instant gives offset 0; other shown times (an update, another story) match only
    at an offset some zone uses, so "11:14" beside a 22:57 UTC instant does not make a +12:15 outlet.
    """
    if shown.hour == shown.minute == 0:
        return None
    if shown.utcoffset():
        return shown.utcoffset() if abs(shown - instant) <= _CLOCK_SLACK else None
    delta = shown.replace(tzinfo=None) - instant.replace(tzinfo=None)
    minutes = 15 * round(delta / timedelta(minutes=15))
    close = abs(delta - timedelta(minutes=minutes)) <= _CLOCK_SLACK and minutes in _REAL_OFFSETS
    return timedelta(minutes=minutes) if close else None


def date_from_url(url: str) -> date | None:
    """A calendar date written in the URL path (/2024/11/17/, /2024-11-17-, /20241117)."""
    for pattern in (_URL_DATE_SEP, _URL_DATE_COMPACT):
        found = pattern.search(url)
        if found:
            try:
                return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
            except ValueError:
                continue
    return None


def month_from_url(url: str) -> tuple[int, int] | None:
    """(year, month) of a /YYYY/MM/ directory in the URL path."""
    found = _URL_MONTH.search(urlsplit(url).path)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _from_hint(hints: dict[str, Any], tz: tzinfo) -> datetime | None:
    """htmldate's YYYY-MM-DD guess (made by trafilatura) as midnight in `tz`."""
    value = hints.get("date")
    return _parse_value(value, tz) if isinstance(value, str) else None


def _from_selector(
    doc: lxml.html.HtmlElement, selector: str, date_format: str | None, tz: tzinfo
) -> datetime | None:
    """Date in the first element matched by a per-source CSS selector (its datetime/content or text)."""
    for el in doc.cssselect(selector):
        raw = el.get("datetime") or el.get("content") or el.text_content()
        found = parse_date_text(" ".join(raw.split()), default_tz=tz, date_format=date_format)
        if found is not None:
            return found
    return None


def _plausible(found: datetime | None, now: datetime) -> bool:
    """Not in the future (one day of slack) and not before the web."""
    return found is not None and found.year >= 1995 and found <= now + timedelta(days=1)


def extract_dates(
    doc: lxml.html.HtmlElement,
    url: str,
    *,
    hints: dict[str, Any],
    default_tz: tzinfo | None,
    date_selector: str | None = None,
    date_format: str | None = None,
) -> tuple[datetime | None, datetime | None]:
    """(published_at, modified_at) of the page, timezone-aware in the outlet's own offset."""
    default_tz = default_tz or zone_for_url(url)
    tz = default_tz or UTC
    now = datetime.now(UTC)
    selected = _from_selector(doc, date_selector, date_format, tz) if date_selector else None
    structured, modified_candidates = _first_structured(doc, url, tz, now)
    unstructured = selected is None and structured is None
    # htmldate (hints) reads no Arabic/Persian/Hebrew months nor CJK dates: there the shown date is searched on
    # the whole page and comes before htmldate's guess.
    trust_shown = unstructured and (not hints.get("date") or _htmldate_blind(hints))
    is_utc = structured is not None and structured.utcoffset() == timedelta(0)
    outlet_zone = cache(partial(_outlet_zone, doc, url, default_tz))  # at most once, only for a UTC timestamp
    visible = _visible_dates(doc, tz, whole_page=trust_shown) if unstructured or is_utc else []
    if selected is not None:
        published: datetime | None = selected
    elif structured is not None:
        published = _localise(structured, visible, outlet_zone)
    else:
        published = _fallback(visible, url, hints, tz, now, trust_shown)
    modified_candidates += [d for d, is_update in visible if is_update]
    return published, _modified(modified_candidates, published, visible, outlet_zone, now)


def _fallback(
    visible: list[tuple[datetime, bool]],
    url: str,
    hints: dict[str, Any],
    tz: tzinfo,
    now: datetime,
    trust_shown: bool,
) -> datetime | None:
    """Publication date without structured data: shown date, URL date, htmldate's guess (a shown time on the
    chosen day is kept)."""
    shown = [d for d, is_update in visible if not is_update]
    day_only = [_url_datetime(url, tz), _from_hint(hints, tz)]
    ordered = [*shown[:1], *day_only] if trust_shown else [*day_only, *shown[:1]]
    month = month_from_url(url)
    found = next(
        (
            d
            for d in ordered
            if d is not None and _plausible(d, now) and (month is None or _in_month(d, month))
        ),
        None,
    )
    if found is None:
        return None
    return next((d for d in shown if d.date() == found.date() and d.time() != time(0)), found)


def _modified(
    candidates: list[datetime | None],
    published: datetime | None,
    visible: list[tuple[datetime, bool]],
    outlet_zone: Callable[[], tzinfo | None],
    now: datetime,
) -> datetime | None:
    """First plausible modification date, in the outlet's offset, never before publication."""
    modified = next((m for m in candidates if m is not None and _plausible(m, now)), None)
    if modified is None:
        return None
    modified = _localise(modified, visible, outlet_zone)
    return None if published is not None and modified < published else modified


def _htmldate_blind(hints: dict[str, Any]) -> bool:
    """True when the title is in Arabic, Hebrew or CJK script (htmldate cannot read those pages' shown dates)."""
    return _UNREAD_SCRIPT.search(str(hints.get("title") or "")) is not None


def _url_datetime(url: str, tz: tzinfo) -> datetime | None:
    """The URL's date as midnight in `tz`."""
    day = date_from_url(url)
    return datetime(day.year, day.month, day.day, tzinfo=tz) if day else None


def _first_structured(
    doc: lxml.html.HtmlElement, url: str, tz: tzinfo, now: datetime
) -> tuple[datetime | None, list[datetime | None]]:
    """First plausible structured publication date (within a day of the URL's date, or of its /YYYY/MM/ month,
    if it has either), and modified ones."""
    url_day = date_from_url(url)
    url_month = None if url_day else month_from_url(url)
    modified: list[datetime | None] = []
    for source in (_from_json_ld, _from_meta, _from_time_elements):
        found, changed = source(doc, tz)
        modified.append(changed)
        if (
            found is not None
            and _plausible(found, now)
            and (url_day is None or _near(found, url_day))
            and (url_month is None or _in_month(found, url_month))
        ):
            return found, modified
    return None, modified


def _in_month(found: datetime, month: tuple[int, int]) -> bool:
    """In that month, or within a day of it (time-zone shifts move the calendar day)."""
    first = date(*month, 1)
    after = date(month[0] + month[1] // 12, month[1] % 12 + 1, 1)
    return first - timedelta(days=1) <= found.date() <= after


def _near(found: datetime, day: date) -> bool:
    """Within a day of `day` (time-zone shifts move the calendar day)."""
    return abs((found.date() - day).days) <= 1
