"""Generated news outlets for the crawl benchmarks: N feeds of M article pages, served from 127.0.0.1.

Every page is built deterministically from (outlet, article) so the server needs no storage and the benchmark can
rebuild the exact bytes it served (for the bare-trafilatura comparison). Pages carry realistic chrome (mega menu,
share bar, JSON-LD, related links, comments, sidebar, footer, inline script and style, ~60 KB) around 6-12
paragraphs of generated English whose words, names and numbers vary per article, so near-duplicate detection never
merges two of them. Feeds are RSS 2.0 with a strong ETag and Last-Modified, so a second poll gets a 304.
"""

from __future__ import annotations

import functools
import json
import random
import re
import time
from collections.abc import Mapping
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from monitor.demo.server import OutletServer, Reply, etag_for, not_modified

WORDS = [
    "government",
    "minister",
    "council",
    "parliament",
    "budget",
    "reform",
    "election",
    "vote",
    "protest",
    "border",
    "crossing",
    "port",
    "trade",
    "export",
    "import",
    "wheat",
    "fuel",
    "electricity",
    "water",
    "drought",
    "harvest",
    "price",
    "inflation",
    "currency",
    "bank",
    "loan",
    "fund",
    "reconstruction",
    "bridge",
    "road",
    "airport",
    "railway",
    "hospital",
    "school",
    "university",
    "teacher",
    "student",
    "doctor",
    "nurse",
    "refugee",
    "camp",
    "aid",
    "convoy",
    "ceasefire",
    "talks",
    "delegation",
    "envoy",
    "summit",
    "agreement",
    "treaty",
    "tariff",
    "tender",
    "contract",
    "company",
    "factory",
    "worker",
    "union",
    "strike",
    "salary",
    "pension",
    "tax",
    "customs",
    "court",
    "judge",
    "lawyer",
    "trial",
    "verdict",
    "police",
    "security",
    "army",
    "militia",
    "attack",
    "shelling",
    "drone",
    "village",
    "town",
    "city",
    "province",
    "district",
    "region",
    "capital",
    "coast",
    "river",
    "valley",
    "mountain",
    "desert",
    "season",
    "winter",
    "summer",
    "rain",
    "storm",
    "flood",
    "heat",
    "record",
    "rise",
    "fall",
    "increase",
    "decrease",
    "percent",
    "million",
    "billion",
    "dollar",
    "official",
    "spokesman",
    "statement",
    "report",
    "survey",
    "study",
    "data",
    "figures",
    "plan",
    "project",
    "programme",
    "phase",
    "launch",
    "opening",
    "closure",
    "delay",
    "shortage",
    "supply",
    "demand",
    "market",
    "shop",
    "farmer",
    "fisherman",
    "driver",
    "engineer",
    "residents",
    "families",
    "children",
    "women",
    "men",
    "youth",
    "elderly",
    "citizens",
    "authorities",
    "ministry",
    "agency",
    "authority",
    "committee",
    "commission",
    "board",
    "office",
    "department",
    "municipality",
    "governor",
    "mayor",
]
VERBS = [
    "said",
    "announced",
    "reported",
    "warned",
    "confirmed",
    "denied",
    "expected",
    "agreed",
    "rejected",
    "approved",
    "demanded",
    "promised",
]
PLACES = [
    "Damascus",
    "Beirut",
    "Amman",
    "Baghdad",
    "Erbil",
    "Aleppo",
    "Homs",
    "Tripoli",
    "Sidon",
    "Mosul",
    "Basra",
    "Irbid",
    "Zarqa",
    "Latakia",
]
NAMES = [
    "Rana Haddad",
    "Samer Khatib",
    "Lina Nasser",
    "Omar Saleh",
    "Huda Mansour",
    "Karim Aoun",
    "Maya Rizk",
    "Ziad Hamdan",
]
STYLE = (
    "<style>"
    + "".join(f".c{i}{{margin:{i}px;padding:{i % 7}px;color:#{i:03x}}}" for i in range(150))
    + "</style>"
)
SCRIPT = "<script>" + "".join(f"window.ad{i}={{slot:'s{i}',sizes:[[300,250],[728,90]]}};" for i in range(90))
SCRIPT += "</script>"
_PATH = re.compile(r"^/o(\d+)/(?:feed\.xml|a(\d+)\.html)$")
# One fixed publication time so feeds and pages are byte-identical across cycles (a second poll is a 304).
EPOCH = 1731830400  # 2024-11-17 08:00 UTC
RSS = "application/rss+xml; charset=utf-8"
HTML = "text/html; charset=utf-8"


def sentence(rng: random.Random) -> str:
    """One generated sentence: subject, verb, a clause of vocabulary words, a place and a number."""
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
    return (
        f"The {rng.choice(WORDS)} {rng.choice(WORDS)} in {rng.choice(PLACES)} {rng.choice(VERBS)} on Sunday "
        f"that {words} would reach {rng.randint(2, 9999)} by {rng.choice(PLACES)}."
    )


def article_text(outlet: int, index: int) -> tuple[str, list[str]]:
    """Headline and paragraphs of one article."""
    rng = random.Random(outlet * 1_000_003 + index)
    title = (
        f"{rng.choice(PLACES)} {rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(VERBS)} {index}-{outlet}"
    )
    paragraphs = [
        " ".join(sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(6, 12))
    ]
    return title.capitalize(), paragraphs


def _links(base: str, prefix: str, count: int) -> str:
    return "".join(
        f'<li><a href="{base}/{prefix}/{i}/">{WORDS[i % len(WORDS)]} {i}</a></li>' for i in range(count)
    )


def article_page(base: str, outlet: int, index: int) -> bytes:
    """The HTML of article `index` of outlet `outlet` on a server at `base`."""
    title, paragraphs = article_text(outlet, index)
    url = f"{base}/o{outlet}/a{index}.html"
    author = NAMES[(outlet + index) % len(NAMES)]
    published = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(EPOCH - index * 600))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    related = "".join(
        f'<li><a href="{base}/o{outlet}/a{i}.html">Related story {i}</a></li>' for i in range(24)
    )
    comments = "".join(
        f'<li class="comment"><b>Reader {i}</b><p>Thanks for the report {i}.</p></li>' for i in range(20)
    )
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "datePublished": published,
            "author": [{"@type": "Person", "name": author}],
            "publisher": {"@type": "Organization", "name": f"Outlet {outlet}"},
        }
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Outlet {outlet}</title>'
        f'<link rel="canonical" href="{url}"><meta property="og:title" content="{title}">'
        f'<meta property="og:type" content="article"><meta property="og:site_name" content="Outlet {outlet}">'
        f'<meta name="author" content="{author}"><meta property="article:published_time" content="{published}">'
        f'<script type="application/ld+json">{ld}</script>{STYLE}</head><body class="single">'
        f'<header><div class="logo"><a href="{base}/o{outlet}/">Outlet {outlet}</a></div>'
        f'<nav class="mega-menu"><ul>{_links(base, "section", 160)}</ul></nav>'
        f'<form class="search"><input name="q"><button>Search</button></form></header>'
        f'<nav class="breadcrumbs"><a href="{base}/">Home</a> / <a href="{base}/section/1/">News</a></nav>'
        f'<main><article><h1>{title}</h1><div class="meta"><span class="byline">By {author}</span>'
        f'<time datetime="{published}">{published[:10]}</time></div>'
        f'<div class="share"><a href="https://facebook.com/sharer?u={url}">Facebook</a>'
        f'<a href="https://twitter.com/intent/tweet?url={url}">X</a></div>'
        f'<div class="entry-content">{body}</div><div class="tags"><a href="{base}/tag/{index % 30}/">tag</a>'
        f'</div></article><section class="related"><h3>Read also</h3><ul>{related}</ul></section>'
        f'<section class="comments"><h3>Comments</h3><ol>{comments}</ol></section></main>'
        f'<aside class="sidebar"><h3>Most read</h3><ol>{_links(base, "most-read", 30)}</ol>'
        f'<div class="newsletter"><p>Subscribe to our newsletter</p><input type="email"></div></aside>'
        f"<footer><ul>{_links(base, 'footer', 120)}</ul><p>All rights reserved Outlet {outlet}</p></footer>"
        f"{SCRIPT}</body></html>"
    ).encode()


@functools.lru_cache(maxsize=20_000)
def feed(base: str, outlet: int, articles: int) -> bytes:
    """RSS 2.0 feed of outlet `outlet` listing its `articles` pages. Cached: a real server answers a conditional
    GET from a stored ETag, while generating the text of 20 articles for their titles took ~5 ms a request,
    which the second cycle of the cycles benchmark paid in wall time."""
    items = []
    for index in range(articles):
        title, _ = article_text(outlet, index)
        link = f"{base}/o{outlet}/a{index}.html"
        items.append(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{formatdate(EPOCH - index * 600, usegmt=True)}</pubDate></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Outlet {outlet}</title>'
        f"<link>{base}/o{outlet}/</link><description>Generated outlet</description>{''.join(items)}"
        "</channel></rss>"
    ).encode()


class GeneratedOutlets(OutletServer):
    """`feeds` outlets, each with one feed of `articles` pages; `latency` seconds added to every answer."""

    def __init__(self, feeds: int, articles: int, latency: float = 0.0) -> None:
        super().__init__()
        self.feeds, self.articles, self.latency = feeds, articles, latency
        self.statuses: dict[int, int] = {}

    def feed_urls(self) -> list[str]:
        """The feed URL of every outlet."""
        return [self.url(f"/o{i}/feed.xml") for i in range(self.feeds)]

    def respond(self, method: str, raw_path: str, headers: Mapping[str, str]) -> Reply:
        """Generated feeds and pages; robots.txt and 404s from the base class."""
        if self.latency:
            time.sleep(self.latency)
        match = _PATH.match(unquote(urlsplit(raw_path).path))
        if match is None or int(match[1]) >= self.feeds or int(match[2] or 0) >= self.articles:
            return super().respond(method, raw_path, headers)
        outlet, index = int(match[1]), match[2]
        if index is None:
            reply = _conditional(feed(self.base_url, outlet, self.articles), RSS, headers)
        else:
            reply = _conditional(article_page(self.base_url, outlet, int(index)), HTML, headers)
        with self._lock:
            self.statuses[reply.status] = self.statuses.get(reply.status, 0) + 1
        return reply


def _conditional(body: bytes, content_type: str, headers: Mapping[str, str]) -> Reply:
    """200 with validators, or 304 when the request's validators match."""
    etag = etag_for(body)
    validators = {"ETag": etag, "Last-Modified": formatdate(EPOCH, usegmt=True)}
    if not_modified(headers, etag, EPOCH):
        return Reply(304, b"", validators)
    return Reply(200, body, {"Content-Type": content_type, **validators})
