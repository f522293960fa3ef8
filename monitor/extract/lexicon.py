"""Phrase lists the extractor matches (data in `monitor/data/extract_boilerplate.yaml`, loaded once)."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from importlib import resources

import yaml

BOILERPLATE_FILE = "extract_boilerplate.yaml"


@dataclass(frozen=True, slots=True)
class Lexicon:
    """`notes` and `drop` are paragraph-start phrases; `sections` are section names seen in `<title>`."""

    notes: tuple[str, ...]
    drop: tuple[str, ...]
    sections: frozenset[str]


def fold(text: str) -> str:
    """Comparison form for phrase matching: NFKC, casefolded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _flatten(by_language: dict[str, list[str]]) -> list[str]:
    return [fold(phrase) for phrases in by_language.values() for phrase in phrases]


@functools.cache
def lexicon() -> Lexicon:
    """Load the phrase lists; a missing section in the file is a KeyError naming it."""
    path = resources.files("monitor").joinpath("data", BOILERPLATE_FILE)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Lexicon(
        notes=tuple(_flatten(raw["notes"])),
        drop=tuple(_flatten(raw["drop"])),
        sections=frozenset(_flatten(raw["title_sections"])),
    )
