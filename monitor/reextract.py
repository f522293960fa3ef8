"""Rebuild articles from their raw captures with the current extractor (no network), and report what changed.

Each article is re-extracted from its newest capture with the time zone and per-source overrides kept with the
capture, and updated through the pipeline's own revision logic (`monitor.dedup.record_revision`), so an earlier
text is kept as a revision, exactly as when an outlet edits a story.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor import dedup
from monitor.article import Article
from monitor.captures import decompress, entry_from_context, reextract_targets
from monitor.items import ArticleItem
from monitor.pipelines import _charset
from storage.capture_models import CaptureRow
from storage.models import ArticleRow
from storage.store import Store, _apply_article

# The article fields compared before and after re-extraction (the report lists each that changed).
COMPARED = (
    "title", "lede", "text", "authors", "published_at", "modified_at", "language", "tags",
    "original_source", "agency", "translator", "site_name", "top_image",
)  # fmt: skip


@dataclass(slots=True)
class ArticleChange:
    """What re-extraction changed on one article."""

    article_id: int
    url: str
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    revision: int | None = None
    not_article: str | None = None


def _header(headers: dict[str, str], name: str) -> str | None:
    """A response header, case-insensitively."""
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def extract_capture(capture: CaptureRow) -> Article:
    """Run the current extractor on a stored capture, with the context it was fetched in."""
    from monitor.extract import ExtractOverrides, extract_article

    ctx = capture.context or {}
    overrides = ctx.get("extract_overrides")
    tz = ctx.get("default_tz")
    return extract_article(
        decompress(capture.compression, capture.body),
        capture.url,
        overrides=ExtractOverrides.from_mapping(overrides) if overrides else None,
        default_tz=ZoneInfo(tz) if tz else None,
        headers_charset=_charset(_header(capture.headers or {}, "Content-Type")),
    )


def snapshot(row: ArticleRow) -> dict[str, Any]:
    """The compared fields of a row (lists copied)."""
    return {name: (list(v) if isinstance(v := getattr(row, name), list) else v) for name in COMPARED}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose value changed: name → (before, after)."""
    return {k: (before[k], after[k]) for k in COMPARED if before[k] != after[k]}


def reextract_one(store: Store, article_id: int, capture_id: int, *, dry_run: bool = False) -> ArticleChange:
    """Re-extract one article from one capture in its own transaction (rolled back on a dry run)."""
    with store.sessions() as session:
        row = session.get_one(ArticleRow, article_id)
        capture = session.get_one(CaptureRow, capture_id)
        article = extract_capture(capture)
        change = ArticleChange(article_id, row.url)
        if not article.is_article:
            change.not_article = article.not_article_reason or "not an article"
            return change
        before = snapshot(row)
        change.revision = _update(session, row, capture, article)
        change.changes = diff(before, snapshot(row))
        if dry_run:
            session.rollback()
        else:
            session.commit()
        return change


def _update(session: Any, row: ArticleRow, capture: CaptureRow, article: Article) -> int | None:
    """Apply a fresh extraction through the revision logic; the new revision number if the text changed."""
    item = ArticleItem(entry_from_context(capture.context), capture.url, article, capture.fetched_at)
    new_hash = dedup.content_hash(article.title, article.text)
    revision = dedup.record_revision(
        session, row, title=article.title, text=article.text, new_hash=new_hash, fetched_at=capture.fetched_at
    )
    _apply_article(row, item, new_hash)
    if revision is not None:
        dedup.assign_cluster(session, row)
        return row.revision
    return None


def reextract(
    store: Store, since: datetime | None = None, source_ids: Sequence[str] = (), *, dry_run: bool = False
) -> Iterator[ArticleChange]:
    """Re-extract every matching article that has a capture, oldest first."""
    with store.sessions() as session:
        targets = reextract_targets(session, since, source_ids)
    for article_id, capture_id in targets:
        yield reextract_one(store, article_id, capture_id, dry_run=dry_run)
