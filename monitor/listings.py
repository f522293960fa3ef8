"""Listing pages (a section front, a "latest news" page) for outlets without feeds: links picked by selectors.

The sources file gives `link_selector` (CSS: the `<a>` elements, or elements holding one) and optionally
`link_pattern` (a regular expression searched in the canonical URL, so tracking parameters never hide a match).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from parsel import Selector

from monitor.feeds import ParsedEntry
from monitor.urls import UnsupportedURL, canonicalize

# Links that never lead to a page: in-page anchors and script pseudo-URLs.
NOT_A_PAGE = re.compile(r"^\s*(?:#|javascript:|mailto:|tel:)", re.I)


@dataclass(slots=True)
class ListingLinks:
    """The article links of one listing page, and how many elements the selector matched."""

    matched: int
    entries: list[ParsedEntry] = field(default_factory=list)


@functools.lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _link(element: Selector) -> tuple[str, str] | None:
    """(href, text) of the element when it is a link, else of its first descendant link to a page."""
    links = [element] if element.root.tag == "a" else element.css("a[href]")
    for link in links:
        href = link.attrib.get("href")
        if href and not NOT_A_PAGE.match(href):
            return href.strip(), " ".join(" ".join(link.css("::text").getall()).split())
    return None


def _canonical(url: str) -> str:
    """The canonical URL; an unfetchable one as it is (the spider records it as a bad URL)."""
    try:
        return canonicalize(url)
    except UnsupportedURL:
        return url


def listing_links(
    page: Selector, base_url: str, link_selector: str, link_pattern: str | None
) -> ListingLinks:
    """Canonical article links (first occurrence, page order) of the elements matching `link_selector`."""
    elements = page.css(link_selector)
    found = ListingLinks(len(elements))
    seen: set[str] = set()
    for element in elements:
        link = _link(element)
        if link is None:
            continue
        href, text = link
        url = _canonical(urljoin(base_url, href))
        if url in seen or (link_pattern and not _pattern(link_pattern).search(url)):
            continue
        seen.add(url)
        found.entries.append(
            ParsedEntry(guid=None, link=url, title=text or None, published=None, updated=None)
        )
    return found
