"""The network guard: only http(s), and no private addresses outside the configured outlets."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from monitor.errors import ErrorClass
from monitor.netguard import NetworkGuardMiddleware, RefusedRequest, host_port, is_public


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("10.255.255.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
        ("100.64.0.1", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


def test_host_port_fills_default_ports() -> None:
    assert host_port("https://Example.org/x") == "example.org:443"
    assert host_port("http://example.org/x") == "example.org:80"
    assert host_port("http://127.0.0.1:8080/") == "127.0.0.1:8080"


def run(mw: NetworkGuardMiddleware, url: str) -> object:
    """Run the async check for a URL whose host is a literal IP (no resolver, no reactor needed)."""
    return asyncio.run(mw.process_request(Request(url)))


@pytest.mark.parametrize(
    "url",
    [
        "http://10.255.255.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:1/x",
        "http://[::1]:1/",
    ],
)
def test_private_targets_are_refused(url: str) -> None:
    mw = NetworkGuardMiddleware(allowed={"127.0.0.1:8000"})
    with pytest.raises(RefusedRequest) as caught:
        run(mw, url)
    assert caught.value.error is ErrorClass.FORBIDDEN_ADDRESS
    assert isinstance(caught.value, IgnoreRequest)


def test_configured_host_and_port_is_allowed_even_on_loopback() -> None:
    mw = NetworkGuardMiddleware(allowed={"127.0.0.1:8000"})
    assert run(mw, "http://127.0.0.1:8000/sham/feed.xml") is None


def test_public_literal_address_is_allowed() -> None:
    assert run(NetworkGuardMiddleware(allowed=set()), "http://93.184.216.34/feed") is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "data:text/plain,hi"])
def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(RefusedRequest) as caught:
        run(NetworkGuardMiddleware(allowed=set()), url)
    assert caught.value.error is ErrorClass.BAD_URL
