"""Authors: byline splitting and cleaning, and the order of sources on a page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import lxml.html
import pytest

from monitor.extract.authors import extract_authors, split_byline

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
