"""A test server that serves the sample outlets plus misbehaving feed routes under `/trap/`.

Every trap is a feed URL a crawl test configures as a source's feed (`MockServer.trap_feeds`), with the pages
it links to on the same host and port. Two more feeds are left out of `trap_feeds` (the scheduling tests use
them alone): `/trap/stale-etag.xml`, whose ETag never changes although its content does (`stale_version`), and
`/trap/slow.xml`, whose article pages (`/trap/slow/<slug>.html`) each take `slow_seconds`. In the spirit of Scrapy's own `tests/mockserver/`: delay, drop,
truncate, redirect forever, lie about encodings, rate-limit.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import unquote, urlsplit

from monitor.demo.server import OUTLETS_DIR, OutletServer, Reply

RSS_TYPE = "application/rss+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
TRAP_DATE = "Mon, 18 Nov 2024 09:{minute:02d}:00 +0000"


@dataclass(frozen=True, slots=True)
class TrapArticle:
    """A small article page served under /trap/articles/<slug>.html."""

    title: str
    author: str
    paragraphs: tuple[str, ...]
    lang: str = "en"


# Written for these tests; each body is distinct so near-duplicate detection never merges two of them.
# Format: "== slug | language | author", the headline, then paragraphs separated by blank lines.
ARTICLES_TEXT = """
== malformed-1 | en | Nadia Salem
Latakia and Tartus ports report record container traffic

Container traffic through Latakia and Tartus rose by a fifth in October, the ports authority said on
Sunday, as shipping lines restored routes suspended during the summer.

Officials credited a new customs window that clears perishable cargo within a day.

Freight agents in Beirut said the rise partly reflected cargo diverted from congested terminals.

== malformed-2 | en | Yousef Qasem
Amman and Damascus agree on a joint electricity tariff

Jordan will sell surplus solar power to Syria at a fixed evening tariff under a deal signed in
Amman.

The agreement covers up to 250 megawatts and runs for three years, according to the energy ministry.

Engineers still need to repair two transmission towers near the border before deliveries start.

== truncated-1 | en | Aram Karim
Kurdistan region delays civil service salaries again

Public employees in Erbil and Sulaimaniyah will receive October salaries late for a third month.

The regional finance ministry blamed a dispute with Baghdad over the federal budget transfer.

Teachers' unions said they would decide on a strike after meeting ministry officials on Thursday.

== gzip-1 | en | Huda Mansour
Bahrain opens tender for a second desalination plant

Bahrain's electricity and water authority has invited bids for a desalination plant in Hidd.

The plant is designed to produce 60 million gallons a day once its second phase is complete.

Bidders have until the end of February to submit technical offers, the authority said.

== hang-1 | en | Salim Younis
Mosul airport receives its first commercial flight in a decade

A passenger jet from Baghdad landed at Mosul's rebuilt airport on Sunday morning.

The terminal was destroyed in the fighting of 2017 and rebuilt with funds from the federal budget.

Two carriers plan weekly flights to Erbil and Istanbul from January, the transport ministry said.

== ratelimit-1 | en | Fahad Al-Mutairi
Kuwait's parliament debates a citizenship law amendment

Kuwaiti lawmakers opened debate on a draft amendment to the nationality law on Tuesday.

The draft tightens the conditions under which citizenship granted by naturalisation can be revoked.

A final vote is expected before the end of the parliamentary session in December.

== nolink-good | en | Maryam Al-Balushi
Oman extends its tourist visa waiver to more countries

Oman will allow citizens of twelve more countries to enter without a visa for up to two weeks.

The tourism ministry expects the change to add 100,000 visitors in the coming season.

Hotels in Muscat and Salalah reported occupancy above 80 percent last winter.

== dupguid-a | en | Ali Hussein
Baghdad municipality starts work on a new Tigris bridge

Work has started on a fourth bridge across the Tigris in northern Baghdad, the municipality said.

The bridge will link Adhamiya with Kadhimiya and is meant to ease chronic morning congestion.

== dupguid-b | en | Rami Aoun
Lebanese banks extend the withdrawal limit for dollar deposits

Lebanese depositors may withdraw up to 400 dollars a month from old accounts under a new circular.

Economists said the measure would do little to restore trust in the banking sector.

== dupguid-c | en | Noor Al-Kuwari
Qatar publishes its first national heat-stress map

Qatar's environment ministry has released a map of districts most exposed to extreme summer heat.

Planners will use it to decide where to plant shade trees and build cooled bus shelters.

== filelink-good | en | Zainab Kadhim
Iraq's wheat harvest exceeds the government target

Iraqi farmers delivered more than five million tonnes of wheat to state silos this year.

The agriculture ministry said irrigation quotas and subsidised seed explained the rise.

== private-good | en | Hala Darwish
Syrian pharmacists warn of shortages of insulin

Pharmacists in Homs and Hama say insulin has been hard to find for three weeks.

Importers blame delays in opening letters of credit at the central bank.

== latin1 | fr | Élodie Sérès
Beyrouth : le port rouvre ses quais après les travaux

Le port de Beyrouth a rouvert lundi deux quais fermés depuis l'été, a annoncé la direction.

Les armateurs turcs, dont la société Çelik Denizcilik, reprendront leurs escales dès décembre.

Les dockers réclament toujours une revalorisation de leurs salaires, indexés sur la livre.

== cp1256 | ar | سليم الأحمد
ارتفاع أسعار الخبز في حلب بعد رفع سعر الطحين

ارتفعت أسعار الخبز في أفران مدينة حلب الخاصة بنسبة الربع خلال أسبوع واحد بعد رفع سعر الطحين.

وقال أصحاب أفران إن تكلفة المازوت والنقل زادت أيضاً، فيما طالب السكان بزيادة مخصصات الخبز المدعوم.

وأكدت مديرية التجارة الداخلية أنها ستكثف الرقابة على الأوزان والأسعار في الأسواق.
"""


def parse_articles(text: str) -> dict[str, TrapArticle]:
    """Parse ARTICLES_TEXT into slug → TrapArticle."""
    articles = {}
    for block in text.split("== ")[1:]:
        head, title, *rest = block.strip().split("\n")
        slug, lang, author = (part.strip() for part in head.split("|"))
        paragraphs = tuple(" ".join(p.split("\n")) for p in "\n".join(rest).strip().split("\n\n"))
        articles[slug] = TrapArticle(title, author, paragraphs, lang)
    return articles


ARTICLES = parse_articles(ARTICLES_TEXT)


CHALLENGE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    "<div class='challenge'><h1>Checking your browser before accessing the site.</h1>"
    "<p>This process is automatic. Your browser will redirect to your requested content shortly.</p>"
    "<noscript>Please enable JavaScript and cookies to continue.</noscript></div></body></html>"
)
LOGIN_PAGE = (
    "<!DOCTYPE html><html><head><title>Sign in | Gulf Ledger</title></head><body><header><nav>"
    "<a href='/'>Home</a></nav></header><main><h1>Subscribers only</h1>"
    "<p>Sign in or subscribe to continue reading this article.</p>"
    "<form action='/login' method='post'><input name='email'><input name='password' type='password'>"
    "<button>Sign in</button></form></main></body></html>"
)
HOMEPAGE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Gulf Ledger - News</title>"
    "<link rel='alternate' type='application/rss+xml' href='/trap/malformed.xml'></head><body>"
    "<header><nav><a href='/'>Home</a> <a href='/business'>Business</a></nav></header><main>"
    "<h1>Latest news</h1><ul><li><a href='/trap/articles/gzip-1.html'>Bahrain opens tender</a></li>"
    "<li><a href='/trap/articles/hang-1.html'>Mosul airport reopens</a></li></ul></main></body></html>"
)
NOT_ARTICLE_PAGES = {
    "pages/challenge.html": CHALLENGE_PAGE,
    "pages/login.html": LOGIN_PAGE,
    "pages/empty.html": "",
}
# Trap articles served in a legacy encoding: slug → (codec, Content-Type); no charset in the page itself.
PAGE_ENCODINGS = {"cp1256": ("cp1256", "text/html"), "latin1": ("latin-1", "text/html; charset=iso-8859-1")}


def render_article(article: TrapArticle, charset_meta: bool = True) -> str:
    """A compact but realistic article page."""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
    meta = "<meta charset='utf-8'>" if charset_meta else ""
    direction = " dir='rtl'" if article.lang == "ar" else ""
    return (
        f"<!DOCTYPE html><html lang='{article.lang}'{direction}><head>{meta}"
        f"<title>{escape(article.title)} | Gulf Ledger</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/region'>Region</a> <a href='/economy'>Economy</a></nav>"
        "<form action='/search'><input name='q'></form></header>"
        f"<article><h1>{escape(article.title)}</h1><p class='byline'>By {escape(article.author)}</p>"
        f"<time datetime='2024-11-18T09:00:00+00:00'>18 November 2024</time>{paragraphs}</article>"
        "<aside><h3>Most read</h3><ul><li><a href='/a'>Markets close higher</a></li></ul></aside>"
        "<footer>© 2024 Gulf Ledger. All rights reserved.</footer></body></html>"
    )


def rss(items: Sequence[tuple[str, str | None, str | None]], title: str = "Gulf Ledger") -> str:
    """RSS 2.0 text for (title, link, guid) items; `link`/`guid` None leaves the element out."""
    out = [f"<rss version='2.0'><channel><title>{title}</title><link>/</link><description>News</description>"]
    for minute, (item_title, link, guid) in enumerate(items):
        out.append(f"<item><title>{item_title}</title>")
        out.append(f"<link>{link}</link>" if link else "")
        out.append(f"<guid isPermaLink='false'>{guid}</guid>" if guid else "")
        out.append(
            f"<pubDate>{TRAP_DATE.format(minute=minute)}</pubDate><description>{item_title}</description>"
        )
        out.append("</item>")
    return "".join(out) + "</channel></rss>\n"


class MockServer(OutletServer):
    """OutletServer plus dynamic trap routes under /trap/ (see the module docstring)."""

    hang_seconds: float = 30.0
    huge_bytes: int = 3 * 1024 * 1024
    stale_version: int = 1
    slow_seconds: float = 1.0
    # The slow feed's articles: every trap article whose page is plain UTF-8.
    SLOW_SLUGS = tuple(slug for slug in ARTICLES if slug not in PAGE_ENCODINGS)
    STALE_ETAG = '"stale-v1"'
    STALE_LAST_MODIFIED = "Mon, 18 Nov 2024 09:00:00 GMT"
    TRAPS = (
        "malformed", "truncated", "html", "cp1256", "latin1", "gzip", "404", "500", "hang", "redirect-loop",
        "huge", "429", "nolink", "dupguid", "filelink", "private", "notarticle",
    )  # fmt: skip

    def __init__(self, root: Path = OUTLETS_DIR, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(root, host, port)
        self._hits: dict[str, int] = {}
        self._hits_lock = threading.Lock()

    @property
    def trap_feeds(self) -> dict[str, str]:
        """Trap name → absolute feed URL."""
        return {name: f"{self.base_url}/trap/{name}.xml" for name in self.TRAPS}

    def trap_article_url(self, slug: str) -> str:
        """Absolute URL of a trap article page."""
        return f"{self.base_url}/trap/articles/{slug}.html"

    def respond(self, method: str, raw_path: str, headers: Mapping[str, str]) -> Reply:
        """Trap routes first, then the sample outlets."""
        path = unquote(urlsplit(raw_path).path)
        if not path.startswith("/trap/"):
            return super().respond(method, raw_path, headers)
        name = path.removeprefix("/trap/")
        if name.startswith("articles/") or name.startswith("pages/"):
            return self._page(name)
        if name.startswith("slow/"):
            return self._slow_page(name.removeprefix("slow/").removesuffix(".html"))
        stem = name.removesuffix(".xml")
        if name.endswith(".xml") and stem in ("stale-etag", "slow"):
            return getattr(self, "trap_" + stem.replace("-", "_"))(headers)
        if not name.endswith(".xml") or stem not in (*self.TRAPS, "redirect-loop-b"):
            return self.not_found()
        route: Callable[[], Reply] = getattr(self, "trap_" + stem.replace("-", "_"))
        return route()

    def hits(self, name: str) -> int:
        """Count one more hit on a stateful route and return the new count."""
        with self._hits_lock:
            self._hits[name] = self._hits.get(name, 0) + 1
            return self._hits[name]

    def _page(self, name: str) -> Reply:
        """A not-article page (pages/…) or a trap article (articles/<slug>.html) in its trap's encoding."""
        if name in NOT_ARTICLE_PAGES:
            return _ok(NOT_ARTICLE_PAGES[name].encode(), HTML_TYPE)
        slug = name.removeprefix("articles/").removesuffix(".html")
        article = ARTICLES.get(slug) if name.startswith("articles/") else None
        if article is None:
            return self.not_found()
        codec, content_type = PAGE_ENCODINGS.get(slug, ("utf-8", HTML_TYPE))
        return _ok(render_article(article, charset_meta=codec == "utf-8").encode(codec), content_type)

    def _feed(self, slugs: list[str]) -> str:
        return rss([(escape(ARTICLES[s].title), self.trap_article_url(s), None) for s in slugs])

    def trap_malformed(self) -> Reply:
        """Unescaped `&` in titles: bozo but readable."""
        items = [
            (ARTICLES[s].title.replace(" and ", " & "), self.trap_article_url(s), None)
            for s in ("malformed-1", "malformed-2")
        ]
        return _ok(rss(items, title="Gulf Ledger & Partners").encode(), RSS_TYPE)

    def trap_truncated(self) -> Reply:
        """Feed cut in the middle of its second item."""
        full = self._feed(["truncated-1", "hang-1"])
        cut = full.index("<item>", full.index("</item>")) + len("<item><title>Mosul airport")
        return _ok(full[:cut].encode(), RSS_TYPE)

    def trap_html(self) -> Reply:
        """A homepage where a feed was expected."""
        return _ok(HOMEPAGE.encode(), HTML_TYPE)

    def trap_cp1256(self) -> Reply:
        """windows-1256 bytes, no XML declaration, `text/xml` without charset."""
        article = ARTICLES["cp1256"]
        items: list[tuple[str, str | None, str | None]] = [
            (article.title, self.trap_article_url("cp1256"), None)
        ]
        return _ok(rss(items, title="أخبار الشمال الاقتصادية").encode("cp1256"), "text/xml")

    def trap_latin1(self) -> Reply:
        """ISO-8859-1 bytes without an encoding declaration."""
        body = rss(
            [(ARTICLES["latin1"].title, self.trap_article_url("latin1"), None)], title="Le Courrier du Levant"
        )
        return _ok(body.encode("latin-1"), "application/rss+xml")

    def trap_gzip(self) -> Reply:
        """A valid feed sent gzip-compressed whatever the client accepts."""
        reply = _ok(gzip.compress(self._feed(["gzip-1"]).encode(), mtime=0), RSS_TYPE)
        reply.headers["Content-Encoding"] = "gzip"
        return reply

    def trap_404(self) -> Reply:
        """Gone."""
        return self.not_found()

    def trap_500(self) -> Reply:
        """Always a server error."""
        return Reply(500, b"<h1>Internal Server Error</h1>", {"Content-Type": HTML_TYPE})

    def trap_hang(self) -> Reply:
        """Sleep `hang_seconds` (cut short by stop()), then a valid feed."""
        if self._stopping.wait(self.hang_seconds):
            return Reply(503, b"shutting down", {"Content-Type": "text/plain"})
        return _ok(self._feed(["hang-1"]).encode(), RSS_TYPE)

    def trap_redirect_loop(self) -> Reply:
        """302 to a twin that redirects back here."""
        return Reply(302, b"", {"Location": f"{self.base_url}/trap/redirect-loop-b.xml"})

    def trap_redirect_loop_b(self) -> Reply:
        """The twin of trap_redirect_loop."""
        return Reply(302, b"", {"Location": f"{self.base_url}/trap/redirect-loop.xml"})

    def trap_huge(self) -> Reply:
        """Stream `huge_bytes` of valid-looking RSS with no Content-Length."""
        return Reply(200, _huge_chunks(self.huge_bytes), {"Content-Type": RSS_TYPE})

    def trap_429(self) -> Reply:
        """429 with Retry-After: 1 on the first request, a valid feed afterwards."""
        if self.hits("429") == 1:
            return Reply(429, b"Too Many Requests", {"Content-Type": "text/plain", "Retry-After": "1"})
        return _ok(self._feed(["ratelimit-1"]).encode(), RSS_TYPE)

    def trap_nolink(self) -> Reply:
        """One entry without any link (nor permalink guid) and one good entry."""
        items = [
            ("Entry without a link", None, None),
            (ARTICLES["nolink-good"].title, self.trap_article_url("nolink-good"), None),
        ]
        return _ok(rss(items).encode(), RSS_TYPE)

    def trap_dupguid(self) -> Reply:
        """Two entries sharing one GUID with different links, plus a normal entry."""
        items = [
            (ARTICLES["dupguid-a"].title, self.trap_article_url("dupguid-a"), "gl-2024-0001"),
            (ARTICLES["dupguid-b"].title, self.trap_article_url("dupguid-b"), "gl-2024-0001"),
            (ARTICLES["dupguid-c"].title, self.trap_article_url("dupguid-c"), "gl-2024-0002"),
        ]
        return _ok(rss(items).encode(), RSS_TYPE)

    def trap_filelink(self) -> Reply:
        """Entries linking to file:// and ftp:// URLs, plus one good entry."""
        items = [
            ("Local file", "file:///etc/passwd", None),
            ("FTP mirror", "ftp://127.0.0.1/pub/report.html", None),
            (ARTICLES["filelink-good"].title, self.trap_article_url("filelink-good"), None),
        ]
        return _ok(rss(items).encode(), RSS_TYPE)

    def trap_private(self) -> Reply:
        """Entries pointing at private, link-local and other loopback addresses, plus one good entry."""
        bad = [
            "http://10.255.255.1/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:1/x",
            "http://[::1]:1/",
        ]
        items = [(f"Internal {n}", url, None) for n, url in enumerate(bad)]
        items.append((ARTICLES["private-good"].title, self.trap_article_url("private-good"), None))
        return _ok(rss(items).encode(), RSS_TYPE)

    def trap_stale_etag(self, headers: Mapping[str, str]) -> Reply:
        """The same ETag and Last-Modified whatever the content, and a 304 whenever the client sends them."""
        validators = {"ETag": self.STALE_ETAG, "Last-Modified": self.STALE_LAST_MODIFIED}
        if headers.get("if-none-match") == self.STALE_ETAG:
            return Reply(304, b"", validators)
        slugs = ["malformed-1", "malformed-2"][: self.stale_version]
        return Reply(200, self._feed(slugs).encode(), {"Content-Type": RSS_TYPE, **validators})

    def trap_slow(self, headers: Mapping[str, str]) -> Reply:
        """A feed of SLOW_SLUGS (served at once, with real validators) whose pages are slow."""
        items = [(escape(ARTICLES[s].title), self.slow_url(s), None) for s in self.SLOW_SLUGS]
        return self._conditional(rss(items).encode(), RSS_TYPE, 1_700_000_000, headers)

    def slow_url(self, slug: str) -> str:
        """Absolute URL of a slow article page."""
        return f"{self.base_url}/trap/slow/{slug}.html"

    def _slow_page(self, slug: str) -> Reply:
        """A trap article after `slow_seconds` (cut short by stop())."""
        if slug not in self.SLOW_SLUGS:
            return self.not_found()
        if self._stopping.wait(self.slow_seconds):
            return Reply(503, b"shutting down", {"Content-Type": "text/plain"})
        return _ok(render_article(ARTICLES[slug]).encode(), HTML_TYPE)

    def trap_notarticle(self) -> Reply:
        """Links to a bot challenge, a login wall and an empty page."""
        pages = [("Market update", "challenge"), ("Subscriber analysis", "login"), ("Breaking", "empty")]
        items = [(title, f"{self.base_url}/trap/pages/{page}.html", None) for title, page in pages]
        return _ok(rss(items).encode(), RSS_TYPE)


def _ok(body: bytes, content_type: str) -> Reply:
    return Reply(200, body, {"Content-Type": content_type})


def _huge_chunks(total: int) -> Iterator[bytes]:
    """`total` bytes of RSS: a header, then items until the budget is spent (no closing tags)."""
    head = b"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Huge</title>"
    yield head
    sent = len(head)
    item = b"<item><title>Filler</title><link>http://127.0.0.1/x</link><description>" + b"x" * 900
    item += b"</description></item>\n"
    while sent < total:
        chunk = (item * 64)[: total - sent]
        yield chunk
        sent += len(chunk)


__all__ = ["ARTICLES", "OUTLETS_DIR", "MockServer"]
