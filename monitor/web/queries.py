"""Read-side queries of the review desk: the filtered inbox with counts, one item with its context, dashboards.

The inbox joins each article to its story's workflow row the way `monitor.workflow.find_workflow` finds it
(the `cluster:<id>`/`article:<id>` key first, else a row naming the article); a story without one is `new`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Date, Select, String, case, cast, func, literal, select
from sqlalchemy.orm import Session, aliased

from monitor import workflow
from monitor.web.filters import InboxFilter
from storage.alert_models import AlertDelivery, AlertRow
from storage.capture_models import CaptureRow
from storage.models import ArticleRevision, ArticleRow, ArticleURL, Feed, Source, StoryCluster
from storage.queries import FeedHealth, feed_health
from storage.search import match_condition, searchable
from storage.workflow_models import STATUSES, TranslationRow, WorkflowEvent, WorkflowRow

Ts = TypeVarTuple("Ts")

STORY_KEY = case(
    (ArticleRow.cluster_id.is_not(None), literal("cluster:") + cast(ArticleRow.cluster_id, String)),
    else_=literal("article:") + cast(ArticleRow.id, String),
)
_WF = aliased(WorkflowRow)
# The id of the article's workflow row, chosen as monitor.workflow.find_workflow chooses it: the story's key,
# else the oldest row naming the article. (Two subqueries: SQLite cannot correlate inside a subquery's ORDER BY.)
WORKFLOW_ID = func.coalesce(
    select(_WF.id).where(_WF.story_key == STORY_KEY).correlate(ArticleRow).scalar_subquery(),
    select(func.min(_WF.id)).where(_WF.article_id == ArticleRow.id).correlate(ArticleRow).scalar_subquery(),
)
STATUS = func.coalesce(WorkflowRow.status, workflow.NEW)
NEWEST = func.coalesce(ArticleRow.published_at_utc, ArticleRow.fetched_at)


def _joined(stmt: Select[*Ts]) -> Select[*Ts]:
    """Join the source, the story's workflow row and the cluster onto a SELECT over articles."""
    return (
        stmt.join(Source, Source.id == ArticleRow.source_id)
        .outerjoin(WorkflowRow, WorkflowRow.id == WORKFLOW_ID)
        .outerjoin(StoryCluster, StoryCluster.id == ArticleRow.cluster_id)
    )


def _day_start(day: date) -> datetime:
    """Midnight UTC of a day."""
    return datetime.combine(day, time(), UTC)


def _conditions(flt: InboxFilter, dialect: str, *, with_status: bool = True) -> list[Any]:
    """WHERE conditions for a filter (status optional, for the per-status counts)."""
    conds: list[Any] = []
    pairs = ((ArticleRow.source_id, flt.sources), (Source.country, flt.countries))
    conds += [col.in_(values) for col, values in pairs if values]
    if flt.languages:
        conds.append(ArticleRow.language.in_(flt.languages))
    if with_status and flt.statuses:
        conds.append(STATUS.in_(flt.statuses))
    if flt.watches:
        conds.append(ArticleRow.id.in_(select(AlertRow.article_id).where(AlertRow.watch.in_(flt.watches))))
    if flt.date_from:
        conds.append(_day_start(flt.date_from) <= NEWEST)
    if flt.date_to:
        conds.append(_day_start(flt.date_to + timedelta(days=1)) > NEWEST)
    if flt.ids:
        conds.append(ArticleRow.id.in_(flt.ids))
    if flt.q and searchable(flt.q):
        conds.append(match_condition(dialect, flt.q))
    return conds


@dataclass(slots=True)
class InboxRow:
    """One inbox line."""

    article: ArticleRow
    source_name: str
    status: str
    priority: int
    assignee: str | None
    cluster_size: int
    watches: list[str] = field(default_factory=list)


@dataclass(slots=True)
class InboxPage:
    """A page of the inbox and the counts around it."""

    rows: list[InboxRow]
    total: int
    status_counts: dict[str, int]

    @property
    def empty(self) -> bool:
        """No rows on this page."""
        return not self.rows


def _dialect(session: Session) -> str:
    """The bound database's dialect name."""
    return session.get_bind().dialect.name


def inbox(session: Session, flt: InboxFilter) -> InboxPage:
    """The filtered inbox page, newest first, with the total and per-status counts."""
    conds = _conditions(flt, _dialect(session))
    cols = (ArticleRow, Source.name, STATUS, WorkflowRow.priority, WorkflowRow.assignee, StoryCluster.size)
    stmt = _joined(select(*cols)).where(*conds).order_by(NEWEST.desc(), ArticleRow.id.desc())
    stmt = stmt.limit(flt.per_page).offset((flt.page - 1) * flt.per_page)
    rows = [
        InboxRow(a, name, st, prio or 0, who, size or 1)
        for a, name, st, prio, who, size in session.execute(stmt)
    ]
    watches = matched_watches(session, [r.article.id for r in rows])
    for row in rows:
        row.watches = watches.get(row.article.id, [])
    total = session.scalar(_joined(select(func.count(ArticleRow.id))).where(*conds)) or 0
    return InboxPage(rows, total, status_counts(session, flt))


def status_counts(session: Session, flt: InboxFilter) -> dict[str, int]:
    """How many articles of the filter (status aside) are in each workflow status."""
    conds = _conditions(flt, _dialect(session), with_status=False)
    stmt = _joined(select(STATUS, func.count(ArticleRow.id))).where(*conds).group_by(STATUS)
    found: dict[str, int] = {status: n for status, n in session.execute(stmt)}
    return {status: found.get(status, 0) for status in STATUSES}


def matching_ids(session: Session, flt: InboxFilter, limit: int) -> list[int]:
    """Ids of every article of the filter (all pages), newest first, at most `limit`."""
    conds = _conditions(flt, _dialect(session))
    stmt = _joined(select(ArticleRow.id)).where(*conds).order_by(NEWEST.desc(), ArticleRow.id.desc())
    return list(session.scalars(stmt.limit(limit)))


def matched_watches(session: Session, article_ids: Sequence[int]) -> dict[int, list[str]]:
    """Article id → the watches that matched it (sorted)."""
    found: dict[int, set[str]] = defaultdict(set)
    if article_ids:
        rows = session.execute(
            select(AlertRow.article_id, AlertRow.watch).where(AlertRow.article_id.in_(article_ids))
        )
        for article_id, watch in rows:
            found[article_id].add(watch)
    return {k: sorted(v) for k, v in found.items()}


@dataclass(slots=True)
class FilterChoices:
    """The values offered by the inbox filter form."""

    sources: list[tuple[str, str]]
    countries: list[str]
    languages: list[str]
    watches: list[str]
    statuses: tuple[str, ...] = STATUSES


def filter_choices(session: Session) -> FilterChoices:
    """Sources, countries, languages and watches present in the database."""
    sources = session.execute(select(Source.id, Source.name).order_by(Source.name)).all()
    countries = session.scalars(select(Source.country).where(Source.country.is_not(None)).distinct())
    languages = session.scalars(
        select(ArticleRow.language).where(ArticleRow.language.is_not(None)).distinct()
    )
    watches = session.scalars(select(AlertRow.watch).distinct())
    return FilterChoices(
        [(i, n) for i, n in sources],
        sorted(filter(None, countries)),
        sorted(filter(None, languages)),
        sorted(watches),
    )


# -- one item --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ItemContext:
    """Everything the item page shows besides the article itself."""

    source: Source
    workflow: WorkflowRow | None
    events: list[WorkflowEvent]
    members: list[tuple[ArticleRow, str]]
    revisions: list[ArticleRevision]
    alerts: list[AlertRow]
    deliveries: dict[int, list[AlertDelivery]]
    urls: list[str]
    captures: list[CaptureRow]
    translations: list[TranslationRow]


def _members(session: Session, article: ArticleRow) -> list[tuple[ArticleRow, str]]:
    """The other articles of the story cluster, with their source names, first seen first."""
    if article.cluster_id is None:
        return []
    stmt = (
        select(ArticleRow, Source.name)
        .join(Source, Source.id == ArticleRow.source_id)
        .where(ArticleRow.cluster_id == article.cluster_id, ArticleRow.id != article.id)
        .order_by(ArticleRow.fetched_at, ArticleRow.id)
    )
    return [(row, name) for row, name in session.execute(stmt)]


def _alerts(session: Session, article_ids: list[int]) -> list[AlertRow]:
    """Alerts on the article or any copy of its story, newest first."""
    stmt = select(AlertRow).where(AlertRow.article_id.in_(article_ids)).order_by(AlertRow.created_at.desc())
    return list(session.scalars(stmt))


def _deliveries(session: Session, alerts: list[AlertRow]) -> dict[int, list[AlertDelivery]]:
    """Alert id → its deliveries."""
    found: dict[int, list[AlertDelivery]] = defaultdict(list)
    ids = [a.id for a in alerts]
    if ids:
        rows = session.scalars(select(AlertDelivery).where(AlertDelivery.alert_id.in_(ids)))
        for d in rows:
            found[d.alert_id].append(d)
    return found


def captures_of(session: Session, article_id: int) -> list[CaptureRow]:
    """Raw captures of the article under any of its URLs, newest first."""
    keys = select(ArticleURL.key).where(ArticleURL.article_id == article_id)
    stmt = select(CaptureRow).where(CaptureRow.key.in_(keys)).order_by(CaptureRow.fetched_at.desc())
    return list(session.scalars(stmt))


def item_context(session: Session, article: ArticleRow) -> ItemContext:
    """Load the item page's context for one article."""
    wf = workflow.find_workflow(session, article)
    events = workflow.history(session, article.id)
    members = _members(session, article)
    alerts = _alerts(session, [article.id, *(m.id for m, _ in members)])
    revisions = session.scalars(
        select(ArticleRevision)
        .where(ArticleRevision.article_id == article.id)
        .order_by(ArticleRevision.revision.desc())
    )
    urls = session.scalars(
        select(ArticleURL.url).where(ArticleURL.article_id == article.id).order_by(ArticleURL.url)
    )
    translations = session.scalars(select(TranslationRow).where(TranslationRow.article_id == article.id))
    return ItemContext(
        session.get_one(Source, article.source_id),
        wf,
        list(events),
        members,
        list(revisions),
        alerts,
        _deliveries(session, alerts),
        list(urls),
        captures_of(session, article.id),
        list(translations),
    )


# -- dashboard -------------------------------------------------------------------------------------------


def _day(dialect: str) -> Any:
    """The UTC calendar day of an article's publication (else fetch) time, as SQL."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", NEWEST), Date)
    return func.date(NEWEST)


def per_day(session: Session, by: str, since: date, until: date | None = None) -> list[tuple[str, str, int]]:
    """(day, series, count) of articles per UTC day from `since` to `until` (inclusive), by source or language."""
    day = _day(_dialect(session))
    series = Source.name if by == "source" else func.coalesce(ArticleRow.language, "?")
    stmt = (
        select(day, series, func.count(ArticleRow.id))
        .join(Source, Source.id == ArticleRow.source_id)
        .where(_day_start(since) <= NEWEST)
        .group_by(day, series)
    )
    if until is not None:
        stmt = stmt.where(_day_start(until + timedelta(days=1)) > NEWEST)
    return [(str(d), str(s), int(n)) for d, s, n in session.execute(stmt)]


def newest_day(session: Session) -> date | None:
    """The UTC day of the newest article (publication, else fetch time); None for an empty database."""
    newest = session.scalar(select(func.max(NEWEST)))
    if newest is None:
        return None
    if isinstance(newest, str):  # SQLite returns the coalesced value as text
        newest = datetime.fromisoformat(newest)
    return newest.astimezone(UTC).date() if newest.tzinfo else newest.date()


def alerts_per_watch(session: Session, since: datetime) -> list[tuple[str, int, int]]:
    """(watch, matches, notified) since a time, most matches first."""
    notified = func.sum(case((AlertRow.notified, 1), else_=0))
    stmt = (
        select(AlertRow.watch, func.count(AlertRow.id), notified)
        .where(AlertRow.created_at >= since)
        .group_by(AlertRow.watch)
        .order_by(func.count(AlertRow.id).desc(), AlertRow.watch)
    )
    return [(w, int(n), int(k or 0)) for w, n, k in session.execute(stmt)]


def health_rows(session: Session) -> list[tuple[FeedHealth, datetime | None]]:
    """Feed health, failing feeds first, with each feed's next poll."""
    nexts = dict(session.execute(select(Feed.url, Feed.next_poll_at)).all())
    rows = feed_health(session)
    rows.sort(key=lambda h: (h.consecutive_failures == 0, h.last_error_class is None, h.source_id))
    return [(h, nexts.get(h.feed_url)) for h in rows]
