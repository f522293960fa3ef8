"""Mapping download failures (Twisted/Scrapy exceptions, HTTP statuses) onto the error taxonomy."""

from __future__ import annotations

import scrapy.exceptions
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_error
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from monitor.errors import ErrorClass
from monitor.netguard import RefusedRequest


def _scrapy_types(*names: str) -> tuple[type[BaseException], ...]:
    """Scrapy's own download exceptions (2.14+ raises these instead of Twisted's); absent names are skipped."""
    return tuple(getattr(scrapy.exceptions, name) for name in names if hasattr(scrapy.exceptions, name))


# Exception types in the order they are tested; the first isinstance() match wins.
_BY_TYPE: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], ErrorClass], ...] = (
    ((twisted_error.DNSLookupError, *_scrapy_types("CannotResolveHostError")), ErrorClass.DNS),
    (
        (twisted_error.TimeoutError, twisted_error.TCPTimedOutError, *_scrapy_types("DownloadTimeoutError")),
        ErrorClass.TIMEOUT,
    ),
    # Scrapy cancels a download that exceeds DOWNLOAD_MAXSIZE
    ((CancelledError, *_scrapy_types("DownloadCancelledError")), ErrorClass.TOO_LARGE),
    (
        (
            twisted_error.ConnectionRefusedError,
            twisted_error.ConnectError,
            twisted_error.ConnectionLost,
            ResponseFailed,
            ResponseNeverReceived,
            *_scrapy_types("DownloadConnectionRefusedError", "DownloadFailedError", "ResponseDataLossError"),
        ),
        ErrorClass.CONNECTION,
    ),
)


def classify_status(status: int) -> ErrorClass | None:
    """Error class of an HTTP status (None for 1xx-3xx)."""
    if 400 <= status < 500:
        return ErrorClass.HTTP_4XX
    if status >= 500:
        return ErrorClass.HTTP_5XX
    return None


def _classify_ignore(exc: IgnoreRequest) -> ErrorClass:
    """IgnoreRequest carries its reason only in the message (robots.txt, redirect limit)."""
    message = str(exc).lower()
    if "robots.txt" in message:
        return ErrorClass.ROBOTS
    if "redirect" in message:
        return ErrorClass.REDIRECT_LOOP
    return ErrorClass.OTHER


def classify_failure(failure: Failure) -> tuple[ErrorClass, str, int | None]:
    """(error class, message, HTTP status or None) of a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        return classify_status(status) or ErrorClass.OTHER, f"HTTP {status}", status
    if isinstance(exc, RefusedRequest):
        return exc.error, str(exc), None
    if isinstance(exc, IgnoreRequest):
        return _classify_ignore(exc), str(exc) or type(exc).__name__, None
    for types, error in _BY_TYPE:
        if isinstance(exc, types):
            return error, f"{type(exc).__name__}: {exc}", None
    return ErrorClass.OTHER, f"{type(exc).__name__}: {exc}", None
