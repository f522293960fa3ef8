"""The time zone an outlet's host implies: its country-code TLD, for countries with one civil time zone.

Data in `monitor/data/country_zones.yaml`; used by the date extractor only when the source configures no zone.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml

ZONES_FILE = Path(__file__).resolve().parents[1] / "data" / "country_zones.yaml"


@cache
def _zones() -> dict[str, ZoneInfo]:
    """ccTLD → zone, loaded once (an unknown zone name fails loudly)."""
    raw: dict[str, str] = yaml.safe_load(ZONES_FILE.read_text("utf-8"))["zones"]
    return {tld.lower(): ZoneInfo(name) for tld, name in raw.items()}


def zone_for_url(url: str) -> ZoneInfo | None:
    """The zone of the URL host's country-code TLD, or None (generic TLDs, multi-zone countries)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    return _zones().get(host.rsplit(".", 1)[-1]) if "." in host else None
