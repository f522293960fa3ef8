"""Read one date (and clock time) out of a short visible text: Western, Arabic, Persian, Turkish, Hebrew, CJK.

Month names come from `monitor/data/months.yaml`; Solar Hijri dates are converted with `jdatetime` and Islamic
(Umm al-Qura) dates with `hijridate`. The text is compared after `monitor.textnorm.normalize`, so Eastern Arabic
and Persian digits, hamza/alef variants, harakat and case do not matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

import jdatetime
import yaml
from hijridate import Hijri

from monitor.textnorm import fold_digits, normalize

MONTHS_FILE = Path(__file__).resolve().parents[1] / "data" / "months.yaml"
# Year windows per calendar; 1420 splits Solar Hijri (1420 AP = 2041) from Islamic years (1420 AH = 1999).
_YEAR_RANGES = {"gregorian": (1900, 2100), "jalali": (1300, 1419), "hijri": (1420, 1500)}

# ISO 8601 / RFC 3339 after normalize() (which lower-cases "T" and "Z").
_ISO = re.compile(
    r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[t ]+(\d{2}):(\d{2})(?::(\d{1,2})(?:[.,]\d+)?)?)?"
    r"\s*(z|[+-]\d{2}(?::?\d{2})?)?(?![\d:])"
)
# Numeric day/month/year or year/month/day as written on pages (17/11/2024, 17.11.2024, 1403/08/27).
_NUMERIC = re.compile(r"(?<![\d/.\-])(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})(?![\d/\-]|\.\d)")
# Chinese/Japanese "2020年7月12日" and Korean "2020년 7월 12일" (the day sign may be missing).
_CJK_DATE = re.compile(r"(?<!\d)(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})(?!\d)\s*[日일]?")
# Clock time "10:30", "10:30:05"; meridiem and offset are looked for right after it.
_CLOCK = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])")
# Offsets as written after a time: "+03:00", "+0300", "gmt+3", "(utc +03:00)".
_OFFSET = re.compile(r"^\s*\(?\s*(?:gmt|utc)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?(?!\d)")
_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th|er|\.)?"
_YEAR = r"(?P<y>\d{4})(?!\d)"
_SEP = r"[\s,.\-/،]*"


@dataclass(frozen=True)
class _Vocabulary:
    """Compiled month-name patterns and marker sets from months.yaml."""

    months: dict[str, tuple[str, int]]
    named: tuple[re.Pattern[str], ...]
    meridiem: re.Pattern[str]
    pm_words: frozenset[str]
    hijri_marker: re.Pattern[str]
    jalali_marker: re.Pattern[str]
    utc_word: re.Pattern[str]
    zones: dict[str, float]
    zone: re.Pattern[str]
    updated: re.Pattern[str]


def _alternation(words: list[str]) -> str:
    """Regex alternation of normalised words, longest first, with inner spaces matching any spacing."""
    forms = sorted({normalize(w) for w in words}, key=len, reverse=True)
    return "|".join(r"\s*".join(re.escape(part) for part in form.split(" ")) for form in forms)


def _word_set_pattern(words: list[str]) -> re.Pattern[str]:
    """Pattern matching one of `words` as a whole word at the start of a string."""
    return re.compile(r"^\s*(?:" + _alternation(words) + r")(?!\w)")


@cache
def vocabulary() -> _Vocabulary:
    """Load and compile months.yaml once."""
    raw: dict[str, Any] = yaml.safe_load(MONTHS_FILE.read_text("utf-8"))
    months: dict[str, tuple[str, int]] = {}
    for calendar, table in raw["calendars"].items():
        for number, names in table.items():
            for name in names:
                months.setdefault(normalize(name), (calendar, int(number)))
    alt = _alternation(list(months))
    month = rf"(?:ב)?(?P<m>{alt})\.?(?!\w)"
    named = (
        re.compile(
            rf"(?<!\w){_DAY}\s*(?:of\s+|de\s+)?[\-/]?\s*{month}(?:\s*[/(]\s*(?:{alt})\s*\)?)?{_SEP}"
            rf"(?:de\s+)?{_YEAR}"
        ),
        re.compile(rf"(?<!\w){month}{_SEP}{_DAY}(?:,|\s|،)\s*{_YEAR}"),
    )
    meridiem = raw["meridiem"]
    return _Vocabulary(
        months=months,
        named=named,
        meridiem=re.compile(r"^\s*(" + _alternation(meridiem["am"] + meridiem["pm"]) + r")(?!\w)"),
        pm_words=frozenset(normalize(w) for w in meridiem["pm"]),
        hijri_marker=_word_set_pattern(raw["hijri_markers"]),
        jalali_marker=_word_set_pattern(raw["jalali_markers"]),
        utc_word=_word_set_pattern(raw["utc_words"]),
        zones={normalize(k): float(v) for k, v in raw["tz_abbreviations"].items()},
        zone=re.compile(r"^\s*\(?(" + _alternation(list(raw["tz_abbreviations"])) + r")(?!\w)"),
        updated=re.compile(r"(?<!\w)(?:" + _alternation(raw["updated_words"]) + r")(?!\w)"),
    )


def to_gregorian(calendar: str, year: int, month: int, day: int) -> date | None:
    """Convert a (calendar, y, m, d) triple to a Gregorian date; None when invalid or out of range."""
    low, high = _YEAR_RANGES[calendar]
    if not low <= year <= high:
        return None
    try:
        if calendar == "jalali":
            return jdatetime.date(year, month, day).togregorian()
        if calendar == "hijri":
            return Hijri(year, month, day).to_gregorian()
        return date(year, month, day)
    except (ValueError, OverflowError):
        return None


def _calendar_for_year(year: int, after: str) -> str | None:
    """Guess the calendar of a numeric date from its year and an explicit marker after it."""
    vocab = vocabulary()
    if vocab.hijri_marker.match(after):
        return "hijri"
    if vocab.jalali_marker.match(after):
        return "jalali"
    return next((cal for cal, (low, high) in _YEAR_RANGES.items() if low <= year <= high), None)


def _offset(text: str) -> tzinfo | None:
    """A UTC offset written at the start of `text` ("+03:00", "GMT+3", "بتوقيت غرينتش"), else None."""
    found = _OFFSET.match(text)
    if found:
        sign = -1 if found.group(1) == "-" else 1
        hours, minutes = int(found.group(2)), int(found.group(3) or 0)
        if hours <= 14 and minutes < 60:
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
    vocab = vocabulary()
    zone = vocab.zone.match(text)
    if zone:
        return timezone(timedelta(hours=vocab.zones[re.sub(r"\s+", " ", zone.group(1))]))
    return UTC if vocab.utc_word.match(text) else None


def _clock(text: str) -> tuple[int, int, int, tzinfo | None] | None:
    """First clock time in `text` as (hour, minute, second, offset), honouring am/pm words."""
    found = _CLOCK.search(text)
    if not found:
        return None
    hour, minute, second = int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)
    rest = text[found.end() :]
    meridiem = vocabulary().meridiem.match(rest)
    if meridiem:
        rest = rest[meridiem.end() :]
        is_pm = normalize(meridiem.group(1)) in vocabulary().pm_words
        hour = (hour % 12) + (12 if is_pm else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second, _offset(rest)


def _combine(day: date, norm: str, span: tuple[int, int], tz: tzinfo) -> datetime:
    """Attach the clock time written just after (or else just before) the date to `day`, in its offset or `tz`."""
    clock = _clock(norm[span[1] : span[1] + 60]) or _clock(norm[max(0, span[0] - 40) : span[0]])
    if clock is None:
        return datetime(day.year, day.month, day.day, tzinfo=tz)
    hour, minute, second, offset = clock
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=offset or tz)


def _parse_iso(norm: str, tz: tzinfo) -> datetime | None:
    """ISO 8601 date or datetime anywhere in the normalised text."""
    found = _ISO.search(norm)
    if not found:
        return None
    y, m, d, hh, mm, ss, off = found.groups()
    day = to_gregorian("gregorian", int(y), int(m), int(d))
    if day is None:
        return None
    offset = (UTC if off == "z" else _offset(off)) if off else None
    if hh is None:
        return datetime(day.year, day.month, day.day, tzinfo=offset or tz)
    if int(hh) > 23 or int(mm) > 59 or int(ss or 0) > 59:
        return None
    return datetime(day.year, day.month, day.day, int(hh), int(mm), int(ss or 0), tzinfo=offset or tz)


def _named_candidates(norm: str) -> list[tuple[str, date, tuple[int, int]]]:
    """All (calendar, Gregorian date, span) found with month names."""
    vocab = vocabulary()
    out: list[tuple[str, date, tuple[int, int]]] = []
    for pattern in vocab.named:
        for found in pattern.finditer(norm):
            calendar, month = vocab.months[re.sub(r"\s+", " ", found.group("m")).strip()]
            year = int(found.group("y"))
            if calendar == "gregorian" and _YEAR_RANGES["hijri"][0] <= year <= _YEAR_RANGES["hijri"][1]:
                continue
            day = to_gregorian(calendar, year, month, int(found.group("d")))
            if day is not None:
                out.append((calendar, day, found.span()))
    return out


def _parse_named(norm: str, tz: tzinfo) -> datetime | None:
    """A date written with a month name, preferring a Gregorian one when several calendars are given."""
    candidates = _named_candidates(norm)
    if not candidates:
        return None
    _calendar, day, span = min(candidates, key=lambda c: (c[0] != "gregorian", c[2]))
    return _combine(day, norm, span, tz)


def _parse_cjk(norm: str, tz: tzinfo) -> datetime | None:
    """A Chinese, Japanese or Korean year-month-day date."""
    found = _CJK_DATE.search(norm)
    if not found:
        return None
    day = to_gregorian("gregorian", *(int(g) for g in found.groups()))
    return _combine(day, norm, found.span(), tz) if day is not None else None


def _numeric_fields(a: int, b: int, c: int, first_len: int, month_first: bool) -> tuple[int, int, int] | None:
    """Order the three numbers of a numeric date as (year, month, day)."""
    if first_len == 4:
        return a, b, c
    if c < 1000:
        return None
    if a > 12 or (not month_first and b <= 12):
        return c, b, a
    return c, a, b


def _parse_numeric(norm: str, tz: tzinfo, month_first: bool = False) -> datetime | None:
    """A numeric date (17/11/2024, 1403/08/27, 11/17/2024), calendar chosen by year range and markers."""
    for found in _NUMERIC.finditer(norm):
        a, _sep, b, c = found.groups()
        fields = _numeric_fields(int(a), int(b), int(c), len(a), month_first)
        if fields is None:
            continue
        year, month, day_no = fields
        calendar = _calendar_for_year(year, norm[found.end() :])
        day = to_gregorian(calendar, year, month, day_no) if calendar else None
        if day is not None:
            return _combine(day, norm, found.span(), tz)
    return None


def _parse_with_format(text: str, date_format: str, tz: tzinfo) -> datetime | None:
    """strptime with a per-source format on the digit-folded text; naive results get `tz`."""
    try:
        parsed = datetime.strptime(fold_digits(text).strip(), date_format)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def is_update_label(text: str) -> bool:
    """True when the text labels its date as an update ("Updated", «آخر تحديث», «به‌روزرسانی»)."""
    return vocabulary().updated.search(normalize(text)) is not None


def parse_date_text(
    text: str, *, default_tz: tzinfo | None = None, date_format: str | None = None, month_first: bool = False
) -> datetime | None:
    """Parse the first date in `text` into an aware datetime (its own offset, else `default_tz`, else UTC)."""
    tz = default_tz or UTC
    if date_format:
        parsed = _parse_with_format(text, date_format, tz)
        if parsed is not None:
            return parsed
    norm = normalize(text)
    return (
        _parse_iso(norm, tz)
        or _parse_named(norm, tz)
        or _parse_cjk(norm, tz)
        or _parse_numeric(norm, tz, month_first)
    )
