"""The desk's defences: CSRF tokens, optional login, response headers, and safe rendering of scraped values.

Scraped content is untrusted. Templates autoescape everything; links are emitted only for http(s) URLs;
the Content-Security-Policy forbids inline script and style, so even markup that slipped through could not run.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response, abort, redirect, request, session, url_for

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Methods that change nothing (RFC 9110 §9.2.1 "safe methods"); every other one needs the token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Opening an original must not tell the outlet the desk's address.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

# Scripts written right to left (ISO 639-1 codes; Urdu, Pashto, Sorani Kurdish, Yiddish, Dhivehi included).
RTL_LANGUAGES = frozenset({"ar", "fa", "ur", "he", "ps", "ckb", "yi", "dv", "iw"})
# A BCP 47 tag by shape only ("ar", "fa-IR", "zh-Hant"); anything else is not echoed into a `lang` attribute.
LANG_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


@dataclass(slots=True, frozen=True)
class AuthSettings:
    """Optional login: a shared token (Bearer header or the login form) and/or HTTP basic credentials."""

    token: str | None = None
    basic_user: str | None = None
    basic_password: str | None = None

    @property
    def enabled(self) -> bool:
        """Whether any login is configured."""
        return bool(self.token or self.basic_user)


def parse_basic_auth(value: str) -> tuple[str, str]:
    """`user:password` → (user, password); ValueError naming the expected shape otherwise."""
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError("basic auth must be given as user:password (both non-empty)")
    return user, password


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the server on this machine."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def csrf_token() -> str:
    """This session's CSRF token (created on first use)."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def check_csrf() -> None:
    """Abort 403 unless a state-changing request carries this session's token (form field or header)."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), sent):
        abort(403, description="missing or wrong CSRF token: reload the page and try again")


def _same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def _basic_user(auth: AuthSettings) -> str | None:
    """The user named by valid HTTP basic credentials in this request, else None."""
    header = request.headers.get("Authorization", "")
    if not auth.basic_user or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    ok = _same(user, auth.basic_user) & _same(password, auth.basic_password or "")
    return user if ok else None


def token_matches(auth: AuthSettings, sent: str) -> bool:
    """Whether a token was configured and `sent` is it."""
    return bool(auth.token) and _same(sent, auth.token or "")


def authenticated_user(auth: AuthSettings) -> str | None:
    """Who is making this request: basic-auth user, token holder, 'desk' when login is off; None if refused."""
    if not auth.enabled:
        return "desk"
    user = _basic_user(auth)
    if user:
        return user
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer ") and token_matches(auth, bearer[7:]):
        return "token"
    return "token" if session.get("authed") and auth.token else None


def unauthorized(auth: AuthSettings) -> Response:
    """401 asking for basic credentials, or a redirect to the token login form."""
    if auth.basic_user and not auth.token:
        return Response(
            "login required", 401, {"WWW-Authenticate": 'Basic realm="monitor desk", charset="UTF-8"'}
        )
    return redirect(url_for("desk.login", next=request.full_path))  # type: ignore[return-value]


def safe_href(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL with a host, else None (no javascript:, data:, file: …)."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url.strip()


def text_dir(language: str | None) -> str:
    """`rtl` for right-to-left languages, else `ltr`."""
    base = (language or "").split("-")[0].lower()
    return "rtl" if base in RTL_LANGUAGES else "ltr"


def lang_attr(language: str | None) -> str | None:
    """The language as a safe `lang` attribute value, or None."""
    return language if language and LANG_TAG.match(language) else None


def safe_next(target: str | None) -> str:
    """A post-login redirect target limited to this site's paths (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
