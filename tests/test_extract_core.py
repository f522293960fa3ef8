"""Unit tests of the extractor's pure parts and of the benchmark metric (`benchmarks/corpus.py`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest

from benchmarks.corpus import Page, author_scores, body_scores, gold_date, normalize_title, shingles
from benchmarks.extraction import Row, disputed_date_golds, score, title_words
from monitor.extract import ExtractOverrides, extract_article
from monitor.extract import meta as meta_module
from monitor.extract.body import clean_body, continuation, is_note, with_lede
from monitor.extract.charset import decode_html, looks_mojibake, normalize_encoding
from monitor.extract.language import detect_language
from monitor.extract.meta import canonical_url, json_ld_articles, page_tags, parse_jsonld, read_meta
from monitor.extract.pagetype import linked_line_share
from monitor.extract.title import guess_site_suffix, site_keys, strip_site

ARABIC = "قال المرصد السوري لحقوق الإنسان إن مقاتلين سيطروا على ثلاثة مستودعات للذخيرة بالقرب من بلدة قلدون. "
RUSSIAN = "Министерство иностранных дел России заявило в понедельник, что переговоры будут продолжены. "
TURKISH = "Cumhurbaşkanı Erdoğan, çarşamba günü yaptığı açıklamada ekonominin güçlü olduğunu söyledi. "


# --- the corpus metric -------------------------------------------------------------------------------------------


def test_shingles_are_lowercased_word_4grams() -> None:
    assert shingles("A b, C d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("too short") == {}


def test_body_scores_conventions() -> None:
    assert body_scores("", "") == (1.0, 1.0, 1.0)
    assert body_scores("one two three four", "") == (0.0, 0.0, 0.0)
    assert body_scores("", "one two three four") == (0.0, 0.0, 0.0)
    assert body_scores("One two three four five", "one two three four five") == (1.0, 1.0, 1.0)


def test_body_scores_multiset_precision_recall() -> None:
    gold = "a b c d e f"  # shingles abcd bcde cdef
    precision, recall, f1 = body_scores("a b c d e x", gold)  # abcd bcde bcdx: 2 of 3 right
    assert precision == pytest.approx(2 / 3) and recall == pytest.approx(2 / 3) and f1 == pytest.approx(2 / 3)
    repeated = body_scores("a b c d a b c d", "a b c d")  # abcd twice predicted, once in gold
    assert repeated[1] == 1.0 and repeated[0] == pytest.approx(1 / 5)


def test_unicode_words_count_for_arabic() -> None:
    assert body_scores(ARABIC, ARABIC)[2] == 1.0
    assert body_scores(ARABIC, RUSSIAN)[2] == 0.0


def test_title_and_author_normalisation() -> None:
    assert normalize_title("  Big\n news ") == "Big news"
    assert title_words("Larry Merchant -- I'm Not Watching") == title_words("larry merchant I’m not watching")
    assert title_words("Best VPNs 2023") != title_words("Best VPNs 2024")
    assert author_scores(["By Jane Doe", "John Roe"], ["jane doe"]) == pytest.approx((0.5, 1.0, 2 / 3))
    assert author_scores([], []) == (1.0, 1.0, 1.0)


def test_nan_media_cloud_gold_means_no_date_and_disputed_date_golds() -> None:
    assert gold_date(float("nan")) == "" and gold_date("2020-08-24") == "2020-08-24"
    page = Page("mediacloud", "p", "https://e.org/", Path("p"), date="")
    assert score(page, "ours", {"date": None, "is_article": False}, 0.0).date is True
    assert score(page, "ours", {"date": "2020-01-01", "is_article": True}, 0.0).date is False

    def rows(gold: str, ours: str, modified: str | None, bare: str) -> list[Row]:
        dated = Page("newspaper4k", "n", "https://e.org/2020/3/19/x", Path("n"), date=gold)
        out = {"date": ours, "modified": modified, "is_article": True}
        return [
            score(dated, "ours", out, 0.0),
            score(dated, "trafilatura", {"date": bare, "is_article": True}, 0.0),
        ]

    assert disputed_date_golds(rows("2023-03-19", "2020-03-19", None, "2020-03-19")) == {
        ("newspaper4k", "n"): "year"
    }
    assert disputed_date_golds(rows("2023-12-13", "2023-12-12", "2023-12-13", "2023-12-12")) == {
        ("newspaper4k", "n"): "update"
    }
    assert (
        disputed_date_golds(rows("2023-03-19", "2020-03-19", None, "2023-03-19")) == {}
    )  # bare got it: ours is wrong
    assert (
        disputed_date_golds(rows("2020-03-19", "2020-03-19", None, "2020-03-19")) == {}
    )  # right: nothing to dispute


def _ld_page(headline: str) -> lxml.html.HtmlElement:
    comment = {"@type": "Comment", "datePublished": "2024-12-01"}
    ld = json.dumps(
        {"@type": "NewsArticle", "headline": headline, "datePublished": "2024-11-17", "comment": [comment]}
    )
    return lxml.html.fromstring(
        f"<html><head><script type='Application/LD+JSON '>{ld}</script></head><body/></html>"
    )


def test_json_ld_read_once_per_page_and_never_served_for_another(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real_loads = json.loads
    monkeypatch.setattr(meta_module.json, "loads", lambda text: loads.append(text) or real_loads(text))
    first, second = _ld_page("First"), _ld_page("Second")
    assert [a["headline"] for a in json_ld_articles(first)] == ["First"]  # the comment is no article object
    assert len(parse_jsonld(first)) == 2 and len(loads) == 1  # nested objects too, from the same parse
    assert [a["headline"] for a in json_ld_articles(second)] == ["Second"]
    assert len(loads) == 2


# --- charset -----------------------------------------------------------------------------------------------------


def _page(text: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>t</title></head><body><p>{text * 4}</p></body></html>"


@pytest.mark.parametrize(
    ("text", "codec", "header", "meta"),
    [
        (ARABIC, "cp1256", None, ""),
        (ARABIC, "cp1256", "utf-8", ""),
        (ARABIC, "cp1256", "iso-8859-1", ""),
        (RUSSIAN, "cp1251", None, ""),
        (RUSSIAN, "cp1251", "windows-1252", ""),
        (TURKISH, "cp1254", None, ""),
        (TURKISH, "utf-8", "iso-8859-1", '<meta charset="iso-8859-1">'),
        (
            "Le président a déclaré que la réforme serait présentée à l’Assemblée. ",
            "cp1252",
            None,
            '<meta charset="utf-8">',
        ),
    ],
)
def test_decode_html_recovers_text(text: str, codec: str, header: str | None, meta: str) -> None:
    decoded, _encoding = decode_html(_page(text, meta).encode(codec), header)
    assert text.strip() in decoded


def test_declared_charset_wins_when_consistent() -> None:
    data = _page("Grüße aus München. ", '<meta charset="windows-1252">').encode("cp1252")
    assert decode_html(data) == (_page("Grüße aus München. ", '<meta charset="windows-1252">'), "cp1252")
    assert decode_html(b"<p>plain ascii</p>", "utf-8") == ("<p>plain ascii</p>", "ascii")


def test_mojibake_detector_and_labels() -> None:
    assert looks_mojibake(ARABIC.encode("cp1256").decode("cp1252", errors="replace") * 2)
    assert not looks_mojibake(
        "Le président a déclaré que la réforme serait présentée à l’Assemblée nationale."
    )
    assert normalize_encoding("ISO-8859-1") == "cp1252"
    assert normalize_encoding("no-such-charset") is None


# --- title -------------------------------------------------------------------------------------------------------


def test_strip_site_suffix_and_prefix() -> None:
    keys = site_keys("The Example Herald", "https://www.example.org/a")
    assert strip_site("Big news | The Example Herald", keys) == "Big news"
    assert strip_site("Example - Big news - more", keys) == "Big news - more"
    assert strip_site("Biden - Putin summit ends", keys) == "Biden - Putin summit ends"
    assert strip_site("Context matters | Opinion | The Example Herald", keys) == "Context matters"
    assert strip_site("Context matters | Opinion", keys) == "Context matters | Opinion"  # no site segment
    assert (
        strip_site("خبر عاجل — الجزيرة نت", site_keys("الجزيرة نت", "https://aljazeera.net/x")) == "خبر عاجل"
    )


def test_guess_site_suffix_follows_readability() -> None:
    assert guess_site_suffix("Lorem ipsum dolor sit amet – My website") == "Lorem ipsum dolor sit amet"
    assert guess_site_suffix("Mozilla - Wikipedia") == "Mozilla - Wikipedia"
    assert guess_site_suffix("No separator here at all") == "No separator here at all"


def _titled(head: str, h1s: str) -> str | None:
    """The title extract_article picks for a page with `head` metadata and `h1s`."""
    html = f"<html><head>{head}</head><body><article>{h1s}<p>{STORY * 4}</p></article></body></html>"
    return extract_article(html, "https://www.example.org/news/1").title


def test_kicker_kept_when_the_metadata_spells_the_headline_with_it() -> None:
    same = "Opinion: the roadster is slow and yet we still want one"
    assert _titled(f"<meta property='og:title' content='{same}'>", f"<h1>{same}</h1>") == same
    # Marked off by a separator only in the metadata, the label is a kicker, not headline.
    kicked = _titled(
        "<meta property='og:title' content='Opinion | The roadster is slow'>",
        "<h1>Opinion The roadster is slow</h1>",
    )
    assert kicked == "The roadster is slow"


def test_h1_matching_the_first_segment_of_the_metadata_title_wins_over_an_earlier_h1() -> None:
    og = "<meta property='og:title' content='All Shrine Locations and Solutions - Tears of the Kingdom Guide - IGN'>"
    h1s = (
        "<h1 class='title'>All Interactive Maps and Locations</h1><h1>All Shrine Locations and Solutions</h1>"
    )
    assert _titled(og, h1s) == "All Shrine Locations and Solutions"


# --- body --------------------------------------------------------------------------------------------------------


def test_clean_body_splits_notes_and_drops_navigation() -> None:
    text = (
        "Headline here\nFirst paragraph of the story with enough words.\nاقرأ أيضاً: عنوان آخر\n"
        "Second paragraph.\nThe views expressed are those of the author.\nTags: a, b\n"
        "Sign up for our free daily newsletter.\nالمقالات المنشورة تعبر عن رأي كاتبها"
    )
    kept, notes = clean_body(text, ["a", "b"], title="Headline here")
    assert kept == ["First paragraph of the story with enough words.", "Second paragraph."]
    assert notes == ["The views expressed are those of the author.", "المقالات المنشورة تعبر عن رأي كاتبها"]


def test_long_paragraph_starting_like_a_note_stays() -> None:
    long_line = "Translated by hand, " + "the manuscript reveals details of the negotiation " * 20
    assert not is_note(long_line)


def test_lede_is_standfirst_when_missing_from_body() -> None:
    lines = ["Body paragraph one about the council vote.", "Body paragraph two."]
    assert with_lede(lines, "Councillors approved new lanes.")[0][0] == "Councillors approved new lanes."
    assert with_lede(lines, "Body paragraph one about the council vote.") == (
        lines,
        "Body paragraph one about the council vote.",
    )
    assert with_lede(lines, None) == (lines, lines[0])


# --- metadata, language, overrides --------------------------------------------------------------------------------


def test_canonical_and_tags() -> None:
    doc = lxml.html.fromstring(
        '<html><head><link rel="canonical" href="/a/b?utm_source=x"><meta name="keywords" content="x, y، z">'
        '<meta property="article:tag" content="Y"></head><body><a rel="tag" href="/t">w</a></body></html>'
    )
    meta = read_meta(doc, "https://Example.org/a/b?fbclid=1")
    assert canonical_url(meta) == "https://example.org/a/b"
    assert page_tags(meta, ["w"]) == ["Y", "x", "z", "w"]


def test_meta_with_several_rdfa_properties_counts_for_each() -> None:
    doc = lxml.html.fromstring(
        '<html><head><title>Title Element</title><meta property="x:title dc:title" content="My title"></head>'
        "<body><article><h1>Test document title</h1><p>Text.</p></article></body></html>"
    )
    assert read_meta(doc, "https://e.org/p").first("dc:title") == "My title"
    assert extract_article(lxml.html.tostring(doc), "https://e.org/p").title == "My title"


def test_canonical_falls_back_to_page_url() -> None:
    meta = read_meta(
        lxml.html.fromstring("<html><head><link rel=canonical href='javascript:x'></head></html>"),
        "https://e.org/p#f",
    )
    assert canonical_url(meta) == "https://e.org/p"


def test_language_from_text_not_html_lang() -> None:
    assert detect_language("عنوان", ARABIC) == "ar"
    assert detect_language(None, TURKISH) == "tr"
    assert detect_language("Hi", "") is None
    html = f"<html lang='en'><head><title>خبر</title></head><body><article><p>{ARABIC * 3}</p></article></body></html>"
    assert extract_article(html, "https://e.org/x").language == "ar"


def test_overrides_from_mapping_validates() -> None:
    overrides = ExtractOverrides.from_mapping(
        {
            "body_selector": "div.story",
            "byline_pattern": r"بقلم (?P<name>\S+ \S+)",
            "drop_selectors": ["aside"],
        }
    )
    assert overrides.drop_selectors == ("aside",)
    assert isinstance(overrides.byline_pattern, re.Pattern)
    with pytest.raises(ValueError, match="unknown key"):
        ExtractOverrides.from_mapping({"body_selectr": "div"})
    with pytest.raises(ValueError, match="name"):
        ExtractOverrides.from_mapping({"byline_pattern": "by (\\w+)"})
    with pytest.raises(ValueError, match="body_selector"):
        ExtractOverrides.from_mapping({"body_selector": "div[["})


def test_overrides_apply_selectors_language_and_drops() -> None:
    html = (
        "<html><head><title>Wrong title</title></head><body><h1>Wrong title</h1><div class='hed'>Right title</div>"
        "<div class='story'><p>"
        + "Story text that the selector picks. "
        * 10
        + "</p><p class='ad'>Buy now</p></div>"
        "<div class='other'><p>" + "Unrelated long sidebar text. " * 30 + "</p></div></body></html>"
    )
    overrides = ExtractOverrides.from_mapping(
        {"body_selector": "div.story", "title_selector": ".hed", "drop_selectors": ["p.ad"], "language": "fa"}
    )
    article = extract_article(html, "https://e.org/x", overrides=overrides)
    assert article.title == "Right title"
    assert article.language == "fa"
    assert "Story text that the selector picks." in article.text
    assert "Buy now" not in article.text and "Unrelated" not in article.text


def test_unparsable_or_empty_input_is_not_an_article() -> None:
    for html in ("", b"", "   ", b"\xef\xbb\xbf"):
        article = extract_article(html, "https://e.org/x")
        assert article.is_article is False and article.not_article_reason == "empty"
        assert article.canonical_url == "https://e.org/x"


# --- page type and split bodies -------------------------------------------------------------------------------


STORY = "The regional council approved the budget after a long debate about schools and roads in the north. "


def _nav(n: int) -> str:
    return "".join(f'<li><a href="/s/{i}">Another story headline number {i} here</a></li>' for i in range(n))


def test_short_article_on_link_heavy_page_stays_article() -> None:
    html = f"<html><body><ul>{_nav(120)}</ul><article><h1>Budget passes</h1><p>{STORY * 4}</p></article></body></html>"
    article = extract_article(html, "https://e.org/news/budget")
    assert article.is_article, article.not_article_reason


def test_article_mentioning_captcha_is_not_a_challenge() -> None:
    body = STORY * 6 + "Researchers said the captcha on the council website blocked some residents. "
    html = f"<html><head><title>Council site</title></head><body><article><p>{body}</p><p>{STORY * 3}</p></article></body></html>"
    assert extract_article(html, "https://e.org/news/captcha").is_article


def test_linked_line_share_detects_headline_lists() -> None:
    doc = lxml.html.fromstring(f"<html><body><ul>{_nav(5)}</ul><p>{STORY}</p></body></html>")
    headlines = "\n".join(f"Another story headline number {i} here" for i in range(5))
    assert linked_line_share(doc, headlines) == 1.0
    assert linked_line_share(doc, STORY) == 0.0


def test_continuation_collects_sibling_chunks_but_not_teasers() -> None:
    first = [f"First chunk paragraph {i} says the council approved the budget today." for i in range(3)]
    second = [f"Second chunk paragraph {i} explains what happens to the schools next year." for i in range(3)]
    teaser = "A teaser of another story that sits in a card with the same class name here."
    html = (
        "<html><body><div class='chunks'>"
        + "<div class='chunk body'>" + "".join(f"<p>{p}</p>" for p in first) + "</div>"
        + "<div class='ad'>Advertisement</div>"
        + "<div class='chunk body'>" + "".join(f"<p>{p}</p>" for p in second) + "</div>"
        + f"<div class='chunk body'><p>{teaser}</p></div>"
        + "</div></body></html>"
    )  # fmt: skip
    assert continuation(lxml.html.fromstring(html), first) == second
    assert (
        continuation(lxml.html.fromstring(html), ["text that is not on the page at all, not anywhere"]) == []
    )


def _teasers(count: int) -> str:
    """A story list: headline links with a date and a cut-off summary each."""
    return "".join(
        f"<li><h2><a href='/news/{i}.html'>Story headline number {i} about the council</a></h2>"
        f"<p>12 Nov 2024</p><p>The council met on day {i} to discuss the budget and the schools…</p></li>"
        for i in range(count)
    )


def test_teaser_list_page_is_an_index_page() -> None:
    html = f"<html><body><main><h1>Tag: Council</h1><p>All our coverage.</p><ul>{_teasers(4)}</ul></main></body></html>"
    article = extract_article(html, "https://e.org/tag/council/")
    assert not article.is_article and article.not_article_reason == "index_page"


@pytest.mark.parametrize(
    "url",
    [
        "https://radio.example.ie/",
        "https://e.org",
        "https://e.org/en/",
        "https://e.org/fa",
        "https://e.org/index.php",
    ],
)
def test_front_page_is_an_index_page_without_dates(url: str) -> None:
    """A site's front page is no article however much text it shows, and its teasers' dates are not its own."""
    html = (
        "<html><head><title>Radio Example</title></head><body><h1>Today on Radio Example</h1>"
        f"<p>{STORY * 4}</p><p>Posted 1 January 2020</p><footer>© 2020 Radio Example</footer></body></html>"
    )
    article = extract_article(html, url)
    assert not article.is_article and article.not_article_reason == "index_page"
    assert article.published_at is None and article.modified_at is None


def test_front_page_marked_as_article_is_still_an_index_and_deep_pages_stay_articles() -> None:
    html = f"<html><body><article><h1>Budget passes after a long night</h1><p>{STORY * 4}</p></article></body></html>"
    marked = html.replace("<html>", "<html><head><meta property='og:type' content='article'></head>")
    assert extract_article(marked, "https://e.org/").not_article_reason == "index_page"
    assert extract_article(html, "https://e.org/en/budget-passes").is_article
    assert extract_article(html, "https://e.org/2024/11/budget").is_article
    assert extract_article(html, "https://e.org/?p=123").is_article  # WordPress without pretty links
    assert extract_article(html, "https://e.org/index.php?option=com_content&id=7").is_article  # Joomla


def test_article_with_related_headlines_stays_article() -> None:
    html = (
        f"<html><body><article><h1>Budget passes</h1><p>{STORY * 3}</p><p>{STORY * 2}</p>"
        f"<section><h3>Related</h3><ul>{_teasers(4)}</ul></section></article></body></html>"
    )
    article = extract_article(html, "https://e.org/news/budget")
    assert article.is_article, article.not_article_reason
