"""URL canonicalisation and identity keys: examples and hypothesis properties."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.urls import (
    UnsupportedURL,
    canonicalize,
    check_fetchable,
    is_feed_proxy,
    unwrap_redirect,
    url_key,
)

SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
HOST = st.builds(
    lambda a, b: f"{a}.{b}", SEGMENT.filter(lambda s: s[0].isalnum()), st.sampled_from(["com", "net", "ir"])
)
PATH = st.lists(SEGMENT.filter(lambda s: s not in {"amp", ".", ".."}), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
PARAM = st.tuples(st.sampled_from(["id", "page", "p", "lang", "utm_source", "fbclid", "gclid"]), SEGMENT)
QUERY = st.lists(PARAM, max_size=4).map(lambda kv: "&".join(f"{k}={v}" for k, v in kv))
URL = st.builds(
    lambda scheme, host, path, query, frag: (
        f"{scheme}://{host}{path}" + (f"?{query}" if query else "") + frag
    ),
    st.sampled_from(["http", "https", "HTTP"]),
    HOST,
    PATH,
    QUERY,
    st.sampled_from(["", "#top", "#section-2"]),
)


@given(URL)
def test_canonicalize_is_idempotent(url: str) -> None:
    assert canonicalize(canonicalize(url)) == canonicalize(url)


@given(URL)
def test_url_key_is_idempotent_over_canonical_form(url: str) -> None:
    assert url_key(canonicalize(url)) == url_key(url)


@given(URL)
def test_canonicalize_keeps_scheme_host_and_path(url: str) -> None:
    before, after = urlsplit(url), urlsplit(canonicalize(url))
    assert (after.scheme, after.hostname, after.path) == (before.scheme.lower(), before.hostname, before.path)


@given(HOST, PATH, PATH)
def test_different_paths_never_share_a_key(host: str, path_a: str, path_b: str) -> None:
    if path_a.rstrip("/") != path_b.rstrip("/"):
        assert url_key(f"https://{host}{path_a}") != url_key(f"https://{host}{path_b}")
        assert canonicalize(f"https://{host}{path_a}") != canonicalize(f"https://{host}{path_b}")


@given(HOST, HOST, PATH)
def test_different_hosts_never_share_a_key(host_a: str, host_b: str, path: str) -> None:
    if host_a != host_b:
        assert url_key(f"https://{host_a}{path}") != url_key(f"https://{host_b}{path}")


@settings(max_examples=50)
@given(
    URL,
    st.sampled_from(["utm_source=rss", "utm_medium=feed&utm_campaign=x", "fbclid=abc", "gclid=1", "ref=rss"]),
)
def test_tracking_parameters_are_dropped(url: str, tracking: str) -> None:
    joined = url.split("#")[0] + ("&" if "?" in url else "?") + tracking
    assert canonicalize(joined) == canonicalize(url)


def test_content_parameters_are_kept_and_sorted() -> None:
    assert canonicalize("https://example.com/story?p=2&id=7") == "https://example.com/story?id=7&p=2"
    assert url_key("https://example.com/story?id=7") != url_key("https://example.com/story?id=8")


@pytest.mark.parametrize(
    "variant",
    [
        "http://www.example.com/news/2024/11/17/story",
        "https://example.com/news/2024/11/17/story/",
        "https://m.example.com/news/2024/11/17/story",
        "https://amp.example.com/news/2024/11/17/story",
        "https://www.example.com/news/2024/11/17/story/amp",
        "https://www.example.com/amp/news/2024/11/17/story",
        "https://www.example.com/news/2024/11/17/story?amp=1",
        "https://www.example.com/news/2024/11/17/story?outputType=amp",
        "https://www.example.com/news/2024/11/17/story#comments",
        "https://WWW.EXAMPLE.COM:443/news/2024/11/17/story?utm_source=twitter",
        "https://www.google.com/url?q=https://www.example.com/news/2024/11/17/story&sa=D",
        "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/news/2024/11/17/story/amp",
    ],
)
def test_url_key_merges_variants(variant: str) -> None:
    assert url_key(variant) == url_key("https://www.example.com/news/2024/11/17/story")


def test_url_key_keeps_path_case_and_port() -> None:
    assert url_key("https://example.com/Story") != url_key("https://example.com/story")
    assert url_key("https://example.com:8080/story") != url_key("https://example.com/story")


def test_url_key_does_not_strip_a_bare_domain_prefix() -> None:
    assert url_key("https://m.com/story") == "m.com/story"


@pytest.mark.parametrize(
    ("wrapped", "target"),
    [
        (
            "https://www.google.com/url?sa=t&url=https%3A%2F%2Fwww.aljazeera.net%2Fnews%2F1",
            "https://www.aljazeera.net/news/1",
        ),
        (
            "https://news.google.com/news/url?sa=t&fd=R&url=http://example.org/a/b?id=3",
            "http://example.org/a/b?id=3",
        ),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.org%2Fx&h=AT0", "https://example.org/x"),
        ("https://out.reddit.com/t3_abc?url=https%3A%2F%2Fexample.org%2Fy&token=z", "https://example.org/y"),
        (
            "https://www.google.com/amp/s/www.example.org/2024/story.amp",
            "https://www.example.org/2024/story.amp",
        ),
        (
            "https://www-example-org.cdn.ampproject.org/v/www.example.org/a?amp_js_v=0.1",
            "http://www.example.org/a",
        ),
        (
            "https://www.google.com/url?q=https://l.facebook.com/l.php?u%3Dhttps://example.org/z",
            "https://example.org/z",
        ),
    ],
)
def test_unwrap_redirect_when_target_is_in_the_url(wrapped: str, target: str) -> None:
    assert unwrap_redirect(wrapped) == target


def test_unwrap_leaves_ordinary_and_unsafe_urls() -> None:
    assert unwrap_redirect("https://www.google.com/search?q=https://example.org/") == (
        "https://www.google.com/search?q=https://example.org/"
    )
    assert unwrap_redirect("https://example.org/share?url=https://other.org/") == (
        "https://example.org/share?url=https://other.org/"
    )
    # A redirector pointing to a non-http target stays what it is (still fetchable, never a file: URL).
    assert (
        urlsplit(canonicalize("https://l.facebook.com/l.php?u=file:///etc/passwd")).hostname
        == "l.facebook.com"
    )


def test_feed_proxy_links_are_recognised_not_rewritten() -> None:
    link = "http://feedproxy.google.com/~r/ExampleNews/~3/AbC123/story-title"
    assert is_feed_proxy(link)
    assert not is_feed_proxy("https://www.example.com/~r/story")
    assert urlsplit(canonicalize(link)).hostname == "feedproxy.google.com"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a", "file:///etc/passwd", "javascript:alert(1)", "https:///nohost", ""]
)
def test_unfetchable_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedURL):
        check_fetchable(url)
    with pytest.raises(UnsupportedURL):
        canonicalize(url)
