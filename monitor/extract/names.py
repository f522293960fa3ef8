"""Known outlets and wire agencies (`monitor/data/outlets.yaml` plus `$MONITOR_OUTLETS_FILE`), loaded once.

`lookup(text)` maps any listed spelling ("أ ف ب", "Agence France-Presse", «وكالة الأنباء السعودية») to its
entry with one canonical display name and a kind (outlet or agency).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from monitor.textnorm import normalize

OUTLETS_FILE = Path(__file__).resolve().parents[1] / "data" / "outlets.yaml"
OUTLETS_ENV = "MONITOR_OUTLETS_FILE"
_KINDS = frozenset({"outlet", "agency"})
# Punctuation ignored inside names: "Agence France-Presse" = "agence france presse", "أ.ف.ب" = "أ ف ب".
_NAME_PUNCT = re.compile(r"[.\-_'’‘\"«»()\[\]:،,/|]+")
# English articles at the start of a name ("The Associated Press", "al-Araby al-Jadeed").
_LEADING_ARTICLE = re.compile(r"^(?:the|al|el)\s+")


class OutletsFileError(ValueError):
    """An outlets YAML file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Outlet:
    """One known outlet or agency."""

    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutletIndex:
    """Lookup tables built from the outlet files."""

    by_key: dict[str, Outlet]
    by_domain: dict[str, Outlet]
    generic: tuple[str, ...]


def name_key(text: str) -> str:
    """Comparison key of a name: normalised, punctuation and a leading English article dropped."""
    folded = " ".join(_NAME_PUNCT.sub(" ", normalize(text)).split())
    return _LEADING_ARTICLE.sub("", folded)


def _entry(raw: Any, path: Path, index: int) -> Outlet:
    """Validate one YAML entry into an Outlet."""
    where = f"{path}: outlets[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise OutletsFileError(f"{where}: each entry needs a string 'name'")
    unknown = set(raw) - {"name", "kind", "aliases", "domains"}
    if unknown:
        raise OutletsFileError(f"{where} ({raw['name']}): unknown key(s) {sorted(unknown)}")
    if raw.get("kind") not in _KINDS:
        raise OutletsFileError(f"{where} ({raw['name']}): 'kind' must be one of {sorted(_KINDS)}")
    aliases, domains = raw.get("aliases") or [], raw.get("domains") or []
    if not all(isinstance(a, str) for a in [*aliases, *domains]):
        raise OutletsFileError(f"{where} ({raw['name']}): 'aliases' and 'domains' must be lists of strings")
    return Outlet(raw["name"], raw["kind"], tuple(aliases), tuple(d.lower() for d in domains))


def read_outlets_file(path: Path) -> tuple[list[Outlet], list[str]]:
    """Entries and generic words of one outlets file."""
    try:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise OutletsFileError(f"{path}: cannot read outlets file: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("outlets", []), list):
        raise OutletsFileError(f"{path}: expected a mapping with an 'outlets' list")
    entries = [_entry(raw, path, i) for i, raw in enumerate(data.get("outlets") or [])]
    return entries, [str(w) for w in data.get("generic_words") or []]


def _merge(known: dict[str, Outlet], entry: Outlet) -> None:
    """Add an entry, or extend the aliases/domains of an existing one with the same name."""
    old = known.get(entry.name)
    if old is not None:
        entry = Outlet(old.name, entry.kind, old.aliases + entry.aliases, old.domains + entry.domains)
    known[entry.name] = entry


def build_index(paths: list[Path]) -> OutletIndex:
    """Index the given outlet files, later files extending earlier ones."""
    known: dict[str, Outlet] = {}
    generic: list[str] = []
    for path in paths:
        entries, words = read_outlets_file(path)
        generic += words
        for entry in entries:
            _merge(known, entry)
    by_key: dict[str, Outlet] = {}
    by_domain: dict[str, Outlet] = {}
    for entry in known.values():
        for spelling in (entry.name, *entry.aliases):
            by_key.setdefault(name_key(spelling), entry)
        by_domain.update({d: entry for d in entry.domains})
    generic_keys = sorted({name_key(w) for w in generic}, key=len, reverse=True)
    return OutletIndex(by_key, by_domain, tuple(generic_keys))


@cache
def outlets() -> OutletIndex:
    """The index of the shipped file plus the user's `$MONITOR_OUTLETS_FILE`, built once per process."""
    extra = os.environ.get(OUTLETS_ENV)
    return build_index([OUTLETS_FILE, *([Path(extra)] if extra else [])])


def strip_generic(key: str) -> str:
    """Drop a leading generic word ("newspaper", «صحيفة», «خبرگزاری») from a name key."""
    for word in outlets().generic:
        if key.startswith(word + " "):
            return key[len(word) + 1 :]
    return key


def lookup(text: str) -> Outlet | None:
    """The known outlet or agency written as `text` (any listed spelling), else None."""
    key = name_key(text)
    return outlets().by_key.get(key) or outlets().by_key.get(strip_generic(key))


def outlet_for_domain(host: str) -> Outlet | None:
    """The known outlet owning this host name (subdomains included)."""
    parts = host.lower().split(".")
    for i in range(len(parts) - 1):
        found = outlets().by_domain.get(".".join(parts[i:]))
        if found is not None:
            return found
    return None


def canonical(text: str) -> str:
    """The canonical display name of a known outlet/agency, else the text as written (trimmed)."""
    found = lookup(text)
    return found.name if found else " ".join(text.split()).strip(" .,:;-–—")
