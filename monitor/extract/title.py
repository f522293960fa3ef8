"""The headline: og:title / JSON-LD headline / `<h1>` / `<title>`, with the site name cut off."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html

from monitor.extract.lexicon import fold, lexicon
from monitor.extract.meta import PageMeta, clean

# Separators outlets put between headline and site name: "Headline | Site", "Headline - Site", "— Site",
# "« Site", ":: Site", "· Site" (spaces required, so hyphenated words survive).
_SEPARATOR = re.compile(r"\s+(?:[|\-–—»«·•:/\\]|::)\s+")
_NON_WORD = re.compile(r"\W+")
# A segment that names the site: its normalised text is at most this many words.
MAX_SITE_WORDS = 6
MAX_H1 = 3
# An `<h1>` not confirmed by metadata is the headline only when marked up as one (class/id/itemprop naming a
# title or headline) with at least this many words, or inside `<article>`/`<main>` with one more word ("Lorem",
# "Politics", logo text and section names are not headlines). Measured on newspaper4k + Readability's pages.
_HEADLINE_MARK = re.compile(r"title|headline|heading|hed\b", re.I)
MIN_H1_WORDS = 3
MAX_KICKER_WORDS = 3
# Readability's separators for an unknown site name in `<title>`: " | ", " - ", " – ", " — ", " \\ ", " / ",
# " > ", " » ".
_HIERARCHY = re.compile(r"\s[|\-–—\\/>»]\s")
_LAST_SEGMENT = re.compile(r"\s[|\-–—\\/>»]\s(?:(?!\s[|\-–—\\/>»]\s).)*$")
_FIRST_SEGMENT = re.compile(r"^.*?\s[|\-–—\\/>»]\s")
MAX_TITLE_WORDS = 40
# Section labels outlets put before the headline, followed by a separator (kickers).
_KICKER = re.compile(
    r"^\s*(opinion|analysis|exclusive|watch|live|breaking|video|photos|update|رأي|تحليل|عاجل|حصري|فيديو|بالفيديو"
    r"|بالصور|یادداشت|گزارش|son dakika|özel|canlı)\s*[|:–—-]\s*",
    re.I,
)
# Media labels appended to headlines: "(video)", "[Watch]", "[PHOTOS]", "(صور)", "(فيديو)".
_MEDIA_LABEL = re.compile(
    r"\s*[\[(](video|videos|watch|photos?|pictures|gallery|listen|audio|podcast|فيديو|صور|بالصور)[\])]\s*$",
    re.I,
)
# An `<h1>` that is a prefix of the metadata title agrees with it only if it covers this share of it.
PREFIX_SHARE = 0.6


def _key(text: str) -> str:
    """Comparison key: lower-cased word characters only."""
    return _NON_WORD.sub("", text.casefold())


def site_keys(site_name: str | None, url: str) -> set[str]:
    """Keys a site-name segment may match: og:site_name and the host's registrable label."""
    keys = {_key(site_name)} if site_name else set()
    host = (urlsplit(url).hostname or "").removeprefix("www.").split(".")
    if host and host[0]:
        keys.add(_key(host[0]))
        keys.add(_key(host[0]).removeprefix("the"))  # thecrimson.com → "… Crimson"
        keys.add(_key(".".join(host)))
    return keys - {""}


def _names_site(segment: str, keys: set[str]) -> bool:
    """True when a title segment is the site name (or contains/is contained in it)."""
    key = _key(segment)
    if not key or len(segment.split()) > MAX_SITE_WORDS:
        return False
    return any(key == k or (len(k) >= 4 and (k in key or key in k)) for k in keys)


def _is_section(segment: str) -> bool:
    """A section label left between headline and site name ("Opinion", "World News", «سياسة»)."""
    return fold(segment) in lexicon().sections


def strip_site(title: str, keys: set[str]) -> str:
    """Remove leading/trailing segments that name the site ("Headline | Site" → "Headline")."""
    parts = _SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    separators = _SEPARATOR.findall(title)
    start, end = 0, len(parts)
    while end - start > 1 and _names_site(parts[end - 1], keys):
        end -= 1
    while end - start > 1 and _names_site(parts[start], keys):
        start += 1
    if (start, end) == (0, len(parts)):
        return title
    while end - start > 1 and _is_section(parts[end - 1]):  # "Headline | Opinion | Site"
        end -= 1
    pieces = [parts[start]]
    for i in range(start + 1, end):
        pieces += [separators[i - 1], parts[i]]
    return "".join(pieces).strip()


def _h1s(doc: lxml.html.HtmlElement) -> list[tuple[str, lxml.html.HtmlElement]]:
    """Text and element of the first few non-empty `<h1>` elements."""
    out = []
    for h1 in doc.iter("h1"):
        text = clean(h1.text_content())
        if text:
            out.append((text, h1))
        if len(out) >= MAX_H1:
            break
    return out


def _ld_headline(meta: PageMeta) -> str | None:
    """JSON-LD headline (or name of an Article-typed object)."""
    for value in meta.ld_values("headline"):
        if isinstance(value, str) and clean(value):
            return clean(value)
    return None


def _agrees(a: str, b: str) -> bool:
    """Same headline up to punctuation and case, or most of one is a prefix of the other (suffix appended), or
    `a` is the first separated segment of `b` ("Headline - Game Guide - Site" with an unknown middle part)."""
    ka, kb = _key(a), _key(b)
    if not ka or not kb:
        return False
    if len(a.split()) >= MIN_H1_WORDS and ka == _key(_SEPARATOR.split(b, maxsplit=1)[0]):
        return True
    short, long = sorted((ka, kb), key=len)
    return long.startswith(short) and len(short) >= PREFIX_SHARE * len(long)


def _plausible_h1(text: str, element: lxml.html.HtmlElement, keys: set[str]) -> bool:
    """An `<h1>` the metadata does not confirm, but marked up as the headline or inside the article."""
    words = len(text.split())
    if words > MAX_TITLE_WORDS or _names_site(text, keys):
        return False
    marks = " ".join(element.get(a) or "" for a in ("class", "id", "itemprop"))
    if _HEADLINE_MARK.search(marks):
        return words >= MIN_H1_WORDS
    in_article = any(a.tag in ("article", "main") for a in element.iterancestors())
    return in_article and words >= MIN_H1_WORDS + 1


def _strip_media_label(title: str) -> str:
    """Drop a trailing media label ("… (video)", "… (صور)")."""
    return _MEDIA_LABEL.sub("", title)


def strip_kicker(title: str) -> str:
    """Drop a leading section label ("Opinion | …", «عاجل: …») and a trailing media label ("… (video)")."""
    return _strip_media_label(_KICKER.sub("", title, count=1)) or title


def _finish(h1: str, agreeing: list[str]) -> str:
    """The `<h1>` text, minus a kicker the metadata marks with a separator ("Opinion | …" vs "Opinion …"); kept
    when the metadata spells the headline with it, as the `<h1>` does ("Opinion: …" in both)."""
    if any(candidate == h1 and _KICKER.match(h1) for candidate in agreeing):
        return _strip_media_label(h1) or h1
    for candidate in agreeing:
        kicked = strip_kicker(candidate)
        if kicked != candidate and _key(candidate) == _key(h1):
            return kicked
    return strip_kicker(h1)


def meta_titles(doc: lxml.html.HtmlElement, meta: PageMeta, keys: set[str]) -> list[str]:
    """Metadata titles in order of trust (Dublin Core, Open Graph, Twitter, JSON-LD, `<title>`), site cut."""
    title_tag = doc.find(".//title")
    raw = [
        meta.first("dc:title", "dc.title", "dcterm:title", "dcterms:title", "dcterms.title"),
        meta.first("og:title", "twitter:title"),
        _ld_headline(meta),
        clean(title_tag.text_content()) if title_tag is not None else None,
    ]
    return [strip_site(clean(c), keys) for c in raw if c and clean(c)]


def _kicker_tail(h1: str, candidates: list[str]) -> str | None:
    """The metadata title when the `<h1>` is that title behind a short section label ("News Headline…")."""
    for candidate in candidates:
        kh, kc = _key(h1), _key(candidate)
        extra = len(h1.split()) - len(candidate.split())
        if (
            len(candidate.split()) >= MIN_H1_WORDS
            and kh != kc
            and kh.endswith(kc)
            and 0 < extra <= MAX_KICKER_WORDS
        ):
            return candidate
    return None


def guess_site_suffix(title: str) -> str:
    """Cut an unknown site name from a bare `<title>` (Mozilla Readability's `_getArticleTitle` heuristic)."""
    if not _HIERARCHY.search(title):
        return title
    cut = _LAST_SEGMENT.sub("", title)
    if len(cut.split()) < MIN_H1_WORDS:
        cut = _FIRST_SEGMENT.sub("", title)
    return cut.strip() if len(cut.split()) > 4 else title


def pick_title(
    doc: lxml.html.HtmlElement, meta: PageMeta, site_name: str | None, fallback: str | None
) -> str | None:
    """The headline: an `<h1>` confirmed by metadata, else a plausible `<h1>`, else metadata, site cut."""
    keys = site_keys(site_name, meta.url)
    candidates = meta_titles(doc, meta, keys)
    has_meta = len(candidates) > 1 or doc.find(".//title") is None
    found = _h1s(doc)
    h1s = [text for text, _ in found]
    for h1 in h1s:
        agreeing = [c for c in candidates if _agrees(h1, c)]
        if agreeing:
            return _finish(h1, agreeing)
        if (tail := _kicker_tail(h1, candidates)) is not None:
            return tail
    plausible = [text for text, element in found if _plausible_h1(text, element, keys)]
    if plausible:
        return strip_kicker(plausible[0])
    if candidates:
        return strip_kicker(candidates[0] if has_meta else guess_site_suffix(candidates[0]))
    return strip_site(clean(fallback), keys) or (h1s[0] if h1s else None)
