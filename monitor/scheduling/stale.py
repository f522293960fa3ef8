"""Stale-source alerts for `monitor run --stale-alert CHANNEL`: a source whose feed stopped bringing new items
(the `stale` flag of `monitor sources status`) is announced once through the alert channels, and again only
after it has recovered and gone stale anew. What was announced is kept in the database (`feeds.stale_announced_at`),
so a restarted scheduler does not announce a feed that is still stale again. A failed delivery is tried again
after the next cycle."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence

from monitor.alerts.channels import AlertView, DeliveryError, make_sender, redact_channel
from storage.queries import FeedHealth, feed_health
from storage.store import Store

logger = logging.getLogger("monitor.run")
WATCH = "stale-sources"


def stale_view(health: FeedHealth) -> AlertView:
    """The alert text of one stale feed."""
    when = health.last_success_at.isoformat(timespec="minutes") if health.last_success_at else "never"
    rhythm = f"{health.rhythm_seconds / 3600:.1f} h" if health.rhythm_seconds else "unknown"
    return AlertView(
        watch=WATCH,
        title=f"{health.source_id}: nothing new from this feed",
        source=health.source_id,
        url=health.feed_url,
        snippet=f"Last successful poll {when}; usual rhythm {rhythm}; failures in a row "
        f"{health.consecutive_failures}. Check the feed: `monitor sources status --stale`.",
        terms=[],
    )


def newly_stale(rows: Iterable[FeedHealth], announced: set[str]) -> tuple[list[FeedHealth], set[str]]:
    """(stale feeds not announced yet, the feeds stale now); recovered feeds drop out of `announced`."""
    stale = [r for r in rows if r.stale]
    now_stale = {r.feed_url for r in stale}
    return [r for r in stale if r.feed_url not in announced], now_stale


class StaleAlerts:
    """Announces newly stale feeds through the given channels after each scheduler cycle."""

    def __init__(self, channels: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.channels = list(channels)
        self.env = os.environ if env is None else env

    def check(self, store: Store) -> int:
        """Send one message per channel listing the newly stale feeds; how many feeds it announced."""
        if not self.channels:
            return 0
        announced = store.stale_announced()
        with store.sessions() as session:
            fresh, now_stale = newly_stale(feed_health(session), announced)
        views = [stale_view(r) for r in fresh]
        sent = bool(views) and all(self._send(channel, views) for channel in self.channels)
        store.mark_stale_announced([r.feed_url for r in fresh] if sent else [], announced - now_stale)
        return len(fresh)

    def _send(self, channel: str, views: list[AlertView]) -> bool:
        """Deliver to one channel; False (logged, secrets redacted) when it failed."""
        try:
            make_sender(channel, self.env).send(WATCH, views)
        except (DeliveryError, OSError) as exc:
            logger.warning("stale-source alert to %s failed: %s", redact_channel(channel), exc)
            return False
        return True
