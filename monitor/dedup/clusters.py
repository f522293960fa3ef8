"""Story clusters: persisted MinHash LSH lookup, verification and cluster membership, inside the writer's
transaction.

Concurrency: every assignment first takes a database-wide lock so that lookup and insert are one step for all
crawler processes sharing the database: a transaction-scoped advisory lock on PostgreSQL
(`pg_advisory_xact_lock`), the write lock of `BEGIN IMMEDIATE` on SQLite (opened by `storage.db`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import LargeBinary, bindparam, delete, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from monitor.dedup.fingerprint import (
    Fingerprint,
    band_hashes,
    fingerprint,
    is_near_duplicate,
    signature_bytes,
    signature_from_bytes,
    similarity,
)
from monitor.dedup.settings import DedupSettings
from storage.dedup_models import DedupBand, DedupSignature
from storage.models import ArticleRow, StoryCluster, utcnow
from storage.types import UTCDateTime

DEFAULT_SETTINGS = DedupSettings()
# One advisory lock key for cluster assignment (first 8 bytes of sha256 of the name, as a signed bigint).
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"monitor.dedup.assign_cluster").digest()[:8], "big", signed=True
)


@dataclass(frozen=True, slots=True)
class Match:
    """A verified near-duplicate already stored."""

    article_id: int
    cluster_id: int
    jaccard: float


def lock_for_assignment(session: Session) -> None:
    """Serialise cluster assignment across processes until the transaction ends (PostgreSQL advisory lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


@lru_cache(maxsize=8)
def _candidates_sql(bands: int, marker: str) -> str:
    """Stored articles sharing at least one band, most shared bands first, with their signatures.

    Driver-level SQL with one `(band_no, band_hash)` pair per band, positional parameters in the driver's style
    (`?` or `%s`): SQLite (multi-index OR) and PostgreSQL (bitmap OR) both answer it from the primary key, and
    SQLAlchemy's per-parameter processing of the 2 × bands values cost more than the query itself.
    """
    pairs = " OR ".join([f"(band_no = {marker} AND band_hash = {marker})"] * bands)
    return (
        "SELECT s.article_id, s.signature, s.num_words, s.num_shingles, a.cluster_id"
        f" FROM (SELECT article_id, count(*) AS hits FROM dedup_bands WHERE {pairs} GROUP BY article_id) AS c"
        " JOIN dedup_signatures AS s ON s.article_id = c.article_id"
        " JOIN articles AS a ON a.id = c.article_id"
        f" WHERE c.article_id != {marker} AND s.scheme = {marker} AND a.cluster_id IS NOT NULL"
        f" ORDER BY c.hits DESC, c.article_id LIMIT {marker}"
    )


def _marker(session: Session) -> str:
    """The driver's positional parameter marker."""
    return "?" if session.connection().dialect.paramstyle == "qmark" else "%s"


def find_match(session: Session, article_id: int, fp: Fingerprint, settings: DedupSettings) -> Match | None:
    """The most similar stored article that passes the near-duplicate rule, if any."""
    params: list[int | str] = [x for band in band_hashes(fp.signature, settings) for x in band]
    params += [article_id, settings.scheme, settings.max_candidates]
    rows = session.connection().exec_driver_sql(
        _candidates_sql(settings.bands, _marker(session)), tuple(params)
    )
    best: Match | None = None
    for other_id, raw, num_words, num_shingles, cluster_id in rows:
        sim = similarity(fp, Fingerprint(signature_from_bytes(bytes(raw)), num_words, num_shingles))
        if is_near_duplicate(sim, settings) and (best is None or sim.jaccard > best.jaccard):
            best = Match(other_id, cluster_id, sim.jaccard)
    return best


_DELETE_BAND = "DELETE FROM dedup_bands WHERE band_no = {0} AND band_hash = {0} AND article_id = {0}"


@lru_cache(maxsize=8)
def _insert_bands_sql(bands: int, marker: str) -> str:
    """One multi-row INSERT for all bands of a signature (one round trip; psycopg's executemany sent one each)."""
    return "INSERT INTO dedup_bands (band_no, band_hash, article_id) VALUES " + ", ".join(
        [f"({marker}, {marker}, {marker})"] * bands
    )


def _insert_bands(session: Session, article_id: int, bands: list[tuple[int, int]]) -> None:
    """Insert the band rows of one article."""
    params = tuple(x for no, h in bands for x in (no, h, article_id))
    session.connection().exec_driver_sql(_insert_bands_sql(len(bands), _marker(session)), params)


_SELECT_SIGNATURE = text("SELECT scheme, content_hash, signature FROM dedup_signatures WHERE article_id = :a")
# Hot-path statements as prepared text: building the ORM constructs per call cost more than executing them.
_INSERT_SIGNATURE = text(
    "INSERT INTO dedup_signatures (article_id, scheme, content_hash, num_words, num_shingles, signature, computed_at)"
    " VALUES (:article_id, :scheme, :content_hash, :num_words, :num_shingles, :signature, :computed_at)"
).bindparams(bindparam("computed_at", type_=UTCDateTime), bindparam("signature", type_=LargeBinary))
_NEW_CLUSTER = text(
    "INSERT INTO story_clusters (first_article_id, first_source_id, first_seen_at, size)"
    " VALUES (:article_id, :source_id, :seen_at, 1) RETURNING id"
).bindparams(bindparam("seen_at", type_=UTCDateTime))
_SET_ARTICLE_CLUSTER = text("UPDATE articles SET cluster_id = :cluster_id WHERE id = :article_id")
_GROW_CLUSTER = text("UPDATE story_clusters SET size = size + 1 WHERE id = :cluster_id")
_EARLIER_FIRST = text(
    "UPDATE story_clusters SET first_article_id = :article_id, first_source_id = :source_id,"
    " first_seen_at = :seen_at WHERE id = :cluster_id AND first_seen_at > :seen_at"
).bindparams(bindparam("seen_at", type_=UTCDateTime))


def _stored_signature(session: Session, article_id: int) -> tuple[str, str, bytes] | None:
    """(scheme, content hash, signature) stored for an article, if any."""
    row = session.execute(_SELECT_SIGNATURE, {"a": article_id}).first()
    return None if row is None else (row[0], row[1], bytes(row[2]))


def _delete_bands(
    session: Session, article_id: int, scheme: str, raw: bytes, settings: DedupSettings
) -> None:
    """Remove the LSH bands of a stored signature (by primary key; a foreign scheme is removed by scan)."""
    if scheme != settings.scheme:
        session.execute(delete(DedupBand).where(DedupBand.article_id == article_id))
    else:
        rows = [(no, h, article_id) for no, h in band_hashes(signature_from_bytes(raw), settings)]
        session.connection().exec_driver_sql(_DELETE_BAND.format(_marker(session)), rows)


def store_fingerprint(
    session: Session,
    article: ArticleRow,
    fp: Fingerprint,
    settings: DedupSettings,
    previous: tuple[str, str, bytes] | None = None,
) -> None:
    """Insert the article's signature and LSH bands, replacing `previous` (its stored scheme, hash, signature)."""
    values = {
        "scheme": settings.scheme,
        "content_hash": article.content_hash,
        "num_words": fp.num_words,
        "num_shingles": fp.num_shingles,
        "signature": signature_bytes(fp.signature),
        "computed_at": utcnow(),
    }
    if previous is None:
        session.execute(_INSERT_SIGNATURE, {"article_id": article.id, **values})
    else:
        _delete_bands(session, article.id, previous[0], previous[2], settings)
        session.execute(
            update(DedupSignature).where(DedupSignature.article_id == article.id).values(**values)
        )
    _insert_bands(session, article.id, band_hashes(fp.signature, settings))


def forget_article(session: Session, article_id: int, settings: DedupSettings | None = None) -> None:
    """Remove an article's signature and bands (before deleting the article, or when its text became short)."""
    stored = _stored_signature(session, article_id)
    if stored is not None:
        _delete_bands(session, article_id, stored[0], stored[2], settings or DEFAULT_SETTINGS)
        session.execute(delete(DedupSignature).where(DedupSignature.article_id == article_id))


def _set_cluster(session: Session, article: ArticleRow, cluster_id: int | None) -> None:
    """Write the article's cluster at once and mark it clean (no unit-of-work round for one column)."""
    session.execute(_SET_ARTICLE_CLUSTER, {"cluster_id": cluster_id, "article_id": article.id})
    set_committed_value(article, "cluster_id", cluster_id)


def _new_cluster(session: Session, article: ArticleRow) -> int:
    """A cluster whose first item is this article."""
    params = {
        "article_id": article.id,
        "source_id": article.source_id,
        "seen_at": article.fetched_at or utcnow(),
    }
    cluster_id: int = session.execute(_NEW_CLUSTER, params).scalar_one()
    _set_cluster(session, article, cluster_id)
    return cluster_id


def _join(session: Session, article: ArticleRow, cluster_id: int) -> int:
    """Add the article to a cluster; it becomes the cluster's first item if we fetched it earlier."""
    session.execute(_GROW_CLUSTER, {"cluster_id": cluster_id})
    if article.fetched_at is not None:
        params = {"article_id": article.id, "source_id": article.source_id, "seen_at": article.fetched_at}
        session.execute(_EARLIER_FIRST, {"cluster_id": cluster_id, **params})
    _set_cluster(session, article, cluster_id)
    return cluster_id


def place_in_cluster(session: Session, article: ArticleRow, match: Match | None) -> int:
    """Put the article in the matched cluster or a new one; an already clustered article moves only if alone."""
    current = article.cluster_id
    if current is None:
        return _join(session, article, match.cluster_id) if match else _new_cluster(session, article)
    if match is None or match.cluster_id == current:
        return current
    size = session.scalar(select(StoryCluster.size).where(StoryCluster.id == current))
    if size is not None and size > 1:
        return current
    _set_cluster(session, article, None)
    session.execute(delete(StoryCluster).where(StoryCluster.id == current))
    return _join(session, article, match.cluster_id)


def assign_cluster(session: Session, article: ArticleRow, settings: DedupSettings | None = None) -> int:
    """Fingerprint the article's text, find a near-duplicate through the band index, and set its cluster.

    Idempotent: calling it again for unchanged text changes nothing; after a revision the fingerprint is
    replaced and the article stays in its cluster unless it was alone and now matches another one.
    Texts shorter than `settings.min_words` words get (or keep) a cluster of their own without any lookup.
    """
    settings = settings or DEFAULT_SETTINGS
    lock_for_assignment(session)
    session.flush()
    stored = _stored_signature(session, article.id)
    if (
        article.cluster_id is not None
        and stored is not None
        and stored[:2] == (settings.scheme, article.content_hash)
    ):
        return article.cluster_id
    fp = fingerprint(article.text or "", settings)
    if fp.num_words < settings.min_words:
        forget_article(session, article.id, settings)
        return article.cluster_id if article.cluster_id is not None else _new_cluster(session, article)
    match = find_match(session, article.id, fp, settings)
    store_fingerprint(session, article, fp, settings, stored)
    return place_in_cluster(session, article, match)


def cluster_members(session: Session, cluster_id: int) -> list[ArticleRow]:
    """The articles of a cluster, first fetched first."""
    query = (
        select(ArticleRow)
        .where(ArticleRow.cluster_id == cluster_id)
        .order_by(ArticleRow.fetched_at, ArticleRow.id)
    )
    return list(session.scalars(query))
