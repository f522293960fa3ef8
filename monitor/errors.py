"""The fixed, low-cardinality taxonomy of fetch and parse failures, recorded per source and feed."""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    """Why a fetch or parse failed; values are stable strings stored in the database and stats keys."""

    DNS = "dns"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TLS = "tls"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    TOO_LARGE = "too_large"
    REDIRECT_LOOP = "redirect_loop"
    ROBOTS = "robots"
    BAD_FEED = "bad_feed"
    BAD_ENTRY = "bad_entry"
    BAD_URL = "bad_url"
    FORBIDDEN_ADDRESS = "forbidden_address"
    NOT_ARTICLE = "not_article"
    EXTRACT_FAILED = "extract_failed"
    OTHER = "other"

    @property
    def permanent(self) -> bool:
        """Fetching the same URL again will fail the same way (refused by policy, not a transient fault)."""
        return self in PERMANENT

    @property
    def stats_key(self) -> str:
        """Scrapy stats key under which this class is counted."""
        return f"monitor/fetch/error/{self.value}"


# Failures of an article URL that a retry cannot mend: its entry is not resumed on later polls.
PERMANENT = frozenset(
    {ErrorClass.FORBIDDEN_ADDRESS, ErrorClass.BAD_URL, ErrorClass.ROBOTS, ErrorClass.NOT_ARTICLE}
)
