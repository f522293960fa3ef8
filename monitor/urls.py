"""URL canonicalisation: the key under which an article URL is looked up before it is fetched again.

`canonicalize` keeps the URL fetchable (scheme, host and path survive, only noise is removed); the dedup layer
builds looser alias keys on top of it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only track the click (Google Analytics, Facebook, Google Ads, Microsoft, Mailchimp,
# Matomo/Piwik, HubSpot, and the `ref`/`source` values CMSes add to feed links). Compared case-insensitively.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "cmpid", "ocid", "ito", "ns_mchannel",
        "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "at_medium", "at_campaign", "xtor", "amp_js_v",
        "__twitter_impression", "s_cid", "smid", "share", "feature", "rss", "from", "via", "spm",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmb_", "oly_", "vero_")
# `ref=rss`, `source=feed` and the like: only stripped when the value names a feed or social channel.
FEEDISH_PARAMS = frozenset({"ref", "source", "src", "from", "channel"})
FEEDISH_VALUE = re.compile(r"^(rss|atom|feed|feeds|rss2|twitter|facebook|fb|tw|social|newsletter|nl)\b", re.I)


# Redirect endpoints that carry their target in a query parameter: (host without "www.", path prefix) →
# parameter names, first present wins. From the links that search engines, social sites and news aggregators put
# in feeds and newsletters (Google `/url?q=`, Google News `/news/url?url=`, Facebook `l.php?u=`, Reddit, Bing
# News, LinkedIn, Telegram instant view, VK, DuckDuckGo, YouTube).
QUERY_REDIRECTORS: dict[tuple[str, str], tuple[str, ...]] = {
    ("google.com", "/url"): ("q", "url"),
    ("news.google.com", "/news/url"): ("url",),
    ("l.facebook.com", "/l.php"): ("u",),
    ("lm.facebook.com", "/l.php"): ("u",),
    ("m.facebook.com", "/l.php"): ("u",),
    ("out.reddit.com", "/"): ("url",),
    ("bing.com", "/news/apiclick.aspx"): ("url",),
    ("linkedin.com", "/redir/redirect"): ("url",),
    ("t.me", "/iv"): ("url",),
    ("vk.com", "/away.php"): ("to",),
    ("duckduckgo.com", "/l/"): ("uddg",),
    ("youtube.com", "/redirect"): ("q",),
}
# AMP caches and viewers that embed the publisher's host and path: `<x>.cdn.ampproject.org/c/s/host/path`
# (`/c/`, `/v/`, `/i/`; `s/` = https) and Google's AMP viewer `google.com/amp/s/host/path`.
AMP_CACHE_PATH = re.compile(r"^/(?:c|v|i)/(s/)?([^/?#]+\.[^/?#]+)(/[^?#]*)?$")
GOOGLE_AMP_PATH = re.compile(r"^/amp/(s/)?([^/?#]+\.[^/?#]+)(/[^?#]*)?$")
# Feed proxies whose links do not contain the target (FeedBurner `feedproxy.google.com/~r/Feed/~3/id/`,
# FeedBlitz `/~/id/`): only fetching resolves them, so the fetched URL must become the article's alias.
FEED_PROXY_HOSTS = frozenset({"feedproxy.google.com", "feeds.feedburner.com", "feeds.feedblitz.com"})
FEED_PROXY_PATH = re.compile(r"^/~(?:r|ff)?/")
MAX_UNWRAP = 5


class UnsupportedURL(ValueError):
    """The URL is not http(s) or has no host: we never fetch it."""


def is_tracking_param(name: str, value: str) -> bool:
    """True when a query parameter only tracks the visit and never selects content."""
    lowered = name.lower()
    if lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES):
        return True
    return lowered in FEEDISH_PARAMS and bool(FEEDISH_VALUE.match(value))


def check_fetchable(url: str) -> str:
    """Return the URL stripped of whitespace, or raise UnsupportedURL if we must not fetch it."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsupportedURL(f"unsupported scheme {parts.scheme or '(none)'!r} in {url!r}")
    if not parts.hostname:
        raise UnsupportedURL(f"no host in {url!r}")
    return url


def _redirect_target(url: str) -> str | None:
    """The target a known redirector or AMP cache URL points to, or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    for (redirector, prefix), names in QUERY_REDIRECTORS.items():
        if host == redirector and parts.path.startswith(prefix):
            query = dict(parse_qsl(parts.query))
            return next((query[n] for n in names if n in query), None)
    amp = AMP_CACHE_PATH.match(parts.path) if host.endswith(".cdn.ampproject.org") else None
    amp = amp or (GOOGLE_AMP_PATH.match(parts.path) if host == "google.com" else None)
    if amp:
        return f"{'https' if amp.group(1) else 'http'}://{amp.group(2)}{amp.group(3) or '/'}"
    return None


def unwrap_redirect(url: str) -> str:
    """Follow redirector and AMP-cache URLs whose target is written in the URL itself (never fetches)."""
    for _ in range(MAX_UNWRAP):
        target = _redirect_target(url)
        if not target:
            return url
        try:
            url = check_fetchable(target)
        except UnsupportedURL:
            return url
    return url


def is_feed_proxy(url: str) -> bool:
    """True for FeedBurner-style proxy links whose target only a fetch reveals."""
    parts = urlsplit(url)
    return (parts.hostname or "").lower() in FEED_PROXY_HOSTS and bool(FEED_PROXY_PATH.match(parts.path))


def canonicalize(url: str) -> str:
    """Canonical form: redirect unwrapped, lower-case scheme/host, no default port, fragment or tracking."""
    url = unwrap_redirect(check_fetchable(url))
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k, v)]
    scheme = parts.scheme.lower()
    netloc = (parts.hostname or "").lower()
    if ":" in netloc:  # IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port is not None and DEFAULT_PORTS.get(scheme) != parts.port:
        netloc = f"{netloc}:{parts.port}"
    cleaned = urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))
    return canonicalize_url(cleaned, keep_fragments=False)


# AMP and mobile variants of one article: `/amp/` path segments, `.amp` / `/amp` suffixes, `?amp=1`, `outputType=amp`.
AMP_PATH = re.compile(r"(/amp(?=/|$)|\.amp(?=$|\.html?$))", re.I)
MOBILE_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.")
AMP_QUERY_PARAMS = frozenset({"amp", "outputtype", "output"})


def url_key(url: str) -> str:
    """Looser identity key: one key for http/https, www./m./amp. hosts, AMP paths and trailing slashes."""
    parts = urlsplit(canonicalize(url))
    host = parts.netloc
    for prefix in MOBILE_HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    path = AMP_PATH.sub("", parts.path).rstrip("/") or "/"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in AMP_QUERY_PARAMS
    ]
    return urlunsplit(("", host, path, urlencode(query), "")).lstrip("/")
