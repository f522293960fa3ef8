"""Matching: Arabic clitics, Persian, English, phrases across lines, boolean groups, scope, snippets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.alerts.matcher import CLITICS, Document, Matcher, normalize_fast
from monitor.alerts.watches import Watch, parse_watches
from monitor.textnorm import normalize


def watch(**fields: object) -> Watch:
    """A watch with a default name."""
    return Watch.model_validate({"name": "w", **fields})


def names(matcher: Matcher, text: str, title: str = "", **doc: str) -> list[str]:
    """Names of the watches matching a document."""
    return [m.watch for m in matcher.match(Document(title, text, **doc))]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "قال والأسد إن الوضع صعب",
        "رسالة بالأسد",
        "وبالأسد بدأ",
        "ذهب للأسد وحده",
        "فللأسد رأي",
        "الأسدُ قال",  # with a harakah
        "اَلأسد",
    ],
)
def test_arabic_clitics_before_definite_term(text: str) -> None:
    assert names(Matcher([watch(any=["الأسد"])]), text) == ["w"]


@pytest.mark.parametrize(
    "text", ["وصل بدمشق أمس", "من دمشق", "ودمشق", "فدمشق", "لدمشق", "كدمشق", "وبدمشق", "الدمشق"]
)
def test_arabic_clitics_before_bare_term(text: str) -> None:
    assert names(Matcher([watch(any=["دمشق"])]), text) == ["w"]


@pytest.mark.parametrize("text", ["مطعم دمشقي", "المطبخ الدمشقية", "تدمشق", "مدمشق", "أسدمشق"])
def test_arabic_whole_word_refuses_longer_words(text: str) -> None:
    assert names(Matcher([watch(any=["دمشق"])]), text) == []


def test_prefix_term_allows_suffixes_with_star_or_flag() -> None:
    star = Matcher([watch(any=["دمشق*"])])
    flag = Matcher([watch(any=[{"term": "دمشق", "prefix": True}])])
    for matcher in (star, flag):
        assert names(matcher, "المطبخ الدمشقي") == ["w"]
        assert names(matcher, "تدمشق") == []


def test_clitic_set_covers_the_issue_list() -> None:
    assert {"و", "ف", "ب", "ك", "ل", "ال", "وال", "بال", "فال", "لل", "وبال"} <= CLITICS
    assert "لال" not in CLITICS


def test_persian_yeh_keheh_and_zwnj() -> None:
    matcher = Matcher([watch(any=["نصيرزاده", "نصير زاده", "کرمان"])])
    assert names(matcher, "سردار نصیرزاده گفت") == ["w"]  # Persian yeh ی vs Arabic ي
    assert names(matcher, "سردار نصیر\u200cزاده گفت") == ["w"]  # ZWNJ
    assert names(matcher, "استان كرمان") == ["w"]  # Arabic kaf vs Persian keheh
    assert names(matcher, "نصیرزادهها") == []


def test_persian_plural_with_zwnj_is_whole_word() -> None:
    assert names(Matcher([watch(any=["کتاب"])]), "این کتاب\u200cها") == ["w"]


def test_english_case_diacritics_and_word_boundaries() -> None:
    matcher = Matcher([watch(any=["Nasirzadeh", "Zurich"])])
    assert names(matcher, "GENERAL NASIRZADEH said") == ["w"]
    assert names(matcher, "Nasirzadeh's visit") == ["w"]
    assert names(matcher, "talks in Zürich") == ["w"]
    assert names(matcher, "the Nasirzadehs") == []
    assert names(matcher, "NotNasirzadeh") == []


def test_english_term_does_not_take_arabic_clitics() -> None:
    assert names(Matcher([watch(any=["Assad"])]), "wAssad") == []
    assert names(Matcher([watch(any=["Assad"])]), "al-Assad") == ["w"]


def test_digits_are_folded() -> None:
    assert names(Matcher([watch(any=["2024"])]), "عام ٢٠٢٤ وسنة") == ["w"]


def test_phrase_across_line_breaks_and_spaces() -> None:
    matcher = Matcher([watch(any=["نصير زاده", "Quds Force"])])
    assert names(matcher, "قال نصير\nزاده") == ["w"]
    assert names(matcher, "the Quds\r\n   Force commander") == ["w"]
    assert names(matcher, "Quds and Force") == []


def test_boolean_any_all_none() -> None:
    matcher = Matcher([watch(any=["دمشق", "Damascus"], all=[["الأسد", "Assad"]], none=["كرة القدم"])])
    assert names(matcher, "Assad visited Damascus") == ["w"]
    assert names(matcher, "زار الأسد دمشق") == ["w"]
    assert names(matcher, "Damascus news") == []  # all-group missing
    assert names(matcher, "مباراة كرة القدم في دمشق بحضور الأسد") == []  # none-group present


def test_all_only_watch() -> None:
    matcher = Matcher([watch(all=["Iran", "Syria"])])
    assert names(matcher, "Iran and Syria") == ["w"]
    assert names(matcher, "Iran alone") == []


def test_title_only_scope() -> None:
    matcher = Matcher([watch(any=["Damascus"], title_only=True)])
    assert names(matcher, "Damascus in the body", title="Other") == []
    assert names(matcher, "body", title="Damascus talks") == ["w"]


def test_title_only_negative_ignores_body() -> None:
    matcher = Matcher([watch(any=["Damascus"], none=["football"], title_only=True)])
    assert names(matcher, "football in the body", title="Damascus talks") == ["w"]


def test_sources_and_languages_scope() -> None:
    matcher = Matcher([watch(any=["Damascus"], sources=["sana"], languages=["en", "ar"])])
    assert names(matcher, "Damascus", source_id="sana", language="en") == ["w"]
    assert names(matcher, "Damascus", source_id="other", language="en") == []
    assert names(matcher, "Damascus", source_id="sana", language="fa") == []


def test_whole_word_off_matches_inside_words() -> None:
    assert names(Matcher([watch(any=["دمشق"], whole_word=False)]), "تدمشقي") == ["w"]


def test_many_watches_share_terms_and_disabled_are_skipped() -> None:
    watches = parse_watches(
        """
watches:
  - {name: a, any: [Damascus]}
  - {name: b, any: [Damascus], none: [football]}
  - {name: c, any: [Damascus], enabled: false}
"""
    )
    matcher = Matcher(watches)
    assert names(matcher, "Damascus") == ["a", "b"]
    assert names(matcher, "Damascus football") == ["a"]


def test_match_reports_terms_as_written_and_original_snippet() -> None:
    text = (
        "Intro words.\n"
        + "filler " * 30
        + "Le général NASIRZADEH a rencontré\nles délégués à Damas. "
        + "tail " * 40
    )
    (match,) = Matcher([watch(any=["nasirzadeh", "Damas"])]).match(Document("Titre", text))
    assert match.terms == ("nasirzadeh", "Damas")
    assert match.field == "text"
    assert "Le général NASIRZADEH a rencontré les délégués à Damas." in match.snippet
    assert match.snippet.startswith("… ") and match.snippet.endswith(" …")


def test_snippet_in_title_when_title_matches() -> None:
    (match,) = Matcher([watch(any=["دمشق"])]).match(Document("وصول الوفد إلى دمشقَ", "نص عن دمشق"))
    assert match.field == "title"
    assert match.snippet == "وصول الوفد إلى دمشقَ"


def test_snippet_maps_through_zwnj_and_marks() -> None:
    text = "یک دو سه\u200cچهار " + "پنج " * 3 + "نصیرزاده گفت"
    (match,) = Matcher([watch(any=["نصيرزاده"])]).match(Document("", text))
    assert "نصیرزاده گفت" in match.snippet


def test_empty_matcher_and_empty_document() -> None:
    assert Matcher([]).match(Document("a", "b")) == []
    assert names(Matcher([watch(any=["x"])]), "") == []


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80))
def test_normalize_fast_equals_normalize(text: str) -> None:
    assert normalize_fast(text) == normalize(text)


@given(
    st.lists(
        st.sampled_from(
            ["الأسد", "دمشقَ", "نصیر\u200cزاده", "ﷺ", "Ａｂｃ", " ", "\n", "\u200f", "ـ", "ß", "é", "٣"]
        ),
        max_size=20,
    )
)
def test_normalize_fast_equals_normalize_on_script_mix(parts: list[str]) -> None:
    text = "".join(parts)
    assert normalize_fast(text) == normalize(text)


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("ובירושלים היום", True),
        ("מירושלים", True),
        ("שבירושלים", True),
        ("ירושלימי", False),
        ("אבירושלים", False),
    ],
)
def test_hebrew_prefixed_particles(text: str, hit: bool) -> None:
    assert names(Matcher([watch(any=["ירושלים"])]), text) == (["w"] if hit else [])


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_normalize_fast_equals_normalize_on_ascii(text: str) -> None:
    assert normalize_fast(text) == normalize(text)


def test_ascii_snippet_keeps_original_case() -> None:
    text = "one two\n three FOUR-five Nasirzadeh SIX " + "x " * 40
    (match,) = Matcher([watch(any=["nasirzadeh"])]).match(Document("", text))
    assert match.snippet.startswith("one two three FOUR-five Nasirzadeh SIX x")
