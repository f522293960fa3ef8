"""Structured poll logs: one ``key=value`` line per feed poll on the ``monitor.poll`` logger.

Example::

    source=levant feed=http://127.0.0.1:8000/levant/atom.xml status=200 outcome=ok new=3 seen=0.62
    duration_ms=41 interval=21600 next_in=21600 reason=adapted
"""

from __future__ import annotations

import logging

from monitor.items import FetchEvent
from monitor.scheduling.policy import PollDecision

logger = logging.getLogger("monitor.poll")


def outcome(event: FetchEvent) -> str:
    """ok, not_modified, or the error class."""
    if event.error is not None:
        return event.error.value
    return "not_modified" if event.not_modified else "ok"


def poll_line(event: FetchEvent, decision: PollDecision | None) -> str:
    """The key=value line for one poll."""
    seen = "-" if event.seen_share is None else f"{event.seen_share:.2f}"
    fields = [
        f"source={event.source_id}",
        f"feed={event.feed_url}",
        f"status={event.status if event.status is not None else '-'}",
        f"outcome={outcome(event)}",
        f"new={event.new_items}",
        f"seen={seen}",
        f"duration_ms={event.duration_ms if event.duration_ms is not None else '-'}",
    ]
    if decision is not None:
        fields += [f"interval={decision.interval}", f"next_in={decision.delay}", f"reason={decision.reason}"]
    return " ".join(fields)


def log_poll(event: FetchEvent, decision: PollDecision | None) -> None:
    """Log one poll: INFO when it worked, WARNING when it failed."""
    level = logging.WARNING if event.error is not None else logging.INFO
    logger.log(level, "%s", poll_line(event, decision))


def log_conditional_off(source_id: str, feed_url: str, etag: str | None, last_modified: str | None) -> None:
    """Log that a feed's server sent a changed body under unchanged validators."""
    logger.warning(
        "source=%s feed=%s conditional_get=off reason=stale_validators etag=%s last_modified=%s",
        source_id,
        feed_url,
        etag or "-",
        (last_modified or "-").replace(" ", "_"),
    )
