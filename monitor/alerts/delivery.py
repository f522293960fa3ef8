"""The delivery outbox: send due (alert, channel) rows, retry failures with exponential backoff, expire late.

Rows are claimed before sending (a short lease written with a conditional UPDATE) so concurrent workers never
send the same row twice, and the network send happens outside any database transaction. Digest rows of one
(watch, channel) that fall due together go out as one message. `now` is injectable everywhere (tests drive
time; nothing sleeps).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.alerts.channels import AlertView, DeliveryError, Sender, make_sender, redact_channel
from monitor.alerts.store import DELIVERY_TTL, alert_view, deliveries_of, source_names
from storage.alert_models import DELIVERED, EXPIRED, PENDING, AlertDelivery, AlertRow

logger = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
CLAIM_LEASE = timedelta(minutes=5)
BATCH = 500

SenderFactory = Callable[[str], Sender]


@dataclass
class DeliveryReport:
    """What one delivery run did (counted in rows, not messages)."""

    delivered: int = 0
    failed: int = 0
    expired: int = 0
    messages: int = 0


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after `attempts` failures: 1, 2, 4 … minutes, at most 6 hours."""
    return min(BACKOFF_BASE * 2 ** min(max(0, attempts - 1), 20), BACKOFF_CAP)


def env_senders(env: Mapping[str, str] | None = None) -> SenderFactory:
    """Senders configured from the environment (MONITOR_SMTP_URL, MONITOR_WEBHOOK_SECRET)."""
    source = os.environ if env is None else env
    return lambda spec: make_sender(spec, source)


def expire_overdue(session: Session, now: datetime) -> int:
    """Mark pending rows past their deadline as expired (kept for the record) and commit."""
    result = session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.status == PENDING, AlertDelivery.expires_at <= now)
        .values(status=EXPIRED)
    )
    session.commit()
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.error("%d alert deliveries expired undelivered; see `monitor alerts list`", count)
    return count


def _due_groups(session: Session, now: datetime, limit: int) -> list[list[int]]:
    """Due rows grouped into messages: one per instant row, one per (watch, channel) of digest rows."""
    query = (
        select(AlertDelivery.id, AlertDelivery.mode, AlertDelivery.channel, AlertRow.watch)
        .join(AlertRow, AlertRow.id == AlertDelivery.alert_id)
        .where(AlertDelivery.status == PENDING, AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        .limit(limit)
    )
    groups: dict[object, list[int]] = {}
    for row_id, mode, channel, watch in session.execute(query):
        key = (watch, channel) if mode == "digest" else row_id
        groups.setdefault(key, []).append(row_id)
    return list(groups.values())


def _claim(session: Session, ids: list[int], now: datetime) -> list[int]:
    """Lease the rows still due; rows another worker took meanwhile are left out."""
    claimed = []
    for row_id in ids:
        result = session.execute(
            update(AlertDelivery)
            .where(
                AlertDelivery.id == row_id,
                AlertDelivery.status == PENDING,
                AlertDelivery.next_attempt_at <= now,
            )
            .values(next_attempt_at=now + CLAIM_LEASE)
        )
        if getattr(result, "rowcount", 0) == 1:
            claimed.append(row_id)
    session.commit()
    return claimed


def _settle(rows: list[AlertDelivery], now: datetime, error: str | None) -> None:
    """Record the outcome of one send on every row it carried."""
    for row in rows:
        row.attempts += 1
        if error is None:
            row.status, row.delivered_at, row.last_error = DELIVERED, now, None
        else:
            row.last_error = error
            row.next_attempt_at = now + backoff(row.attempts)


def _send(channel: str, watch: str, views: list[AlertView], senders: SenderFactory) -> str | None:
    """Send one message; the error text on failure, None on success."""
    try:
        senders(channel).send(watch, views)
    except (DeliveryError, ValueError) as exc:
        logger.warning("alert delivery to %s for watch %s failed: %s", redact_channel(channel), watch, exc)
        return str(exc)
    return None


def _deliver_group(
    session: Session, ids: list[int], now: datetime, senders: SenderFactory
) -> tuple[int, bool]:
    """Claim, send and settle one message; (rows carried, success). No transaction is open during the send."""
    claimed = _claim(session, ids, now)
    if not claimed:
        return 0, True
    rows = deliveries_of(session, claimed)
    names = source_names(session, {r.alert.article.source_id for r in rows})
    channel, watch, views = rows[0].channel, rows[0].alert.watch, [alert_view(r.alert, names) for r in rows]
    session.commit()  # release the (SQLite: write) lock before touching the network
    error = _send(channel, watch, views, senders)
    _settle(rows, now, error)
    session.commit()
    return len(rows), error is None


def deliver_pending(
    session: Session, now: datetime, senders: SenderFactory | None = None, limit: int = BATCH
) -> DeliveryReport:
    """Expire overdue rows, then send every due one; commits as it goes."""
    senders = senders or env_senders()
    report = DeliveryReport(expired=expire_overdue(session, now))
    for ids in _due_groups(session, now, limit):
        count, ok = _deliver_group(session, ids, now, senders)
        if count:
            report.messages += 1
        if ok:
            report.delivered += count
        else:
            report.failed += count
    session.commit()
    return report


def retry_pending(
    session: Session, now: datetime, senders: SenderFactory | None = None, *, include_expired: bool = False
) -> DeliveryReport:
    """Make every pending row (and expired ones if asked, with a new deadline) due now, and deliver."""
    if include_expired:
        session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.status == EXPIRED)
            .values(status=PENDING, expires_at=now + DELIVERY_TTL)
        )
    session.execute(update(AlertDelivery).where(AlertDelivery.status == PENDING).values(next_attempt_at=now))
    session.commit()
    return deliver_pending(session, now, senders)
