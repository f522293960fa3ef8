"""Raw captures: the fetched bytes of each article page, compressed, with headers, fetch time and extractor version.

Captures are keyed by the URL identity key (`monitor.urls.url_key`) shared with `article_urls.key`, so a capture
is found from any alias of its article; one row per distinct body (`sha256`), so a re-fetch of an unchanged page
adds nothing. Why the database and not WARC files: docs/architecture.md, "Raw captures".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigIntPK, utcnow
from storage.types import JSONType, UTCDateTime


class CaptureRow(Base):
    """One fetched article page as it came off the wire (body compressed)."""

    __tablename__ = "captures"
    __table_args__ = (
        UniqueConstraint("key", "sha256"),
        Index("ix_captures_key_fetched_at", "key", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[int] = mapped_column()
    headers: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    compression: Mapped[str] = mapped_column(String(8))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    extractor_version: Mapped[str] = mapped_column(String(32))
    # What the extractor was given besides the bytes: entry context, time zone, per-source overrides.
    context: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
