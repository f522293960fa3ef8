"""Edits of one article: a content hash that ignores whitespace, and revision rows with a short diff summary."""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from datetime import datetime

from sqlalchemy.orm import Session

from storage.models import ArticleRevision, ArticleRow

# Zero-width characters and bidi controls that CMSes add or drop between fetches (U+200B-200F, U+202A-202E,
# U+2066-2069, BOM): invisible, so not an edit.
_INVISIBLES = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_WHITESPACE = re.compile(r"\s+")
# Paragraphs are separated by line breaks in extracted text (trafilatura, the Article dataclass).
_PARAGRAPH_BREAK = re.compile(r"\n\s*")


def _canonical_text(text: str | None) -> str:
    """NFKC, invisibles dropped, whitespace collapsed: two texts that read the same compare equal."""
    text = _INVISIBLES.sub("", unicodedata.normalize("NFKC", text or ""))
    return _WHITESPACE.sub(" ", text).strip()


def content_hash(title: str | None, text: str) -> str:
    """sha256 hex of the title and text, insensitive to whitespace, invisibles and Unicode compatibility forms."""
    payload = f"{_canonical_text(title)}\x1f{_canonical_text(text)}"
    return hashlib.sha256(payload.encode()).hexdigest()


def paragraphs(text: str | None) -> list[str]:
    """The text's non-empty paragraphs, each with whitespace collapsed."""
    return [p for p in (_canonical_text(x) for x in _PARAGRAPH_BREAK.split(text or "")) if p]


def _plural(count: int, word: str) -> str:
    """'1 paragraph', '2 paragraphs'."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def diff_summary(old_title: str | None, old_text: str, new_title: str | None, new_text: str) -> str:
    """A short account of an edit, e.g. '+2 paragraphs, −1 paragraph, 1 paragraph edited, title changed'."""
    added = removed = edited = 0
    matcher = difflib.SequenceMatcher(a=paragraphs(old_text), b=paragraphs(new_text), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":
            edited += min(i2 - i1, j2 - j1)
            added += max(0, (j2 - j1) - (i2 - i1))
            removed += max(0, (i2 - i1) - (j2 - j1))
        elif tag == "insert":
            added += j2 - j1
        elif tag == "delete":
            removed += i2 - i1
    parts = [f"+{_plural(added, 'paragraph')}"] if added else []
    parts += [f"−{_plural(removed, 'paragraph')}"] if removed else []
    parts += [f"{_plural(edited, 'paragraph')} edited"] if edited else []
    parts += ["title changed"] if _canonical_text(old_title) != _canonical_text(new_title) else []
    return ", ".join(parts) or "text changed"


def record_revision(
    session: Session,
    article: ArticleRow,
    *,
    title: str | None,
    text: str,
    new_hash: str,
    fetched_at: datetime,
) -> ArticleRevision | None:
    """Keep the article's current text as a revision row if the new one differs; bump `article.revision`.

    The row carries the old revision number, title, text, hash and fetch time; its `diff_summary` describes the
    change from it to the new text. The caller then copies the new fields onto the article; this function sets
    `article.fetched_at` to the new fetch time. Returns None (and changes nothing) when the hash is unchanged.
    """
    if new_hash == article.content_hash:
        return None
    revision = ArticleRevision(
        article_id=article.id,
        revision=article.revision,
        title=article.title,
        text=article.text,
        content_hash=article.content_hash,
        diff_summary=diff_summary(article.title, article.text, title, text),
        fetched_at=article.fetched_at,
    )
    session.add(revision)
    article.revision += 1
    article.fetched_at = fetched_at
    return revision
