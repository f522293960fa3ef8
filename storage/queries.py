"""Read-side queries for the CLI, export and web views (the write side lives in `storage.store`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from monitor.scheduling.policy import PollPolicy, is_stale, rhythm_seconds
from storage.models import ArticleRow, ArticleURL, Feed, FeedEntry, FetchLog, Source, StoryCluster, utcnow

# How far back `sources status` looks for a feed's rhythm (gaps between its entries).
RHYTHM_WINDOW = timedelta(days=30)


@dataclass(slots=True, frozen=True)
class ArticleFilter:
    """Filters shared by `items list`, `export` and the web inbox."""

    source_ids: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: datetime | None = None
    limit: int | None = None
    ids: tuple[int, ...] = ()


def _filtered(flt: ArticleFilter) -> Select[Any]:  # Select is typed differently in SQLAlchemy 2.0 and 2.1
    """SELECT articles matching a filter, newest first (by publication, else fetch time)."""
    stmt = select(ArticleRow)
    if flt.ids:
        stmt = stmt.where(ArticleRow.id.in_(flt.ids))
    if flt.source_ids:
        stmt = stmt.where(ArticleRow.source_id.in_(flt.source_ids))
    if flt.languages:
        stmt = stmt.where(ArticleRow.language.in_(flt.languages))
    if flt.since is not None:
        stmt = stmt.where(ArticleRow.fetched_at >= flt.since)
    newest = func.coalesce(ArticleRow.published_at_utc, ArticleRow.fetched_at)
    stmt = stmt.order_by(newest.desc(), ArticleRow.id.desc())
    return stmt.limit(flt.limit) if flt.limit else stmt


def list_articles(session: Session, flt: ArticleFilter) -> Sequence[ArticleRow]:
    """Articles matching the filter, newest first."""
    return session.scalars(_filtered(flt)).all()


def iter_articles(session: Session, flt: ArticleFilter, batch: int = 500) -> Iterator[ArticleRow]:
    """Stream articles for export without loading them all."""
    yield from session.scalars(_filtered(flt).execution_options(yield_per=batch))


def feed_urls(session: Session, article_ids: Sequence[int]) -> dict[int, list[str]]:
    """The URLs of the feeds whose entries pointed at each article."""
    rows = session.execute(
        select(ArticleURL.article_id, Feed.url)
        .join(FeedEntry, FeedEntry.key == ArticleURL.key)
        .join(Feed, Feed.id == FeedEntry.feed_id)
        .where(ArticleURL.article_id.in_(article_ids))
        .distinct()
    )
    found: dict[int, list[str]] = defaultdict(list)
    for article_id, url in rows:
        if url not in found[article_id]:
            found[article_id].append(url)
    return {k: sorted(v) for k, v in found.items()}


def aliases(session: Session, article_ids: Sequence[int]) -> dict[int, list[str]]:
    """Every URL under which each article is known."""
    found: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(ArticleURL.article_id, ArticleURL.url)
        .where(ArticleURL.article_id.in_(article_ids))
        .order_by(ArticleURL.added_at, ArticleURL.url)
    )
    for article_id, url in rows:
        found[article_id].append(url)
    return found


def source_names(session: Session) -> dict[str, str]:
    """Source id → display name."""
    return dict(session.execute(select(Source.id, Source.name)).all())


def cluster_first(session: Session, cluster_ids: Sequence[int]) -> dict[int, int]:
    """Cluster id → its first-seen article id."""
    rows = session.execute(
        select(StoryCluster.id, StoryCluster.first_article_id).where(StoryCluster.id.in_(cluster_ids))
    )
    return dict(rows.all())


@dataclass(slots=True)
class FeedHealth:
    """One row of `monitor sources status`."""

    source_id: str
    feed_url: str
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_not_modified_at: datetime | None
    last_error_at: datetime | None
    last_error_class: str | None
    last_error_message: str | None
    consecutive_failures: int
    errors_by_class: dict[str, int]
    items_24h: int = 0
    items_7d: int = 0
    last_new_at: datetime | None = None
    seen_share: float | None = None
    interval_seconds: int | None = None
    next_poll_at: datetime | None = None
    poll_reason: str | None = None
    disabled_at: datetime | None = None
    conditional_get: bool = True
    conditional_get_off_at: datetime | None = None
    rhythm_seconds: float | None = None
    stale: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = {k: getattr(self, k) for k in self.__slots__}
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


@dataclass(slots=True)
class _EntryStats:
    """Per-feed entry counts and times, read once for all feeds."""

    items_24h: int = 0
    items_7d: int = 0
    last_new_at: datetime | None = None
    times: list[datetime] = field(default_factory=list)


def _error_counts(session: Session) -> dict[int, dict[str, int]]:
    """Feed id → error class → count, from the fetch log."""
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(FetchLog.feed_id, FetchLog.error_class, func.count())
        .where(FetchLog.error_class.is_not(None))
        .group_by(FetchLog.feed_id, FetchLog.error_class)
    )
    for feed_id, error_class, n in rows:
        if feed_id is not None and error_class is not None:
            counts[feed_id][error_class] = n
    return counts


def _entry_stats(session: Session, now: datetime) -> dict[int, _EntryStats]:
    """Feed id → entries first seen in the last 24 h / 7 d, newest first-seen time, recent entry times."""
    found: dict[int, _EntryStats] = defaultdict(_EntryStats)
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    counts = session.execute(
        select(
            FeedEntry.feed_id,
            func.sum(case((FeedEntry.first_seen_at >= day, 1), else_=0)),
            func.sum(case((FeedEntry.first_seen_at >= week, 1), else_=0)),
            func.max(FeedEntry.first_seen_at),
        ).group_by(FeedEntry.feed_id)
    )
    for feed_id, n_day, n_week, newest in counts:
        found[feed_id] = _EntryStats(int(n_day or 0), int(n_week or 0), newest)
    when = func.coalesce(FeedEntry.published_at, FeedEntry.first_seen_at)
    recent = session.execute(
        select(FeedEntry.feed_id, when).where(FeedEntry.first_seen_at >= now - RHYTHM_WINDOW)
    )
    for feed_id, at in recent:
        if at is not None:
            found[feed_id].times.append(at)
    return found


def feed_health(session: Session, now: datetime | None = None) -> list[FeedHealth]:
    """Per-feed health and schedule, failing feeds first, with error counts by class from the fetch log and a
    `stale` flag (nothing new for longer than STALE_FACTOR × the feed's usual rhythm)."""
    now = now or utcnow()
    counts, entries = _error_counts(session), _entry_stats(session, now)
    feeds = session.scalars(select(Feed).order_by(Feed.consecutive_failures.desc(), Feed.source_id, Feed.url))
    return [_health(f, counts.get(f.id, {}), entries.get(f.id, _EntryStats()), now) for f in feeds]


def _health(f: Feed, errors: dict[str, int], entries: _EntryStats, now: datetime) -> FeedHealth:
    """One feed's health row."""
    rhythm = rhythm_seconds(entries.times)
    interval = f.interval_seconds or PollPolicy().default_interval
    stale = is_stale(now, entries.last_new_at, rhythm, interval) if f.last_success_at else None
    return FeedHealth(
        f.source_id,
        f.url,
        f.last_polled_at,
        f.last_success_at,
        f.last_not_modified_at,
        f.last_error_at,
        f.last_error_class,
        f.last_error_message,
        f.consecutive_failures,
        errors,
        items_24h=entries.items_24h,
        items_7d=entries.items_7d,
        last_new_at=entries.last_new_at,
        seen_share=f.seen_share,
        interval_seconds=f.interval_seconds,
        next_poll_at=f.next_poll_at,
        poll_reason=f.poll_reason,
        disabled_at=f.disabled_at,
        conditional_get=f.conditional_get,
        conditional_get_off_at=f.conditional_get_off_at,
        rhythm_seconds=rhythm,
        stale=stale,
    )


def cluster_members_brief(
    session: Session, cluster_id: int, exclude: int | None = None
) -> list[dict[str, Any]]:
    """The other articles of a story cluster: id, source, title, URL, fetch time."""
    rows = session.scalars(
        select(ArticleRow).where(ArticleRow.cluster_id == cluster_id).order_by(ArticleRow.id)
    )
    return [
        {
            "id": r.id,
            "source_id": r.source_id,
            "title": r.title,
            "url": r.url,
            "fetched_at": r.fetched_at.isoformat(),
        }
        for r in rows
        if r.id != exclude
    ]


@dataclass(slots=True)
class ClusterBrief:
    """One row of `monitor clusters list`."""

    id: int
    size: int
    first_seen_at: datetime
    first_source_id: str
    first_article_id: int
    title: str | None
    sources: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = {k: getattr(self, k) for k in self.__slots__}
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in out.items()}


def list_clusters(
    session: Session, since: datetime | None = None, min_size: int = 2, limit: int | None = 50
) -> list[ClusterBrief]:
    """Story clusters, newest first: size, first-seen article and source, and every source that carried it."""
    query = select(StoryCluster, ArticleRow.title).join(
        ArticleRow, ArticleRow.id == StoryCluster.first_article_id
    )
    query = query.where(StoryCluster.size >= min_size).order_by(StoryCluster.first_seen_at.desc())
    if since is not None:
        query = query.where(StoryCluster.first_seen_at >= since)
    rows = session.execute(query.limit(limit)).all()
    carried: dict[int, set[str]] = defaultdict(set)
    members = select(ArticleRow.cluster_id, ArticleRow.source_id).where(
        ArticleRow.cluster_id.in_([c.id for c, _ in rows])
    )
    for cluster_id, source_id in session.execute(members):
        if cluster_id is not None:
            carried[cluster_id].add(source_id)
    return [
        ClusterBrief(c.id, c.size, c.first_seen_at, c.first_source_id, c.first_article_id, title,
                     sorted(carried[c.id]))
        for c, title in rows
    ]  # fmt: skip
