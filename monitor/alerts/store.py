"""Alert queries in one place: store matches (one notification per watch per story), list, test windows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from monitor.alerts.channels import AlertView
from monitor.alerts.matcher import Document, Match
from monitor.alerts.watches import Watch
from storage.alert_models import PENDING, REASON_SAME_STORY, AlertDelivery, AlertRow
from storage.models import ArticleRow, Source

# A delivery still failing after this long is marked expired (kept, visible in `monitor alerts list`).
DELIVERY_TTL = timedelta(days=3)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def digest_due(now: datetime, every: timedelta) -> datetime:
    """The end of the digest window holding `now` (windows aligned on the epoch, so matches group)."""
    windows = (now - _EPOCH) // every + 1
    return _EPOCH + windows * every


def enqueue(session: Session, alert: AlertRow, watch: Watch, now: datetime) -> list[AlertDelivery]:
    """One pending delivery per channel of the watch: due now (instant) or at the digest window's end."""
    due = digest_due(now, watch.digest_interval) if watch.mode == "digest" else now
    rows = [
        AlertDelivery(
            alert_id=alert.id,
            channel=channel,
            mode=watch.mode,
            status=PENDING,
            next_attempt_at=due,
            expires_at=due + DELIVERY_TTL,
            created_at=now,
        )
        for channel in dict.fromkeys(watch.channels)
    ]
    session.add_all(rows)
    return rows


def story_key(article: ArticleRow) -> str:
    """`cluster:<id>` for clustered articles, else `article:<id>`."""
    return f"cluster:{article.cluster_id}" if article.cluster_id else f"article:{article.id}"


def article_document(article: ArticleRow) -> Document:
    """What the matcher sees of a stored article."""
    return Document(article.title or "", article.text or "", article.language, article.source_id)


def _story_notified(session: Session, watch: str, article: ArticleRow) -> bool:
    """Has this watch already notified this story (same key, or any article now in the same cluster)?"""
    same_story = AlertRow.story_key == story_key(article)
    if article.cluster_id:
        same_story = or_(same_story, ArticleRow.cluster_id == article.cluster_id)
    query = (
        select(AlertRow.id)
        .join(ArticleRow, ArticleRow.id == AlertRow.article_id)
        .where(AlertRow.watch == watch, AlertRow.notified, same_story)
        .limit(1)
    )
    return session.scalar(query) is not None


def _exists(session: Session, watch: str, article_id: int) -> bool:
    """Is (watch, article) already stored?"""
    query = select(AlertRow.id).where(AlertRow.watch == watch, AlertRow.article_id == article_id)
    return session.scalar(query) is not None


def _store_one(
    session: Session, article: ArticleRow, match: Match, watch: Watch, now: datetime
) -> AlertRow | None:
    """Add the alert row (and its deliveries when it notifies); None when already stored."""
    if _exists(session, match.watch, article.id):
        return None
    notify = not _story_notified(session, match.watch, article)
    row = AlertRow(
        watch=match.watch,
        article_id=article.id,
        cluster_id=article.cluster_id,
        story_key=story_key(article),
        matched_terms=list(match.terms),
        snippet=match.snippet,
        field=match.field,
        notified=notify,
        reason=None if notify else REASON_SAME_STORY,
        created_at=now,
    )
    session.add(row)
    session.flush()
    if notify:
        enqueue(session, row, watch, now)
    return row


def store_matches(
    session: Session,
    article: ArticleRow,
    matches: Sequence[Match],
    watches: Mapping[str, Watch],
    now: datetime,
) -> list[AlertRow]:
    """Store the matches of one article and commit; a concurrent writer's notification wins (retried once)."""
    for attempt in (1, 2):
        try:
            rows = [_store_one(session, article, m, watches[m.watch], now) for m in matches]
            session.commit()
            return [r for r in rows if r is not None]
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def alert_view(alert: AlertRow, sources: Mapping[str, str]) -> AlertView:
    """The message view of a stored alert."""
    a = alert.article
    return AlertView(
        watch=alert.watch,
        title=a.title or a.url,
        source=sources.get(a.source_id, a.source_id),
        url=a.url,
        snippet=alert.snippet,
        terms=tuple(alert.matched_terms),
        original_source=a.original_source,
        published_at=a.published_at,
        language=a.language,
        article_id=a.id,
        cluster_id=a.cluster_id,
    )


def source_names(session: Session, ids: set[str]) -> dict[str, str]:
    """Source display names by id."""
    if not ids:
        return {}
    return dict(session.execute(select(Source.id, Source.name).where(Source.id.in_(ids))).all())


def list_alerts(
    session: Session, *, watch: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[AlertRow]:
    """Newest alerts first, with article and deliveries loaded."""
    query = select(AlertRow).options(selectinload(AlertRow.article), selectinload(AlertRow.deliveries))
    if watch:
        query = query.where(AlertRow.watch == watch)
    if since:
        query = query.where(AlertRow.created_at >= since)
    return list(session.scalars(query.order_by(AlertRow.created_at.desc(), AlertRow.id.desc()).limit(limit)))


def articles_since(session: Session, since: datetime, batch: int = 500) -> Iterator[ArticleRow]:
    """Stored articles fetched since an instant, oldest first, read in short transactions of `batch` rows."""
    last = 0
    while True:
        query = select(ArticleRow).where(ArticleRow.fetched_at >= since, ArticleRow.id > last)
        page = list(session.scalars(query.order_by(ArticleRow.id).limit(batch)))
        session.expunge_all()
        session.commit()  # never hold a transaction (a write lock on SQLite) while the caller works
        if not page:
            return
        last = page[-1].id
        yield from page


def deliveries_of(session: Session, ids: Sequence[int]) -> list[AlertDelivery]:
    """Delivery rows by id with their alerts and articles loaded."""
    query = (
        select(AlertDelivery)
        .where(AlertDelivery.id.in_(ids))
        .options(selectinload(AlertDelivery.alert).selectinload(AlertRow.article))
        .order_by(AlertDelivery.id)
    )
    return list(session.scalars(query))
