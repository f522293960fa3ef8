"""The JSONL hand-off to translation: one JSON object per article, fields documented in the README.

Field names are a contract: later versions add fields, never rename these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import IO, Any

from sqlalchemy.orm import Session

from monitor.workflow import status_of
from storage.models import ArticleRow
from storage.queries import ArticleFilter, aliases, cluster_first, feed_urls, iter_articles, source_names
from storage.workflow_models import WorkflowRow

BATCH = 500


def _batched(rows: Iterable[ArticleRow], size: int) -> Iterator[tuple[ArticleRow, ...]]:
    """Chunks of `size` rows (itertools.batched needs Python 3.12; we support 3.11)."""
    it = iter(rows)
    while chunk := tuple(islice(it, size)):
        yield chunk


def _iso(value: Any) -> str | None:
    """ISO 8601 (with offset) or None."""
    return value.isoformat() if value is not None else None


def article_record(
    row: ArticleRow,
    *,
    source_name: str | None,
    feeds: list[str],
    urls: list[str],
    first_in_cluster: bool,
    workflow: WorkflowRow | None = None,
) -> dict[str, Any]:
    """The exported JSON object of one article."""
    return {
        "id": row.id,
        "url": row.url,
        "canonical_url": row.canonical_url,
        "source_id": row.source_id,
        "source_name": source_name,
        "feed_urls": feeds,
        "title": row.title,
        "lede": row.lede,
        "text": row.text,
        "authors": list(row.authors or []),
        "published_at": _iso(row.published_at),
        "modified_at": _iso(row.modified_at),
        "language": row.language,
        "fetched_at": _iso(row.fetched_at),
        "tags": list(row.tags or []),
        "original_source": row.original_source,
        "agency": row.agency,
        "translator": row.translator,
        "notes": list(row.notes or []),
        "top_image": row.top_image,
        "cluster_id": row.cluster_id,
        "first_seen_in_cluster": first_in_cluster,
        "aliases": urls,
        "revision": row.revision,
        "status": workflow.status if workflow else "new",
        "priority": workflow.priority if workflow else 0,
        "assignee": workflow.assignee if workflow else None,
    }


def export_records(session: Session, flt: ArticleFilter) -> Iterator[dict[str, Any]]:
    """Yield export records in batches (feeds, aliases and clusters looked up per batch)."""
    names = source_names(session)
    for chunk in _batched(iter_articles(session, flt, BATCH), BATCH):
        ids = [row.id for row in chunk]
        feeds, urls = feed_urls(session, ids), aliases(session, ids)
        firsts = cluster_first(session, [r.cluster_id for r in chunk if r.cluster_id is not None])
        states = status_of(session, chunk)
        for row in chunk:
            first = row.cluster_id is None or firsts.get(row.cluster_id) == row.id
            yield article_record(
                row,
                source_name=names.get(row.source_id),
                feeds=feeds.get(row.id, []),
                urls=urls.get(row.id, []),
                first_in_cluster=first,
                workflow=states.get(row.id),
            )


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """Write records as JSON Lines (UTF-8, not ASCII-escaped); returns the count."""
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
