"""The polling policy as pure functions: adaptation, publisher hints, backoff, disable/revive, overrides,
conditional GET and the stale flag; with hypothesis properties for the invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import PollConfig
from monitor.crawl import build_settings
from monitor.scheduling.policy import (
    DAY,
    HOUR,
    PollOutcome,
    PollPolicy,
    PollState,
    backoff,
    decide,
    hint_seconds,
    is_stale,
    policy_for,
    policy_from_settings,
    rhythm_seconds,
    use_conditional_get,
    validators_lied,
)

NOW = datetime(2024, 11, 18, 9, 0, tzinfo=UTC)
POLICY = PollPolicy()
OK = PollOutcome(True)
FAIL = PollOutcome(False)


def polled(interval: int | None = 6 * HOUR, failures: int = 0, disabled: bool = False) -> PollState:
    return PollState(interval, failures, disabled, polled_before=True)


def test_defaults_come_from_the_settings_module() -> None:
    policy = policy_from_settings(build_settings())
    assert (policy.default_interval, policy.min_interval, policy.max_interval) == (6 * HOUR, 600, DAY)
    assert (policy.disable_after, policy.revive_interval) == (30, 7 * DAY)


def test_settings_accept_seconds_and_durations() -> None:
    policy = policy_from_settings({"MONITOR_POLL_DEFAULT_INTERVAL": "2h", "MONITOR_POLL_DISABLE_AFTER": "5"})
    assert policy.default_interval == 2 * HOUR and policy.disable_after == 5


@pytest.mark.parametrize(
    ("seen", "expected"),
    [(1.0, 9 * HOUR), (0.67, 9 * HOUR), (0.5, 6 * HOUR), (0.33, 6 * HOUR), (0.32, 3 * HOUR), (0.0, 3 * HOUR)],
)
def test_interval_follows_the_share_of_seen_entries(seen: float, expected: int) -> None:
    decision = decide(polled(), PollOutcome(True, seen_share=seen), POLICY)
    assert decision.interval == decision.delay == expected and decision.reason == "adapted"


def test_first_poll_keeps_the_default_interval() -> None:
    decision = decide(PollState(), PollOutcome(True, seen_share=0.0), POLICY)
    assert decision.interval == 6 * HOUR


def test_interval_is_clamped_to_the_bounds() -> None:
    assert decide(polled(DAY), PollOutcome(True, seen_share=1.0), POLICY).interval == DAY
    assert decide(polled(700), PollOutcome(True, seen_share=0.0), POLICY).interval == 600


def test_publisher_hint_is_a_floor_clamped_to_the_bounds() -> None:
    busy = PollOutcome(True, seen_share=0.0, hint_seconds=8 * HOUR)
    assert decide(polled(), busy, POLICY).interval == 8 * HOUR
    yearly = PollOutcome(True, seen_share=0.0, hint_seconds=hint_seconds(None, "yearly", 1))
    assert decide(polled(), yearly, POLICY).interval == DAY


def test_hint_seconds_from_ttl_and_sy() -> None:
    assert hint_seconds(90, None, None) == 90 * 60
    assert hint_seconds(None, "hourly", 2) == 1800
    assert hint_seconds(None, "Daily", None) == DAY
    assert hint_seconds(30, "hourly", 1) == HOUR
    assert hint_seconds(None, "fortnightly", 3) is None


def test_failures_back_off_exponentially_then_disable_then_revive() -> None:
    policy = PollPolicy(disable_after=4)
    state, delays = polled(HOUR), []
    for _ in range(3):
        decision = decide(state, FAIL, policy)
        delays.append(decision.delay)
        state = PollState(decision.interval, decision.consecutive_failures, decision.disabled, True)
    assert delays == [HOUR, 2 * HOUR, 4 * HOUR] and not state.disabled
    disabled = decide(state, FAIL, policy)
    assert disabled.disabled and disabled.reason == "disabled" and disabled.delay == 7 * DAY
    again = decide(PollState(HOUR, 4, True, True), FAIL, policy)
    assert again.disabled and again.delay == 7 * DAY and again.consecutive_failures == 5
    revived = decide(PollState(HOUR, 5, True, True), OK, policy)
    assert revived.reason == "revived" and not revived.disabled
    assert (revived.interval, revived.consecutive_failures) == (6 * HOUR, 0)


def test_retry_after_longer_than_the_backoff_is_honoured_within_bounds() -> None:
    decision = decide(polled(HOUR), PollOutcome(False, retry_after=5 * HOUR), POLICY)
    assert decision.reason == "retry_after" and decision.delay == 5 * HOUR
    capped = decide(polled(HOUR), PollOutcome(False, retry_after=30 * DAY), POLICY)
    assert capped.delay == DAY
    short = decide(polled(HOUR), PollOutcome(False, retry_after=60), POLICY)
    assert short.reason == "backoff" and short.delay == HOUR


def test_source_overrides() -> None:
    fixed = policy_for(POLICY, PollConfig(interval=timedelta(minutes=30)))
    decision = decide(polled(), PollOutcome(True, seen_share=1.0, hint_seconds=DAY), fixed)
    assert (decision.interval, decision.reason) == (1800, "fixed")
    narrow = policy_for(POLICY, PollConfig(min_interval=timedelta(hours=1), max_interval=timedelta(hours=2)))
    assert (narrow.min_interval, narrow.max_interval, narrow.default_interval) == (HOUR, 2 * HOUR, 2 * HOUR)
    slow = policy_for(POLICY, PollConfig(min_interval=timedelta(days=2)))
    assert slow.min_interval == slow.max_interval == 2 * DAY
    assert policy_for(POLICY, PollConfig(conditional_get=False)).conditional_get is False


def test_validators_lied_only_on_a_changed_body_under_the_same_validator() -> None:
    assert validators_lied('"a"', None, "h1", '"a"', None, "h2")
    assert not validators_lied('"a"', None, "h1", '"a"', None, "h1")
    assert not validators_lied('"a"', "LM", "h1", '"b"', "LM", "h2")  # a new ETag wins over the same date
    assert validators_lied(None, "LM", "h1", None, "LM", "h2")
    assert not validators_lied(None, None, "h1", None, None, "h2")
    assert not validators_lied('"a"', None, None, '"a"', None, "h2")  # nothing stored to compare


def test_use_conditional_get() -> None:
    recent, old = NOW - timedelta(hours=1), NOW - timedelta(days=2)
    assert use_conditional_get(None, True, recent, DAY, NOW)
    assert not use_conditional_get(None, False, recent, DAY, NOW)  # caught lying
    assert use_conditional_get(True, False, recent, DAY, NOW)  # the sources file insists
    assert not use_conditional_get(False, True, recent, DAY, NOW)
    assert not use_conditional_get(None, True, old, DAY, NOW)  # only 304s for too long: verify once


def test_rhythm_and_stale() -> None:
    times = [NOW - timedelta(hours=h) for h in (0, 2, 4, 6, 6)]
    assert rhythm_seconds(times) == 2 * HOUR
    assert rhythm_seconds([NOW]) is None
    assert not is_stale(NOW, NOW - timedelta(hours=17), 2 * HOUR, 6 * HOUR)
    assert is_stale(NOW, NOW - timedelta(hours=19), 2 * HOUR, 6 * HOUR)
    assert is_stale(NOW, NOW - timedelta(days=4), DAY, 600)
    assert is_stale(NOW, None, None, 600)


# -- properties --------------------------------------------------------------------------------------------

durations = st.integers(min_value=1, max_value=60 * DAY)
optional_td = st.none() | st.integers(min_value=1, max_value=30 * DAY).map(lambda s: timedelta(seconds=s))


@st.composite
def policies(draw: st.DrawFn) -> PollPolicy:
    """A settings policy with arbitrary (consistent) source overrides applied."""
    low = draw(st.integers(min_value=1, max_value=2 * DAY))
    base = PollPolicy(
        default_interval=draw(durations),
        min_interval=low,
        max_interval=draw(st.integers(min_value=low, max_value=30 * DAY)),
        disable_after=draw(st.integers(min_value=1, max_value=50)),
    )
    poll = PollConfig.model_construct(
        interval=draw(optional_td), min_interval=draw(optional_td), max_interval=draw(optional_td)
    )
    return policy_for(base, poll)


states = st.builds(
    PollState,
    interval=st.none() | durations,
    consecutive_failures=st.integers(min_value=0, max_value=60),
    disabled=st.booleans(),
    polled_before=st.booleans(),
)
outcomes = st.builds(
    PollOutcome,
    ok=st.booleans(),
    seen_share=st.none() | st.floats(min_value=0, max_value=1),
    hint_seconds=st.none() | durations,
    retry_after=st.none() | st.integers(min_value=0, max_value=90 * DAY).map(float),
)


@given(policies(), states, outcomes)
def test_interval_and_delay_always_within_bounds(
    policy: PollPolicy, state: PollState, out: PollOutcome
) -> None:
    decision = decide(state, out, policy)
    assert policy.min_interval <= decision.interval <= policy.max_interval
    if not decision.disabled:
        assert policy.min_interval <= decision.delay <= policy.max_interval
    else:
        assert decision.delay == policy.revive_interval


@given(policies(), st.none() | durations, st.integers(min_value=0, max_value=90 * DAY))
def test_failure_delay_honours_retry_after_within_bounds(
    policy: PollPolicy, interval: int | None, retry_after: int
) -> None:
    decision = decide(
        PollState(interval, polled_before=True), PollOutcome(False, retry_after=retry_after), policy
    )
    if not decision.disabled:
        assert decision.delay >= min(retry_after, policy.max_interval)
        assert policy.min_interval <= decision.delay <= policy.max_interval


@given(policies(), durations, st.integers(min_value=1, max_value=80))
def test_backoff_is_monotonic_in_failures(policy: PollPolicy, interval: int, failures: int) -> None:
    assert backoff(interval, failures, policy) <= backoff(interval, failures + 1, policy)
    assert backoff(interval, failures, policy) >= policy.clamp(interval)


@given(policies(), states)
def test_disabled_exactly_after_n_failures_and_one_success_revives(
    policy: PollPolicy, state: PollState
) -> None:
    failed = decide(state, FAIL, policy)
    assert failed.consecutive_failures == state.consecutive_failures + 1
    assert failed.disabled == (state.disabled or failed.consecutive_failures >= policy.disable_after)
    success = decide(
        PollState(failed.interval, failed.consecutive_failures, failed.disabled, True), OK, policy
    )
    assert not success.disabled and success.consecutive_failures == 0
    if failed.disabled and policy.fixed_interval is None:
        assert success.interval == policy.default_interval


@given(policies(), st.none() | durations, st.floats(min_value=0, max_value=1))
def test_more_seen_never_means_a_shorter_interval(
    policy: PollPolicy, interval: int | None, seen: float
) -> None:
    state = PollState(interval, polled_before=True)
    lower = decide(state, PollOutcome(True, seen_share=seen / 2), policy)
    higher = decide(state, PollOutcome(True, seen_share=seen), policy)
    assert lower.interval <= higher.interval
