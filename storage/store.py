"""All reads and writes of the crawl pipeline, in one place (no SQL in spiders or pipelines).

Writes are idempotent: unique constraints plus `INSERT … ON CONFLICT` on SQLite and PostgreSQL alike, so a
re-run or a race between two crawler processes never doubles a row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, and_, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from monitor import dedup
from monitor.items import ArticleItem, EntryContext, FetchEvent, StoredArticle
from monitor.scheduling.policy import PollDecision, PollPolicy, decide
from monitor.urls import canonicalize, url_key
from storage.db import make_engine, make_sessionmaker
from storage.feed_schedule import apply_poll, poll_outcome, poll_state
from storage.models import ArticleRow, ArticleURL, Feed, FeedEntry, FetchLog, Source, utcnow

EXTRACTOR_VERSION = "monitor-0.1"
# A lost race on a unique constraint is retried this many times (the retry then sees the winner's row).
CONFLICT_RETRIES = 3
# PostgreSQL SQLSTATEs of a transaction that lost a race and can simply run again: deadlock_detected,
# serialization_failure (a batch writer and a single writer meeting on the same article and the cluster lock).
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
# Fetch events of these kinds are polls of the feed URL itself (the scheduler decides their next poll).
POLL_KINDS = frozenset({"feed", "sitemap", "listing"})
# A failed article page is fetched again on later polls of its feed (or sitemap, even once the sitemap dates
# it as old) until it has failed this many times.
ENTRY_ATTEMPTS = 3
# Feed URLs per IN (...) query when reading the schedule of many feeds.
URL_CHUNK = 500


# An entry whose page is still to fetch: a crawl stopped before fetching it, or it failed fewer than
# ENTRY_ATTEMPTS times.
_UNFINISHED = or_(
    FeedEntry.status == "pending",
    and_(FeedEntry.status == "failed", FeedEntry.attempts < ENTRY_ATTEMPTS),
)


@dataclass(slots=True, frozen=True)
class EntryVersion:
    """What a feed last said about a known entry: its `updated` time and content digest."""

    updated: datetime | None
    content_hash: str | None


class SourceLike(Protocol):
    """The fields of a configured source the store mirrors."""

    id: str
    name: str
    language: str
    country: str | None
    timezone: str | None
    enabled: bool

    @property
    def homepage(self) -> Any: ...
    def polled(self) -> Iterable[tuple[str, str, Any]]: ...


@dataclass(slots=True, frozen=True)
class FeedState:
    """Validators remembered from a feed's last successful fetch, and what the next request must do."""

    feed_id: int
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    conditional_get: bool = True
    last_body_at: datetime | None = None
    last_success_at: datetime | None = None


logger = logging.getLogger("monitor.db")


class Store:
    """The crawl pipeline's database gateway, bound to one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = make_sessionmaker(engine)
        self.schema_message: str | None = None
        # Near-duplicate thresholds of story clustering (the crawler sets them from MONITOR_DEDUP).
        self.dedup_settings = dedup.DedupSettings()

    @classmethod
    def from_url(cls, url: str, *, create: bool = True) -> Store:
        """Open the database at `url`; by default create or upgrade its schema to the newest migration first
        (what was done, if anything, is logged and kept in `schema_message`)."""
        store = cls(make_engine(url))
        if create:
            store.schema_message = store.create_schema()
            if store.schema_message:
                logger.warning("%s", store.schema_message)
        return store

    def create_schema(self) -> str | None:
        """Bring the schema to the newest Alembic revision (an empty database is created by the migrations,
        never by `create_all`); a one-line message when something was done, else None."""
        from storage import migrate

        return migrate.ensure_schema(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one committed-or-rolled-back transaction."""
        with self.sessions() as session, session.begin():
            yield session

    def _insert(self, session: Session, model: Any) -> Any:
        """A dialect-specific INSERT (of a model or a table) that supports ON CONFLICT."""
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        return dialect.insert(model)

    # -- sources and feeds -------------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable[SourceLike]) -> None:
        """Mirror the configured sources and their polled URLs (feeds, sitemaps, listing pages) into the
        database (upsert; nothing deleted; a URL moved to another kind takes the new kind). Reads what is
        stored first and writes only what differs, so an unchanged sources file costs two queries."""
        with self.transaction() as session:
            columns = [getattr(Source, name) for name in _SOURCE_FIELDS]
            stored = {row[0]: tuple(row[1:]) for row in session.execute(select(Source.id, *columns))}
            kinds: dict[str, str] = {url: kind for url, kind in session.execute(select(Feed.url, Feed.kind))}
            changed_sources, changed_feeds = [], []
            for src in sources:
                values = _source_values(src)
                if stored.get(src.id) != tuple(values.values()):
                    changed_sources.append({"id": src.id, **values})
                for kind, url, _ in src.polled():
                    if kinds.get(str(url)) != kind:
                        changed_feeds.append({"source_id": src.id, "url": str(url), "kind": kind})
            now = utcnow()
            if changed_sources:
                stmt = self._insert(session, Source.__table__)
                update = {name: stmt.excluded[name] for name in _SOURCE_FIELDS} | {"updated_at": now}
                rows = [row | {"created_at": now, "updated_at": now} for row in changed_sources]
                session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=update), rows)
            if changed_feeds:
                feed = self._insert(session, Feed.__table__)
                session.execute(
                    feed.on_conflict_do_update(index_elements=["url"], set_={"kind": feed.excluded.kind}),
                    changed_feeds,
                )

    def feed_state(self, feed_url: str) -> FeedState | None:
        """Validators for conditional GET and the last body hash of a feed."""
        return self.feed_states([feed_url]).get(feed_url)

    def feed_states(self, feed_urls: Iterable[str]) -> dict[str, FeedState]:
        """feed_state of many feeds in a few queries (a crawl reads them all at its start)."""
        urls = list(dict.fromkeys(feed_urls))
        states: dict[str, FeedState] = {}
        with self.sessions() as session:
            for chunk in _chunks(urls):
                for feed in session.scalars(select(Feed).where(Feed.url.in_(chunk))):
                    states[feed.url] = _state(feed)
        return states

    def with_unfinished_entries(self, feed_urls: Iterable[str]) -> set[str]:
        """The feed URLs that have unfinished entries (see unfinished_entries), in a few queries."""
        urls = list(dict.fromkeys(feed_urls))
        stored = exists().where(ArticleURL.key == FeedEntry.key)
        found: set[str] = set()
        with self.sessions() as session:
            for chunk in _chunks(urls):
                stmt = (
                    select(Feed.url)
                    .join(FeedEntry, FeedEntry.feed_id == Feed.id)
                    .where(Feed.url.in_(chunk), _UNFINISHED, ~stored)
                    .distinct()
                )
                found.update(session.scalars(stmt))
        return found

    def unfinished_entries(self, feed_url: str) -> list[EntryContext]:
        """Entries of a feed whose page is not stored yet: pending (a crawl stopped before fetching them), or
        failed fewer than ENTRY_ATTEMPTS times. Fetched again on the next poll, even when the feed is a 304."""
        unfinished = _UNFINISHED
        stored = exists().where(ArticleURL.key == FeedEntry.key)
        stmt = (
            select(Feed.source_id, FeedEntry)
            .join(Feed, Feed.id == FeedEntry.feed_id)
            .where(Feed.url == feed_url, unfinished, ~stored)
            .order_by(FeedEntry.id)
        )
        with self.sessions() as session:
            return [
                EntryContext(source_id, feed_url, e.url, e.guid, e.title, e.published_at, e.updated_at)
                for source_id, e in session.execute(stmt)
            ]

    def poll_schedule(self, feed_urls: Iterable[str]) -> dict[str, datetime | None]:
        """Next poll time of each feed URL (None: never polled, or not in the database yet)."""
        urls = list(dict.fromkeys(feed_urls))
        found: dict[str, datetime | None] = dict.fromkeys(urls)
        with self.sessions() as session:
            for chunk in _chunks(urls):
                found.update(
                    session.execute(select(Feed.url, Feed.next_poll_at).where(Feed.url.in_(chunk))).all()
                )
        return found

    def due_feed_urls(self, feed_urls: Iterable[str], now: datetime) -> set[str]:
        """The feed URLs whose next poll time has passed or that were never polled."""
        return {url for url, at in self.poll_schedule(feed_urls).items() if at is None or at <= now}

    def stale_announced(self) -> set[str]:
        """URLs of the feeds whose current stale episode was already announced."""
        with self.sessions() as session:
            return set(session.scalars(select(Feed.url).where(Feed.stale_announced_at.is_not(None))))

    def mark_stale_announced(self, announced: Iterable[str], recovered: Iterable[str]) -> None:
        """Remember the feeds just announced as stale, and forget the ones that recovered."""
        now = utcnow()
        with self.transaction() as session:
            for urls, value in ((list(recovered), None), (list(announced), now)):
                for chunk in _chunks(urls):
                    session.execute(update(Feed).where(Feed.url.in_(chunk)).values(stale_announced_at=value))

    # -- entries ---------------------------------------------------------------------------------------------

    def known_keys(self, urls: Iterable[str]) -> set[str]:
        """Identity keys of the URLs that need no fetch: stored articles and pages known not to be articles."""
        keys = {url_key(u) for u in urls}
        if not keys:
            return set()
        with self.sessions() as session:
            stored = set(session.scalars(select(ArticleURL.key).where(ArticleURL.key.in_(keys))))
            skipped = session.scalars(
                select(FeedEntry.key).where(FeedEntry.key.in_(keys), FeedEntry.status == "not_article")
            )
            return stored | set(skipped)

    def unfinished_guids(self, feed_url: str) -> set[str]:
        """GUIDs this feed announced whose page is not stored yet (pending, or failed under ENTRY_ATTEMPTS)."""
        with self.sessions() as session:
            stmt = select(FeedEntry.guid).join(Feed, Feed.id == FeedEntry.feed_id)
            return set(session.scalars(stmt.where(Feed.url == feed_url, _UNFINISHED)))

    def mark_entries(self, url: str, status: str) -> None:
        """Record what became of the page behind every entry pointing at `url` (counts attempts)."""
        with self.transaction() as session:
            session.execute(
                update(FeedEntry)
                .where(FeedEntry.key == url_key(url))
                .values(status=status, attempts=FeedEntry.attempts + 1)
            )

    def record_entries(self, entries: Sequence[EntryContext]) -> int:
        """Upsert feed entries; returns how many were new for their feed."""
        if not entries:
            return 0
        with self.transaction() as session:
            feed_ids = self._feed_ids(session, {e.feed_url for e in entries})
            new = 0
            for e in entries:
                values = {
                    "feed_id": feed_ids[e.feed_url],
                    "guid": e.guid,
                    "url": e.entry_url,
                    "key": url_key(e.entry_url),
                    "title": e.title,
                    "published_at": e.published,
                    "updated_at": e.updated,
                    "content_hash": e.content_hash,
                }
                stmt = self._insert(session, FeedEntry).values(
                    **values, first_seen_at=utcnow(), last_seen_at=utcnow()
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["feed_id", "guid"],
                    set_={
                        "last_seen_at": utcnow(),
                        "updated_at": stmt.excluded.updated_at,
                        "content_hash": stmt.excluded.content_hash,
                    },
                )
                new += self._is_new_entry(session, feed_ids[e.feed_url], e.guid)
                session.execute(stmt)
            return new

    def _is_new_entry(self, session: Session, feed_id: int, guid: str) -> int:
        """1 if the feed has never announced this GUID, else 0."""
        found = session.scalar(
            select(FeedEntry.id).where(FeedEntry.feed_id == feed_id, FeedEntry.guid == guid)
        )
        return int(found is None)

    def entry_updates(self, feed_url: str, guids: Sequence[str]) -> dict[str, EntryVersion]:
        """The stored `updated` time and content digest of each known GUID of a feed (to re-fetch edits)."""
        with self.sessions() as session:
            rows = session.execute(
                select(FeedEntry.guid, FeedEntry.updated_at, FeedEntry.content_hash)
                .join(Feed, Feed.id == FeedEntry.feed_id)
                .where(Feed.url == feed_url, FeedEntry.guid.in_(list(guids)))
            )
            return {guid: EntryVersion(updated, digest) for guid, updated, digest in rows}

    def _feed_ids(self, session: Session, urls: set[str]) -> dict[str, int]:
        """Map feed URLs to ids; an unknown feed URL is a programming error (sources are synced first)."""
        rows = session.execute(select(Feed.url, Feed.id).where(Feed.url.in_(urls))).all()
        found = {url: fid for url, fid in rows}
        missing = urls - found.keys()
        if missing:
            raise LookupError(f"feeds not in the database (sync sources first): {sorted(missing)}")
        return found

    # -- fetch log -------------------------------------------------------------------------------------------

    def record_fetch(self, event: FetchEvent) -> PollDecision | None:
        """Append to the fetch log; for a poll, update the feed's health, validators and schedule."""
        return self.record_fetches([event])[0]

    def record_fetches(self, events: Sequence[FetchEvent]) -> list[PollDecision | None]:
        """record_fetch for many events in one transaction (the crawl batches its polls' records). Feed rows
        are locked in URL order (a stable sort keeps each feed's events in order), so two writers' batches
        cannot deadlock on PostgreSQL."""
        order = sorted(range(len(events)), key=lambda i: events[i].feed_url)
        decisions: list[PollDecision | None] = [None] * len(events)
        with self.transaction() as session:
            feeds = self._lock_feeds(session, sorted({e.feed_url for e in events}))
            for i in order:
                decisions[i] = self._record_fetch(session, events[i], feeds.get(events[i].feed_url))
        return decisions

    def _lock_feeds(self, session: Session, urls: list[str]) -> dict[str, Feed]:
        """The feed rows of sorted `urls`, locked (FOR UPDATE on PostgreSQL) in URL order, a few queries."""
        feeds: dict[str, Feed] = {}
        for chunk in _chunks(urls):
            stmt = select(Feed).where(Feed.url.in_(chunk)).order_by(Feed.url)
            feeds.update((feed.url, feed) for feed in session.scalars(stmt.with_for_update()))
        return feeds

    def _record_fetch(self, session: Session, event: FetchEvent, feed: Feed | None) -> PollDecision | None:
        """One fetch record inside a transaction; `feed` is the locked row of its feed URL, if known."""
        session.add(
            FetchLog(
                source_id=event.source_id,
                feed_id=feed.id if feed else None,
                url=event.url,
                kind=event.kind,
                status=event.status,
                error_class=event.error.value if event.error else None,
                message=event.message,
                new_items=event.new_items,
                duration_ms=event.duration_ms,
            )
        )
        if event.kind not in POLL_KINDS or feed is None:
            return None
        decision = decide(poll_state(feed), poll_outcome(event), event.policy or PollPolicy())
        apply_poll(feed, event, decision, utcnow())
        return decision

    # -- articles --------------------------------------------------------------------------------------------

    def save_article(self, item: ArticleItem) -> StoredArticle:
        """Store an extracted article once: new row, new revision, or just new aliases of a known one."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                with self.transaction() as session:
                    return self._save_article(session, item)
            except DBAPIError as exc:
                if not _lost_race(exc) or attempt == CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def save_articles(self, items: Sequence[ArticleItem]) -> list[StoredArticle]:
        """save_article for many items in one transaction; on a lost race, one transaction per item instead."""
        if not items:
            return []
        try:
            with self.transaction() as session:
                # Take the cluster lock before the first insert: two batch writers then never wait on each
                # other's uncommitted rows while holding it (a deadlock otherwise).
                dedup.lock_for_assignment(session)
                return [self._save_article(session, item) for item in items]
        except DBAPIError as exc:
            if not _lost_race(exc):
                raise
            return [self.save_article(item) for item in items]

    def _save_article(self, session: Session, item: ArticleItem) -> StoredArticle:
        """One attempt of save_article inside a transaction."""
        aliases = _aliases(item)
        keys = {url_key(u) for u in aliases}
        existing_id = session.scalar(select(ArticleURL.article_id).where(ArticleURL.key.in_(keys)).limit(1))
        if existing_id is not None:
            return self._update_article(session, session.get_one(ArticleRow, existing_id), item, aliases)
        row = _new_row(item)
        session.add(row)
        session.flush()
        self._add_aliases(session, row.id, aliases)
        cluster_id = dedup.assign_cluster(session, row, self.dedup_settings)
        return StoredArticle(
            row.id, row.source_id, created=True, revision=row.revision, cluster_id=cluster_id
        )

    def _update_article(
        self, session: Session, row: ArticleRow, item: ArticleItem, aliases: dict[str, str]
    ) -> StoredArticle:
        """A known article seen again: record a revision if its text changed, and any new aliases."""
        art = item.article
        new_hash = dedup.content_hash(art.title, art.text)
        revision = dedup.record_revision(
            session, row, title=art.title, text=art.text, new_hash=new_hash, fetched_at=item.fetched_at
        )
        if revision is not None:
            _apply_article(row, item, new_hash)
            dedup.assign_cluster(session, row, self.dedup_settings)
        self._add_aliases(session, row.id, aliases)
        return StoredArticle(
            row.id,
            row.source_id,
            created=False,
            revision=row.revision if revision is not None else None,
            cluster_id=row.cluster_id,
        )

    def _add_aliases(self, session: Session, article_id: int, aliases: dict[str, str]) -> None:
        """Insert URL aliases, ignoring ones already present."""
        for url, kind in aliases.items():
            stmt = self._insert(session, ArticleURL).values(
                url=url, key=url_key(url), article_id=article_id, kind=kind, added_at=utcnow()
            )
            session.execute(stmt.on_conflict_do_nothing(index_elements=["url"]))


def _chunks(urls: Sequence[str]) -> Iterator[Sequence[str]]:
    """`urls` in slices of URL_CHUNK, for IN queries that stay under the backends' parameter limits."""
    for start in range(0, len(urls), URL_CHUNK):
        yield urls[start : start + URL_CHUNK]


# The columns of `sources` that mirror a configured source's fields of the same names.
_SOURCE_FIELDS = ("name", "language", "country", "timezone", "homepage", "enabled")


def _source_values(src: SourceLike) -> dict[str, Any]:
    """The stored form of a configured source's mirrored fields (the homepage URL as text)."""
    values = {name: getattr(src, name) for name in _SOURCE_FIELDS}
    values["homepage"] = str(src.homepage) if src.homepage else None
    return values


def _state(feed: Feed) -> FeedState:
    """The FeedState of a feed row."""
    return FeedState(
        feed.id,
        feed.etag,
        feed.last_modified,
        feed.body_hash,
        feed.conditional_get,
        feed.last_body_at,
        feed.last_success_at,
    )


def _lost_race(exc: DBAPIError) -> bool:
    """A unique-constraint race, deadlock or serialization failure: running the transaction again is safe."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def _aliases(item: ArticleItem) -> dict[str, str]:
    """Every canonicalised URL that designates this article, with how we learnt it."""
    found: dict[str, str] = {}
    for url, kind in (
        (item.article.canonical_url, "canonical"),
        (item.fetched_url, "fetched"),
        (item.entry.entry_url, "entry"),
        *((a, "alias") for a in item.aliases),
    ):
        found.setdefault(canonicalize(url), kind)
    return found


def _new_row(item: ArticleItem) -> ArticleRow:
    """A fresh article row from an extracted item."""
    row = ArticleRow(
        source_id=item.entry.source_id,
        canonical_url=canonicalize(item.article.canonical_url),
        url=item.fetched_url,
        revision=1,
        extractor_version=EXTRACTOR_VERSION,
    )
    _apply_article(row, item, dedup.content_hash(item.article.title, item.article.text))
    return row


def _apply_article(row: ArticleRow, item: ArticleItem, content_hash: str) -> None:
    """Copy the extracted fields (with the feed entry as fallback) onto a row."""
    art, entry = item.article, item.entry
    published = art.published_at or entry.published
    row.title = art.title or entry.title
    row.lede = art.lede
    row.text = art.text
    row.authors = list(art.authors) or list(entry.authors)
    row.published_at = published
    row.published_at_utc = published
    row.modified_at = art.modified_at
    row.language = art.language
    row.tags = list(art.tags) or list(entry.tags)
    row.top_image = art.top_image
    row.site_name = art.site_name
    row.original_source = art.original_source
    row.agency = art.agency
    row.translator = art.translator
    row.notes = list(art.notes)
    row.content_hash = content_hash
    row.fetched_at = item.fetched_at
    row.extractor_version = EXTRACTOR_VERSION
