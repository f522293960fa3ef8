"""Raw captures: keep the fetched bytes of each article page (zstd), find them again, prune them.

Settings:
- ``MONITOR_CAPTURE_RETENTION``: how long captures are kept (``90d``; unset: forever). Applied by
  `monitor captures prune` and at the end of each crawl.

Why in the database rather than WARC files: docs/architecture.md, "Raw captures".
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.config import parse_duration
from monitor.items import EntryContext, PageItem
from monitor.urls import url_key
from storage.capture_models import CaptureRow
from storage.models import ArticleRow, ArticleURL, utcnow
from storage.store import EXTRACTOR_VERSION, Store

# Python ≥ 3.14 has zstd in the standard library; before that Scrapy already depends on the backport.
if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

RETENTION_ENV = "MONITOR_CAPTURE_RETENTION"
CODEC = "zstd"
# zstd level 9: the corpus' news pages (mean 151 KiB) shrink 5.1× at ~11-17 ms each on a loaded 2-core machine;
# level 3: 4.7× at ~5 ms, level 19: 5.4× at ~430 ms, gzip -6: 4.7× (measured for this choice).
ZSTD_LEVEL = 9


def compress(body: bytes) -> bytes:
    """The body as stored."""
    return bytes(zstd.compress(body, level=ZSTD_LEVEL))


def decompress(codec: str, data: bytes) -> bytes:
    """A stored body back as fetched; an unknown codec is an error naming it."""
    if codec != CODEC:
        raise ValueError(f"capture compressed with unknown codec {codec!r}")
    return bytes(zstd.decompress(data))


def retention(environ: dict[str, str] | None = None) -> timedelta | None:
    """MONITOR_CAPTURE_RETENTION as a duration (None: keep captures forever)."""
    raw = (os.environ if environ is None else environ).get(RETENTION_ENV, "").strip()
    if not raw:
        return None
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise ValueError(f"environment variable {RETENTION_ENV}: {exc}") from None


def _jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601, tuples as lists (for the context column)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def page_context(page: PageItem) -> dict[str, Any]:
    """What the extractor gets besides the bytes, JSON-ready."""
    entry = {f.name: _jsonable(getattr(page.entry, f.name)) for f in dataclasses.fields(page.entry)}
    return {"entry": entry, "default_tz": page.default_tz, "extract_overrides": page.extract_overrides}


def entry_from_context(context: dict[str, Any]) -> EntryContext:
    """The EntryContext stored with a capture."""
    raw = dict(context["entry"])
    for key in ("published", "updated"):
        raw[key] = datetime.fromisoformat(raw[key]) if raw.get(key) else None
    raw["authors"], raw["tags"] = tuple(raw.get("authors") or ()), tuple(raw.get("tags") or ())
    return EntryContext(**raw)


def capture_values(page: PageItem) -> dict[str, Any]:
    """The captures row of a fetched page."""
    return {
        "key": url_key(page.url),
        "url": page.url,
        "source_id": page.entry.source_id,
        "status": page.status,
        "headers": dict(page.headers),
        "compression": CODEC,
        "body": compress(page.body),
        "size": len(page.body),
        "sha256": hashlib.sha256(page.body).hexdigest(),
        "fetched_at": page.fetched_at,
        "extractor_version": EXTRACTOR_VERSION,
        "context": page_context(page),
        "stored_at": utcnow(),
    }


def insert_captures(session: Session, pages: Sequence[PageItem]) -> int:
    """Insert captures, ignoring a body already kept for that URL; returns how many were new."""
    if not pages:
        return 0
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(CaptureRow).on_conflict_do_nothing(index_elements=["key", "sha256"])
    stmt = stmt.returning(CaptureRow.id)  # a row comes back only when it was inserted
    return sum(session.execute(stmt.values(**capture_values(page))).scalar() is not None for page in pages)


def save_captures(store: Store, pages: Sequence[PageItem]) -> int:
    """Keep the raw capture of each page in one transaction; returns how many were new."""
    with store.transaction() as session:
        return insert_captures(session, pages)


def prune(store: Store, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete captures fetched more than `older_than` ago; returns how many."""
    cutoff = (now or utcnow()) - older_than
    with store.transaction() as session:
        result = session.execute(delete(CaptureRow).where(CaptureRow.fetched_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def latest_capture_ids(session: Session, article_ids: Sequence[int]) -> dict[int, int]:
    """Article id → id of its newest capture (matched through any of the article's URL keys)."""
    rows = session.execute(
        select(ArticleURL.article_id, CaptureRow.id, CaptureRow.fetched_at)
        .join(CaptureRow, CaptureRow.key == ArticleURL.key)
        .where(ArticleURL.article_id.in_(article_ids))
        .order_by(ArticleURL.article_id, CaptureRow.fetched_at, CaptureRow.id)
    )
    return {article_id: capture_id for article_id, capture_id, _at in rows}


def reextract_targets(
    session: Session, since: datetime | None, source_ids: Sequence[str]
) -> list[tuple[int, int]]:
    """(article id, id of its newest capture) for the articles matching the filters that have a capture."""
    stmt = select(ArticleRow.id).order_by(ArticleRow.id)
    if since is not None:
        stmt = stmt.where(ArticleRow.fetched_at >= since)
    if source_ids:
        stmt = stmt.where(ArticleRow.source_id.in_(source_ids))
    ids = list(session.scalars(stmt))
    found: list[tuple[int, int]] = []
    for start in range(0, len(ids), 500):
        latest = latest_capture_ids(session, ids[start : start + 500])
        found += sorted(latest.items())
    return found


def capture_stats(session: Session) -> tuple[int, int, int]:
    """(number of captures, raw bytes, stored bytes)."""
    count, raw, stored = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(CaptureRow.size), 0),
            func.coalesce(func.sum(func.length(CaptureRow.body)), 0),
        )
    ).one()
    return int(count), int(raw), int(stored)
