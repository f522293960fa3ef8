"""Deduplication: content hashes and revisions of one article, and story clusters of near-duplicates across
outlets (MinHash LSH persisted in the database).

The storage writer calls `content_hash`, `record_revision` and `assign_cluster` inside its transaction;
settings and their defaults are documented on `DedupSettings`.
"""

from monitor.dedup.clusters import (
    ADVISORY_LOCK_KEY,
    assign_cluster,
    cluster_members,
    find_match,
    forget_article,
    lock_for_assignment,
    place_in_cluster,
    store_fingerprint,
)
from monitor.dedup.fingerprint import Fingerprint, Similarity, fingerprint, is_near_duplicate, similarity
from monitor.dedup.revisions import content_hash, diff_summary, record_revision
from monitor.dedup.settings import DedupSettings

__all__ = [
    "ADVISORY_LOCK_KEY",
    "DedupSettings",
    "Fingerprint",
    "Similarity",
    "assign_cluster",
    "cluster_members",
    "content_hash",
    "diff_summary",
    "find_match",
    "fingerprint",
    "forget_article",
    "is_near_duplicate",
    "lock_for_assignment",
    "place_in_cluster",
    "record_revision",
    "similarity",
    "store_fingerprint",
]
