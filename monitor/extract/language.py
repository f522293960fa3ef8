"""Language of an article, detected from its text (py3langid), never trusted from `<html lang>`."""

from __future__ import annotations

import functools
import re

from py3langid.langid import LanguageIdentifier, _load_identifier

# py3langid labels that are dialects or historic forms of a language we report under its ISO 639-1 code.
_ALIASES = {
    "arz": "ar",
    "ary": "ar",
    "hbo": "he",
    "uzs": "uz",
    "nn": "no",
    "sdh": "ku",
    "yue": "zh",
    "wuu": "zh",
}
# Labels that are not a language ("zxx" = no linguistic content).
_NOT_LANGUAGE = frozenset({"zxx"})
# Enough text for a stable decision; more only costs time (py3langid is linear in input length).
MAX_CHARS = 1500
# Below this many letters the guess is noise.
MIN_LETTERS = 12
_LETTER = re.compile(r"[^\W\d_]")
_URLISH = re.compile(r"https?://\S+|www\.\S+|\S+@\S+")


@functools.cache
def _identifier() -> LanguageIdentifier:
    """The py3langid model, loaded once per process (about 0.7 s)."""
    return _load_identifier(norm_probs=True)


def sample(title: str | None, text: str) -> str:
    """Title plus the start of the body, without URLs and e-mail addresses."""
    return _URLISH.sub(" ", f"{title or ''}\n{text[:MAX_CHARS]}")


def detect_language(title: str | None, text: str) -> str | None:
    """ISO 639-1 code of the title + body, or None when there is too little text."""
    snippet = sample(title, text)
    if len(_LETTER.findall(snippet)) < MIN_LETTERS:
        return None
    label, _score = _identifier().classify(snippet)
    if label in _NOT_LANGUAGE:
        return None
    return _ALIASES.get(label, label)
