"""Who an article is credited to: the outlet it was taken from, the wire agency, the translator.

Conservative by design (precision over recall): credits are read only where a whole piece is credited (a wire
dateline, the first or last paragraph, the disclaimer notes, the byline metadata), never from a passing quote deep
in the text. Known names are returned in their canonical spelling from `monitor/data/outlets.yaml`; an unknown name
is returned as written only in an unambiguous pattern («نقلاً عن صحيفة X», "Source: X", "translated by X").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import lxml.html

from monitor.extract.authors import json_ld_author_strings, meta_author_strings
from monitor.extract.names import Outlet, lookup, name_key, strip_generic

# Up to five words of a name (any script), stopping at punctuation.
_NAME = r"([^\s.,;:!?،؛()\[\]«»\"“”]+(?:\s+[^\s.,;:!?،؛()\[\]«»\"“”]+){0,4})"
# Wire datelines: "DAMASCUS (AP) —", "(Reuters) -", «دمشق (أ ف ب) -», «تهران- ایرنا-» (AP/Reuters style guides).
_DATELINE = re.compile(r"^[^\n()]{0,60}?\(([^()\n]{1,40})\)\s*[-–—:]")
_DATELINE_FA = re.compile(r"^[^\n()\-–—]{0,40}[-–—]\s*([^\n\-–—]{2,30}?)\s*[-–—]")
# A closing line that is only a credit: "(AFP)", "— Reuters", «(أ ف ب)», «وكالات», «المصدر: سانا».
_CLOSING = re.compile(r"^[\s(\[–—-]*([^()\[\]\n]{2,40}?)[\s)\].–—-]*$")
# "Source: SANA", «المصدر: …», «المصادر: …», «منبع: …», "Kaynak: …".
_SOURCE_LABEL = re.compile(
    r"^\s*(?:source|sources|المصدر|المصادر|مصدر|منبع|kaynak|מקור)\s*[:：\-–—]\s*" + _NAME, re.I
)
# Arabic and Persian credit phrases: «نقلاً عن …», «بحسب …», «حسب …», «وفقاً لـ …», «به نقل از …», «به گزارش …».
_CREDIT_AR_FA = re.compile(
    r"(?:نقلا|نقلاً|نقلًا|نقل)\s+عن\s+"
    + _NAME
    + r"|(?:بحسب|حسب|وفقا ل|وفقاً ل|وفقا لـ|وفقاً لـ|طبقا ل|طبقاً ل)\s*"
    + _NAME
    + r"|به\s+نقل\s+از\s+"
    + _NAME
    + r"|به\s+گزارش\s+"
    + _NAME
)
# English whole-piece credits: "…, al-Araby al-Jadeed writes.", "X reported.", "according to X", "via X".
_CREDIT_EN_TAIL = re.compile(
    r"(?:^|[,.;]\s+|\s[-–—]\s)((?:the\s+)?(?:(?:al|el|an|as|ash)-)?[A-Z][\w'’\-]*(?:\s+(?:(?:al|el|an|as|ash)-)?"
    r"[A-Z][\w'’\-]*){0,4})\s+(?:writes|wrote|reported|reports|said in a report)\.?\s*$"
)
_CREDIT_EN_ACCORDING = re.compile(
    r"(?:according to|as reported by|reported by|via|citing|originally published (?:by|in|on))\s+"
    r"((?:the\s+)?(?:(?:al|el|an|as|ash)-)?[A-Z][\w'’\-]*(?:\s+(?:(?:al|el|an|as|ash)-)?[A-Z][\w'’\-]*){0,4})"
)
# Translator credits: "translated and edited by X", «ترجمة: X», «ترجمة وتحرير: X», «ترجمه: X», «مترجم: X».
_TRANSLATOR = re.compile(
    r"(?:translated(?:\s+and\s+edited)?\s+by|translation\s*(?:by|:))\s+(?:the\s+)?([A-Z][\w'’\-]*(?:\s+[A-Z][\w'’\-]*){0,4})"
    r"|(?:ترجمة|ترجمه|مترجم|ترجمة وتحرير|ترجمه و تنظیم)\s*[:：\-–—]\s*" + _NAME,
    re.I,
)
_CLOSING_LINES = 2


@dataclass(frozen=True)
class Attribution:
    """Credits of one article; None where the page gives none."""

    original_source: str | None
    agency: str | None
    translator: str | None


def _paragraphs(text: str) -> list[str]:
    """Non-empty lines of the body text."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _groups(found: re.Match[str] | None) -> str | None:
    """The first non-empty group of a match."""
    return next((g for g in found.groups() if g), None) if found else None


def _known_prefix(phrase: str) -> Outlet | None:
    """The known outlet/agency named by a run of words of `phrase`, leftmost and longest first."""
    tokens = phrase.split()
    for start in range(len(tokens)):
        for size in range(min(len(tokens) - start, 6), 0, -1):
            found = lookup(" ".join(tokens[start : start + size]))
            if found is not None:
                return found
    return None


def _clear_unknown(phrase: str) -> str | None:
    """An unknown outlet in a clear pattern: the words after a generic word («صحيفة X», "the newspaper X")."""
    key = name_key(phrase)
    rest = strip_generic(key)
    if rest == key or not rest:
        return None
    n_words = len(rest.split())
    return " ".join(phrase.split()[-n_words:])


def _resolve(phrase: str | None, allow_unknown: bool) -> tuple[str, str] | None:
    """(kind, display name) of a credited phrase: known names canonical, unknown ones only if allowed."""
    if not phrase:
        return None
    known = _known_prefix(phrase)
    if known is not None:
        return known.kind, known.name
    unknown = _clear_unknown(phrase) if allow_unknown else None
    return ("outlet", unknown.strip(" -–—")) if unknown else None


def _dateline_agency(first: str) -> str | None:
    """The agency in a wire dateline at the start of the body."""
    for pattern in (_DATELINE, _DATELINE_FA):
        found = pattern.match(first)
        known = lookup(found.group(1)) if found else None
        if known is not None and known.kind == "agency":
            return known.name
    return None


def _credits(closing_lines: list[str], edge_lines: list[str]) -> Iterator[tuple[str, str]]:
    """(kind, name) credits: credit-only lines (notes, last lines) first, then first/last paragraph phrases."""
    for line in closing_lines:
        yield from filter(None, [_resolve(_groups(_SOURCE_LABEL.match(line)), allow_unknown=True)])
        closing = _CLOSING.match(line) if len(line) <= 40 else None
        yield from filter(None, [_resolve(_groups(closing), allow_unknown=False)])
    for line in edge_lines:
        for found in _CREDIT_AR_FA.finditer(line):
            yield from filter(None, [_resolve(_groups(found), allow_unknown=True)])
        for pattern in (_CREDIT_EN_TAIL, _CREDIT_EN_ACCORDING):
            for found in pattern.finditer(line):
                yield from filter(None, [_resolve(_groups(found), allow_unknown=False)])


def _byline_agency(doc: lxml.html.HtmlElement) -> str | None:
    """A wire agency named as the author in JSON-LD or meta tags ("The Associated Press")."""
    for raw in [*json_ld_author_strings(doc), *meta_author_strings(doc)]:
        for part in re.split(r"\s*(?:[,;/|&]|\band\b)\s*", raw):
            known = lookup(part) if part else None
            if known is not None and known.kind == "agency":
                return known.name
    return None


def _translator(lines: Iterable[str]) -> str | None:
    """The translator/editor credit in notes or edge paragraphs, canonical when known."""
    for line in lines:
        found = _groups(_TRANSLATOR.search(line))
        if found:
            known = _known_prefix(found)
            return known.name if known else found.strip()
    return None


def extract_attribution(
    doc: lxml.html.HtmlElement, *, text: str, notes: list[str], site_name: str | None
) -> Attribution:
    """Original source, wire agency and translator credited for the whole article."""
    paragraphs = _paragraphs(text)
    closing = [*notes, *paragraphs[-_CLOSING_LINES:]]
    edges = [*notes, *paragraphs[:1], *paragraphs[-1:]]
    own = {name_key(site_name)} if site_name else set()
    known_site = lookup(site_name) if site_name else None
    own |= {name_key(known_site.name)} if known_site else set()
    agency = _dateline_agency(paragraphs[0]) if paragraphs else None
    source = None
    for kind, name in _credits(closing, edges):
        if name_key(name) in own:
            continue
        if kind == "agency" and agency is None:
            agency = name
        elif kind == "outlet" and source is None:
            source = name
    agency = agency or _byline_agency(doc)
    return Attribution(
        original_source=source, agency=agency, translator=_translator(closing + paragraphs[:1])
    )
