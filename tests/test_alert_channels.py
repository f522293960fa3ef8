"""Channels against real local servers: aiosmtpd for mail, pytest-httpserver for webhooks."""

from __future__ import annotations

import email
import hashlib
import hmac
import io
import json
import logging
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.alerts.channels import (
    AlertView,
    ConsoleSender,
    DeliveryError,
    EmailSender,
    WebhookSender,
    make_sender,
    parse_channel,
    redact_channel,
    smtp_settings,
)

VIEW = AlertView(
    watch="iran-in-syria",
    title="وصول نصير زاده إلى دمشق",
    source="Enab Baladi",
    url="https://www.enabbaladi.net/archives/123",
    snippet="… قال مسؤول إن نصير زاده وصل بدمشق …",
    terms=("نصير زاده", "دمشق"),
    original_source="وكالة سانا",
    published_at=datetime(2024, 11, 17, 9, 30, tzinfo=timezone(timedelta(hours=3))),
    language="ar",
    article_id=7,
    cluster_id=3,
)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """aiosmtpd handler keeping the received messages and the logins."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
            return AuthResult(success=data.password == b"p@ss w0rd", handled=False)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=inbox.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_email_is_received_with_headers_and_plain_text_body(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    url = f"smtp://desk%40example.org:p%40ss%20w0rd@127.0.0.1:{port}?from=monitor@example.org"
    sender = make_sender("email:desk@example.org", {"MONITOR_SMTP_URL": url})
    sender.send("iran-in-syria", [VIEW])
    assert inbox.logins == [("desk@example.org", "p@ss w0rd")]
    ((rcpts, mail),) = inbox.messages
    assert rcpts == ["desk@example.org"]
    assert mail["From"] == "monitor@example.org" and mail["To"] == "desk@example.org"
    subject = str(email.header.make_header(email.header.decode_header(mail["Subject"])))
    assert subject == "[monitor] iran-in-syria: وصول نصير زاده إلى دمشق"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_payload(decode=True).decode(mail.get_content_charset())
    for expected in (
        "وصول نصير زاده إلى دمشق",
        "Source: Enab Baladi",
        "Original source: وكالة سانا",
        "Time: 2024-11-17T09:30:00+03:00",
        "Matched: نصير زاده, دمشق",
        "نصير زاده وصل بدمشق",
        "https://www.enabbaladi.net/archives/123",
    ):
        assert expected in body


def test_email_digest_has_one_block_per_article(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    sender = EmailSender(smtp_settings(f"smtp://127.0.0.1:{port}"), "desk@example.org")
    other = AlertView(
        watch="w",
        title="Second",
        source="BBC Persian",
        url="https://www.bbc.com/persian/x",
        snippet="s",
        terms=("x",),
    )
    sender.send("w", [VIEW, other])
    ((_, mail),) = inbox.messages
    assert "2 new matches" in str(email.header.make_header(email.header.decode_header(mail["Subject"])))
    body = mail.get_payload(decode=True).decode(mail.get_content_charset())
    assert body.count("Source: ") == 2 and "https://www.bbc.com/persian/x" in body


def test_email_auth_failure_raises_without_the_password(
    smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, port = smtp
    caplog.set_level(logging.DEBUG)
    sender = EmailSender(smtp_settings(f"smtp://desk:Secr3tPw@127.0.0.1:{port}"), "desk@example.org")
    with pytest.raises(DeliveryError) as caught:
        sender.send("w", [VIEW])
    assert "535" in str(caught.value)
    assert "Secr3tPw" not in str(caught.value) and "Secr3tPw" not in caplog.text
    assert "Secr3tPw" not in repr(sender)


def test_email_unreachable_server_is_a_delivery_error() -> None:
    sender = EmailSender(smtp_settings(f"smtp://127.0.0.1:{free_port()}"), "desk@example.org")
    with pytest.raises(DeliveryError, match="smtp: ConnectionRefusedError"):
        sender.send("w", [VIEW])


def test_smtp_url_parsing() -> None:
    s = smtp_settings("smtp://user:pa%3Ass@mail.example.org:587?starttls=true")
    assert (s.host, s.port, s.starttls, s.ssl, s.user, s.password) == (
        "mail.example.org",
        587,
        True,
        False,
        "user",
        "pa:ss",
    )
    t = smtp_settings("smtps://mail.example.org")
    assert (t.port, t.ssl, t.starttls, t.user) == (465, True, False, None)
    assert "pa:ss" not in repr(s)
    with pytest.raises(DeliveryError, match="MONITOR_SMTP_URL must look like"):
        smtp_settings("http://mail.example.org")


def test_email_without_smtp_url_fails_clearly() -> None:
    with pytest.raises(DeliveryError, match="MONITOR_SMTP_URL is not set"):
        make_sender("email:desk@example.org", {})


def _capture(store: list[Request], status: int = 200) -> Any:
    def handler(request: Request) -> Response:
        store.append(request)
        return Response("ok", status=status)

    return handler


def test_webhook_json_with_hmac_signature(httpserver: HTTPServer) -> None:
    received: list[Request] = []
    httpserver.expect_request("/hook", method="POST", query_string="token=abc").respond_with_handler(
        _capture(received)
    )
    sender = make_sender(
        f"webhook:{httpserver.url_for('/hook')}?token=abc", {"MONITOR_WEBHOOK_SECRET": "s3cret"}
    )
    sender.send("iran-in-syria", [VIEW])
    (request,) = received
    body = request.get_data()
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Monitor-Signature"], expected)
    assert request.headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    assert payload["watch"] == "iran-in-syria" and payload["count"] == 1
    (alert,) = payload["alerts"]
    assert alert["title"] == VIEW.title and alert["original_source"] == "وكالة سانا"
    assert alert["published_at"] == "2024-11-17T09:30:00+03:00" and alert["terms"] == ["نصير زاده", "دمشق"]
    assert alert["url"] == VIEW.url and alert["cluster_id"] == 3


def test_webhook_without_secret_has_no_signature(httpserver: HTTPServer) -> None:
    received: list[Request] = []
    httpserver.expect_request("/hook").respond_with_handler(_capture(received))
    make_sender(f"webhook:{httpserver.url_for('/hook')}", {}).send("w", [VIEW])
    assert "X-Monitor-Signature" not in received[0].headers


def test_webhook_slack_format(httpserver: HTTPServer) -> None:
    received: list[Request] = []
    httpserver.expect_request("/slack", query_string="").respond_with_handler(_capture(received))
    make_sender(f"webhook:{httpserver.url_for('/slack')}?format=slack", {}).send("iran-in-syria", [VIEW])
    payload = json.loads(received[0].get_data())
    assert list(payload) == ["text"]
    assert "iran-in-syria" in payload["text"] and f"<{VIEW.url}|{VIEW.title}>" in payload["text"]


def test_webhook_http_error_and_redirect_are_failures(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    httpserver.expect_request("/moved").respond_with_data("", status=302, headers={"Location": "/elsewhere"})
    with pytest.raises(DeliveryError, match="http 500"):
        WebhookSender(httpserver.url_for("/down")).send("w", [VIEW])
    with pytest.raises(DeliveryError, match="http 302"):
        WebhookSender(httpserver.url_for("/moved")).send("w", [VIEW])
    assert [r.path for r, _ in httpserver.log] == ["/down", "/moved"]


def test_webhook_refused_connection_is_a_delivery_error() -> None:
    with pytest.raises(DeliveryError, match="network"):
        WebhookSender(f"http://127.0.0.1:{free_port()}/hook", timeout=2).send("w", [VIEW])


@pytest.mark.parametrize(
    ("spec", "kind", "target", "fmt"),
    [
        ("console", "console", "", "json"),
        ("log", "log", "", "json"),
        ("email:desk@example.org", "email", "desk@example.org", "json"),
        (
            "webhook:https://h.example.org/x?format=slack&a=1",
            "webhook",
            "https://h.example.org/x?a=1",
            "slack",
        ),
    ],
)
def test_parse_channel(spec: str, kind: str, target: str, fmt: str) -> None:
    channel = parse_channel(spec)
    assert (channel.kind, channel.target, channel.fmt) == (kind, target, fmt)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("sms:123", "unknown channel"),
        ("console:x", "unknown channel"),
        ("email:desk", "invalid email"),
        ("webhook:file:///etc/passwd", "must be http"),
        ("webhook:https://h.example.org/x?format=xml", "format must be"),
    ],
)
def test_parse_channel_rejects(spec: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_channel(spec)


def test_redaction_hides_webhook_tokens() -> None:
    assert (
        redact_channel("webhook:https://hooks.slack.com/services/T0/B0/XYZ")
        == "webhook:https://hooks.slack.com/…"
    )
    assert redact_channel("email:desk@example.org") == "email:desk@example.org"


def test_console_sender_writes_the_message() -> None:
    out = io.StringIO()
    ConsoleSender(out).send("w", [VIEW])
    assert "[monitor] w: وصول نصير زاده إلى دمشق" in out.getvalue() and VIEW.url in out.getvalue()
