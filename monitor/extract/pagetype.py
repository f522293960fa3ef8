"""Is this page an article? Bot challenges, login walls, empty pages and index pages are not."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html

from monitor.extract.meta import PageMeta, clean

# Bot-challenge interstitials: Cloudflare ("Just a moment...", "Checking your browser", cf-challenge,
# "Attention Required!"), DDoS-Guard, Sucuri, Incapsula/Imperva, PerimeterX/HUMAN ("Press & Hold"),
# DataDome, Akamai ("Access Denied ... Reference #"), generic captcha and "enable JavaScript" stubs.
_CHALLENGE_TEXT = re.compile(
    r"just a moment\.\.\.|checking (if the site connection is secure|your browser)|attention required!"
    r"|ddos protection by|ddos-guard|sucuri website firewall|incapsula incident|request unsuccessful\. incapsula"
    r"|press (&|and) hold|are you a (human|robot)|verify(ing)? (that )?you are (a )?human|pardon our interruption"
    r"|please (enable|turn on) (javascript|js) and cookies|enable javascript and cookies to continue"
    r"|access denied.{0,200}reference #|please complete the security check|captcha",
    re.I | re.S,
)
_CHALLENGE_MARKUP = re.compile(
    r"cf-challenge|cf_chl_|challenge-platform|/cdn-cgi/challenge|g-recaptcha|h-captcha|hcaptcha\.com"
    r"|_incapsula_resource|perimeterx|px-captcha|captcha-delivery\.com|ddos-guard\.net",
    re.I,
)
# Login/paywall stubs: a password form or "sign in / subscribe to continue reading" with little text.
_LOGIN_TEXT = re.compile(
    r"(log ?in|sign ?in|subscribe|register) to (continue|read|view|access)|already a subscriber"
    r"|تسجيل الدخول|سجل الدخول|ورود به حساب|giriş yap|התחברות",
    re.I,
)
_VISIBLE_XPATH = "//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]"
# Below this many words of body text a page with a challenge/login marker is that stub, not an article.
STUB_WORDS = 150
# Index pages: body shorter than this, and most body lines are link texts (a headline list), or almost no body
# and most of the page's visible text sits in links.
INDEX_MAX_WORDS = 400
INDEX_LINK_SHARE = 0.5
INDEX_MIN_LINKS = 40
# Teasers: headings (h2-h4) that are one link of a few words, outside navigation and sidebars; their enclosing
# block (up to TEASER_MAX_CHARS of text) holds the date and summary an index page's "body" is made of.
_HEADLINE_XPATH = (
    "//*[self::h2 or self::h3 or self::h4][.//a[@href]]"
    "[not(ancestor::nav or ancestor::aside or ancestor::footer or ancestor::header)]"
)
TEASER_MAX_CHARS = 600
# A site's front page (whatever its text or og:type) is an index: "/", "/index.php", "/en/", "/fa", "/ar/index.html".
_ROOT_PATH = re.compile(r"/?(?:[a-z]{2}(?:-[a-z]{2})?/?)?(?:(?:index|default|home)\.\w{2,5})?", re.I)
# An article needs at least a few sentences; shorter bodies are "empty" unless og:type says article.
MIN_WORDS = 25
# Hiragana, katakana, CJK ideographs and Hangul syllables.
_CJK = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
CJK_CHARS_PER_WORD = 2


def _visible_text(doc: lxml.html.HtmlElement) -> tuple[int, int, int]:
    """(characters of body text, characters inside links, number of links), scripts and styles excluded."""
    body = doc.find("body")
    if body is None:
        return 0, 0, 0
    total = linked = links = 0
    for element in body.iter():
        if element.tag in ("script", "style", "noscript") or not isinstance(element.tag, str):
            continue
        size = len((element.text or "").strip())
        total += size + len((element.tail or "").strip())
        if element.tag == "a":
            links += 1
            linked += len(clean(element.text_content()))
    return total, linked, links


def visible_text(doc: lxml.html.HtmlElement, limit: int = 3000) -> str:
    """The first `limit` characters of the body's visible text (scripts and styles excluded)."""
    parts = doc.xpath(_VISIBLE_XPATH)
    return clean(" ".join(parts))[:limit]


def challenge_reason(doc: lxml.html.HtmlElement, raw_html: str, title: str | None, words: int) -> str | None:
    """'bot_challenge' or 'login_wall' when the page is such a stub."""
    if words >= STUB_WORDS:
        return None
    head = f"{title or ''} {visible_text(doc)}"
    if _CHALLENGE_TEXT.search(head) or (words < MIN_WORDS and _CHALLENGE_MARKUP.search(raw_html[:200_000])):
        return "bot_challenge"
    if words < MIN_WORDS * 2 and (_LOGIN_TEXT.search(head) or doc.xpath("//input[@type='password']")):
        return "login_wall"
    return None


def _anchor_keys(doc: lxml.html.HtmlElement) -> set[str]:
    """Normalised texts of the page's links of a few words (headline links)."""
    texts = (clean(a.text_content()).casefold() for a in doc.iter("a"))
    return {t for t in texts if len(t.split()) >= 3}


def linked_line_share(doc: lxml.html.HtmlElement, text: str) -> float:
    """Share of body lines that are the whole text of a link: headlines of a list, not running text."""
    lines = [clean(line).casefold() for line in text.splitlines() if line.strip()]
    if not lines:
        return 0.0
    anchors = _anchor_keys(doc)
    return sum(line in anchors for line in lines) / len(lines)


def _squeeze(text: str) -> str:
    """Case-folded text without white space: element texts join without spaces in text_content()."""
    return "".join(text.split()).casefold()


def teaser_blocks(doc: lxml.html.HtmlElement) -> list[str]:
    """Texts of the small blocks around headline links (a story list's items), squeezed for comparison."""
    blocks = []
    for heading in doc.xpath(_HEADLINE_XPATH):
        links = heading.xpath(".//a[@href]")
        parent = heading.getparent()
        if len(links) != 1 or parent is None or len(clean(links[0].text_content()).split()) < 3:
            continue
        text = clean(parent.text_content())
        if len(text) <= TEASER_MAX_CHARS:
            blocks.append(_squeeze(text))
    return blocks


def teaser_word_share(doc: lxml.html.HtmlElement, text: str) -> float:
    """Share of body words on lines that come from teaser blocks (the summaries of a story list)."""
    lines = [line.lstrip("-• ") for line in text.splitlines() if line.strip()]
    blocks = teaser_blocks(doc)
    total = sum(len(line.split()) for line in lines)
    if not total or not blocks:
        return 0.0
    inside = sum(len(line.split()) for line in lines if any(_squeeze(line) in block for block in blocks))
    return inside / total


def is_site_root(url: str) -> bool:
    """True for a site's front page: "/", "/index.html", or a bare language section ("/en/", "/ar"), with no
    query (WordPress's "/?p=123" and Joomla's "/index.php?option=com_content&id=7" are articles)."""
    parts = urlsplit(url)
    return not parts.query and _ROOT_PATH.fullmatch(parts.path) is not None


def index_reason(doc: lxml.html.HtmlElement, meta: PageMeta, text: str, words: int) -> str | None:
    """'index_page' for a site's front page, or a page that is a list of links with little running text."""
    if is_site_root(meta.url):  # even when it says og:type=article, as sites stamping that on every page do
        return "index_page"
    if words >= INDEX_MAX_WORDS or (meta.first("og:type") or "").lower() == "article":
        return None
    if max(linked_line_share(doc, text), teaser_word_share(doc, text)) >= INDEX_LINK_SHARE:
        return "index_page"
    if words < MIN_WORDS:
        total, linked, links = _visible_text(doc)
        if links >= INDEX_MIN_LINKS and total and linked / total >= INDEX_LINK_SHARE:
            return "index_page"
    return None


def word_count(text: str) -> int:
    """Words separated by spaces, plus ~1 word per 2 characters of scripts written without spaces (CJK)."""
    return len(text.split()) + len(_CJK.findall(text)) // CJK_CHARS_PER_WORD


def not_article_reason(
    doc: lxml.html.HtmlElement, raw_html: str, meta: PageMeta, title: str | None, text: str
) -> str | None:
    """Why the page is not an article (None when it is one)."""
    words = word_count(text)
    reason = challenge_reason(doc, raw_html, title, words) or index_reason(doc, meta, text, words)
    if reason:
        return reason
    if words == 0:
        return "empty"
    if words < MIN_WORDS and (meta.first("og:type") or "").lower() != "article":
        return "too_little_text"
    return None
