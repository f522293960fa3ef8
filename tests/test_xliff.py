"""XLIFF 2.0 export (validated against the core schema) and import of translations (XLIFF or JSONL): attached,
status set to translated, and refused as a whole — file and unit named — on a mismatched id or segment count."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from sqlalchemy import func, select

from monitor import workflow, xliff
from monitor.commands.items import export
from monitor.commands.workflow import import_translations
from monitor.workflow import Change
from storage import migrate
from storage.models import ArticleRow
from storage.store import Store
from storage.workflow_models import TranslationRow, WorkflowEvent
from tests.test_store_backends import FakeSource, make_item

NS = {"x": xliff.XLIFF_NS, "mda": xliff.MDA_NS}
TEXT = "الفقرة الأولى عن المفاوضات.\nالفقرة الثانية: «نقلاً عن» مصدر رسمي.\nالفقرة الثالثة & الأخيرة <مهمة>."


@pytest.fixture
def store(sqlite_url: str) -> Store:
    migrate.upgrade(sqlite_url)
    store = Store.from_url(sqlite_url)
    store.sync_sources([FakeSource()])
    return store


def selected(store: Store, n: int, text: str = TEXT) -> int:
    """Store article n (Arabic, three paragraphs) and mark it selected."""
    item = make_item(n, text=text, title=f"عنوان الخبر {n}")
    article_id = store.save_article(item).article_id
    with store.transaction() as session:
        workflow.mark(session, article_id, Change(status="selected"), "desk")
    return article_id


def run_export(url: str, out: Path, *extra: str) -> None:
    result = CliRunner().invoke(
        export, ["--format", "xliff", "--status", "selected", "-o", str(out), "--db", url, *extra]
    )
    assert result.exit_code == 0, result.output


def translate(path: Path, lang: str = "en", drop: str | None = None, skip_target: str | None = None) -> Path:
    """A translator's copy: a <target> in every segment, trgLang set; optionally a unit dropped or untranslated."""
    tree = etree.parse(str(path))
    tree.getroot().set("trgLang", lang)
    for unit in tree.getroot().iterfind(".//x:unit", NS):
        if unit.get("id") == drop:
            unit.getparent().remove(unit)
            continue
        for segment in unit.iterfind("x:segment", NS):
            if unit.get("id") != skip_target:
                source = segment.find("x:source", NS)
                etree.SubElement(segment, f"{{{xliff.XLIFF_NS}}}target").text = f"EN[{source.text}]"
    out = path.with_name(path.stem + f".{lang}.xlf")
    tree.write(str(out), xml_declaration=True, encoding="UTF-8")
    return out


def count(store: Store, model: type) -> int:
    with store.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_export_per_article_is_valid_xliff_2(store: Store, sqlite_url: str, tmp_path: Path) -> None:
    a = selected(store, 1)
    run_export(sqlite_url, tmp_path / "out")
    path = tmp_path / "out" / f"article-{a}.xlf"
    root = etree.parse(str(path)).getroot()
    assert xliff.schema_errors(root) == []
    assert (
        root.tag == f"{{{xliff.XLIFF_NS}}}xliff"
        and root.get("version") == "2.0"
        and root.get("srcLang") == "ar"
    )
    file = root.find("x:file", NS)
    assert file.get("id") == f"article-{a}" and file.get("original") == "https://levant.example/news/1"
    assert file.get("srcDir") == "rtl"
    assert file.findtext(".//mda:meta[@type='article_id']", namespaces=NS) == str(a)
    assert file.findtext(".//mda:meta[@type='url']", namespaces=NS) == "https://levant.example/news/1"
    units = {
        u.get("id"): u.findtext("x:segment/x:source", namespaces=NS) for u in file.iterfind("x:unit", NS)
    }
    assert list(units) == ["title", "lede", "p1", "p2", "p3"]
    assert units["title"] == "عنوان الخبر 1" and units["lede"] == "Lede 1"
    assert units["p3"] == "الفقرة الثالثة & الأخيرة <مهمة>."


def test_export_one_file_per_batch(store: Store, sqlite_url: str, tmp_path: Path) -> None:
    a, b = selected(store, 1), selected(store, 2, text="Another story.\nSecond paragraph.")
    out = tmp_path / "batch.xlf"
    run_export(sqlite_url, out, "--per", "batch", "--target-lang", "en")
    root = etree.parse(str(out)).getroot()
    assert xliff.schema_errors(root) == [] and root.get("trgLang") == "en"
    assert {f.get("id") for f in root.iterfind("x:file", NS)} == {f"article-{a}", f"article-{b}"}


def test_schema_rejects_a_unit_without_segment() -> None:
    doc = xliff.build_document([{"id": 1, "url": "https://x.example/1", "title": "t", "text": "p"}], "en")
    unit = doc.find(".//x:unit", NS)
    for segment in unit.findall("x:segment", NS):
        unit.remove(segment)
    errors = xliff.schema_errors(doc)
    assert errors and "unit" in errors[0]


def test_import_translated_xliff_attaches_and_marks_translated(
    store: Store, sqlite_url: str, tmp_path: Path
) -> None:
    a = selected(store, 1)
    run_export(sqlite_url, tmp_path / "out")
    done = translate(tmp_path / "out" / f"article-{a}.xlf")
    result = CliRunner().invoke(import_translations, [str(done), "--by", "omid", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    with store.sessions() as session:
        row = session.scalars(select(TranslationRow)).one()
        assert (row.article_id, row.language, row.title) == (a, "en", "EN[عنوان الخبر 1]")
        assert (
            row.lede == "EN[Lede 1]" and row.text.count("\n") == 2 and row.text.startswith("EN[الفقرة الأولى")
        )
        assert row.imported_by == "omid" and row.source_hash
        event = session.scalars(select(WorkflowEvent).order_by(WorkflowEvent.id.desc())).first()
        assert (event.from_status, event.to_status, event.actor) == ("selected", "translated", "omid")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        ({"drop": "p3"}, "2 paragraphs translated, article {a} has 3"),
        ({"skip_target": "p2"}, "unit p2: segment without <target>"),
    ],
)
def test_import_refuses_mismatched_segments(
    store: Store, sqlite_url: str, tmp_path: Path, mutate: dict[str, str], message: str
) -> None:
    a = selected(store, 1)
    run_export(sqlite_url, tmp_path / "out")
    done = translate(tmp_path / "out" / f"article-{a}.xlf", **mutate)
    result = CliRunner().invoke(import_translations, [str(done), "--db", sqlite_url])
    assert result.exit_code == 1
    assert f"{done.name}, file article-{a}" in result.output and message.format(a=a) in result.output
    assert "nothing was imported" in result.output
    assert count(store, TranslationRow) == 0


def test_import_refuses_unknown_id_and_changes_nothing_for_the_good_ones(
    store: Store, sqlite_url: str, tmp_path: Path
) -> None:
    a, b = selected(store, 1), selected(store, 2, text="One.\nTwo.")
    out = tmp_path / "batch.xlf"
    run_export(sqlite_url, out, "--per", "batch")
    done = translate(out)
    text = done.read_text(encoding="utf-8").replace(f"article-{b}", "article-999").replace(f">{b}<", ">999<")
    done.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(import_translations, [str(done), "--db", sqlite_url])
    assert result.exit_code == 1 and "file article-999: no article with id 999" in result.output
    assert count(store, TranslationRow) == 0
    with store.sessions() as session:
        states = workflow.status_of(session, list(session.scalars(select(ArticleRow))))
    assert {states[a].status, states[b].status} == {"selected"}


def test_import_jsonl_keyed_by_id(store: Store, sqlite_url: str, tmp_path: Path) -> None:
    a = selected(store, 1)
    good = tmp_path / "t.jsonl"
    good.write_text(
        json.dumps({"id": a, "language": "en", "title": "T", "text": "A.\nB.\nC."}) + "\n", encoding="utf-8"
    )
    assert CliRunner().invoke(import_translations, [str(good), "--db", sqlite_url]).exit_code == 0
    with store.sessions() as session:
        assert session.scalars(select(TranslationRow.text)).one() == "A.\nB.\nC."
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "language": "en", "text": "x"}\n{"language": "en"}\n', encoding="utf-8")
    result = CliRunner().invoke(import_translations, [str(bad), "--db", sqlite_url])
    assert result.exit_code == 1 and "bad.jsonl line 2: needs an integer 'id'" in result.output


def test_import_refused_when_the_workflow_does_not_allow_it(
    store: Store, sqlite_url: str, tmp_path: Path
) -> None:
    article_id = store.save_article(
        make_item(4, text="One.\nTwo.")
    ).article_id  # still new: nobody selected it
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"id": article_id, "language": "en", "text": "1.\n2."}), encoding="utf-8")
    result = CliRunner().invoke(import_translations, [str(path), "--db", sqlite_url])
    assert result.exit_code == 1 and "cannot go from new to translated" in result.output
    assert count(store, TranslationRow) == 0


def test_invalid_xliff_is_refused_with_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlf"
    path.write_text(
        f'<xliff xmlns="{xliff.XLIFF_NS}" version="2.0" srcLang="ar"><file id="x"/></xliff>', encoding="utf-8"
    )
    with pytest.raises(xliff.TranslationFileError, match=r"broken.xlf: line 1: .*file"):
        xliff.read_translations(path)
