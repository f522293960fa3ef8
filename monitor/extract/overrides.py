"""Per-outlet extraction overrides: the sources file's `extract:` mapping as a frozen, validated value."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import lxml.html
from cssselect import SelectorError
from lxml.cssselect import CSSSelector


@dataclass(frozen=True, slots=True)
class ExtractOverrides:
    """Selectors, patterns and language that replace the generic heuristics for one outlet."""

    body_selector: str | None = None
    title_selector: str | None = None
    byline_selector: str | None = None
    date_selector: str | None = None
    date_format: str | None = None
    byline_pattern: re.Pattern[str] | None = None
    drop_selectors: tuple[str, ...] = ()
    language: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ExtractOverrides:
        """Build from the sources file's `extract:` mapping; ValueError names the bad key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"extract: unknown key(s) {', '.join(unknown)}; expected some of {sorted(known)}"
            )
        values = {key: value for key, value in data.items() if value is not None}
        for key in ("body_selector", "title_selector", "byline_selector", "date_selector"):
            if key in values:
                compile_selector(values[key], key)
        values["drop_selectors"] = tuple(values.get("drop_selectors", ()))
        for selector in values["drop_selectors"]:
            compile_selector(selector, "drop_selectors")
        if "byline_pattern" in values:
            values["byline_pattern"] = compile_byline_pattern(values["byline_pattern"])
        return cls(**values)


@functools.lru_cache(maxsize=512)
def _compiled(selector: str) -> CSSSelector:
    """CSS → XPath translation is slow: compile each outlet selector once per process."""
    return CSSSelector(selector, translator="html")


def compile_selector(selector: str, field: str) -> CSSSelector:
    """Compile a CSS selector; ValueError names the field when it is invalid."""
    try:
        return _compiled(selector)
    except SelectorError as exc:
        raise ValueError(f"extract.{field}: invalid CSS selector {selector!r}: {exc}") from exc


def compile_byline_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """Compile a byline regex that must have a group named `name`."""
    try:
        compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"extract.byline_pattern: invalid regex {pattern!r}: {exc}") from exc
    if "name" not in compiled.groupindex:
        raise ValueError(f"extract.byline_pattern: {compiled.pattern!r} has no (?P<name>...) group")
    return compiled


def select(doc: lxml.html.HtmlElement, selector: str | None) -> list[lxml.html.HtmlElement]:
    """Elements matching a CSS selector (empty when no selector is given)."""
    if not selector:
        return []
    return list(compile_selector(selector, "selector")(doc))


def drop_matching(doc: lxml.html.HtmlElement, selectors: tuple[str, ...]) -> None:
    """Remove every element matching one of the selectors, keeping the tail text in place."""
    for selector in selectors:
        for element in select(doc, selector):
            if element.getparent() is not None:
                element.drop_tree()
