"""Downloads from the desk (JSONL through `monitor.export`, XLIFF through `monitor.xliff`) and capture decoding."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Response, stream_with_context
from sqlalchemy.orm import Session
from w3lib.encoding import html_to_unicode

from monitor.captures import decompress
from monitor.export import export_records
from monitor.web.security import lang_attr
from monitor.xliff import build_document, to_bytes
from storage.capture_models import CaptureRow
from storage.queries import ArticleFilter

FORMATS = ("jsonl", "xliff")
# One download holds at most this many articles (a bigger hand-off goes through `monitor export`).
MAX_EXPORT = 5000
JSONL_TYPE = "application/x-ndjson; charset=utf-8"
XLIFF_TYPE = "application/xliff+xml"
ZIP_TYPE = "application/zip"


def _stamp() -> str:
    """`20241117T140500Z`, for file names."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"


def _attachment(body: Any, media_type: str, filename: str) -> Response:
    """A download response."""
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _records(session: Session, ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    """The export records (monitor.export) of the articles, newest first."""
    return export_records(session, ArticleFilter(ids=tuple(ids)))


def jsonl_download(session: Session, ids: Sequence[int]) -> Response:
    """The articles as streamed JSON Lines (the `monitor export` record format)."""
    records = _records(session, ids)
    lines = (json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    return _attachment(stream_with_context(lines), JSONL_TYPE, f"monitor-export-{_stamp()}.jsonl")


def by_language(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by source language (`und` when unknown or malformed): one XLIFF document has one srcLang."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[lang_attr(record.get("language")) or "und"].append(record)
    return dict(sorted(groups.items()))


def xliff_download(session: Session, ids: Sequence[int]) -> Response:
    """One XLIFF 2.0 file (monitor.xliff), or a ZIP of one file per source language when languages mix."""
    groups = by_language(_records(session, ids))
    documents = {lang: to_bytes(build_document(recs, lang)) for lang, recs in groups.items()}
    stamp = _stamp()
    if len(documents) == 1:
        ((lang, data),) = documents.items()
        return _attachment(data, XLIFF_TYPE, f"monitor-export-{stamp}-{lang}.xlf")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for lang, data in documents.items():
            archive.writestr(f"monitor-export-{stamp}-{lang}.xlf", data)
    return _attachment(buffer.getvalue(), ZIP_TYPE, f"monitor-export-{stamp}.zip")


def download(session: Session, fmt: str, ids: Sequence[int]) -> Response:
    """The articles as a JSONL or XLIFF attachment."""
    return jsonl_download(session, ids) if fmt == "jsonl" else xliff_download(session, ids)


def _content_type(headers: dict[str, str]) -> str | None:
    """The Content-Type of stored response headers (any case)."""
    return next((v for k, v in headers.items() if k.lower() == "content-type"), None)


def capture_text(row: CaptureRow) -> tuple[str, str]:
    """(encoding, text) of a capture's body, decoded as a browser would (header, BOM, meta, then UTF-8)."""
    raw = decompress(row.compression, row.body)
    header = _content_type(row.headers or {})
    encoding, text = html_to_unicode(header, raw)
    return encoding, text
