"""Translation files out and in: XLIFF 2.0 export, and import of translated XLIFF or JSONL.

Export: one ``<file>`` per article (id ``article-<id>``, the page URL as ``original``, article id, URL, source
and content hash in ``<mda:metadata>``), the title and the lede as units of their own (``title``, ``lede``) and
one unit with one segment per paragraph (``p1``…``pN``). Documents are validated against the XLIFF 2.0 core
schema shipped in ``monitor/data``.

Import: each article id must exist and each file must have exactly as many paragraph units as the article has
paragraphs now; every error names the file and the unit (or line) and nothing is written unless all is right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import workflow
from monitor.dedup import content_hash
from storage.models import ArticleRow
from storage.workflow_models import TranslationRow

XLIFF_NS = "urn:oasis:names:tc:xliff:document:2.0"
MDA_NS = "urn:oasis:names:tc:xliff:metadata:2.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"
NSMAP = {None: XLIFF_NS, "mda": MDA_NS}
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur", "ps", "ku", "yi"})
FILE_PREFIX = "article-"


class TranslationFileError(ValueError):
    """A translation file that cannot be imported; the message lists every problem, one per line."""


@dataclass(slots=True)
class Translation:
    """A translated article read from a file, before it is checked against the database."""

    article_id: int
    language: str
    title: str | None
    lede: str | None
    paragraphs: list[str]
    source_hash: str | None
    where: str  # "FILE, file article-42" or "FILE line 3", for error messages


def paragraphs(text: str | None) -> list[str]:
    """The non-empty paragraphs of an article text (paragraphs are lines in extracted text)."""
    return [p.strip() for p in (text or "").split("\n") if p.strip()]


def _q(tag: str, ns: str = XLIFF_NS) -> str:
    """Clark notation of a tag."""
    return f"{{{ns}}}{tag}"


def _unit(parent: etree._Element, unit_id: str, name: str, text: str) -> None:
    """A unit with one segment holding `text`, whitespace preserved."""
    unit = etree.SubElement(parent, _q("unit"), id=unit_id, name=name)
    source = etree.SubElement(etree.SubElement(unit, _q("segment"), id=unit_id), _q("source"))
    source.set(f"{{{XML_NS}}}space", "preserve")
    source.text = text


def _metadata(parent: etree._Element, values: dict[str, Any]) -> None:
    """An mda:metadata block with one meta per non-empty value."""
    group = etree.SubElement(etree.SubElement(parent, _q("metadata", MDA_NS)), _q("metaGroup", MDA_NS))
    group.set("category", "monitor")
    for key, value in values.items():
        if value not in (None, ""):
            etree.SubElement(group, _q("meta", MDA_NS), type=key).text = str(value)


def article_file(parent: etree._Element, record: dict[str, Any]) -> etree._Element:
    """The <file> of one exported article record."""
    file = etree.SubElement(parent, _q("file"), id=f"{FILE_PREFIX}{record['id']}", original=record["url"])
    if (record.get("language") or "") in RTL_LANGUAGES:
        file.set("srcDir", "rtl")
    _metadata(file, {
        "article_id": record["id"], "url": record["url"], "source_id": record.get("source_id"),
        "source_name": record.get("source_name"), "published_at": record.get("published_at"),
        "content_hash": content_hash(record.get("title"), record.get("text") or ""),
    })  # fmt: skip
    _unit(file, "title", "title", record.get("title") or "")
    if record.get("lede"):
        _unit(file, "lede", "lede", record["lede"])
    for n, para in enumerate(paragraphs(record.get("text")), start=1):
        _unit(file, f"p{n}", "paragraph", para)
    return file


def build_document(
    records: Sequence[dict[str, Any]], src_lang: str, trg_lang: str | None = None
) -> etree._Element:
    """An <xliff> document with one <file> per article record."""
    root = etree.Element(_q("xliff"), nsmap=NSMAP, version="2.0", srcLang=src_lang)
    if trg_lang:
        root.set("trgLang", trg_lang)
    for record in records:
        article_file(root, record)
    return root


def to_bytes(root: etree._Element) -> bytes:
    """Serialised document, UTF-8 with declaration."""
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    """The XLIFF 2.0 core schema shipped with monitor."""
    path = files("monitor").joinpath("data", "xliff_core_2.0.xsd")
    return etree.XMLSchema(etree.parse(str(path)))


def schema_errors(root: etree._Element) -> list[str]:
    """Schema violations as 'line N: message' (empty when valid)."""
    checker = schema()
    if checker.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in checker.error_log]


def _text(element: etree._Element | None) -> str | None:
    """All text inside an element (inline codes flattened), or None when absent."""
    return None if element is None else "".join(element.itertext())


def _meta(file: etree._Element, key: str) -> str | None:
    """The value of one mda:meta of a file."""
    found = file.find(f".//{_q('meta', MDA_NS)}[@type='{key}']")
    return _text(found)


def _article_id(file: etree._Element, where: str) -> int:
    """The article id of a <file>: mda article_id, else the numeric part of its id."""
    raw = _meta(file, "article_id") or (file.get("id") or "").removeprefix(FILE_PREFIX)
    if not raw.isdigit():
        raise TranslationFileError(f"{where}: no article id (mda:meta type='article_id' or id='article-N')")
    return int(raw)


def _targets(file: etree._Element, where: str) -> dict[str, str]:
    """Unit id → target text; a unit with a non-empty source and no target is an error."""
    found: dict[str, str] = {}
    for unit in file.iter(_q("unit")):
        segments = unit.findall(_q("segment"))
        sources = "".join(_text(s.find(_q("source"))) or "" for s in segments)
        targets = [_text(s.find(_q("target"))) for s in segments]
        if sources.strip() and any(t is None for t in targets):
            raise TranslationFileError(f"{where}, unit {unit.get('id')}: segment without <target>")
        found[unit.get("id") or ""] = "".join(t or "" for t in targets).strip()
    return found


def _file_translation(file: etree._Element, language: str, path: Path) -> Translation:
    """One <file> of a translated XLIFF document."""
    where = f"{path.name}, file {file.get('id')}"
    targets = _targets(file, where)
    paras = [k for k in targets if k.startswith("p") and k[1:].isdigit()]
    expected = [f"p{n}" for n in range(1, len(paras) + 1)]
    if paras != expected:
        raise TranslationFileError(
            f"{where}: paragraph units must be p1..p{len(paras)} in order, got {paras}"
        )
    return Translation(
        _article_id(file, where), language, targets.get("title"), targets.get("lede"),
        [targets[k] for k in paras], _meta(file, "content_hash"), where,
    )  # fmt: skip


def read_xliff(path: Path) -> list[Translation]:
    """Translations from an XLIFF 2 file (schema-valid, with trgLang)."""
    try:
        root = etree.parse(str(path)).getroot()
    except etree.XMLSyntaxError as exc:
        raise TranslationFileError(f"{path.name}: not well-formed XML: {exc}") from None
    errors = schema_errors(root)
    if errors:
        raise TranslationFileError("\n".join(f"{path.name}: {e}" for e in errors[:10]))
    language = root.get("trgLang")
    if not language:
        raise TranslationFileError(f"{path.name}: <xliff> has no trgLang (the language of the translation)")
    return [_file_translation(f, language, path) for f in root.iter(_q("file"))]


def _jsonl_translation(data: Any, where: str) -> Translation:
    """One JSONL line: {"id", "language", "title", "lede", "text"}."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) or not data.get("language"):
        raise TranslationFileError(f"{where}: needs an integer 'id' and a 'language'")
    return Translation(
        data["id"], str(data["language"]), data.get("title"), data.get("lede"),
        paragraphs(data.get("text")), data.get("source_hash"), where,
    )  # fmt: skip


def read_jsonl(path: Path) -> list[Translation]:
    """Translations from JSON Lines keyed by article id."""
    found = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TranslationFileError(f"{path.name} line {n}: not JSON: {exc}") from None
        found.append(_jsonl_translation(data, f"{path.name} line {n}"))
    return found


def read_translations(path: Path) -> list[Translation]:
    """Translations from a .xlf/.xliff or .jsonl file."""
    if path.suffix.lower() in (".xlf", ".xliff", ".xml"):
        return read_xliff(path)
    if path.suffix.lower() in (".jsonl", ".json"):
        return read_jsonl(path)
    raise TranslationFileError(f"{path.name}: unknown format (use .xlf/.xliff or .jsonl)")


def _problems(session: Session, found: Sequence[Translation]) -> Iterable[str]:
    """Every mismatch between the translations and the stored articles."""
    rows = {
        r.id: r
        for r in session.scalars(select(ArticleRow).where(ArticleRow.id.in_([t.article_id for t in found])))
    }
    for t in found:
        row = rows.get(t.article_id)
        if row is None:
            yield f"{t.where}: no article with id {t.article_id}"
            continue
        want = len(paragraphs(row.text))
        if len(t.paragraphs) != want:
            yield f"{t.where}: {len(t.paragraphs)} paragraphs translated, article {t.article_id} has {want}"


def _store(session: Session, t: Translation, origin: str, actor: str) -> None:
    """Insert or replace the translation of one article in one language."""
    row = session.scalars(
        select(TranslationRow).where(
            TranslationRow.article_id == t.article_id, TranslationRow.language == t.language
        )
    ).first() or TranslationRow(article_id=t.article_id, language=t.language)
    row.title, row.lede, row.text = t.title, t.lede, "\n".join(t.paragraphs)
    row.source_hash, row.imported_from, row.imported_by = t.source_hash, origin, actor
    session.add(row)


def import_translations(session: Session, path: Path, actor: str) -> list[Translation]:
    """Check a translation file against the database, then attach every translation and mark it translated.

    Runs in the caller's transaction: any error raises before anything is written (or rolls it back)."""
    found = read_translations(path)
    if not found:
        raise TranslationFileError(f"{path.name}: no translations in the file")
    problems = list(_problems(session, found))
    if problems:
        raise TranslationFileError("\n".join(problems))
    for t in found:
        _store(session, t, str(path), actor)
        note = f"{t.language} translation imported from {path.name}"
        try:
            workflow.mark(session, t.article_id, workflow.Change(status="translated", note=note), actor)
        except workflow.WorkflowError as exc:
            raise TranslationFileError(f"{t.where}: {exc}") from None
    return found
