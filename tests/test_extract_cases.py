"""Run every extraction case under `tests/fixtures/extract/<case>/`: `input.html` + `expected.json`.

`input.html` is passed to `extract_article` as raw bytes (so charset detection is exercised). `expected.json`
lists only the fields to check:

- any `Article` field (`title`, `lede`, `text`, `notes`, `tags`, `is_article`, `published_at` …) is compared for
  equality; datetimes as ISO 8601 strings;
- `text_contains` / `text_excludes`: substrings that must / must not be in the body; `text_startswith`;
- inputs, not compared: `_url` (default `https://example.org/<case>`), `_headers_charset`, `_overrides` (an
  `extract:` mapping), `_default_tz` (an IANA zone name).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.article import Article
from monitor.extract import ExtractOverrides, extract_article

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
CASES = sorted(
    p for p in FIXTURES.iterdir() if (p / "input.html").exists() and (p / "expected.json").exists()
)


def run_case(case: Path) -> tuple[Article, dict[str, Any]]:
    """Extract one case with its declared inputs; return the article and the expectations."""
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    overrides = ExtractOverrides.from_mapping(expected["_overrides"]) if "_overrides" in expected else None
    tz = ZoneInfo(expected["_default_tz"]) if "_default_tz" in expected else None
    article = extract_article(
        (case / "input.html").read_bytes(),
        expected.get("_url", f"https://example.org/{case.name}"),
        overrides=overrides,
        default_tz=tz,
        headers_charset=expected.get("_headers_charset"),
    )
    return article, expected


def _actual(article: Article, key: str) -> Any:
    value = getattr(article, key)
    return value.isoformat() if isinstance(value, datetime) else value


def test_cases_found() -> None:
    assert len(CASES) >= 10, f"expected extraction cases under {FIXTURES}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_extract_case(case: Path) -> None:
    article, expected = run_case(case)
    where = f"{case.name}/expected.json"
    for key, want in expected.items():
        if key.startswith("_"):
            continue
        if key == "text_contains":
            missing = [s for s in want if s not in article.text]
            assert not missing, f"{where}: body lacks {missing!r}; body was {article.text!r}"
        elif key == "text_excludes":
            present = [s for s in want if s in article.text]
            assert not present, f"{where}: body should not contain {present!r}"
        elif key == "text_startswith":
            assert article.text.startswith(want), f"{where}: body starts {article.text[:120]!r}"
        else:
            assert key in Article.__dataclass_fields__, f"{where}: unknown field {key!r}"
            assert _actual(article, key) == want, f"{where}: field {key}"
