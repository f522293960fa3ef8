"""Retry-After parsing (delta-seconds and HTTP dates)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.retry import retry_after_seconds

NOW = datetime(2024, 11, 18, 9, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (b"5", 5.0),
        ("Mon, 18 Nov 2024 09:01:00 GMT", 60.0),
        ("Mon, 18 Nov 2024 08:59:00 GMT", 0.0),  # in the past: retry now
        ("", None),
        (None, None),
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_seconds(value: str | bytes | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=NOW) == seconds
