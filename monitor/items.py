"""Typed items that travel between the spider and the item pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from monitor.article import Article
from monitor.errors import ErrorClass
from monitor.scheduling.policy import PollPolicy


@dataclass(slots=True, frozen=True)
class EntryContext:
    """What a feed said about an entry: the fallback for fields the page itself does not give."""

    source_id: str
    feed_url: str
    entry_url: str
    guid: str
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    content_hash: str | None = None


@dataclass(slots=True)
class FeedEntriesItem:
    """The valid entries of one polled feed, stored to link the feed with the article URLs it announced."""

    feed_url: str
    entries: list[EntryContext]


@dataclass(slots=True)
class FetchEvent:
    """The outcome of one fetch or parse: a health record, success or failure."""

    source_id: str
    feed_url: str
    url: str
    kind: str  # "feed" or "article"
    status: int | None = None
    error: ErrorClass | None = None
    message: str | None = None
    new_items: int = 0
    duration_ms: int | None = None
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # For the scheduler (feed polls only): the source's policy and what this poll told us.
    policy: PollPolicy | None = None
    seen_share: float | None = None
    hint_seconds: int | None = None
    retry_after: float | None = None
    validators_lied: bool = False


@dataclass(slots=True)
class PageItem:
    """A fetched article page, before extraction (the raw capture travels with it)."""

    entry: EntryContext
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    default_tz: str | None = None
    extract_overrides: dict[str, object] | None = None


@dataclass(slots=True)
class ArticleItem:
    """An extracted article ready to be stored."""

    entry: EntryContext
    fetched_url: str
    article: Article
    fetched_at: datetime
    page: PageItem | None = None
    aliases: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StoredArticle:
    """What the storage writer did with an article: downstream stages (alerts) act on it."""

    article_id: int
    source_id: str
    created: bool
    revision: int | None = None
    cluster_id: int | None = None
