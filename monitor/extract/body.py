"""Our layer over trafilatura's body text: keep the standfirst, drop navigation lines, split disclaimers to notes.

The body is one paragraph (or heading, or list item) per line, lines joined by a single "\\n", no empty lines.
"""

from __future__ import annotations

import re

import lxml.html

from monitor.extract.lexicon import fold, lexicon
from monitor.extract.meta import clean

# Lines that only name a navigation action are short; longer lines starting the same way are prose.
MAX_DROP_WORDS = 14
# Disclaimers and editor's notes are a sentence or three.
MAX_NOTE_WORDS = 90
# Standfirst (dek) containers by class/id: `standfirst`, `dek`, `subtitle`, `sub-headline`, `summary`, `lede`,
# `intro`, `strapline`, `excerpt`, `description` (WordPress themes, Arc, Guardian, BBC, Al Jazeera, Arabic CMSes).
_STANDFIRST_NAMES = (
    "standfirst", "dek", "subtitle", "sub-title", "subheadline", "sub-headline", "summary", "lede", "intro",
    "strapline", "excerpt", "description", "teaser",
)  # fmt: skip
_STANDFIRST_XPATH = "|".join(
    f"//{tag}[contains(@class, '{name}')]" for tag in ("p", "h2", "div", "span") for name in _STANDFIRST_NAMES
)
# A standfirst candidate must repeat the page's meta description (share of its words), so sidebars' teasers
# of other stories are not taken.
DESCRIPTION_AGREEMENT = 0.8
STANDFIRST_WORDS = (8, 80)
# The headline is sometimes repeated in the first lines of trafilatura's text; never further down.
HEADLINE_LINES = 3
# Newsletter prompts: a line naming a newsletter (or inbox) and asking to sign up / subscribe.
MAX_PROMO_WORDS = 45
_NEWSLETTER = re.compile(r"newsletter|inbox|النشرة البريدية|خبرنامه|bülten|ניוזלטר", re.I)
_SIGN_UP = re.compile(r"sign up|subscribe|register|اشترك|سجل|عضو|abone|הירשמו", re.I)
# Articles split into several sibling containers with the same class (ad slots between them): look this many
# levels above the first paragraph for such twins, and take their paragraphs of at least this many words.
CHUNK_LEVELS = 3
CHUNK_MIN_WORDS = 8
CHUNK_MIN_PARAGRAPHS = 2  # a lone paragraph in a twin container is a teaser or an author bio
MAX_LINK_SHARE = 0.3
_WORD = re.compile(r"\w+")
_BLANK_LINES = re.compile(r"\s*\n\s*")


def split_lines(text: str) -> list[str]:
    """Body text as a list of non-empty, whitespace-collapsed lines."""
    return [clean(line) for line in _BLANK_LINES.split(text or "") if clean(line)]


def is_note(line: str) -> bool:
    """A disclaimer, translation note or editor's note."""
    return len(line.split()) <= MAX_NOTE_WORDS and fold(line).startswith(lexicon().notes)


def is_promo(line: str) -> bool:
    """A newsletter or subscription prompt ("Sign up for our free daily newsletter…")."""
    return len(line.split()) <= MAX_PROMO_WORDS and bool(_NEWSLETTER.search(line) and _SIGN_UP.search(line))


def is_dropped(line: str, tag_lines: frozenset[str]) -> bool:
    """A navigation line (related links, share bar, tag list, newsletter prompt) or the page's tags."""
    if fold(line) in tag_lines or is_promo(line):
        return True
    return len(line.split()) <= MAX_DROP_WORDS and fold(line).startswith(lexicon().drop)


def clean_body(text: str, tags: list[str], title: str | None = None) -> tuple[list[str], list[str]]:
    """Split body text into (kept lines, notes); the headline repeated at the top is dropped too."""
    tag_lines = frozenset(fold(t) for t in tags) | frozenset({fold(" ".join(tags)), fold(", ".join(tags))})
    kept: list[str] = []
    notes: list[str] = []
    for index, line in enumerate(split_lines(text)):
        if index < HEADLINE_LINES and title and _words_key(line) == _words_key(title):
            continue
        if is_note(line):
            notes.append(line)
        elif not is_dropped(line, tag_lines):
            kept.append(line)
    return kept, notes


def _words_key(text: str) -> str:
    """Comparison key ignoring case, punctuation and spacing."""
    return " ".join(_WORD.findall(text.casefold()))


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.casefold()))


def covered(snippet: str, lines: list[str]) -> bool:
    """True when most words of `snippet` already appear in the first lines of the body."""
    words = _words(snippet)
    head = _words(" ".join(lines[:4]))
    return bool(words) and len(words & head) >= 0.7 * len(words)


def _agrees_with(text: str, description: str) -> bool:
    """Most words of the element text also appear in the meta description, and vice versa."""
    a, b = _words(text), _words(description)
    return bool(a and b) and min(len(a & b) / len(a), len(a & b) / len(b)) >= DESCRIPTION_AGREEMENT


def find_standfirst(doc: lxml.html.HtmlElement, description: str | None) -> str | None:
    """The visible standfirst/dek: a marked-up element that repeats the page's meta description."""
    if not description:
        return None
    low, high = STANDFIRST_WORDS
    for element in doc.xpath(_STANDFIRST_XPATH):
        text = clean(element.text_content())
        if low <= len(text.split()) <= high and _agrees_with(text, description):
            return text
    return None


def with_lede(lines: list[str], standfirst: str | None) -> tuple[list[str], str | None]:
    """Prepend the standfirst when trafilatura dropped it; the lede is the standfirst or the first line."""
    if standfirst and not covered(standfirst, lines) and not is_note(standfirst):
        return [standfirst, *lines], standfirst
    if standfirst:
        return lines, standfirst
    return lines, (lines[0] if lines else None)


def selector_text(elements: list[lxml.html.HtmlElement]) -> str:
    """Body text of the elements an outlet's `body_selector` picks: one line per paragraph-like block."""
    blocks: list[str] = []
    for element in elements:
        paragraphs = element.xpath(".//p | .//h2 | .//h3 | .//li | .//blockquote")
        if not paragraphs:
            paragraphs = [element]
        blocks.extend(clean(p.text_content()) for p in paragraphs)
    return "\n".join(b for b in blocks if b)


def _signature(element: lxml.html.HtmlElement) -> tuple[str, str]:
    return element.tag, " ".join((element.get("class") or "").split())


def _anchor_paragraph(doc: lxml.html.HtmlElement, lines: list[str]) -> lxml.html.HtmlElement | None:
    """The `<p>` that holds one of the first body lines (where trafilatura took the text from)."""
    wanted = {_words_key(line) for line in lines[:3] if len(line.split()) >= CHUNK_MIN_WORDS}
    for paragraph in doc.iter("p"):
        if _words_key(paragraph.text_content()) in wanted:
            return paragraph
    return None


def _link_share(paragraph: lxml.html.HtmlElement, text: str) -> float:
    """Share of a paragraph's characters that sit inside links."""
    linked = sum(len(clean(a.text_content())) for a in paragraph.iter("a"))
    return linked / len(text) if text else 1.0


def _chunk_paragraphs(element: lxml.html.HtmlElement, seen: set[str]) -> list[str]:
    """Running-text paragraphs of a sibling chunk that the body does not have yet (none if fewer than two)."""
    found = []
    for paragraph in element.iter("p"):
        text = clean(paragraph.text_content())
        key = _words_key(text)
        if (
            len(text.split()) >= CHUNK_MIN_WORDS
            and key not in seen
            and _link_share(paragraph, text) < MAX_LINK_SHARE
        ):
            seen.add(key)
            found.append(text)
    return found if len(found) >= CHUNK_MIN_PARAGRAPHS else []


def continuation(doc: lxml.html.HtmlElement, lines: list[str]) -> list[str]:
    """Paragraphs from later sibling chunks of the body's container (articles split by ads into chunks)."""
    paragraph = _anchor_paragraph(doc, lines)
    if paragraph is None:
        return []
    seen = {_words_key(line) for line in lines}
    container = paragraph.getparent()
    for _level in range(CHUNK_LEVELS):
        if container is None or container.getparent() is None:
            return []
        signature = _signature(container)
        if signature[1]:
            twins = [e for e in container.itersiblings() if _signature(e) == signature]
            if twins:
                return [text for twin in twins for text in _chunk_paragraphs(twin, seen)]
        container = container.getparent()
    return []
