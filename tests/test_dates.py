"""Dates: visible-text parsing (Arabic, Persian, Turkish, Hebrew, Hijri, Jalali) and page-level date extraction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import jdatetime
import lxml.html
import pytest
import yaml
from hijridate import Gregorian
from hypothesis import given
from hypothesis import strategies as st

from monitor.extract.dates import date_from_url, extract_dates, page_offset
from monitor.extract.datetext import MONTHS_FILE, is_update_label, parse_date_text
from monitor.extract.zones import media_zone_for_url, zone_for_url

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
DAMASCUS = ZoneInfo("Asia/Damascus")
PLUS3 = timezone(timedelta(hours=3))


def _doc(head: str = "", body: str = "") -> lxml.html.HtmlElement:
    """A small parsed page."""
    return lxml.html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-11-17T10:30:00+03:00", datetime(2024, 11, 17, 10, 30, tzinfo=PLUS3)),
        ("الأحد 17 تشرين الثاني 2024 الساعة 10:30 مساءً", datetime(2024, 11, 17, 22, 30, tzinfo=UTC)),
        ("١٧ نوفمبر ٢٠٢٤", datetime(2024, 11, 17, tzinfo=UTC)),
        ("17 نوفمبر/تشرين الثاني 2024", datetime(2024, 11, 17, tzinfo=UTC)),
        ("۲۷ آبان ۱۴۰۳", datetime(2024, 11, 17, tzinfo=UTC)),
        ("۱۴۰۳/۰۸/۲۷ - ۱۰:۳۰", datetime(2024, 11, 17, 10, 30, tzinfo=UTC)),
        ("15 جمادى الأولى 1446 هـ", datetime(2024, 11, 17, tzinfo=UTC)),
        ("السبت 16 جمادى الأولى 1446 هـ - 17 نوفمبر 2024 م", datetime(2024, 11, 17, tzinfo=UTC)),
        ("17 Kasım 2024 Pazar", datetime(2024, 11, 17, tzinfo=UTC)),
        ("17 בנובמבר 2024", datetime(2024, 11, 17, tzinfo=UTC)),
        ("Sun, 17 Nov 2024 10:30:00 +0300", datetime(2024, 11, 17, 10, 30, tzinfo=PLUS3)),
        (
            "Published 8:00 PM EST, Tue December 19, 2023",
            datetime(2023, 12, 19, 20, tzinfo=timezone(-timedelta(hours=5))),
        ),
        ("17/11/2024 - 22:15", datetime(2024, 11, 17, 22, 15, tzinfo=UTC)),
        ("17 نوفمبر 2024 الساعة 10:30 بتوقيت مكة", datetime(2024, 11, 17, 10, 30, tzinfo=PLUS3)),
        ("投稿日：2024年11月17日 22:10", datetime(2024, 11, 17, 22, 10, tzinfo=UTC)),
        ("2024年11月17日", datetime(2024, 11, 17, tzinfo=UTC)),
        ("2024년 11월 17일", datetime(2024, 11, 17, tzinfo=UTC)),
    ],
)
def test_parse_date_text_examples(text: str, expected: datetime) -> None:
    assert parse_date_text(text) == expected


@pytest.mark.parametrize(
    "text", ["", "Updated 5 hours ago", "ربيع الأول", "31 February 2024", "Room 12/40", "2024年13月1日"]
)
def test_parse_date_text_rejects_non_dates(text: str) -> None:
    assert parse_date_text(text) is None


def test_parse_date_text_uses_default_tz_when_no_offset() -> None:
    assert parse_date_text("17 نوفمبر 2024 10:30", default_tz=DAMASCUS) == datetime(
        2024, 11, 17, 10, 30, tzinfo=DAMASCUS
    )


def test_parse_date_text_date_format_wins() -> None:
    # Month-first numeric date that the generic reader (day-first) would read as 11 May.
    assert parse_date_text("05/11/2024", date_format="%m/%d/%Y") == datetime(2024, 5, 11, tzinfo=UTC)
    assert parse_date_text("05/11/2024") == datetime(2024, 11, 5, tzinfo=UTC)


def test_update_labels() -> None:
    assert is_update_label("Last updated Dec. 23, 2023")
    assert is_update_label("آخر تحديث: 17 نوفمبر 2024")
    assert not is_update_label("Published Dec. 23, 2023")


_WESTERN = "0123456789"
_EASTERN = "٠١٢٣٤٥٦٧٨٩"
_PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
_dates = st.dates(min_value=date(1996, 1, 1), max_value=date(2040, 12, 31))


@cache
def _month_names() -> dict[str, dict[int, list[str]]]:
    """The calendars table of months.yaml."""
    raw = yaml.safe_load(MONTHS_FILE.read_text("utf-8"))["calendars"]
    return {cal: {int(k): v for k, v in table.items()} for cal, table in raw.items()}


@given(_dates, st.sampled_from([_EASTERN, _PERSIAN]))
def test_digit_scripts_parse_alike(day: date, digits: str) -> None:
    western = f"{day.day} {day.year}/{day.month:02d}/{day.day:02d}".split(" ", 1)[1]
    other = western.translate(str.maketrans(_WESTERN, digits))
    assert (
        parse_date_text(other)
        == parse_date_text(western)
        == datetime(day.year, day.month, day.day, tzinfo=UTC)
    )


@given(_dates, st.data())
def test_every_gregorian_month_spelling_round_trips(day: date, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(_month_names()["gregorian"][day.month]))
    assert parse_date_text(f"{day.day} {name} {day.year}") == datetime(
        day.year, day.month, day.day, tzinfo=UTC
    )


@given(_dates, st.data())
def test_jalali_round_trip(day: date, data: st.DataObject) -> None:
    jalali = jdatetime.date.fromgregorian(date=day)
    name = data.draw(st.sampled_from(_month_names()["jalali"][jalali.month]))
    text = f"{jalali.day} {name} {jalali.year}".translate(str.maketrans(_WESTERN, _PERSIAN))
    assert parse_date_text(text) == datetime(day.year, day.month, day.day, tzinfo=UTC)


@given(st.dates(min_value=date(1999, 6, 1), max_value=date(2070, 12, 31)), st.data())
def test_hijri_round_trip(day: date, data: st.DataObject) -> None:
    hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    name = data.draw(st.sampled_from(_month_names()["hijri"][hijri.month]))
    assert parse_date_text(f"{hijri.day} {name} {hijri.year} هـ") == datetime(
        day.year, day.month, day.day, tzinfo=UTC
    )


def test_json_ld_graph_dates_in_page_offset() -> None:
    graph = {
        "@graph": [
            {"@type": "WebSite", "name": "X"},
            {
                "@type": "NewsArticle",
                "datePublished": "2024-11-17T09:15:00+03:00",
                "dateModified": "2024-11-18T08:00:00+03:00",
            },
        ]
    }
    doc = _doc(f'<script type="application/ld+json">{json.dumps(graph)}</script>')
    published, modified = extract_dates(doc, "https://example.org/a", hints={}, default_tz=None)
    assert published == datetime(2024, 11, 17, 9, 15, tzinfo=PLUS3)
    assert published.utcoffset() == timedelta(hours=3)
    assert modified == datetime(2024, 11, 18, 8, tzinfo=PLUS3)


def test_meta_then_time_element() -> None:
    doc = _doc('<meta property="article:published_time" content="2024-11-17T10:00:00+02:00">')
    assert extract_dates(doc, "https://e.org/x", hints={}, default_tz=None)[0] == datetime(
        2024, 11, 17, 10, tzinfo=timezone(timedelta(hours=2))
    )
    doc = _doc(body='<article><h1>T</h1><time datetime="2024-11-17">17 Nov</time></article>')
    assert extract_dates(doc, "https://e.org/x", hints={}, default_tz=None)[0] == datetime(
        2024, 11, 17, tzinfo=UTC
    )


def test_utc_timestamp_moves_to_configured_zone() -> None:
    doc = _doc('<meta property="article:published_time" content="2024-11-17T22:30:00Z">')
    published, _ = extract_dates(doc, "https://e.org/x", hints={}, default_tz=DAMASCUS)
    assert published is not None
    assert published.date() == date(2024, 11, 18)  # the outlet's calendar day
    assert published == datetime(2024, 11, 17, 22, 30, tzinfo=UTC)


def test_utc_timestamp_takes_offset_from_shown_local_time() -> None:
    doc = _doc(
        '<meta property="article:published_time" content="2023-12-25T22:03:00Z">',
        '<article><div><div><h1>T</h1><div class="byline">December 26, 2023 - 9:03AM</div></div></div></article>',
    )
    published, _ = extract_dates(doc, "https://e.org/x", hints={}, default_tz=None)
    assert published is not None
    assert published.utcoffset() == timedelta(hours=11)
    assert published.date() == date(2023, 12, 26)


def test_visible_update_label_is_modified_not_published() -> None:
    body = (
        '<article><div><h1>عنوان</h1><span class="date">نشر في 16 نوفمبر 2024</span>'
        '<span class="date">آخر تحديث 18 نوفمبر 2024</span></div></article>'
    )
    published, modified = extract_dates(
        _doc(body=body), "https://e.org/x", hints={"title": "عنوان"}, default_tz=None
    )
    assert published == datetime(2024, 11, 16, tzinfo=UTC)
    assert modified == datetime(2024, 11, 18, tzinfo=UTC)


def test_future_structured_date_is_ignored() -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    doc = _doc(f'<meta property="article:published_time" content="{future}">')
    assert extract_dates(doc, "https://e.org/2024/11/17/x", hints={}, default_tz=None)[0] == datetime(
        2024, 11, 17, tzinfo=UTC
    )


def test_url_and_htmldate_hint_are_fallbacks() -> None:
    assert date_from_url("https://e.org/2024/11/17/story") == date(2024, 11, 17)
    assert date_from_url("https://e.org/news/20241117-story") == date(2024, 11, 17)
    assert date_from_url("https://e.org/news/123456") is None
    published, modified = extract_dates(
        _doc(), "https://e.org/x", hints={"date": "2024-11-17"}, default_tz=None
    )
    assert published == datetime(2024, 11, 17, tzinfo=UTC)
    assert modified is None
    assert extract_dates(_doc(), "https://e.org/x", hints={}, default_tz=None) == (None, None)


def test_shown_cjk_date_beats_htmldate_guess_on_a_japanese_page() -> None:
    """htmldate reads no 年月日 dates, so on a CJK page its guess comes after the date shown by the headline."""
    body = (
        "<div><h1>新しい駅が開業しました</h1><span class='entry-time'>2020年07月12日</span><p>本文</p></div>"
    )
    hints = {"date": "2015-07-21", "title": "新しい駅が開業しました"}
    published, _ = extract_dates(_doc(body=body), "https://blog.example.jp/e/1", hints=hints, default_tz=None)
    assert published == datetime(2020, 7, 12, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_url_month_rules_out_a_guess_and_a_definition_list_shows_the_date() -> None:
    """A press-release archive: /YYYY/MM/ in the URL, the date in <dd>, htmldate's guess from elsewhere."""
    doc = _doc(
        body='<div><div><h1>Heart study</h1><dl><dt>Date:</dt><dd id="date_posted">December 13, 2023</dd></dl>'
        "</div><p>Story text.</p></div>"
    )
    url = "https://e.org/releases/2023/12/231213112457.htm"
    published, _ = extract_dates(doc, url, hints={"date": "2024-02-17"}, default_tz=None)
    assert published == datetime(2023, 12, 13, tzinfo=UTC)
    # Without a month in the URL the guess stands (it may be right: nothing contradicts it).
    published, _ = extract_dates(
        doc, "https://e.org/releases/x.htm", hints={"date": "2024-02-17"}, default_tz=None
    )
    assert published == datetime(2024, 2, 17, tzinfo=UTC)


def test_date_selector_and_format() -> None:
    doc = _doc(body='<div class="stamp">11-05-2024</div><div class="date">1 January 2020</div>')
    published, _ = extract_dates(
        doc, "https://e.org/x", hints={}, default_tz=None, date_selector="div.stamp", date_format="%m-%d-%Y"
    )
    assert published == datetime(2024, 11, 5, tzinfo=UTC)


def _fixture_cases() -> list[Path]:
    """Fixture folders of this layer that check dates."""
    return sorted(p for p in FIXTURES.glob("date-*") if (p / "expected.json").exists())


@pytest.mark.parametrize("case", _fixture_cases(), ids=lambda p: p.name)
def test_date_fixtures(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text("utf-8"))
    doc = lxml.html.fromstring((case / "input.html").read_bytes())
    tz = ZoneInfo(expected["_default_tz"]) if "_default_tz" in expected else None
    url = expected.get("_url", f"https://example.org/{case.name}")
    published, modified = extract_dates(doc, url, hints={"title": doc.findtext(".//h1") or ""}, default_tz=tz)
    if "published_at" in expected:
        assert (published.isoformat() if published else None) == expected["published_at"]
    if "modified_at" in expected:
        assert (modified.isoformat() if modified else None) == expected["modified_at"]


def test_shown_utc_time_of_the_instant_keeps_utc() -> None:
    # the page shows the publication instant in GMT, and the update time too: no +12:15 outlet is invented
    doc = _doc(
        '<meta property="article:published_time" content="2020-04-28T22:57:38Z">',
        '<article><div><div><h1>T</h1><div class="date">22:57 GMT 28.04.2020</div>'
        '<div class="date">updated 11:14 GMT 29.04.2020</div></div></div></article>',
    )
    published, _ = extract_dates(doc, "https://e.org/x", hints={}, default_tz=None)
    assert published == datetime(2020, 4, 28, 22, 57, 38, tzinfo=UTC)
    assert published.utcoffset() == timedelta(0)


def test_shown_time_at_an_offset_no_zone_uses_is_ignored() -> None:
    doc = _doc(
        '<meta property="article:published_time" content="2020-04-28T22:57:00Z">',
        '<article><div><div><h1>T</h1><div class="date">29.04.2020 11:12</div></div></div></article>',
    )
    published, _ = extract_dates(doc, "https://e.org/x", hints={}, default_tz=None)
    assert published is not None
    assert published.utcoffset() == timedelta(0)


def test_utc_timestamp_moves_to_the_zone_of_a_country_code_domain() -> None:
    doc = _doc('<meta property="article:published_time" content="2020-12-05T23:15:00Z">')
    published, _ = extract_dates(doc, "https://www.example.it/news/1", hints={}, default_tz=None)
    assert published is not None
    assert published.date() == date(2020, 12, 6)
    assert published == datetime(2020, 12, 5, 23, 15, tzinfo=UTC)
    generic, _ = extract_dates(doc, "https://www.example.com/news/1", hints={}, default_tz=None)
    assert generic is not None and generic.utcoffset() == timedelta(0)


def _us_page(extra: str) -> lxml.html.HtmlElement:
    """A .com article whose only publication time is UTC, with `extra` scripts beside it."""
    head = "<meta property='article:published_time' content='2020-05-02T02:54:29Z'>"
    return _doc(head=head, body=f"<h1>Penn Station to close overnight</h1><p>Text.</p>{extra}")


def test_utc_timestamp_moves_to_the_offset_the_pages_other_timestamps_carry() -> None:
    """A US site on .com: its schedule data says -0400, so 02:54 UTC is 22:54 on 1 May there."""
    schedule = "<script>var s=[{date:'Fri, 01 May 2020 23:00:00 -0400'},{date:'2020-05-02T06:00:00-04:00'}];</script>"
    published, _ = extract_dates(_us_page(schedule), "https://abc.example.com/x/1", hints={}, default_tz=None)
    assert published == datetime(2020, 5, 1, 22, 54, 29, tzinfo=timezone(-timedelta(hours=4)))
    assert page_offset(_us_page(schedule)) == -timedelta(hours=4)


@pytest.mark.parametrize(
    "extra",
    [
        "",  # nothing to go by
        "<script>var a='2020-05-01T23:00:00-04:00';</script>",  # a single stamp
        "<script>var a=['23:00:00-04:00','22:00:00+02:00','21:00:00+00:00'];</script>",  # no majority
        "<script>var open='10:30-12:00, 14:00-18:00';</script>",  # opening hours, not offsets
    ],
)
def test_page_offset_needs_agreeing_timestamps(extra: str) -> None:
    published, _ = extract_dates(_us_page(extra), "https://abc.example.com/x/1", hints={}, default_tz=None)
    assert published == datetime(2020, 5, 2, 2, 54, 29, tzinfo=UTC)


def test_a_bare_calendar_day_is_not_moved_to_the_page_offset() -> None:
    head = "<meta property='article:published_time' content='2023-12-21'>"
    stamps = "<script>var a=['2023-12-21T16:43:28-05:00','2023-12-21T15:51:21-05:00'];</script>"
    published, _ = extract_dates(
        _doc(head, stamps), "https://tnr.example.com/post/1", hints={}, default_tz=None
    )
    assert published is not None and published.date() == date(2023, 12, 21)


def test_configured_zone_wins_over_country_code_domain() -> None:
    doc = _doc('<meta property="article:published_time" content="2020-12-05T23:15:00Z">')
    published, _ = extract_dates(doc, "https://www.example.it/news/1", hints={}, default_tz=UTC)
    assert published is not None and published.date() == date(2020, 12, 5)


def test_multi_zone_country_takes_its_media_zone_after_the_page_offset() -> None:
    """An evening story on a .ca site, in UTC: Toronto's day, unless the page's own stamps say Calgary's."""
    head = "<meta property='article:published_time' content='2020-08-25T00:23:33Z'>"
    url = "https://ici.example.ca/nouvelle/1"
    published, _ = extract_dates(_doc(head), url, hints={}, default_tz=None)
    assert published == datetime(2020, 8, 24, 20, 23, 33, tzinfo=ZoneInfo("America/Toronto"))
    mountain = "<script>var s=['2020-08-24T18:00:00-06:00','2020-08-24T17:10:00-06:00'];</script>"
    published, _ = extract_dates(_doc(head, mountain), url, hints={}, default_tz=None)
    assert published is not None and published.utcoffset() == -timedelta(hours=6)
    assert media_zone_for_url("https://example.com/x") is None


def test_zone_for_url() -> None:
    assert zone_for_url("https://www.bbc.co.uk/news") == ZoneInfo("Europe/London")
    assert zone_for_url("https://www.vg.no/") == ZoneInfo("Europe/Oslo")
    assert zone_for_url("https://example.com/") is None
    assert zone_for_url("https://example.ca/") is None  # several zones
    assert zone_for_url("http://localhost:8080/") is None
