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
    def stats_key(self) -> str:
        """Scrapy stats key under which this class is counted."""
        return f"monitor/fetch/error/{self.value}"
