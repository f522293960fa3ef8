"""Attribution: original source, wire agency and translator; the outlets file and its user extension."""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest

from monitor.extract import names
from monitor.extract.attribution import Attribution, extract_attribution
from monitor.extract.names import OUTLETS_ENV, OutletsFileError, build_index, canonical, lookup

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
BODY = "A second paragraph with ordinary reporting.\nA third paragraph with more detail."
BODY_AR = "فقرة ثانية من الخبر.\nفقرة ثالثة فيها تفاصيل أخرى."
EMPTY = lxml.html.fromstring("<html><body><p>x</p></body></html>")


def _attr(text: str, notes: list[str] | None = None, site_name: str | None = None) -> Attribution:
    """Attribution of a body text on an empty page."""
    return extract_attribution(EMPTY, text=text, notes=notes or [], site_name=site_name)


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        ("DAMASCUS (AP) — Syrian forces shelled the town.\n" + BODY, "AP"),
        ("(Reuters) - Oil prices rose on Monday.\n" + BODY, "Reuters"),
        ("دمشق (أ ف ب) - قصفت القوات البلدة.\n" + BODY_AR, "AFP"),
        ("الرياض (واس) - أعلنت الوزارة.\n" + BODY_AR, "SPA"),
        (BODY_AR + "\n(أ ف ب)", "AFP"),
        (BODY_AR + "\nوكالات", "Agencies"),
        (BODY + "\nSource: SANA", "SANA"),
        ("متن خبر.\nمنبع: ایرنا", "IRNA"),
        ("به گزارش خبرگزاری تسنیم، رئیس جمهور امروز سفر کرد.\nادامه خبر.", "Tasnim"),
        ("به گزارش خبرنگار ایسنا، نشست امروز برگزار شد.\nادامه خبر.", "ISNA"),
    ],
)
def test_agency(text: str, agency: str) -> None:
    assert _attr(text).agency == agency


@pytest.mark.parametrize(
    ("text", "source"),
    [
        (
            "The regime is preparing an offensive in Idlib, al-Araby al-Jadeed writes.\n" + BODY,
            "Al-Araby Al-Jadeed",
        ),
        ("Talks stalled on Sunday, according to Asharq Al-Awsat.\n" + BODY, "Asharq Al-Awsat"),
        ("قال مسؤول إن الوضع خطير، نقلاً عن صحيفة الشرق الأوسط.\n" + BODY_AR, "Asharq Al-Awsat"),
        ("أكد الوزير أن الخطة جاهزة، نقلاً عن صحيفة الصباح الجديد.\n" + BODY_AR, "الصباح الجديد"),
        ("متن خبر.\nبه نقل از روزنامه کیهان", "Kayhan"),
    ],
)
def test_original_source(text: str, source: str) -> None:
    assert _attr(text).original_source == source


@pytest.mark.parametrize(
    "text",
    [
        "First paragraph.\nSecond, according to Reuters, numbers rose.\nThird.\nFourth.",  # passing quote
        "The minister said, according to officials, that work would start.\n" + BODY,  # not an outlet
        "John Smith reported.\n" + BODY,  # unknown name without a clear pattern
        "قالت الحكومة حسب المصدر إن الوضع مستقر.\n" + BODY_AR,
    ],
)
def test_no_credit_without_a_clear_whole_piece_pattern(text: str) -> None:
    assert _attr(text) == Attribution(original_source=None, agency=None, translator=None)


def test_translator_from_notes_and_last_line() -> None:
    note = "This article was translated and edited by The Syrian Observer."
    assert _attr(BODY, notes=[note]).translator == "The Syrian Observer"
    assert _attr(BODY_AR + "\nترجمة: أحمد علي").translator == "أحمد علي"
    assert _attr("متن.\nترجمه: مریم احمدی").translator == "مریم احمدی"


def test_own_outlet_is_not_an_original_source() -> None:
    text = "Talks stalled on Sunday, according to Al Jazeera.\n" + BODY
    assert _attr(text, site_name="Al Jazeera").original_source is None
    assert _attr(text, site_name="Example Daily").original_source == "Al Jazeera"


def test_agency_named_as_author_in_metadata() -> None:
    doc = lxml.html.fromstring(
        '<html><head><meta name="author" content="The Associated Press"></head><body/></html>'
    )
    assert extract_attribution(doc, text=BODY, notes=[], site_name=None).agency == "AP"


def test_canonical_names_across_scripts() -> None:
    for spelling in ("Agence France-Presse", "أ.ف.ب", "فرانس برس", "AFP"):
        assert canonical(spelling) == "AFP"
    assert canonical("وكالة الأنباء السعودية") == "SPA"
    assert canonical("  Some Local Weekly. ") == "Some Local Weekly"
    assert lookup("the newspaper Haaretz") is not None


def test_user_outlets_file_extends_and_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "outlets:\n  - name: Al-Sabah Al-Jadeed\n    kind: outlet\n    aliases: [الصباح الجديد]\n"
        "  - name: AFP\n    kind: agency\n    aliases: [ا.ف.ب.]\n",
        "utf-8",
    )
    monkeypatch.setenv(OUTLETS_ENV, str(extra))
    names.outlets.cache_clear()
    try:
        assert canonical("صحيفة الصباح الجديد") == "Al-Sabah Al-Jadeed"
        assert (
            canonical("Agence France-Presse") == "AFP"
        )  # shipped aliases kept when a user entry extends AFP
    finally:
        monkeypatch.delenv(OUTLETS_ENV)
        names.outlets.cache_clear()
    bad = tmp_path / "bad.yaml"
    bad.write_text("outlets:\n  - name: X\n    kind: blog\n", "utf-8")
    with pytest.raises(OutletsFileError, match=r"bad\.yaml: outlets\[0\] \(X\): 'kind'"):
        build_index([bad])


@pytest.mark.parametrize("case", sorted(FIXTURES.glob("attr-*")), ids=lambda p: p.name)
def test_attribution_fixtures(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text("utf-8"))
    doc = lxml.html.fromstring((case / "input.html").read_bytes())
    text = "\n".join(p.text_content() for p in doc.iter("p") if not p.xpath("ancestor::footer"))
    found = extract_attribution(doc, text=text, notes=[], site_name=None)
    for key, value in expected.items():
        assert getattr(found, key) == value, key
