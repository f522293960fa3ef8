"""Text normalisation for matching and fingerprints (never applied to stored text).

NFKC, case-folding, Latin diacritics dropped, and for Arabic and Persian: harakat and tatweel removed, alef
variants folded to bare alef, alef maqsura to yaa, taa marbuta to haa, Persian yeh/keheh to Arabic yaa/kaf,
Eastern Arabic and Persian digits to ASCII.
"""

from __future__ import annotations

import re
import unicodedata

# Arabic harakat, Quranic marks, superscript alef and tatweel (U+0610-061A, U+064B-065F, U+0670, U+06D6-06ED, U+0640).
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Zero-width joiners/non-joiners and bidi controls common in Persian and RTL text.
_INVISIBLES = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_WHITESPACE = re.compile(r"\s+")
# Combining Diacritical Marks (U+0300-036F) except U+034F COMBINING GRAPHEME JOINER, the one code point of the
# block with canonical combining class 0: exactly the marks `unicodedata.combining` flags there. One regex pass
# instead of a Python-level test per character (this ran for every stored article, on the reactor thread).
_LATIN_COMBINING = re.compile("[\u0300-\u034e\u0350-\u036f]")

_FOLD = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ی": "ي",  # Persian yeh
        "ې": "ي",
        "ة": "ه",
        "ۀ": "ه",
        "ک": "ك",  # Persian keheh
        "ؤ": "و",
        "ئ": "ي",
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Eastern Arabic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
    }
)


def fold_digits(text: str) -> str:
    """Replace Eastern Arabic and Persian digits by ASCII digits, leaving everything else."""
    return text.translate(_DIGITS)


_DIGITS = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)}}
)


def _strip_latin_accents(text: str) -> str:
    """Drop combining marks from Latin letters (é → e) without touching Arabic script."""
    return unicodedata.normalize("NFC", _LATIN_COMBINING.sub("", unicodedata.normalize("NFD", text)))


def normalize(text: str) -> str:
    """Normalise text for matching: NFKC, case-fold, Arabic/Persian folding, digits, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLES.sub(" ", text)
    text = _ARABIC_MARKS.sub("", text)
    text = _strip_latin_accents(text.casefold())
    text = text.translate(_FOLD)
    return _WHITESPACE.sub(" ", text).strip()
