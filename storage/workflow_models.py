"""Translation workflow tables: one workflow row per story, its audit trail, and imported translations.

A story is its cluster when the article has one (`story_key` ``cluster:<id>``), else the article itself
(``article:<id>``), so marking any member of a cluster marks the whole story once; ``article_id`` is the copy
the desk chose to translate (the one exported). Every change appends a `WorkflowEvent`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigIntPK, utcnow
from storage.types import UTCDateTime

# The statuses of the translation hand-off; the allowed moves between them are in `monitor.workflow`.
STATUSES = ("new", "selected", "in_translation", "translated", "published", "rejected")


class WorkflowRow(Base):
    """The translation state of one story (cluster or lone article)."""

    __tablename__ = "workflow"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    story_key: Mapped[str] = mapped_column(String(40), unique=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    priority: Mapped[int] = mapped_column(default=0)
    assignee: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(100))


class WorkflowEvent(Base):
    """One change of a story's workflow: who, when, from which status to which, and why."""

    __tablename__ = "workflow_events"
    __table_args__ = (Index("ix_workflow_events_workflow_at", "workflow_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflow.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int | None] = mapped_column()
    assignee: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class TranslationRow(Base):
    """A target-language version of an article, imported from a translator's XLIFF or JSONL file."""

    __tablename__ = "translations"
    __table_args__ = (UniqueConstraint("article_id", "language"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    lede: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    source_hash: Mapped[str | None] = mapped_column(String(64))
    imported_from: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(String(100))
