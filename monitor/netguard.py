"""Refusing requests that a hostile feed could use to probe the internal network (SSRF).

Settings:
- ``MONITOR_ALLOW_PRIVATE_HOSTS``: list of ``host`` or ``host:port`` that may resolve to non-public addresses.

A request may reach a loopback, private, link-local, reserved or multicast address only when it goes to the
``host:port`` of a URL the user configured in the sources file (the spider's ``trusted_hosts``) or to an
allow-listed host. Redirects go through the downloader middlewares again, so every hop is checked. The check
resolves the name before the download; a DNS answer that changes between check and connect is not caught.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import deferred_to_future
from twisted.internet.threads import deferToThread

from monitor.errors import ErrorClass
from monitor.urls import ALLOWED_SCHEMES

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedRequest(IgnoreRequest):
    """A request we refused on purpose; carries the error class to record."""

    def __init__(self, error: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.error = error


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses (IPv4-mapped IPv6 judged by the IPv4 inside)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def host_port(url: str) -> str:
    """`host:port` of a URL with the scheme's default port filled in."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def resolve(host: str) -> list[IPAddress]:
    """All addresses a host name resolves to (blocking; run in a thread)."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


class NetworkGuardMiddleware:
    """Downloader middleware: only http(s), and no private addresses outside the configured outlet."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetworkGuardMiddleware:
        """Read the allow-list from settings; add the spider's configured hosts when it opens."""
        mw = cls({h.lower() for h in crawler.settings.getlist("MONITOR_ALLOW_PRIVATE_HOSTS")})
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider: Spider) -> None:
        """Trust the host:port of every URL the user configured."""
        self.allowed |= set(getattr(spider, "trusted_hosts", ()))

    def _exempt(self, request: Request) -> bool:
        """A configured or allow-listed host."""
        target = host_port(request.url)
        return bool({target, target.rsplit(":", 1)[0]} & self.allowed)

    async def process_request(self, request: Request) -> Any:
        """Refuse non-http(s) schemes and non-public addresses."""
        parts = urlsplit(request.url)
        if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
            raise RefusedRequest(ErrorClass.BAD_URL, f"refused scheme {parts.scheme!r}: {request.url}")
        if self._exempt(request):
            return None
        addresses = await self._addresses(parts.hostname)
        private = [str(a) for a in addresses if not is_public(a)]
        if private:
            raise RefusedRequest(
                ErrorClass.FORBIDDEN_ADDRESS,
                f"refused non-public address {', '.join(private)}: {request.url}",
            )
        return None

    async def _addresses(self, host: str) -> list[IPAddress]:
        """Literal IPs directly; names through the system resolver in a thread."""
        try:
            return [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            pass
        try:
            return await deferred_to_future(deferToThread(resolve, host))
        except OSError:
            return []  # let the downloader raise its own DNS error, classified as `dns`
