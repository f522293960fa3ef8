"""Bundled sample outlets for `monitor demo` and the tests: three fictional outlets served from 127.0.0.1.

`OUTLETS_DIR` holds the static pages and feeds (with a `{{BASE}}` placeholder for the server's base URL),
`EXPECTED` the gold for every page a feed links to, keyed by path. Gold conventions: `published` is the local
date of the outlet; `agency` is the wire agency's usual Latin short name (Reuters, AFP, SANA) whatever the
page's language; `original_source`, `authors` and `translator` are spelt as the page spells them, without
generic words such as «صحيفة» / «مجلة» / "newspaper"; `first_paragraph` is the first body paragraph after any
standfirst (`lede`), and `paragraphs` the whole body, attribution tail lines included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.demo.server import OUTLETS_DIR, PLACEHOLDER

EXPECTED: Path = OUTLETS_DIR / "expected.json"
SOURCES: Path = OUTLETS_DIR / "sources.yaml"
WATCHES: Path = Path(__file__).resolve().parent / "watches.yaml"

__all__ = ["EXPECTED", "OUTLETS_DIR", "SOURCES", "WATCHES", "demo_sources"]


def demo_sources(base_url: str) -> list[dict[str, Any]]:
    """Sources-file entries (id, name, language, country, timezone, homepage, feeds, sitemaps) at `base_url`."""
    text = SOURCES.read_text(encoding="utf-8").replace(PLACEHOLDER.decode(), base_url.rstrip("/"))
    entries = yaml.safe_load(text)
    if not isinstance(entries, list):
        raise ValueError(f"{SOURCES}: expected a list of sources, got {type(entries).__name__}")
    return entries
