"""When to poll a feed next: pure functions over a feed's state and the outcome of one poll.

The interval adapts to the share of already-seen entries per poll (Media Cloud rss-fetcher): a poll where at least
two thirds of the entries were seen before (or a 304 / unchanged body) lengthens it, one where fewer than a third
were seen shortens it. The publisher's own hints (RSS ``<ttl>``, ``sy:updatePeriod``/``sy:updateFrequency``) are a
floor: we never poll more often than the feed says it changes. Everything is clamped to the bounds. Failures back
off exponentially from the feed's own interval (``Retry-After`` is honoured, within the bounds); after
``disable_after`` failures in a row the feed is disabled and re-tried every ``revive_interval``; its first success
revives it at the default interval.

Scrapy settings (seconds, or durations such as ``6h``; per-source ``poll:`` entries in the sources file override
interval, bounds and conditional GET):

- ``MONITOR_POLL_DEFAULT_INTERVAL``: first interval of a feed (default 6 h).
- ``MONITOR_POLL_MIN_INTERVAL`` / ``MONITOR_POLL_MAX_INTERVAL``: the bounds (default 10 min .. 24 h).
- ``MONITOR_POLL_DISABLE_AFTER``: consecutive failures before a feed is disabled (default 30; Media Cloud found
  4 and then 10 too few: "a surprising number of feeds come back from what looks like death").
- ``MONITOR_POLL_REVIVE_INTERVAL``: how often a disabled feed is re-tried (default 7 d).
- ``MONITOR_POLL_VERIFY_AFTER``: a feed that answered only 304s for this long gets one unconditional GET, to
  catch servers that keep answering 304 after the feed changed (default 24 h).
- ``MONITOR_POLL_DUE_ONLY``: poll only feeds whose next poll time has passed (``monitor crawl --due``).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor.config import parse_duration

HOUR = 3600
DAY = 24 * HOUR
# Media Cloud's thresholds on the share of already-seen entries, and our step factors.
SEEN_LONGER = 0.67
SEEN_SHORTER = 0.33
LONGER_FACTOR = 1.5
SHORTER_FACTOR = 0.5
# sy:updatePeriod values (RSS 1.0 syndication module) in seconds.
SY_PERIODS = {"hourly": HOUR, "daily": DAY, "weekly": 7 * DAY, "monthly": 30 * DAY, "yearly": 365 * DAY}
# A feed is stale when nothing new arrived for this many times its usual rhythm.
STALE_FACTOR = 3.0


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """Scheduler parameters for one feed (settings defaults, with the source's `poll:` overrides applied)."""

    default_interval: int = 6 * HOUR
    min_interval: int = 600
    max_interval: int = DAY
    fixed_interval: int | None = None
    disable_after: int = 30
    revive_interval: int = 7 * DAY
    verify_after: int = DAY
    conditional_get: bool | None = None  # None: on, switched off automatically when the server lies

    def clamp(self, seconds: float) -> int:
        """Seconds forced into min_interval..max_interval."""
        return int(min(self.max_interval, max(self.min_interval, seconds)))


@dataclass(frozen=True, slots=True)
class PollState:
    """What the database knows of a feed before this poll."""

    interval: int | None = None
    consecutive_failures: int = 0
    disabled: bool = False
    polled_before: bool = False


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """One poll: success or failure, and what the feed or server told us."""

    ok: bool
    seen_share: float | None = None
    hint_seconds: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class PollDecision:
    """What the scheduler decided after a poll; stored on the feed row."""

    interval: int
    delay: int
    consecutive_failures: int
    disabled: bool
    reason: str  # fixed, adapted, backoff, retry_after, disabled, revived

    def next_poll(self, now: datetime) -> datetime:
        """The instant of the next poll."""
        return now + timedelta(seconds=self.delay)


class PollOverrides(Protocol):
    """The per-source `poll:` section of the sources file (monitor.config.PollConfig)."""

    interval: timedelta | None
    min_interval: timedelta | None
    max_interval: timedelta | None
    conditional_get: bool | None


def seconds(value: Any) -> int:
    """A setting as whole seconds: a number, or a duration such as '6h'."""
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else int(parse_duration(text).total_seconds())


def policy_from_settings(settings: Any) -> PollPolicy:
    """The default policy from MONITOR_POLL_* Scrapy settings (any mapping with .get works)."""
    base = PollPolicy()
    names = {
        "default_interval": "MONITOR_POLL_DEFAULT_INTERVAL",
        "min_interval": "MONITOR_POLL_MIN_INTERVAL",
        "max_interval": "MONITOR_POLL_MAX_INTERVAL",
        "disable_after": "MONITOR_POLL_DISABLE_AFTER",
        "revive_interval": "MONITOR_POLL_REVIVE_INTERVAL",
        "verify_after": "MONITOR_POLL_VERIFY_AFTER",
    }
    values = {f: seconds(settings.get(n)) for f, n in names.items() if settings.get(n) not in (None, "")}
    return with_bounds(PollPolicy(**{**_fields(base), **values}))


def policy_for(defaults: PollPolicy, poll: PollOverrides) -> PollPolicy:
    """The defaults with a source's `poll:` overrides; an overridden bound wins over a conflicting default."""
    low = _secs(poll.min_interval) or defaults.min_interval
    high = _secs(poll.max_interval) or defaults.max_interval
    if low > high:
        low, high = (low, low) if poll.min_interval else (high, high)
    policy = PollPolicy(
        **{
            **_fields(defaults),
            "min_interval": low,
            "max_interval": high,
            "fixed_interval": _secs(poll.interval),
            "conditional_get": poll.conditional_get,
        }
    )
    return with_bounds(policy)


def with_bounds(policy: PollPolicy) -> PollPolicy:
    """A policy whose default and fixed intervals lie within its bounds."""
    fields = _fields(policy)
    fields["max_interval"] = max(policy.min_interval, policy.max_interval)
    clamped = PollPolicy(**fields)
    fields["default_interval"] = clamped.clamp(policy.default_interval)
    if policy.fixed_interval is not None:
        fields["fixed_interval"] = clamped.clamp(policy.fixed_interval)
    return PollPolicy(**fields)


def _fields(policy: PollPolicy) -> dict[str, Any]:
    """A policy's fields as a dict (slots dataclasses have no __dict__)."""
    return {name: getattr(policy, name) for name in policy.__slots__}


def _secs(value: timedelta | None) -> int | None:
    """A timedelta as whole seconds, or None."""
    return int(value.total_seconds()) if value else None


def hint_seconds(
    ttl_minutes: int | None, update_period: str | None, update_frequency: int | None
) -> int | None:
    """The publisher's own idea of how often the feed changes: max of `<ttl>` and sy:updatePeriod/Frequency."""
    hints = []
    if ttl_minutes:
        hints.append(ttl_minutes * 60)
    period = SY_PERIODS.get((update_period or "").strip().lower())
    if period:
        hints.append(period // max(1, update_frequency or 1))
    return max(hints) if hints else None


def adapt(interval: int, seen_share: float | None) -> float:
    """Lengthen when most entries were seen before, shorten when most are new, else keep."""
    if seen_share is None:
        return interval
    if seen_share >= SEEN_LONGER:
        return interval * LONGER_FACTOR
    if seen_share < SEEN_SHORTER:
        return interval * SHORTER_FACTOR
    return interval


def backoff(interval: int, failures: int, policy: PollPolicy) -> int:
    """Exponential backoff from the feed's own interval: interval × 2^(failures-1), within the bounds."""
    exponent = min(max(failures - 1, 0), 32)
    return policy.clamp(interval * 2**exponent)


def current_interval(state: PollState, policy: PollPolicy) -> int:
    """The feed's regular interval now (a fixed override wins)."""
    if policy.fixed_interval is not None:
        return policy.fixed_interval
    return policy.clamp(state.interval or policy.default_interval)


def _success(state: PollState, outcome: PollOutcome, policy: PollPolicy) -> PollDecision:
    """The decision after a successful poll."""
    if state.disabled:
        return PollDecision(policy.default_interval, policy.default_interval, 0, False, "revived")
    if policy.fixed_interval is not None:
        return PollDecision(policy.fixed_interval, policy.fixed_interval, 0, False, "fixed")
    interval = current_interval(state, policy)
    adapted = adapt(interval, outcome.seen_share) if state.polled_before else interval
    if outcome.hint_seconds:
        adapted = max(adapted, outcome.hint_seconds)
    interval = policy.clamp(adapted)
    return PollDecision(interval, interval, 0, False, "adapted")


def _failure(state: PollState, outcome: PollOutcome, policy: PollPolicy) -> PollDecision:
    """The decision after a failed poll."""
    failures = state.consecutive_failures + 1
    interval = current_interval(state, policy)
    if state.disabled or failures >= policy.disable_after:
        return PollDecision(interval, policy.revive_interval, failures, True, "disabled")
    delay = backoff(interval, failures, policy)
    if outcome.retry_after is not None and outcome.retry_after > delay:
        return PollDecision(interval, policy.clamp(outcome.retry_after), failures, False, "retry_after")
    return PollDecision(interval, delay, failures, False, "backoff")


def decide(state: PollState, outcome: PollOutcome, policy: PollPolicy) -> PollDecision:
    """The next interval and delay for a feed after one poll."""
    return (_success if outcome.ok else _failure)(state, outcome, policy)


def validators_lied(
    stored_etag: str | None,
    stored_last_modified: str | None,
    stored_hash: str | None,
    etag: str | None,
    last_modified: str | None,
    digest: str,
) -> bool:
    """A full body that differs from the stored one under the same validator (ETag, else Last-Modified).

    Such a server answers 304 to a conditional GET although the feed changed (Media Cloud, miniflux-legacy #218,
    FreshRSS #1020), so conditional GET must be switched off for it.
    """
    if stored_hash is None or stored_hash == digest:
        return False
    if etag:
        return etag == stored_etag
    return bool(last_modified) and last_modified == stored_last_modified


def rhythm_seconds(times: Sequence[datetime]) -> float | None:
    """A feed's usual gap between entries: the median positive gap between their times (None if unknown)."""
    ordered = sorted(times)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    positive = [g for g in gaps if g > 0]
    return statistics.median(positive) if positive else None


def is_stale(
    now: datetime,
    last_new_at: datetime | None,
    rhythm: float | None,
    interval: int,
    factor: float = STALE_FACTOR,
) -> bool:
    """Nothing new for longer than `factor` × the feed's usual rhythm (never shorter than its poll interval)."""
    if last_new_at is None:
        return True
    usual = max(rhythm or 0.0, float(interval))
    return (now - last_new_at).total_seconds() > factor * usual


def use_conditional_get(
    configured: bool | None, automatic: bool, last_body_at: datetime | None, verify_after: int, now: datetime
) -> bool:
    """Whether to send the stored validators (If-None-Match / If-Modified-Since) on this poll.

    Not when the sources file says no, nor when it says nothing and the server was caught lying; and not when
    only 304s came back for `verify_after` seconds (one full GET checks the server is not answering 304 forever).
    """
    if configured is False or (configured is None and not automatic):
        return False
    return last_body_at is None or (now - last_body_at).total_seconds() < verify_after
