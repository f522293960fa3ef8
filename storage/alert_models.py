"""Alert tables: every watch match (`alerts`) and the delivery outbox (`alert_deliveries`).

One notification per watch per story: `story_key` is `cluster:<id>` (or `article:<id>` without a cluster) and a
partial unique index allows one notified alert per (watch, story_key); later copies are stored with
`notified=False` and a reason. A delivery row exists per (alert, channel) until delivered or expired.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models import Base, BigIntPK, utcnow
from storage.types import JSONType, UTCDateTime

if TYPE_CHECKING:  # storage.models imports this module at its end; the relationship resolves by name
    from storage.models import ArticleRow

# Delivery statuses (a small fixed set, like the error taxonomy).
PENDING, DELIVERED, EXPIRED = "pending", "delivered", "expired"
# Why a match did not notify.
REASON_SAME_STORY = "story_already_alerted"


class AlertRow(Base):
    """One article matched by one watch."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("watch", "article_id"),
        Index(
            "uq_alerts_watch_story_notified",
            "watch",
            "story_key",
            unique=True,
            sqlite_where=text("notified"),
            postgresql_where=text("notified"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    watch: Mapped[str] = mapped_column(String(100))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    cluster_id: Mapped[int | None] = mapped_column()
    story_key: Mapped[str] = mapped_column(String(40))
    matched_terms: Mapped[list[str]] = mapped_column(JSONType, default=list)
    snippet: Mapped[str] = mapped_column(Text, default="")
    field: Mapped[str] = mapped_column(String(8), default="text")
    notified: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    article: Mapped[ArticleRow] = relationship()
    deliveries: Mapped[list[AlertDelivery]] = relationship(
        back_populates="alert", cascade="all, delete-orphan"
    )


class AlertDelivery(Base):
    """One (alert, channel) send: pending until delivered, retried with backoff, expired after a deadline."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel"),
        Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(8), default="instant")
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    alert: Mapped[AlertRow] = relationship(back_populates="deliveries")
