"""Author names of an article: people only, in the page's own script.

Sources, first that yields a person wins: a per-source byline selector, JSON-LD `author` (Person; Organization
dropped), meta tags (`author`, `article:author`, `parsely-author`, `dc.creator`, `byl`…), byline elements
(`rel=author`, `itemprop=author`, class/id "byline"/"author"; author cards of related articles left out), a
loose "By …" text near the headline, a "By …"/«بقلم …»/«نویسنده: …» line at the top of the body, then
trafilatura's guess (two words or more). The winner is checked against the visible byline: co-authors it adds
are kept, names it credits for other work ("Contributions from", "Photography by") are dropped. Names are split
("X and Y", "X، Y"), cleaned of job titles, dates, e-mails and credentials, and outlet or agency names
(`monitor/data/outlets.yaml`) and the site's own name are dropped. Word lists live in `monitor/data/bylines.yaml`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
import yaml

from monitor.extract.dates import in_page_margins
from monitor.extract.meta import json_ld_articles, meta_tags
from monitor.extract.names import lookup, name_key
from monitor.textnorm import normalize

BYLINES_FILE = Path(__file__).resolve().parents[1] / "data" / "bylines.yaml"
# Meta names/properties that carry an author name (trafilatura's and newspaper4k's lists, lower-cased).
_META_AUTHOR = (
    "author", "article:author", "og:article:author", "parsely-author", "sailthru.author", "dc.creator",
    "dcterms.creator", "byl", "cxenseparse:author", "citation_author", "authors", "article.author",
)  # fmt: skip
_BYLINE_XPATH = lxml.etree.XPath(
    ".//*[contains(concat(@class,' ',@id,' ',@rel,' ',@itemprop),'uthor')"
    " or contains(concat(@class,' ',@id),'yline') or contains(@class,'authName')]"
    # links to author pages (WordPress /author/, weather.com /bios/, Arabic sites /writer/ and /kottab/)
    " | .//a[contains(@href,'/author/') or contains(@href,'/authors/') or contains(@href,'/bios/')"
    " or contains(@href,'/writer/') or contains(@href,'/writers/') or contains(@href,'/journalist/')"
    " or contains(@href,'/kottab/') or contains(@href,'/staff/')]"
)
_MAX_BYLINE_ELEMENTS = 12
_MAX_NAME_WORDS = 5
_MAX_BYLINE_CHARS = 160
# E-mail addresses, URLs and @handles inside bylines.
_CONTACT = re.compile(r"\S+@\S+\.\S+|https?://\S+|www\.\S+|(?<!\w)@\w+")
# Separators between byline segments: comma (Latin, Arabic), pipe, bullet, spaced dash, slash, parentheses.
_SEGMENT_SPLIT = re.compile(r"\s*(?:[,،|•·;/()]|\s[-–—]\s|\s[-–—]|^[-–—]|:\s)\s*")
# Anything but letters, marks, spaces, dots, hyphens, apostrophes and zero-width joiners rules out a name.
_NOT_NAME_CHAR = re.compile(r"[^\w\s.\-'’\u200c\u200d]|[\d_]")
_FIRST_LINES = 3
# "… and Tom Caswell on December 21, 2023": a date after "on" ends a byline (GameSpot, CBS, many WordPress themes).
_ON_DATE = re.compile(
    r"\s+on\s+(?=\S*\d|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*\b)",
    re.IGNORECASE,
)
# Byline elements sharing one class this many times are author cards of related articles, not the byline.
_CARD_REPEATS = 3


@dataclass(frozen=True)
class _Words:
    """Compiled byline word lists from bylines.yaml."""

    prefix: re.Pattern[str]
    role: re.Pattern[str]
    not_name: re.Pattern[str]
    credentials: frozenset[str]
    joiner: re.Pattern[str]
    cut: re.Pattern[str]
    credit: re.Pattern[str]


def _alternation(words: list[str]) -> str:
    """Regex alternation of normalised words, longest first."""
    return "|".join(re.escape(w) for w in sorted({normalize(w) for w in words}, key=len, reverse=True))


@cache
def words() -> _Words:
    """Load and compile bylines.yaml once."""
    raw: dict[str, Any] = yaml.safe_load(BYLINES_FILE.read_text("utf-8"))
    return _Words(
        prefix=re.compile(r"^\s*(?:" + _alternation(raw["prefixes"]) + r")(?!\w)\s*[:：\-–—]?\s*"),
        role=re.compile(r"(?<!\w)(?:" + _alternation(raw["roles"]) + r")(?!\w)"),
        not_name=re.compile(r"(?<!\w)(?:" + _alternation(raw["not_names"]) + r")(?!\w)"),
        credentials=frozenset(normalize(w).replace(".", "") for w in raw["credentials"]),
        cut=re.compile(r"(?:^|\s)(?:" + _alternation(raw["cut_words"]) + r")(?!\w)", re.IGNORECASE),
        joiner=re.compile(r"(?:^|\s+)(?:" + _alternation(raw["separators"]) + r")\s+", re.IGNORECASE),
        credit=re.compile(r"(?:^|\s)(?:" + _alternation(raw["credits"]) + r")(?!\w)\s*:?", re.IGNORECASE),
    )


def _strip_prefix(text: str) -> str:
    """Drop a leading "By"/«بقلم»/«نویسنده:» from a byline (case and letter variants ignored)."""
    direct = words().prefix.match(text.casefold())
    if direct:
        return text[direct.end() :]
    found = words().prefix.match(normalize(text))
    if not found:
        return text
    # normalize() keeps word boundaries; cut the same number of words from the original text.
    cut = len(found.group(0).split())
    kept = text.split()[cut:] if found.group(0).strip() else text.split()
    return " ".join(kept).lstrip(":：-–— ")


def _trim_name(name: str, site_keys: set[str]) -> str:
    """Drop credentials ("… MS") and a trailing outlet, agency or site name ("… The Associated Press")."""
    tokens = name.split()
    while len(tokens) > 2 and normalize(tokens[-1]).replace(".", "") in words().credentials:
        tokens.pop()
    for size in range(min(_MAX_NAME_WORDS, len(tokens) - 2), 0, -1):
        tail = " ".join(tokens[-size:])
        if lookup(tail) is not None or name_key(tail) in site_keys:
            return " ".join(tokens[:-size])
    return " ".join(tokens)


def _cut(segment: str) -> str:
    """The part of a byline segment before a word like "Published" or "Updated", or "on <date>"."""
    found = words().cut.search(segment)
    segment = segment[: found.start()] if found else segment
    dated = _ON_DATE.search(segment)
    return segment[: dated.start()] if dated else segment


def _is_person(name: str, site_keys: set[str]) -> bool:
    """Plausible person name: 1-5 words, no digits, not an outlet/agency, the site, a role or a team."""
    folded = normalize(name)
    n_words = len(name.split())
    if not 1 <= n_words <= _MAX_NAME_WORDS or _NOT_NAME_CHAR.search(name) or len(name) < 3:
        return False
    if words().role.search(folded) or words().not_name.search(folded):
        return False
    if n_words == 1 and (
        folded.replace(".", "") in words().credentials or name.isupper() or not name[:1].isupper()
    ):
        return False
    key = name_key(name)
    return lookup(name) is None and key not in site_keys and not any(k and k in key for k in site_keys)


def _undouble(name: str) -> str:
    """Collapse a name repeated back to back ("Courtney Carr Courtney Carr", from avatar + link text)."""
    tokens = name.split()
    half = len(tokens) // 2
    return (
        " ".join(tokens[:half]) if half and len(tokens) % 2 == 0 and tokens[:half] == tokens[half:] else name
    )


def _before_credit(text: str) -> str:
    """A byline without its credits for other work ("… Contributions from X", "… Photography by X")."""
    found = words().credit.search(text)
    return text[: found.start()] if found else text


def split_byline(text: str, site_keys: set[str], min_words: int = 1) -> list[str]:
    """Person names in one byline text, in order (names credited for other work left out)."""
    text = _cut(_CONTACT.sub(" ", " ".join(_before_credit(text).split())))
    names: list[str] = []
    for segment in _SEGMENT_SPLIT.split(_strip_prefix(text)):
        for part in words().joiner.split(_strip_prefix(segment)):
            name = _trim_name(_undouble(_cut(part).strip(" .:-–—'\"«»")), site_keys)
            if len(name.split()) >= min_words and _is_person(name, site_keys):
                names.append(name)
    return names


def _ld_names(value: object) -> Iterator[str]:
    """Person names in a JSON-LD `author` value (string, object or list); organisations skipped."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _ld_names(item)
    elif isinstance(value, dict) and "organization" not in str(value.get("@type", "")).lower():
        name = value.get("name")
        if isinstance(name, str):
            yield name
        elif isinstance(name, list):
            yield from (n for n in name if isinstance(n, str))


def json_ld_author_strings(doc: lxml.html.HtmlElement) -> list[str]:
    """Author strings of the first JSON-LD article that names any."""
    for item in json_ld_articles(doc):
        found = list(_ld_names(item.get("author") or item.get("creator")))
        if found:
            return found
    return []


def meta_author_strings(doc: lxml.html.HtmlElement) -> list[str]:
    """Author strings from meta tags (URLs, e.g. Facebook profile links in article:author, skipped)."""
    tags = meta_tags(doc)
    for key in _META_AUTHOR:
        found = [content for content in tags.get(key, ()) if content and "://" not in content]
        if found:
            return found
    return []


def _byline_region(doc: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The headline's surroundings: up to four levels above the first h1, never above <body>."""
    region = doc.find(".//h1")
    for _ in range(4):
        parent = region.getparent() if region is not None else None
        if parent is None or parent.tag == "html":
            break
        region = parent
    return region


def _element_texts(region: lxml.html.HtmlElement | None) -> list[tuple[lxml.html.HtmlElement, str]]:
    """Byline/author elements of the headline's region with their short texts (the whole page is
    trafilatura's job)."""
    if region is None:
        return []
    out: list[tuple[lxml.html.HtmlElement, str]] = []
    for el in _BYLINE_XPATH(region)[: _MAX_BYLINE_ELEMENTS * 2]:
        named = el.find(".//*[@itemprop='name']")
        text = " ".join(" ".join((named if named is not None else el).itertext()).split())
        if 3 <= len(text) <= _MAX_BYLINE_CHARS and not in_page_margins(el):
            out.append((el, text))
        if len(out) >= _MAX_BYLINE_ELEMENTS:
            break
    return out


def main_byline(elements: list[tuple[lxml.html.HtmlElement, str]]) -> list[str]:
    """Byline texts without author cards: a class on `_CARD_REPEATS` or more elements is a list of teasers."""
    classes = Counter(el.get("class") for el, _ in elements if el.get("class"))
    return [text for el, text in elements if classes[el.get("class")] < _CARD_REPEATS]


def credited_elsewhere(texts: list[str], site_keys: set[str]) -> set[str]:
    """Keys of names a byline credits for other work ("Contributions from X", "Photography by X")."""
    keys: set[str] = set()
    for text in texts:
        for found in words().credit.finditer(text):
            keys |= {_key(n) for n in split_byline(text[found.end() :], site_keys)}
    return keys


def visible_byline(texts: list[str], site_keys: set[str]) -> list[str]:
    """Names of the first byline text near the headline that starts with "By" (or another prefix)."""
    for text in texts:
        if words().prefix.match(normalize(text)):
            names = split_byline(text, site_keys, 2)
            if names:
                return names
    return []


def _from_text(text: str) -> list[str]:
    """A byline with an explicit prefix ("By …", «بقلم …», «نویسنده: …») in the first lines of the body."""
    lines = [line.strip() for line in text.splitlines() if line.strip()][:_FIRST_LINES]
    return [
        line for line in lines if len(line) <= _MAX_BYLINE_CHARS and words().prefix.match(normalize(line))
    ]


def _site_keys(site_name: str | None) -> set[str]:
    """Comparison keys of the site's own name (and its known aliases)."""
    if not site_name:
        return set()
    known = lookup(site_name)
    names = [site_name, *((known.name, *known.aliases) if known else ())]
    return {name_key(n) for n in names} - {""}


def _key(name: str) -> str:
    """Comparison key of a person name ("Ayeesha-Walsh" equals "Ayeesha Walsh")."""
    return name_key(name).replace(" ", "")


def _dedupe(names: list[str]) -> list[str]:
    """Drop repeated names (compared by name key)."""
    seen: dict[str, str] = {}
    for name in names:
        key = _key(name)
        if key not in seen:
            seen[key] = name
    return list(seen.values())


def extract_authors(
    doc: lxml.html.HtmlElement,
    *,
    text: str,
    hints: dict[str, Any],
    site_name: str | None,
    byline_selector: str | None = None,
    byline_pattern: re.Pattern[str] | None = None,
) -> list[str]:
    """Person names credited as authors of the page, deduplicated, in page order."""
    site_keys = _site_keys(site_name)
    for raws in (_selected_texts(doc, byline_selector), _pattern_matches(byline_pattern, text)):
        names = _names(raws, site_keys, 1)
        if names:
            return names  # the outlet's own configuration is taken as it is
    region = _byline_region(doc)
    elements = _element_texts(region)
    texts = [t for _, t in elements]
    # (source, fewest words per name): one-word names found in page text are too often noise.
    sources: list[tuple[Callable[[], list[str]], int]] = [
        (lambda: json_ld_author_strings(doc), 1),
        (lambda: meta_author_strings(doc), 1),
        (lambda: main_byline(elements), 2),
        (lambda: _from_region_text(region), 2),
        (lambda: _from_text(text), 2),
        # trafilatura's guess: one-word guesses are section or topic links ("Manga", "Politics") too often
        (lambda: [a for a in re.split(r"\s*;\s*", str(hints.get("author") or "")) if a], 2),
    ]
    for source, min_words in sources:
        names = _names(source(), site_keys, min_words)
        if names:
            return _reconciled(names, texts, site_keys)
    return []


def _names(raws: list[str], site_keys: set[str], min_words: int) -> list[str]:
    """Person names in several byline texts, deduplicated."""
    return _dedupe([n for raw in raws for n in split_byline(raw, site_keys, min_words)])


def _reconciled(names: list[str], texts: list[str], site_keys: set[str]) -> list[str]:
    """Names checked against the visible byline: co-authors it adds kept, names it credits for other work dropped.

    JSON-LD often lists only the first of several bylined authors (CNN, GameSpot), or every contributor with
    the author (Future plc sites: "By A Contributions from B").
    """
    shown = visible_byline(texts, site_keys)
    if len(shown) > len(names) and {_key(n) for n in names} <= {_key(n) for n in shown}:
        names = shown
    credited = credited_elsewhere(texts, site_keys)
    return [n for n in names if _key(n) not in credited] or names


def _from_region_text(region: lxml.html.HtmlElement | None) -> list[str]:
    """Loose "By …" texts near the headline that sit in no author element ("<small>…</small> by Jane Doe")."""
    if region is None:
        return []
    out: list[str] = []
    for el in region.iter(lxml.etree.Element):
        linked = el.tag == "a" or next(el.iterancestors("a"), None) is not None
        for chunk in (None if linked or el.tag in ("script", "style") else el.text, el.tail):
            line = " ".join((chunk or "").split())
            if 4 <= len(line) <= _MAX_BYLINE_CHARS and words().prefix.match(normalize(line)):
                out.append(line)
    # a capitalised name, so that a sentence starting with "by" or "door" is not read as a byline
    return [line for line in out if all(not w[:1].islower() for w in _strip_prefix(line).split()[:2])]


def _selected_texts(doc: lxml.html.HtmlElement, selector: str | None) -> list[str]:
    """Texts of the elements matched by a per-source byline selector."""
    return [" ".join(el.text_content().split()) for el in doc.cssselect(selector)] if selector else []


def _pattern_matches(pattern: re.Pattern[str] | None, text: str) -> list[str]:
    """Per-source byline regex applied to the body text: its first group (or whole match)."""
    if pattern is None:
        return []
    found = pattern.search(text)
    return [found.group(1) if found and pattern.groups else found.group(0)] if found else []
