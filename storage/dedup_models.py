"""Tables of near-duplicate detection: each article's MinHash signature and its LSH band index.

`dedup_bands` has no foreign key on purpose: a cascade from `articles` would need a second index on
`article_id` (doubling the largest table); bands of a deleted article are harmless because every candidate is
joined to `dedup_signatures` (which cascades), and `monitor.dedup.forget_article` removes them by primary key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, BigIntPK, utcnow
from storage.types import UTCDateTime


class DedupSignature(Base):
    """The MinHash signature of an article's current text, with the sizes the containment check needs."""

    __tablename__ = "dedup_signatures"

    article_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    scheme: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(64))
    num_words: Mapped[int] = mapped_column(Integer)
    num_shingles: Mapped[int] = mapped_column(Integer)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DedupBand(Base):
    """One LSH band of a stored signature: (band number, band hash) → article (the primary key is the index)."""

    __tablename__ = "dedup_bands"
    __table_args__ = (
        PrimaryKeyConstraint("band_no", "band_hash", "article_id"),
        {"sqlite_with_rowid": False},
    )

    band_no: Mapped[int] = mapped_column(SmallInteger)
    band_hash: Mapped[int] = mapped_column(BigInteger)
    article_id: Mapped[int] = mapped_column(BigIntPK)
