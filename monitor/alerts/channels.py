"""Alert channels: console, log, email over SMTP, webhook (JSON, Slack/Mattermost `{"text"}` option, HMAC).

Environment: `MONITOR_SMTP_URL` (`smtp://user:pass@host:587?starttls=true&from=monitor@example.org`, or
`smtps://…:465`), `MONITOR_WEBHOOK_SECRET` (HMAC-SHA256 key; the signature goes in `X-Monitor-Signature:
sha256=<hex>` over the exact request body). Secrets are never logged: channels are shown redacted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import IO, Literal, Protocol
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

logger = logging.getLogger(__name__)

# A pragmatic address check (local@domain.tld); the SMTP server has the last word.
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
SMTP_TIMEOUT_S = 30
WEBHOOK_TIMEOUT_S = 10
SIGNATURE_HEADER = "X-Monitor-Signature"

ChannelKind = Literal["console", "log", "email", "webhook"]


class DeliveryError(Exception):
    """A send failed; the message is safe to store and show (no secrets)."""


@dataclass(frozen=True)
class ChannelSpec:
    """A parsed channel: kind plus target (address or URL) and the webhook payload format."""

    kind: ChannelKind
    target: str = ""
    fmt: Literal["json", "slack"] = "json"


def _parse_webhook(url: str) -> ChannelSpec:
    """webhook:URL with an optional `format=slack|json` query parameter (stripped from the posted URL)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"webhook URL must be http(s)://host/...: {redact_url(url)!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    fmt = dict(query).get("format", "json")
    if fmt not in ("json", "slack"):
        raise ValueError(f"webhook format must be json or slack, not {fmt!r}")
    kept = urlencode([(k, v) for k, v in query if k != "format"])
    return ChannelSpec("webhook", urlunsplit(parts._replace(query=kept)), fmt)  # type: ignore[arg-type]


def parse_channel(spec: str) -> ChannelSpec:
    """Parse `console`, `log`, `email:ADDR` or `webhook:URL`; raise ValueError with the reason."""
    kind, _, target = spec.strip().partition(":")
    if kind in ("console", "log") and not target:
        return ChannelSpec(kind)  # type: ignore[arg-type]
    if kind == "email" and _EMAIL.match(target):
        return ChannelSpec("email", target)
    if kind == "email":
        raise ValueError(f"invalid email address in channel {spec!r}")
    if kind == "webhook":
        return _parse_webhook(target)
    raise ValueError(f"unknown channel {redact_channel(spec)!r}: use console, log, email:ADDR or webhook:URL")


def redact_url(url: str) -> str:
    """Scheme and host only: webhook paths and queries often carry tokens (Slack, Mattermost)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return (
        f"{parts.scheme}://{host}/…" if parts.path.strip("/") or parts.query else f"{parts.scheme}://{host}"
    )


def redact_channel(spec: str) -> str:
    """A channel spec fit for logs and tables."""
    kind, _, target = spec.partition(":")
    return f"webhook:{redact_url(target)}" if kind == "webhook" else spec


@dataclass(frozen=True)
class AlertView:
    """What a message says about one matched article."""

    watch: str
    title: str
    source: str
    url: str
    snippet: str
    terms: Sequence[str]
    original_source: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    article_id: int | None = None
    cluster_id: int | None = None


def render_subject(watch: str, views: Sequence[AlertView]) -> str:
    """Subject line: the watch and the title (in the article's language), or a digest count."""
    if len(views) == 1:
        return f"[monitor] {watch}: {views[0].title}"
    return f"[monitor] {watch}: {len(views)} new matches"


def _render_one(view: AlertView) -> str:
    """The plain-text block for one article."""
    when = view.published_at.isoformat() if view.published_at else "unknown"
    lines = [
        view.title,
        f"Source: {view.source}",
        f"Original source: {view.original_source or '-'}",
        f"Time: {when}",
        f"Matched: {', '.join(view.terms)}",
        "",
        view.snippet,
        "",
        view.url,
    ]
    return "\n".join(lines)


def render_text(watch: str, views: Sequence[AlertView]) -> str:
    """Plain-text body: one block per article."""
    head = f"Watch: {watch}\n\n"
    return head + "\n\n----\n\n".join(_render_one(v) for v in views) + "\n"


def render_payload(watch: str, views: Sequence[AlertView], fmt: str) -> dict[str, object]:
    """Webhook JSON: structured, or Slack/Mattermost `{"text": ...}`."""
    if fmt == "slack":
        return {
            "text": f"*{render_subject(watch, views)}*\n"
            + "\n".join(f"• <{v.url}|{v.title}> — {v.source}: {v.snippet}" for v in views)
        }
    items = [
        {
            "title": v.title,
            "source": v.source,
            "original_source": v.original_source,
            "published_at": v.published_at.isoformat() if v.published_at else None,
            "language": v.language,
            "url": v.url,
            "snippet": v.snippet,
            "terms": list(v.terms),
            "article_id": v.article_id,
            "cluster_id": v.cluster_id,
        }
        for v in views
    ]
    return {"watch": watch, "count": len(items), "alerts": items}


class Sender(Protocol):
    """Something that delivers a message about one or more alerts of one watch."""

    def send(self, watch: str, views: Sequence[AlertView]) -> None:
        """Deliver or raise DeliveryError."""


@dataclass
class ConsoleSender:
    """Print to a stream (stdout by default)."""

    stream: IO[str] = field(default_factory=lambda: sys.stdout)

    def send(self, watch: str, views: Sequence[AlertView]) -> None:
        """Write the plain-text message."""
        self.stream.write(render_subject(watch, views) + "\n" + render_text(watch, views))
        self.stream.flush()


class LogSender:
    """Log at WARNING on the `monitor.alerts.channels` logger (one line per article)."""

    def send(self, watch: str, views: Sequence[AlertView]) -> None:
        """Log each alert."""
        for v in views:
            logger.warning("alert %s: %s (%s) %s", watch, v.title, v.source, v.url)


@dataclass(frozen=True)
class SMTPSettings:
    """Where and how to send mail; the password is kept out of repr."""

    host: str
    port: int
    ssl: bool = False
    starttls: bool = False
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "monitor@localhost"


def _truthy(value: str) -> bool:
    """Query-string booleans."""
    return value.lower() in ("1", "true", "yes", "on")


def smtp_settings(url: str) -> SMTPSettings:
    """Parse `smtp://user:pass@host:587?starttls=true&from=addr` or `smtps://…`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise DeliveryError(
            "MONITOR_SMTP_URL must look like smtp://user:pass@host:587?starttls=true or smtps://"
        )
    query = dict(parse_qsl(parts.query))
    secure = parts.scheme == "smtps"
    return SMTPSettings(
        host=parts.hostname,
        port=parts.port or (465 if secure else 25),
        ssl=secure,
        starttls=_truthy(query.get("starttls", "false")),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=query.get("from", "monitor@localhost"),
    )


@dataclass
class EmailSender:
    """Plain-text mail through the SMTP server of `MONITOR_SMTP_URL`."""

    settings: SMTPSettings
    to: str

    def message(self, watch: str, views: Sequence[AlertView]) -> EmailMessage:
        """Build the mail."""
        mail = EmailMessage()
        mail["From"] = self.settings.sender
        mail["To"] = self.to
        mail["Subject"] = render_subject(watch, views)
        mail["X-Monitor-Watch"] = watch
        mail.set_content(render_text(watch, views))
        return mail

    def _connect(self) -> smtplib.SMTP:
        """Open the connection (implicit TLS for smtps)."""
        s = self.settings
        if s.ssl:
            return smtplib.SMTP_SSL(
                s.host, s.port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
            )
        return smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT_S)

    def send(self, watch: str, views: Sequence[AlertView]) -> None:
        """Send, translating SMTP and network failures into DeliveryError."""
        try:
            with self._connect() as smtp:
                if self.settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.settings.user:
                    smtp.login(self.settings.user, self.settings.password or "")
                smtp.send_message(self.message(watch, views))
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"smtp {exc.smtp_code}: {exc.smtp_error!r}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Webhook redirects are failures, never followed (a POST must not be re-aimed)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        """Refuse every redirect."""
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def sign(secret: str, body: bytes) -> str:
    """The signature header value: `sha256=` + hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class WebhookSender:
    """JSON POST to an http(s) URL, signed when a secret is set."""

    url: str
    fmt: str = "json"
    secret: str | None = field(default=None, repr=False)
    timeout: float = WEBHOOK_TIMEOUT_S

    def request(self, watch: str, views: Sequence[AlertView]) -> urllib.request.Request:
        """Build the signed request."""
        body = json.dumps(render_payload(watch, views, self.fmt), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "monitor-alerts"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def send(self, watch: str, views: Sequence[AlertView]) -> None:
        """POST; any non-2xx status, timeout or network error is a DeliveryError."""
        try:
            with _OPENER.open(self.request(watch, views), timeout=self.timeout) as response:
                response.read(1024)
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"http {exc.code}") from None
        except urllib.error.URLError as exc:
            raise DeliveryError(f"network: {exc.reason}") from None
        except (TimeoutError, OSError) as exc:
            raise DeliveryError(f"network: {type(exc).__name__}") from None


def make_sender(spec: str, env: Mapping[str, str]) -> Sender:
    """The sender for a channel spec, configured from the environment."""
    channel = parse_channel(spec)
    if channel.kind == "console":
        return ConsoleSender()
    if channel.kind == "log":
        return LogSender()
    if channel.kind == "email":
        if not env.get("MONITOR_SMTP_URL"):
            raise DeliveryError("MONITOR_SMTP_URL is not set")
        return EmailSender(smtp_settings(env["MONITOR_SMTP_URL"]), channel.target)
    return WebhookSender(channel.target, channel.fmt, env.get("MONITOR_WEBHOOK_SECRET") or None)
