"""Retries on 429 and 5xx that honour the server's `Retry-After` (Scrapy's RetryMiddleware ignores it).

Settings:
- ``RETRY_TIMES``, ``RETRY_HTTP_CODES``: as in Scrapy.
- ``MONITOR_RETRY_AFTER_MAX``: longest `Retry-After` (seconds) we wait for inside a crawl (default 60); a longer
  one is not retried now and is left to the next poll.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response

from monitor.reactor import sleep


def retry_after_seconds(value: str | bytes | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry, delayed by `Retry-After` when the server sends one."""

    max_wait: float = 60.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        """Read MONITOR_RETRY_AFTER_MAX on top of Scrapy's retry settings."""
        mw = super().from_crawler(crawler)
        mw.max_wait = crawler.settings.getfloat("MONITOR_RETRY_AFTER_MAX", 60.0)
        return mw

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        """Wait out `Retry-After` (bounded) before retrying a 429/5xx."""
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        delay = retry_after_seconds(response.headers.get(b"Retry-After"))
        if delay is not None and delay > self.max_wait:
            return response
        if delay:
            await sleep(delay)
        return self._retry(request, f"{response.status} retry-after={delay}") or response
