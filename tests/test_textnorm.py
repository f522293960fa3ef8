"""Normalisation for matching and fingerprints."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.textnorm import _strip_latin_accents, fold_digits, normalize


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("الأسد", "الاسد"),
        ("إيران", "ايران"),
        ("آذار", "اذار"),
        ("مدرسة", "مدرسه"),
        ("مستشفى", "مستشفي"),
        ("دمشـــق", "دمشق"),
        ("دِمَشْقُ", "دمشق"),
        ("نصیرزاده", "نصيرزاده"),
        ("کتاب", "كتاب"),
        ("٢٠٢٤", "2024"),
        ("۱۴۰۳", "1403"),
        ("Café  Beyrouth", "cafe beyrouth"),
        ("ISTANBUL", "istanbul"),
        ("می\u200cخواهم", "مي خواهم"),
    ],
)
def test_variants_normalise_alike(left: str, right: str) -> None:
    assert normalize(left) == normalize(right)


def test_different_words_stay_different() -> None:
    assert normalize("دمشق") != normalize("دمشقي")
    assert normalize("بيروت") != normalize("بيرut")


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


@given(st.integers(min_value=0, max_value=10**12))
def test_all_digit_systems_fold_to_ascii(number: int) -> None:
    western = str(number)
    eastern = western.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    persian = western.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert fold_digits(eastern) == fold_digits(persian) == western


def _reference_strip(text: str) -> str:
    """The per-character definition the regex in `_strip_latin_accents` replaces."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = [c for c in decomposed if not (unicodedata.combining(c) and "\u0300" <= c <= "\u036f")]
    return unicodedata.normalize("NFC", "".join(kept))


@given(st.text(alphabet=st.characters(max_codepoint=0x06FF)) | st.text())
def test_latin_accent_stripping_matches_its_definition(text: str) -> None:
    assert _strip_latin_accents(text) == _reference_strip(text)
    assert _strip_latin_accents("Café Zürich \u034f naïve") == "Cafe Zurich \u034f naive"
