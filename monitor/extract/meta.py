"""Page-level metadata read once from the parsed tree: meta tags, JSON-LD objects, canonical URL, image, tags."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import lxml.html

from monitor.urls import UnsupportedURL, canonicalize

_SPACES = re.compile(r"\s+")
# Separators of keyword lists in `<meta name="keywords">` (comma, Arabic comma, semicolon, pipe).
_KEYWORD_SPLIT = re.compile(r"\s*[,،;|]\s*")
MAX_TAGS = 30
MAX_TAG_CHARS = 60


@dataclass(slots=True)
class PageMeta:
    """Meta tags by lower-cased name/property, JSON-LD objects (flattened), and the page URL."""

    url: str
    tags: dict[str, list[str]] = field(default_factory=dict)
    jsonld: list[dict[str, Any]] = field(default_factory=list)
    canonical_href: str | None = None

    def first(self, *names: str) -> str | None:
        """The first non-empty content among the named meta tags."""
        for name in names:
            for value in self.tags.get(name, ()):
                if value:
                    return value
        return None

    def ld_values(self, key: str) -> list[Any]:
        """Values of `key` in the JSON-LD objects that describe an article (or any object if none does)."""
        return [obj[key] for obj in self.jsonld if obj.get(key)]


def clean(text: str | None) -> str:
    """Collapse whitespace runs and strip."""
    return _SPACES.sub(" ", text or "").strip()


def _walk(data: Any) -> Iterator[dict[str, Any]]:
    """Every dict inside a JSON-LD value, `@graph` members included."""
    if isinstance(data, dict):
        yield data
        for value in data.values():
            if isinstance(value, dict | list):
                yield from _walk(value)
    elif isinstance(data, list):
        for item in data:
            yield from _walk(item)


# JSON-LD types that describe the article itself (schema.org Article subtypes and WebPage as a last resort).
_ARTICLE_TYPE = re.compile(r"article|posting|report|news|blog|webpage|creativework", re.I)
# One-entry caches, (page, value) read and replaced as one tuple (safe across threads): the title, author and
# date readers all ask for the JSON-LD of the page being extracted.
_LAST_ROOTS: list[tuple[lxml.html.HtmlElement, list[Any]]] = []
_LAST_ARTICLES: list[tuple[lxml.html.HtmlElement, list[dict[str, Any]]]] = []


def _cached(cache: list[tuple[lxml.html.HtmlElement, Any]], doc: lxml.html.HtmlElement) -> Any | None:
    last = cache[0] if cache else None
    return last[1] if last is not None and last[0] is doc else None


def json_ld_roots(doc: lxml.html.HtmlElement) -> list[Any]:
    """The parsed value of each of the page's JSON-LD scripts; malformed scripts are skipped (they are common)."""
    if (found := _cached(_LAST_ROOTS, doc)) is not None:
        return found
    roots: list[Any] = []
    for script in doc.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            roots.append(json.loads(script.text))
        except ValueError:
            continue
    _LAST_ROOTS[:] = [(doc, roots)]
    return roots


def parse_jsonld(doc: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """Every object in the page's JSON-LD, nested ones included (publisher, author, image …)."""
    return [obj for root in json_ld_roots(doc) for obj in _walk(root)]


def _ld_types(item: dict[str, Any]) -> str:
    """The item's @type(s) as one string."""
    kind = item.get("@type", "")
    return " ".join(kind) if isinstance(kind, list) else str(kind)


def _top_objects(doc: lxml.html.HtmlElement) -> Iterator[dict[str, Any]]:
    """The JSON-LD objects that stand for a page or its content: top-level ones, `@graph` and `mainEntity`
    members (not the nested ones: a comment's or a related story's dates and authors are not the article's)."""
    stack = list(json_ld_roots(doc))
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            yield item
            stack.extend(g for g in (item.get("@graph"), item.get("mainEntity")) if g)


def json_ld_articles(doc: lxml.html.HtmlElement) -> list[dict[str, Any]]:
    """JSON-LD objects describing an article (or page), article types first, web pages last."""
    if (found := _cached(_LAST_ARTICLES, doc)) is not None:
        return found
    items = [i for i in _top_objects(doc) if _ARTICLE_TYPE.search(_ld_types(i))]
    items.sort(key=lambda i: "webpage" in _ld_types(i).lower())
    _LAST_ARTICLES[:] = [(doc, items)]
    return items


def meta_tags(doc: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """`<meta>` contents (whitespace collapsed) by lower-cased property/name/itemprop, in page order."""
    tags: dict[str, list[str]] = {}
    for element in doc.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        content = element.get("content")
        if key and content is not None:
            # RDFa allows several properties in one attribute: property="og:title dc:title"
            for name in key.lower().split():
                tags.setdefault(name, []).append(clean(content))
    return tags


def read_meta(doc: lxml.html.HtmlElement, url: str) -> PageMeta:
    """Collect `<meta>` contents by name/property/itemprop, JSON-LD and `<link rel=canonical>`."""
    meta = PageMeta(url=url, tags=meta_tags(doc), jsonld=parse_jsonld(doc))
    for element in doc.iter("link"):
        rel = (element.get("rel") or "").lower().split()
        if "canonical" in rel and element.get("href"):
            meta.canonical_href = element.get("href")
            break
    return meta


def _safe_canonical(candidate: str | None, base: str) -> str | None:
    """Canonicalised absolute URL, or None if it is not fetchable http(s)."""
    if not candidate:
        return None
    try:
        return canonicalize(urljoin(base, candidate.strip()))
    except (UnsupportedURL, ValueError):
        return None


def canonical_url(meta: PageMeta) -> str:
    """rel=canonical, else og:url, resolved against the page URL and canonicalised; else the page URL."""
    for candidate in (meta.canonical_href, meta.first("og:url")):
        if (found := _safe_canonical(candidate, meta.url)) is not None:
            return found
    return _safe_canonical(meta.url, meta.url) or meta.url


def top_image(meta: PageMeta) -> str | None:
    """og:image (or twitter:image) resolved against the page URL."""
    image = meta.first(
        "og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"
    )
    return urljoin(meta.url, image) if image else None


def site_name(meta: PageMeta, fallback: str | None) -> str | None:
    """og:site_name, application-name, JSON-LD publisher name, else trafilatura's guess."""
    found = meta.first("og:site_name", "application-name", "al:android:app_name")
    if found:
        return found
    for publisher in meta.ld_values("publisher"):
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            return clean(publisher["name"])
    return clean(fallback) or None


def _split_keywords(values: list[Any]) -> list[str]:
    """Flatten keyword values: strings are split on list separators, lists are taken item by item."""
    out: list[str] = []
    for value in values:
        if isinstance(value, str):
            out.extend(_KEYWORD_SPLIT.split(value))
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return out


def visible_tags(doc: lxml.html.HtmlElement) -> list[str]:
    """Link texts of `<a rel="tag">` (the microformat WordPress and most CMSes use for tag lists)."""
    return [clean(a.text_content()) for a in doc.xpath("//a[contains(concat(' ', @rel, ' '), ' tag ')]")]


def page_tags(meta: PageMeta, visible: list[str]) -> list[str]:
    """Tags from article:tag, meta keywords, JSON-LD keywords and visible tag lists; deduplicated, in order.

    `visible`: `visible_tags(doc)` plus trafilatura's `tags` metadata (links to `/tag/…` pages it scanned).
    """
    candidates = list(meta.tags.get("article:tag", ()))
    candidates += _split_keywords(meta.tags.get("keywords", []) + meta.tags.get("news_keywords", []))
    candidates += _split_keywords(meta.ld_values("keywords"))
    candidates += _split_keywords(visible)
    seen: set[str] = set()
    tags: list[str] = []
    for tag in (clean(c).strip("#") for c in candidates):
        if tag and len(tag) <= MAX_TAG_CHARS and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags[:MAX_TAGS]
