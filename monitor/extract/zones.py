"""The time zone an outlet's host implies: its country-code TLD (for a multi-zone country, its media zone).

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
def _zones(section: str) -> dict[str, ZoneInfo]:
    """ccTLD → zone of one section of the file, loaded once (an unknown zone name fails loudly)."""
    raw: dict[str, str] = yaml.safe_load(ZONES_FILE.read_text("utf-8"))[section]
    return {tld.lower(): ZoneInfo(name) for tld, name in raw.items()}


def _tld(url: str) -> str | None:
    host = (urlsplit(url).hostname or "").rstrip(".")
    return host.rsplit(".", 1)[-1].lower() if "." in host else None


def zone_for_url(url: str) -> ZoneInfo | None:
    """The zone of the URL host's country-code TLD, or None (generic TLDs, multi-zone countries)."""
    tld = _tld(url)
    return _zones("zones").get(tld) if tld else None


def media_zone_for_url(url: str) -> ZoneInfo | None:
    """For a multi-zone country's TLD, the zone most of its national outlets publish in (.ca → Toronto)."""
    tld = _tld(url)
    return _zones("media_zones").get(tld) if tld else None


def zone_name_for_country(country: str) -> str | None:
    """The zone of an ISO 3166-1 country (GB is .uk): its only zone, else its media zone, else None."""
    tld = "uk" if country.upper() == "GB" else country.lower()
    zone = _zones("zones").get(tld) or _zones("media_zones").get(tld)
    return zone.key if zone is not None else None
