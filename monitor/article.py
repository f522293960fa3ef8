"""The typed result of article extraction: the public shape of one extracted page."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class Article:
    """One extracted page; `is_article` is False for index pages, bot challenges and empty pages."""

    url: str
    canonical_url: str
    is_article: bool
    title: str | None = None
    lede: str | None = None
    text: str = ""
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    modified_at: datetime | None = None
    language: str | None = None
    tags: list[str] = field(default_factory=list)
    top_image: str | None = None
    site_name: str | None = None
    original_source: str | None = None
    agency: str | None = None
    translator: str | None = None
    notes: list[str] = field(default_factory=list)
    not_article_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: datetimes as ISO 8601 with their offset."""
        out = dataclasses.asdict(self)
        for key in ("published_at", "modified_at"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out
