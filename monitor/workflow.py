"""The translation workflow: status moves, priority, assignee, reviewer notes, and an audit row for each change.

Statuses go ``new → selected → in_translation → translated → published``, or to ``rejected``; `TRANSITIONS`
lists every allowed move (a step back is allowed where a desk needs it, e.g. ``in_translation → selected``;
a translation imported for a ``selected`` story may skip ``in_translation``). Setting the status a story already
has is allowed: it records a note, priority or assignee change.

A story shares one workflow row: when the article belongs to a story cluster the row is keyed
``cluster:<id>``, so marking any member marks the story, and every member reports that status; the row's
``article_id`` is the copy the desk picked (the one exported for translation, switched by marking another
member). An article marked before it joined a cluster keeps its row, found through its id; the row moves to
the cluster's key at that article's next change, and from then on the other members share it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, cast, literal, or_, select
from sqlalchemy.orm import Session

from storage.models import ArticleRow, utcnow
from storage.workflow_models import STATUSES, WorkflowEvent, WorkflowRow

NEW = "new"
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"selected", "rejected"}),
    "selected": frozenset({"in_translation", "translated", "rejected", "new"}),
    "in_translation": frozenset({"translated", "selected", "rejected"}),
    "translated": frozenset({"published", "in_translation"}),
    "published": frozenset(),
    "rejected": frozenset({"new", "selected"}),
}


class WorkflowError(ValueError):
    """An unknown article, unknown status or a move the workflow does not allow."""


@dataclass(frozen=True, slots=True)
class Change:
    """What `mark` is asked to change (None: leave as is)."""

    status: str | None = None
    note: str | None = None
    priority: int | None = None
    assignee: str | None = None


def actor_name(by: str | None) -> str:
    """Who made a change: `--by`, else $USER, else the login name."""
    if by:
        return by
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError:
        return "unknown"


def story_key(article: ArticleRow) -> str:
    """The workflow key of an article's story."""
    return f"cluster:{article.cluster_id}" if article.cluster_id is not None else f"article:{article.id}"


def find_workflow(session: Session, article: ArticleRow) -> WorkflowRow | None:
    """The workflow row of an article's story (by cluster key, else by the article itself)."""
    conditions = [WorkflowRow.story_key == story_key(article), WorkflowRow.article_id == article.id]
    rows = session.scalars(select(WorkflowRow).where(or_(*conditions)).order_by(WorkflowRow.id)).all()
    keyed = [r for r in rows if r.story_key == story_key(article)]
    return next(iter(keyed or rows), None)


def check_transition(current: str, target: str, article_id: int) -> None:
    """Raise WorkflowError naming the article when `current → target` is not allowed."""
    if target not in STATUSES:
        raise WorkflowError(f"article {article_id}: unknown status {target!r} (one of {', '.join(STATUSES)})")
    if target != current and target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is final"
        raise WorkflowError(
            f"article {article_id}: cannot go from {current} to {target} (allowed: {allowed})"
        )


def _row_for(session: Session, article: ArticleRow, status: str | None) -> WorkflowRow:
    """The story's row, created (status new) when the story has none."""
    row = find_workflow(session, article)
    if row is None:
        row = WorkflowRow(story_key=story_key(article), article_id=article.id, status=NEW, priority=0)
        session.add(row)
    else:
        row.story_key = story_key(article)  # follows the article into a cluster it joined after being marked
        if status is not None:
            row.article_id = article.id  # the marked copy becomes the one to translate
    return row


def mark(session: Session, article_id: int, change: Change, actor: str) -> WorkflowEvent:
    """Apply a change to the story of an article and append its audit row (within the caller's transaction)."""
    article = session.get(ArticleRow, article_id)
    if article is None:
        raise WorkflowError(f"no article with id {article_id}")
    row = _row_for(session, article, change.status)
    before = row.status
    target = change.status or before
    check_transition(before, target, article_id)
    row.status = target
    row.priority = change.priority if change.priority is not None else row.priority
    row.assignee = change.assignee if change.assignee is not None else row.assignee
    row.note = change.note if change.note is not None else row.note
    row.updated_at, row.updated_by = utcnow(), actor
    session.flush()
    event = WorkflowEvent(
        workflow_id=row.id, article_id=article_id, at=row.updated_at, actor=actor, from_status=before,
        to_status=target, priority=change.priority, assignee=change.assignee, note=change.note,
    )  # fmt: skip
    session.add(event)
    return event


def status_of(session: Session, articles: Sequence[ArticleRow]) -> dict[int, WorkflowRow]:
    """Article id → workflow row of its story (articles without one are `new`)."""
    keys = {story_key(a) for a in articles}
    ids = [a.id for a in articles]
    rows = session.scalars(
        select(WorkflowRow).where(or_(WorkflowRow.story_key.in_(keys), WorkflowRow.article_id.in_(ids)))
    ).all()
    by_key = {r.story_key: r for r in rows}
    by_article = {r.article_id: r for r in rows}
    found = {a.id: by_key.get(story_key(a)) or by_article.get(a.id) for a in articles}
    return {k: v for k, v in found.items() if v is not None}


def chosen_articles(session: Session, status: str) -> list[int]:
    """Ids of the copies picked for translation whose story is at `status` (what `export --status` sends)."""
    if status not in STATUSES:
        raise WorkflowError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if status == NEW:
        cluster_key = literal("cluster:") + cast(ArticleRow.cluster_id, String)
        busy = select(WorkflowRow.id).where(
            WorkflowRow.status != NEW,
            or_(WorkflowRow.article_id == ArticleRow.id, WorkflowRow.story_key == cluster_key),
        )
        return list(session.scalars(select(ArticleRow.id).where(~busy.exists()).order_by(ArticleRow.id)))
    return list(session.scalars(select(WorkflowRow.article_id).where(WorkflowRow.status == status)))


def history(session: Session, article_id: int) -> list[WorkflowEvent]:
    """The audit trail of an article's story, oldest first."""
    article = session.get(ArticleRow, article_id)
    row = find_workflow(session, article) if article is not None else None
    if row is None:
        return []
    return list(session.scalars(select(WorkflowEvent).where(WorkflowEvent.workflow_id == row.id).order_by(
        WorkflowEvent.at, WorkflowEvent.id)))  # fmt: skip
