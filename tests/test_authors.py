"""Authors: byline splitting and cleaning, and the order of sources on a page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest

from monitor.extract.authors import extract_authors, meta_author_strings, split_byline

FIXTURES = Path(__file__).parent / "fixtures" / "extract"


def _doc(head: str = "", body: str = "") -> lxml.html.HtmlElement:
    """A small parsed page."""
    return lxml.html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def _ld(author: object) -> str:
    """A JSON-LD NewsArticle script with this author value."""
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "author": author}
    return f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>'


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("By Jane Doe, Staff Writer", ["Jane Doe"]),
        ("By Christy Choi and Oscar Holland, CNN", ["Christy Choi", "Oscar Holland"]),
        ("Written by Jane Doe & John Roe", ["Jane Doe", "John Roe"]),
        ("Lauren Manaker MS, RDN, LD", ["Lauren Manaker"]),
        ("John O'Connor The Associated Press", ["John O'Connor"]),
        ("Greg Potts Published: 22 Dec 2023", ["Greg Potts"]),
        ("Jane Doe jane.doe@example.org @janedoe", ["Jane Doe"]),
        ("Lina Haddad, Middle East correspondent", ["Lina Haddad"]),
        ("بقلم: محمد الأحمد - مراسل الجزيرة", ["محمد الأحمد"]),
        ("كتبت: سارة خليل", ["سارة خليل"]),
        ("إعداد: أحمد علي، ليلى حسن", ["أحمد علي", "ليلى حسن"]),
        ("نویسنده: علی رضایی", ["علی رضایی"]),
        ("خبرنگار: مریم احمدی", ["مریم احمدی"]),
        (
            "Martin Untersinger (avec Damien Leloup et Morgane Tual)",
            ["Martin Untersinger", "Damien Leloup", "Morgane Tual"],
        ),
        ("Written by Rob Ewaschuk Edited by Betsy Beyer", ["Rob Ewaschuk"]),
        (
            "By Chris E. Hayner and Tom Caswell on December 21, 2023 at 3:53PM PST",
            ["Chris E. Hayner", "Tom Caswell"],
        ),
        ("By Jane Doe and John Roe on Tuesday", ["Jane Doe", "John Roe"]),
        ("By Aaron Klotz Contributions from Sarah Jacobsson Purewal", ["Aaron Klotz"]),
        ("Jonathan Wasserman, Bleacher Report", ["Jonathan Wasserman"]),
        ("Guardian staff reporter", []),
        ("Reuters", []),
        ("أ ف ب", []),
        ("The Editorial Board", []),
        ("Updated Dec 22, 2023", []),
    ],
)
def test_split_byline(byline: str, expected: list[str]) -> None:
    assert split_byline(byline, set()) == expected


def test_site_name_is_not_an_author() -> None:
    assert split_byline("Elizabeth Flores USA TODAY", {"usa today"}) == ["Elizabeth Flores"]
    assert (
        extract_authors(
            _doc('<meta name="author" content="Example Daily">'), text="", hints={}, site_name="Example Daily"
        )
        == []
    )


def test_json_ld_person_kept_organisation_dropped() -> None:
    doc = _doc(_ld([{"@type": "Person", "name": "سارا کریمی"}, {"@type": "Organization", "name": "Tasnim"}]))
    assert extract_authors(doc, text="", hints={}, site_name=None) == ["سارا کریمی"]


def test_json_ld_wins_over_trafilatura_hint() -> None:
    doc = _doc(_ld({"@type": "Person", "name": "Lina Haddad"}))
    assert extract_authors(doc, text="", hints={"author": "Someone Else"}, site_name=None) == ["Lina Haddad"]


def test_meta_author_skips_profile_urls() -> None:
    head = '<meta property="article:author" content="https://facebook.com/x"><meta name="author" content="Jane Doe">'
    assert extract_authors(_doc(head), text="", hints={}, site_name=None) == ["Jane Doe"]


def test_byline_element_near_headline_deduplicated() -> None:
    body = (
        "<main><article><header><h1>Title</h1>"
        '<div class="byline"><span>By</span> <a rel="author">Courtney Carr</a><a rel="author">Courtney Carr</a></div>'
        '</header><p>Text.</p></article></main><aside><div class="author">Other Person</div></aside>'
    )
    assert extract_authors(_doc(body=body), text="", hints={}, site_name=None) == ["Courtney Carr"]


def test_byline_line_at_top_of_body() -> None:
    text = "بقلم: ليلى حسن\nأعلنت السلطات المحلية عن خطة جديدة."
    assert extract_authors(_doc(), text=text, hints={}, site_name=None) == ["ليلى حسن"]


def test_one_word_names_from_page_text_are_ignored() -> None:
    assert extract_authors(_doc(), text="By Published\nText", hints={}, site_name=None) == []


def test_trafilatura_hint_is_last_resort() -> None:
    assert extract_authors(_doc(), text="", hints={"author": "Jane Doe; John Roe"}, site_name=None) == [
        "Jane Doe",
        "John Roe",
    ]


def test_per_source_selector_and_pattern() -> None:
    doc = _doc(_ld({"@type": "Person", "name": "Wrong Name"}), '<p class="writer">كتب: سامر يوسف</p>')
    assert extract_authors(doc, text="", hints={}, site_name=None, byline_selector="p.writer") == [
        "سامر يوسف"
    ]
    pattern = re.compile(r"^المحرر: (.+)$", re.M)
    assert extract_authors(
        _doc(), text="نص\nالمحرر: هدى سليمان", hints={}, site_name=None, byline_pattern=pattern
    ) == ["هدى سليمان"]


@pytest.mark.parametrize("case", sorted(FIXTURES.glob("author-*")), ids=lambda p: p.name)
def test_author_fixtures(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text("utf-8"))
    doc = lxml.html.fromstring((case / "input.html").read_bytes())
    text = "\n".join(p.text_content() for p in doc.iter("p"))
    assert extract_authors(doc, text=text, hints={}, site_name=None) == expected["authors"]


def test_json_ld_contributors_credited_in_byline_are_dropped() -> None:
    head = _ld([{"@type": "Person", "name": "Grace Dean"}, {"@type": "Person", "name": "Leon Hurley"}])
    body = (
        '<article><h1>Title</h1><div class="byline">By Grace Dean Contributions from Leon Hurley last updated'
        " 22 December 2023</div></article>"
    )
    assert extract_authors(_doc(head, body), text="", hints={}, site_name=None) == ["Grace Dean"]


def test_photographer_in_byline_is_not_an_author() -> None:
    head = _ld([{"@type": "Person", "name": "Nelson Ade"}, {"@type": "Person", "name": "Stephen Tayo"}])
    body = (
        '<article><h1>Title</h1><p class="byline">By Nelson Ade</p>'
        '<p class="byline">Photography by Stephen Tayo</p></article>'
    )
    assert extract_authors(_doc(head, body), text="", hints={}, site_name=None) == ["Nelson Ade"]


def test_visible_byline_adds_co_authors_json_ld_left_out() -> None:
    head = _ld({"@type": "Person", "name": "Christy Choi"})
    body = '<article><h1>Title</h1><div class="byline">By Christy Choi and Oscar Holland, CNN</div></article>'
    assert extract_authors(_doc(head, body), text="", hints={}, site_name="CNN") == [
        "Christy Choi",
        "Oscar Holland",
    ]


def test_visible_byline_naming_someone_else_does_not_replace_json_ld() -> None:
    head = _ld({"@type": "Person", "name": "Christy Choi"})
    body = '<article><h1>Title</h1><div class="byline">By Oscar Holland and Jane Doe</div></article>'
    assert extract_authors(_doc(head, body), text="", hints={}, site_name=None) == ["Christy Choi"]


def test_author_cards_of_related_articles_are_not_the_byline() -> None:
    cards = "".join(
        f'<div class="card"><a href="/p{i}">Story {i}</a><div class="e-box-author">{name}</div></div>'
        for i, name in enumerate(["Echo Lawrence", "Tex Hollywood", "Echo Lawrence"])
    )
    body = f'<div><h1>Title</h1><p>By <a href="/author/echo">Echo Lawrence</a></p><div class="more">{cards}</div></div>'
    assert extract_authors(_doc(body=body), text="", hints={}, site_name=None) == ["Echo Lawrence"]


def test_loose_by_line_under_headline() -> None:
    body = (
        '<div id="header"><h1>Title</h1><small>posted on <time>2023-12-19</time></small> by Rafael Antonio Pineda'
        '<div class="side"><a href="/x">By Growing Cells in Rice, Scientists Dish Up Food</a></div></div>'
    )
    assert extract_authors(_doc(body=body), text="", hints={"author": "Manga"}, site_name=None) == [
        "Rafael Antonio Pineda"
    ]


def test_headline_link_starting_with_by_is_not_a_byline() -> None:
    body = '<div><h1>Title</h1><div class="side"><a href="/x">By Growing Cells in Rice, Scientists Dish Up</a></div></div>'
    assert extract_authors(_doc(body=body), text="", hints={}, site_name=None) == []


def test_one_word_trafilatura_guess_is_ignored() -> None:
    assert extract_authors(_doc(), text="", hints={"author": "Manga"}, site_name=None) == []


def test_meta_author_with_several_rdfa_properties_counts_for_each() -> None:
    doc = _doc(head='<meta property="og:type article:author" content="Rana Haddad">')
    assert meta_author_strings(doc) == ["Rana Haddad"]
    assert meta_author_strings(_doc(head='<meta property="article:author" content="https://fb.com/x">')) == []
