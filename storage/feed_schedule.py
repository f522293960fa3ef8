"""A poll and the scheduler's decision, written onto the feed row (called by `Store.record_fetch`)."""

from __future__ import annotations

from datetime import datetime

from monitor.items import FetchEvent
from monitor.scheduling.policy import PollDecision, PollOutcome, PollState
from storage.models import Feed


def poll_state(feed: Feed) -> PollState:
    """The scheduler's view of a feed row."""
    return PollState(
        feed.interval_seconds,
        feed.consecutive_failures or 0,
        feed.disabled_at is not None,
        polled_before=feed.last_success_at is not None,
    )


def poll_outcome(event: FetchEvent) -> PollOutcome:
    """The scheduler's view of a poll."""
    return PollOutcome(event.error is None, event.seen_share, event.hint_seconds, event.retry_after)


def apply_poll(feed: Feed, event: FetchEvent, decision: PollDecision, now: datetime) -> None:
    """Record a poll and the scheduler's decision on the feed row."""
    feed.last_polled_at = now
    feed.interval_seconds = decision.interval
    feed.next_poll_at = decision.next_poll(now)
    feed.poll_reason = decision.reason
    feed.consecutive_failures = decision.consecutive_failures
    feed.disabled_at = (feed.disabled_at or now) if decision.disabled else None
    if event.error is not None:
        feed.last_error_at, feed.last_error_class = now, event.error.value
        feed.last_error_message = event.message
        return
    feed.last_success_at = now
    feed.seen_share = event.seen_share
    if event.status is not None and 200 <= event.status < 300:
        feed.last_body_at = now
    if event.not_modified:
        feed.last_not_modified_at = now
    else:
        feed.etag, feed.last_modified, feed.body_hash = event.etag, event.last_modified, event.body_hash
    if event.validators_lied and feed.conditional_get:
        feed.conditional_get, feed.conditional_get_off_at = False, now
