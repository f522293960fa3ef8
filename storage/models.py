"""SQLAlchemy 2.0 models: the schema's source of truth (Alembic migrations are generated from it).

All instants are UTC (`UTCDateTime`); article dates keep the outlet's own offset (`LocalDateTime`) with a UTC
twin for sorting and filtering.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import JSONType, LocalDateTime, UTCDateTime

# Constraint names are stable across backends and Alembic migrations (Alembic "naming conventions").
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Integer primary keys that are 64-bit on PostgreSQL and still ROWID aliases on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Source(Base):
    """An outlet, mirrored from the sources file (the file stays the source of truth)."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))
    timezone: Mapped[str | None] = mapped_column(String(64))
    homepage: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    feeds: Mapped[list[Feed]] = relationship(back_populates="source")


class Feed(Base):
    """One polled URL of a source (RSS/Atom feed, sitemap or listing page) and its polling state."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="feed")
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_not_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_class: Mapped[str | None] = mapped_column(String(32))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    # Scheduling (monitor.scheduling.policy): the decision of the last poll.
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    poll_reason: Mapped[str | None] = mapped_column(String(16))
    seen_share: Mapped[float | None] = mapped_column(Float)
    last_body_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Switched off (with the time) when the server sent a changed body under unchanged validators.
    conditional_get: Mapped[bool] = mapped_column(default=True, server_default=true())
    conditional_get_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When `monitor run --stale-alert` announced this feed's current stale episode (NULL: not stale, or not
    # announced yet); kept here so a restarted scheduler does not announce it again.
    stale_announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    source: Mapped[Source] = relationship(back_populates="feeds")


class ArticleRow(Base):
    """One canonical article; every URL that led to it is an `ArticleURL` alias."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    lede: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSONType, default=list)
    published_at: Mapped[datetime | None] = mapped_column(LocalDateTime)
    published_at_utc: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    modified_at: Mapped[datetime | None] = mapped_column(LocalDateTime)
    language: Mapped[str | None] = mapped_column(String(8), index=True)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    top_image: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    original_source: Mapped[str | None] = mapped_column(Text)
    agency: Mapped[str | None] = mapped_column(Text)
    translator: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    extractor_version: Mapped[str] = mapped_column(String(32))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    revision: Mapped[int] = mapped_column(default=1)
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("story_clusters.id", ondelete="SET NULL", use_alter=True), index=True
    )

    source: Mapped[Source] = relationship()
    urls: Mapped[list[ArticleURL]] = relationship(back_populates="article", cascade="all, delete-orphan")


class ArticleURL(Base):
    """A canonicalised URL under which an article is known (entry link, fetched URL, rel=canonical)."""

    __tablename__ = "article_urls"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    article: Mapped[ArticleRow] = relationship(back_populates="urls")


class StoryCluster(Base):
    """Near-duplicate copies of one story across outlets; knows where it was seen first."""

    __tablename__ = "story_clusters"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    first_article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE", use_alter=True)
    )
    first_source_id: Mapped[str] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    size: Mapped[int] = mapped_column(default=1)


class ArticleRevision(Base):
    """An earlier text of an article that was edited after we first stored it."""

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column()
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    diff_summary: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedEntry(Base):
    """One entry seen in a feed; links the feed to the article URL it announced."""

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("feed_id", "guid"), Index("ix_feed_entries_key", "key"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Digest of the entry's title, summary and content as last announced (monitor.feeds.entry_digest).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What became of the linked page: pending, stored, not_article, refused (for good) or failed (retried).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)


class FetchLog(Base):
    """One fetch or parse outcome (success or failure with its error class): the feed-health record."""

    __tablename__ = "fetch_log"
    __table_args__ = (Index("ix_fetch_log_source_at", "source_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source_id: Mapped[str | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[int | None] = mapped_column(Integer)
    error_class: Mapped[str | None] = mapped_column(String(32), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    new_items: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The feature modules' tables join this one metadata (Alembic and create_all see every table).
from storage import alert_models, capture_models, dedup_models, workflow_models  # noqa: E402,F401
