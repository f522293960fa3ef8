"""Match articles against all watches at once with one Aho-Corasick automaton over normalised terms.

Text and terms go through `monitor.textnorm.normalize` (the dedup normalisation), applied per whitespace token
with a cache: the result equals normalising the whole text (a property test checks it) and lets a snippet be
cut from the original text. Whole-word matching accepts Arabic attached clitics before Arabic-script terms
(و ف ب ك ل ال and their combinations such as وبال, فلل) and Hebrew prefixed particles before Hebrew terms;
«دمشقي» matches «دمشق» only for prefix terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import product
from typing import Literal

import ahocorasick

from monitor.alerts.watches import Term, Watch
from monitor.textnorm import normalize

Group = Literal["any", "all", "none"]
GROUPS: tuple[Group, ...] = ("any", "all", "none")

# Arabic script block (U+0600-06FF) plus the supplement and presentation forms, for "is this an Arabic term".
_ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")

# Attached clitics before a word (after normalisation): conjunction و/ف, preposition ب/ك/ل, article ال,
# with ل + ال written لل. Grammar summary from any Arabic primer; the issue lists و ف ب ك ل ال وال بال فال لل.
_CONJ, _PREP, _ARTICLE = ("", "و", "ف"), ("", "ب", "ك", "ل"), ("", "ال")
CLITICS: frozenset[str] = frozenset(
    (c + p + a).replace("لال", "لل") for c, p, a in product(_CONJ, _PREP, _ARTICLE)
)
# Before «لل» + stem (a term «ال…» after ل), only a conjunction can come.
_LL_CLITICS: frozenset[str] = frozenset(_CONJ)
_NO_CLITIC: frozenset[str] = frozenset({""})
# Hebrew prefixed particles (ו and, ש/כש that/when, ב כ ל מ ה in/as/to/from/the, מה from-the), as in «ובירושלים».
_HEBREW_LETTER = re.compile("[\u05d0-\u05ea]")
HEBREW_CLITICS: frozenset[str] = frozenset(
    c + r + p for c, r, p in product(("", "ו"), ("", "ש", "כש"), ("", "ב", "כ", "ל", "מ", "ה", "מה"))
)
SNIPPET_WORDS_BEFORE = 12
SNIPPET_WORDS_AFTER = 20


# Normalised form of each token seen (article vocabularies repeat); cleared when it grows past the bound.
_TOKEN_CACHE: dict[str, str] = {}
TOKEN_CACHE_MAX = 1 << 18


def _normalize_tokens(tokens: list[str]) -> list[str]:
    """`normalize` of each whitespace-free token, through the cache."""
    try:
        return list(map(_TOKEN_CACHE.__getitem__, tokens))  # the usual case: every token seen before
    except KeyError:
        pass
    if len(_TOKEN_CACHE) > TOKEN_CACHE_MAX:
        _TOKEN_CACHE.clear()
    norms = []
    for token in tokens:
        norm = _TOKEN_CACHE.get(token)
        if norm is None:
            norm = _TOKEN_CACHE[token] = normalize(token)
        norms.append(norm)
    return norms


def _join(norms: list[str]) -> str:
    """Join normalised tokens with single spaces, skipping tokens that normalised to nothing."""
    text = " ".join(norms)
    if "  " in text or text.startswith(" ") or text.endswith(" "):  # some token normalised to ""
        return " ".join(filter(None, norms))
    return text


def normalize_fast(text: str) -> str:
    """Same result as `normalize(text)`, computed per token with a cache (ASCII text: just lower-cased)."""
    if text.isascii():  # normalize() on ASCII is lower() plus whitespace collapsing
        return " ".join(text.lower().split())
    return _join(_normalize_tokens(text.split()))


@dataclass(frozen=True, slots=True)
class _Ref:
    """One occurrence of an automaton key in a watch: which watch, group and item, and how to bound it."""

    watch: int
    group: Group
    item: int
    prefix: bool
    whole_word: bool
    leads: frozenset[str]
    label: str


@dataclass(frozen=True)
class Document:
    """The parts of an article the matcher looks at."""

    title: str
    text: str
    language: str | None = None
    source_id: str | None = None


@dataclass(frozen=True)
class Match:
    """A watch that matched: the matched terms (as written in the watch) and a snippet around the first one."""

    watch: str
    terms: tuple[str, ...]
    snippet: str
    field: Literal["title", "text"]


@dataclass
class _Field:
    """A normalised field, keeping the per-token results to map positions back to original words."""

    tokens: list[str]
    norms: list[str]
    text: str

    @classmethod
    def of(cls, original: str) -> _Field:
        """Normalise a field token by token."""
        tokens = original.split()
        if original.isascii():  # as normalize_fast: one lower-cased word per token
            return cls(tokens, tokens, " ".join(tokens).lower())
        norms = _normalize_tokens(tokens)
        return cls(tokens, norms, _join(norms))

    @cached_property
    def one_word_per_token(self) -> bool:
        """Did every token normalise to exactly one word (no empty tokens, no ZWNJ splits)?"""
        return self.text.count(" ") == len(self.norms) - 1 and all(self.norms)

    def token_index(self, position: int) -> int:
        """The original token holding a normalised character position."""
        if self.one_word_per_token:
            return self.text.count(" ", 0, position)  # count separators
        offset = 0
        for index, norm in enumerate(self.norms):
            offset += len(norm) + 1 if norm else 0
            if offset > position:
                return index
        return len(self.norms) - 1


def _is_arabic(text: str) -> bool:
    """Does the (normalised) term start with an Arabic-script letter?"""
    return bool(_ARABIC_LETTER.match(text))


def _keys(term: Term) -> list[tuple[str, frozenset[str]]]:
    """Automaton keys for a term and the clitic leads allowed before each."""
    key = normalize(term.term)
    if _HEBREW_LETTER.match(key):
        return [(key, HEBREW_CLITICS)]
    if not _is_arabic(key):
        return [(key, _NO_CLITIC)]
    keys = [(key, CLITICS)]
    if key.startswith("ال") and len(key) > 2:
        keys.append(("لل" + key[2:], _LL_CLITICS))
    return keys


def _word_lead(text: str, start: int) -> str:
    """The letters glued before `start` in the same word (empty at a word boundary)."""
    i = start
    while i > 0 and text[i - 1].isalnum():
        i -= 1
        if start - i > 4:
            return text[i:start]
    return text[i:start]


def _satisfied(watch: Watch, found: set[tuple[Group, int]]) -> bool:
    """Boolean evaluation: any (if given), all, and none."""
    if watch.any and not any(("any", i) in found for i in range(len(watch.any))):
        return False
    if not all(("all", i) in found for i in range(len(watch.all))):
        return False
    return not any(("none", i) in found for i in range(len(watch.none)))


def _in_scope(watch: Watch, doc: Document) -> bool:
    """Source and language filters (empty = all)."""
    if watch.sources and doc.source_id not in watch.sources:
        return False
    return not watch.languages or (doc.language or "") in watch.languages


def _snippet(fld: _Field, position: int) -> str:
    """Words around a normalised position, cut from the original text (whitespace collapsed)."""
    index = fld.token_index(position)
    first, end = max(0, index - SNIPPET_WORDS_BEFORE), index + SNIPPET_WORDS_AFTER + 1
    more = end < len(fld.tokens)
    return ("… " if first else "") + " ".join(fld.tokens[first:end]) + (" …" if more else "")


# watch index -> (group, item) -> (first normalised position, term as written)
Hits = dict[int, dict[tuple[Group, int], tuple[int, str]]]
Found = dict[tuple[Group, int], tuple[str, int, str]]


class Matcher:
    """All enabled watches compiled into one automaton; build a new one when the watches change."""

    def __init__(self, watches: Iterable[Watch]) -> None:
        self.watches: list[Watch] = [w for w in watches if w.enabled]
        self._automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY)
        entries: dict[str, list[_Ref]] = {}
        for index, watch in enumerate(self.watches):
            for group in GROUPS:
                for item, variants in enumerate(getattr(watch, group)):
                    for term in variants:
                        self._add(entries, index, group, item, term, watch)
        for key, refs in entries.items():
            self._automaton.add_word(key, (len(key), tuple(refs)))
        self.size = len(entries)
        if entries:
            self._automaton.make_automaton()

    @staticmethod
    def _add(
        entries: dict[str, list[_Ref]], index: int, group: Group, item: int, term: Term, watch: Watch
    ) -> None:
        """Register the keys of one term."""
        whole = watch.whole_word if term.whole_word is None else term.whole_word
        for key, leads in _keys(term):
            label = term.term + ("*" if term.prefix else "")
            entries.setdefault(key, []).append(_Ref(index, group, item, term.prefix, whole, leads, label))

    def _scan(self, text: str) -> Hits:
        """Per watch, the first position of each matched (group, item)."""
        hits: Hits = {}
        if not self.size or not text:
            return hits
        last = len(text) - 1
        for end, (length, refs) in self._automaton.iter(text):
            start = end - length + 1
            lead = _word_lead(text, start) if start and text[start - 1].isalnum() else ""
            right_ok = end == last or not text[end + 1].isalnum()
            for ref in refs:
                if ref.whole_word and (lead not in ref.leads or not (right_ok or ref.prefix)):
                    continue
                hits.setdefault(ref.watch, {}).setdefault((ref.group, ref.item), (start, ref.label))
        return hits

    def match(self, doc: Document) -> list[Match]:
        """Every watch the document satisfies, in watch order."""
        title, text = _Field.of(doc.title or ""), _Field.of(doc.text or "")
        title_hits = self._scan(title.text)
        text_hits = self._scan(text.text)
        results = []
        for index in sorted(title_hits.keys() | text_hits.keys()):
            watch = self.watches[index]
            found = self._found(watch, title_hits.get(index, {}), text_hits.get(index, {}))
            if _in_scope(watch, doc) and _satisfied(watch, set(found)):
                results.append(self._result(watch, found, title, text))
        return results

    @staticmethod
    def _found(
        watch: Watch,
        in_title: dict[tuple[Group, int], tuple[int, str]],
        in_text: dict[tuple[Group, int], tuple[int, str]],
    ) -> Found:
        """Merge title and text hits (title wins); title-only watches ignore the text."""
        found: Found = {} if watch.title_only else {k: ("text", *v) for k, v in in_text.items()}
        found.update({k: ("title", *v) for k, v in in_title.items()})
        return found

    @staticmethod
    def _result(watch: Watch, found: Found, title: _Field, text: _Field) -> Match:
        """Build the Match: terms as written, snippet at the earliest positive hit (title first)."""
        positive = sorted(
            (where != "title", pos, label)
            for (group, _), (where, pos, label) in found.items()
            if group != "none"
        )
        terms = tuple(dict.fromkeys(label for _, _, label in positive))
        in_text, position = positive[0][0], positive[0][1]
        fld = text if in_text else title
        return Match(watch.name, terms, _snippet(fld, position), "text" if in_text else "title")
