"""Search results on the desk: the words of a query and a highlighted excerpt around the first hit.

The matching itself is `storage.search` (FTS5 / PostgreSQL full text); this module only shows why a row matched.
Excerpts are returned as (text, is_hit) pieces so the template escapes every piece and marks hits itself.
"""

from __future__ import annotations

import re

# Same word shape as storage.search: runs of non-space, non-quote characters, an optional trailing `*` prefix mark.
_WORD = re.compile(r'[^\s"*]+')
EXCERPT_CHARS = 180


def query_words(query: str) -> list[str]:
    """The words of a search-box query (operators of websearch syntax dropped)."""
    return [w for w in _WORD.findall(query) if w.lower() not in ("or", "and") and not w.startswith("-")]


def _pattern(words: list[str]) -> re.Pattern[str] | None:
    """A case-insensitive pattern for any of the words (longest first), or None."""
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(alternatives, re.IGNORECASE)


def excerpt(text: str | None, query: str, width: int = EXCERPT_CHARS) -> list[tuple[str, bool]]:
    """Pieces of the text around the first hit of a query word, hits flagged; [] if no word occurs."""
    pattern = _pattern(query_words(query))
    if pattern is None or not text:
        return []
    first = pattern.search(text)
    if first is None:
        return []
    start = max(0, first.start() - width // 3)
    window = text[start : start + width]
    pieces: list[tuple[str, bool]] = [("…", False)] if start else []
    at = 0
    for hit in pattern.finditer(window):
        pieces += [(window[at : hit.start()], False), (hit.group(0), True)]
        at = hit.end()
    pieces.append((window[at:] + ("…" if start + width < len(text) else ""), False))
    return [(piece, hit) for piece, hit in pieces if piece]
