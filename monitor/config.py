"""Typed, validated configuration: the sources file (YAML) and the `MONITOR_*` environment settings.

Every mistake fails loudly with the file, line, source and field it concerns, and a typo in a field or
variable name is refused with the closest known name rather than silently ignored (Media Cloud: "conf.TYPO
causes error rather than silent failure"). Errors are collected and reported together, one per line.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

import yaml
from cssselect import GenericTranslator, SelectorError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    model_validator,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.urls import canonicalize, check_fetchable

PROJECT_URL = "https://github.com/monitor-project/monitor"

# Source ids become database keys (String(64)) and stats keys: lower-case slug, as in the schema.
SLUG = re.compile(r"^[a-z0-9][a-z0-9-_]{0,62}$")
# ISO 639-1 language codes and ISO 3166-1 alpha-2 country codes, by shape only.
LANGUAGE = re.compile(r"^[a-z]{2}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
# Durations as written in the sources file: "10m", "6h", "1d", "1h30m" (s, m, h, d, w units).
DURATION = re.compile(r"^(?:\d+[smhdw])+$")
DURATION_PART = re.compile(r"(\d+)([smhdw])")
DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_CSS = GenericTranslator()


class ConfigError(ValueError):
    """The configuration is invalid; the message holds every problem found, one per line."""

    def __init__(self, errors: list[str] | tuple[str, ...]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


def suggest(name: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest known name, or '' when nothing is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- field validators (raise ValueError; pydantic turns them into located errors) ---


def _url(value: str) -> str:
    return check_fetchable(value)


def _css(value: str) -> str:
    try:
        _CSS.css_to_xpath(value)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {value!r}: {exc}") from None
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    return value


def _byline_regex(value: str) -> str:
    if "name" not in re.compile(_regex(value)).groupindex:
        raise ValueError(f"regular expression {value!r} needs a named group (?P<name>...)")
    return value


def _strptime_format(value: str) -> str:
    if "%" not in value:
        raise ValueError(f"date format {value!r} has no % directive")
    try:
        datetime.strptime("", value)
    except ValueError as exc:
        if "directive" in str(exc) or "stray %" in str(exc):
            raise ValueError(f"invalid date format {value!r}: {exc}") from None
    return value


def _shaped(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return check


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    if value not in _timezones():
        hint = suggest(value, _timezones()) or " (e.g. 'Asia/Beirut')"
        raise ValueError(f"unknown IANA time zone {value!r}{hint}")
    return value


def parse_duration(value: object) -> timedelta:
    """A positive duration from '10m', '6h', '1d', '1h30m' (or a timedelta)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str) and DURATION.match(value.strip()):
        seconds = sum(int(n) * DURATION_UNITS[u] for n, u in DURATION_PART.findall(value))
    else:
        raise ValueError(f"{value!r} is not a duration like '10m', '6h' or '1d'")
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be positive")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration: 600 s -> '10m'."""
    seconds = int(value.total_seconds())
    unit = next(u for u, size in DURATION_UNITS.items() if seconds % size == 0)
    return f"{seconds // DURATION_UNITS[unit]}{unit}"


Url = Annotated[str, AfterValidator(_url)]
Css = Annotated[str, AfterValidator(_css)]
Regex = Annotated[str, AfterValidator(_regex)]
Language = Annotated[str, AfterValidator(_shaped(LANGUAGE, "an ISO 639-1 code (two lower-case letters)"))]
Country = Annotated[str, AfterValidator(_shaped(COUNTRY, "an ISO 3166-1 alpha-2 code (two capital letters)"))]
Slug = Annotated[str, AfterValidator(_shaped(SLUG, f"a slug matching {SLUG.pattern}"))]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListingConfig(_Model):
    """A listing page for outlets without feeds: article links are the elements matching the selector."""

    url: Url
    link_selector: Css
    link_pattern: Regex | None = None


class ExtractConfig(_Model):
    """Per-outlet overrides of the generic article extraction."""

    body_selector: Css | None = None
    title_selector: Css | None = None
    byline_selector: Css | None = None
    date_selector: Css | None = None
    date_format: Annotated[str, AfterValidator(_strptime_format)] | None = None
    byline_pattern: Annotated[str, AfterValidator(_byline_regex)] | None = None
    drop_selectors: tuple[Css, ...] = ()
    language: Language | None = None


class PollConfig(_Model):
    """Per-source polling overrides; unset values fall back to the scheduler's defaults."""

    interval: Duration | None = None
    min_interval: Duration | None = None
    max_interval: Duration | None = None
    conditional_get: bool | None = None
    disabled: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> PollConfig:
        low, mid, high = self.min_interval, self.interval, self.max_interval
        if low and high and low > high:
            raise ValueError(
                f"min_interval {format_duration(low)} exceeds max_interval {format_duration(high)}"
            )
        if mid and ((low and mid < low) or (high and mid > high)):
            raise ValueError(f"interval {format_duration(mid)} is outside min_interval..max_interval")
        return self

    @field_serializer("interval", "min_interval", "max_interval", when_used="json-unless-none")
    def _spell(self, value: timedelta) -> str:
        return format_duration(value)


class SourceConfig(_Model):
    """One outlet: who it is and where its articles are listed (feeds, sitemaps or listing pages)."""

    id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    language: Language
    country: Country | None = None
    timezone: Annotated[str, AfterValidator(_timezone)] | None = None
    homepage: Url | None = None
    feeds: tuple[Url, ...] = ()
    sitemaps: tuple[Url, ...] = ()
    listings: tuple[ListingConfig, ...] = ()
    enabled: bool = True
    verified: bool = False
    notes: str = ""
    tags: tuple[str, ...] = ()
    extract: ExtractConfig = ExtractConfig()
    poll: PollConfig = PollConfig()

    @model_validator(mode="after")
    def _has_entry_point(self) -> SourceConfig:
        if not (self.feeds or self.sitemaps or self.listings):
            raise ValueError("needs at least one of 'feeds', 'sitemaps' or 'listings'")
        return self

    @property
    def zone_name(self) -> str | None:
        """The outlet's time zone for page dates written without an offset: `timezone`, else its country's zone
        (the only one, or for a multi-zone country the one most of its outlets use; monitor/data/country_zones.yaml)."""
        if self.timezone:
            return self.timezone
        from monitor.extract.zones import zone_name_for_country  # here: monitor.extract loads trafilatura

        return zone_name_for_country(self.country) if self.country else None

    @property
    def tzinfo(self) -> ZoneInfo | None:
        """`zone_name` as a zone."""
        return ZoneInfo(self.zone_name) if self.zone_name else None

    def fetch_urls(self) -> Iterator[tuple[str, str]]:
        """(field path, URL) for every URL this source polls."""
        yield from ((f"feeds[{i}]", url) for i, url in enumerate(self.feeds))
        yield from ((f"sitemaps[{i}]", url) for i, url in enumerate(self.sitemaps))
        yield from ((f"listings[{i}].url", item.url) for i, item in enumerate(self.listings))

    def polled(self) -> Iterator[tuple[str, str, ListingConfig | None]]:
        """(kind, URL, listing settings) of every URL polled for articles; kinds as stored in `feeds.kind`."""
        yield from (("feed", url, None) for url in self.feeds)
        yield from (("sitemap", url, None) for url in self.sitemaps)
        yield from (("listing", item.url, item) for item in self.listings)


# Models nested under a source field, for "did you mean" suggestions on nested unknown fields.
NESTED_MODELS: dict[str, type[BaseModel]] = {
    "extract": ExtractConfig,
    "poll": PollConfig,
    "listings": ListingConfig,
}


@dataclass(frozen=True)
class SourcesConfig:
    """The validated sources file."""

    origin: str
    sources: tuple[SourceConfig, ...]
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def by_id(self, source_id: str) -> SourceConfig:
        """The source with this id; KeyError naming the closest id otherwise."""
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(f"no source {source_id!r} in {self.origin}{suggest(source_id, self.ids())}")

    def ids(self) -> tuple[str, ...]:
        """Every source id, in file order."""
        return tuple(source.id for source in self.sources)

    def line_of(self, source_id: str) -> int:
        """The line where the source's entry starts in the file (0 when unknown)."""
        return self.lines.get(source_id, 0)


# --- loading: YAML nodes give line numbers, pydantic gives located errors ---

# libyaml's loader when PyYAML was built with it: a 5,000-source file parses in well under a second instead of ~5 s.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Problem = tuple[int, str]  # (line, message without the "file:line: " prefix)
Entry = tuple[int, MappingNode, Any]  # (position in the list from 1, YAML node, constructed data)


def load_sources(path: str | Path) -> SourcesConfig:
    """Read and validate a sources file; ConfigError lists every problem with file:line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read sources file: {exc.strerror or exc}"]) from None
    return parse_sources(text, str(path))


@functools.lru_cache(maxsize=4)
def parse_sources(text: str, origin: str) -> SourcesConfig:
    """Validate sources-file text; `origin` names it in error messages. The result is immutable and cached
    by text: a crawl reads the same file from the CLI, the crawl runner and the spider (~1 s per 5,000
    sources each time)."""
    root, data = _compose(text, origin)
    problems, entries = _source_entries(root, data)
    sources: list[tuple[SourceConfig, MappingNode]] = []
    for position, node, raw in entries:
        label = _label(raw, position)
        problems += [(line, f"source {label}: {msg}") for line, msg in _duplicate_keys(node)]
        try:
            sources.append((SourceConfig.model_validate(raw), node))
        except ValidationError as exc:
            problems += [_locate(err, node, label) for err in exc.errors()]
    problems += _duplicate_ids(entries) + _duplicate_urls(sources)
    if problems:
        raise ConfigError([f"{origin}:{line}: {msg}" for line, msg in sorted(problems, key=lambda p: p[0])])
    lines = {source.id: node.start_mark.line + 1 for source, node in sources}
    return SourcesConfig(origin, tuple(source for source, _ in sources), lines)


def _compose(text: str, origin: str) -> tuple[Node | None, Any]:
    """The node tree (for lines) and the Python data of one YAML document."""
    loader = None
    try:
        loader = SAFE_LOADER(text)
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (libyaml finds it while parsing)
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(
            [f"{origin}:{line}: invalid YAML: character {exc.character:#06x} is not allowed"]
        ) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        reason = ", ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError([f"{origin}:{line}: invalid YAML: {reason}"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _source_entries(root: Node | None, data: Any) -> tuple[list[Problem], list[Entry]]:
    """Top-level shape checks; the (position, node, data) of each source entry that is a mapping."""
    if not isinstance(root, MappingNode) or not isinstance(data, dict):
        return [(1, "the file must be a mapping with a 'sources' list")], []
    problems = _duplicate_keys(root, recursive=False)
    for key, _ in root.value:
        if key.value != "sources":
            problems.append(
                (_line(key), f"unknown top-level key {key.value!r}{suggest(key.value, ['sources'])}")
            )
    seq = next((value for key, value in reversed(root.value) if key.value == "sources"), None)
    if seq is None:
        return [*problems, (1, "missing top-level key 'sources'")], []
    if not isinstance(seq, SequenceNode):
        return [*problems, (_line(seq), "'sources' must be a list of sources")], []
    entries: list[Entry] = []
    for position, (node, raw) in enumerate(zip(seq.value, data["sources"], strict=True), 1):
        if isinstance(node, MappingNode) and isinstance(raw, dict):
            entries.append((position, node, raw))
        else:
            problems.append((_line(node), f"source #{position}: must be a mapping of fields"))
    return problems, entries


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _label(raw: Mapping[str, Any], position: int) -> str:
    """How messages name a source: its id as written, else its position in the list."""
    source_id = raw.get("id")
    return repr(source_id) if isinstance(source_id, str) and source_id else f"#{position}"


def _duplicate_keys(node: Node, recursive: bool = True) -> list[Problem]:
    """Keys repeated in one mapping (PyYAML silently keeps the last one)."""
    problems: list[Problem] = []
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key, _ in node.value:
            if isinstance(key, ScalarNode) and key.value in seen:
                problems.append(
                    (_line(key), f"duplicate key {key.value!r} (lines {seen[key.value]} and {_line(key)})")
                )
            seen.setdefault(key.value, _line(key))
    children = [v for _, v in node.value] if isinstance(node, MappingNode) else getattr(node, "value", [])
    if recursive and isinstance(children, list):
        for child in children:
            problems += _duplicate_keys(child)
    return problems


def _node_line(node: Node, loc: tuple[int | str, ...]) -> int:
    """Line of the deepest node along a pydantic error location (a mapping key's own line when last)."""
    line = _line(node)
    for index, part in enumerate(loc):
        if isinstance(node, MappingNode):
            pair = next(((k, v) for k, v in reversed(node.value) if k.value == part), None)  # last one wins
            if pair is None:
                break
            line, node = (_line(pair[0]) if index == len(loc) - 1 else _line(pair[1])), pair[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = _line(node)
        else:
            break
    return line


def _field_path(loc: tuple[int | str, ...]) -> str:
    """('listings', 0, 'url') -> 'listings[0].url'."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _known_fields(loc: tuple[int | str, ...]) -> list[str]:
    """Field names allowed where an unknown field was found."""
    parents = [part for part in loc[:-1] if isinstance(part, str)]
    model = NESTED_MODELS.get(parents[-1], SourceConfig) if parents else SourceConfig
    return list(model.model_fields)


def _locate(err: Any, node: MappingNode, label: str) -> Problem:
    """One pydantic error as (line, "source 'x': field 'y': ...")."""
    return _node_line(node, tuple(err["loc"])), f"source {label}: {_describe(err)}"


def _describe(err: Any) -> str:
    """One pydantic error in the file's terms: "field 'feeds[0]': unsupported scheme 'ftp' ..."."""
    loc, where = tuple(err["loc"]), _field_path(tuple(err["loc"]))
    if err["type"] == "missing":
        return f"missing required field {where!r}"
    if err["type"] == "extra_forbidden":
        known = [_field_path((*loc[:-1], name)) for name in _known_fields(loc)]
        return f"unknown field {where!r}{suggest(where, known)}"
    return f"field {where!r}: {_message(err)}" if loc else _message(err)


# Pydantic error types reworded in the file's terms (YAML lists and mappings, not tuples and models).
EXPECTED = {
    "tuple_type": "a list",
    "list_type": "a list",
    "model_type": "a mapping of fields",
    "dict_type": "a mapping",
}


def _message(err: Any) -> str:
    """The reason part of one pydantic error."""
    error, value = err.get("ctx", {}).get("error"), err["input"]
    kind = "null" if value is None else type(value).__name__
    if isinstance(error, ValueError):
        return str(error)
    if err["type"] in EXPECTED:
        return f"expected {EXPECTED[err['type']]}, got {kind} {value!r}"
    if err["type"] == "string_type" and isinstance(value, bool | int | float | date):
        return f"expected a string, but YAML read the value as {kind} {value!r}: quote it"
    return str(err["msg"])


def _duplicate_ids(entries: list[Entry]) -> list[Problem]:
    """Ids written twice (checked on the raw entries, so an otherwise invalid entry still counts)."""
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for _, node, raw in entries:
        source_id, line = raw.get("id"), _line(node)
        if isinstance(source_id, str) and source_id in first:
            problems.append((line, f"duplicate id {source_id!r} (lines {first[source_id]} and {line})"))
        if isinstance(source_id, str):
            first.setdefault(source_id, line)
    return problems


def _duplicate_urls(sources: list[tuple[SourceConfig, MappingNode]]) -> list[Problem]:
    """The same feed, sitemap or listing URL twice (compared canonically), naming both sources."""
    first: dict[str, tuple[str, str, int]] = {}
    problems: list[Problem] = []
    for source, node in sources:
        for where, url in source.fetch_urls():
            key, line = canonicalize(url), _node_line(node, _loc(where))
            if key in first:
                other, other_where, other_line = first[key]
                problems.append(
                    (
                        line,
                        f"source {source.id!r}: field {where!r}: URL {url!r} is also "
                        f"{other_where} of source {other!r} (line {other_line})",
                    )
                )
            first.setdefault(key, (source.id, where, line))
    return problems


def _loc(path: str) -> tuple[int | str, ...]:
    """'listings[0].url' -> ('listings', 0, 'url')."""
    return tuple(int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path))


# --- writing one entry ---


class _IndentedDumper(yaml.SafeDumper):
    """Indents block sequences under their key, as the shipped sources.yaml does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


# Characters YAML treats as line breaks or cannot write raw (YAML 1.1 spec, "printable" and "line break"
# productions): strings holding one are double-quoted, where PyYAML escapes them, so they read back unchanged.
UNSAFE_RAW = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if UNSAFE_RAW.search(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_IndentedDumper.add_representer(str, _represent_str)


def dump_source_entry(source: SourceConfig | Mapping[str, Any]) -> str:
    """A ready-to-paste YAML entry for a `sources:` list that parses back to the same source."""
    if not isinstance(source, SourceConfig):
        raw = dict(source)
        try:
            source = SourceConfig.model_validate(raw)
        except ValidationError as exc:
            label = _label(raw, 1)
            raise ConfigError([f"source {label}: {_describe(err)}" for err in exc.errors()]) from None
    data = source.model_dump(mode="json", exclude_defaults=True) | {"verified": source.verified}
    ordered = {name: data[name] for name in SourceConfig.model_fields if name in data}
    text = yaml.dump([ordered], Dumper=_IndentedDumper, sort_keys=False, allow_unicode=True, width=4096)
    return textwrap.indent(text, "  ")


# --- environment settings ---

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TRUE_WORDS, FALSE_WORDS = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class SecretURL:
    """A URL holding a password: str() and repr() mask it, `get_secret_value()` gives it back."""

    value: str = field(repr=False)

    def get_secret_value(self) -> str:
        """The URL with its password, for the code that connects."""
        return self.value

    def __str__(self) -> str:
        return mask_password(self.value)

    def __repr__(self) -> str:
        return f"SecretURL({mask_password(self.value)!r})"


def mask_password(url: str) -> str:
    """The URL with its password replaced by '***' (the whole URL when it cannot be parsed)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "***"
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def _database_url(value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value)
    except ArgumentError:
        raise ValueError(f"not an SQLAlchemy database URL: {mask_password(value)!r}") from None
    return value


def _contact_url(value: str) -> str:
    return value if value.startswith("mailto:") else check_fetchable(value)


def _smtp_url(value: str) -> SecretURL:
    parts = urlsplit(value)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(
            f"expected smtp://[user:password@]host[:port] or smtps://..., got {mask_password(value)!r}"
        )
    return SecretURL(value)


REDIS_SCHEMES = ("redis", "rediss", "unix")
REDIS_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]+$")  # no spaces, and no '%' (scrapy-redis %-formats its keys)


def _redis_url(value: str) -> str:
    if urlsplit(value).scheme not in REDIS_SCHEMES:
        raise ValueError(
            f"expected redis://host:port/db, rediss://... or unix:///path, got {mask_password(value)!r}"
        )
    return value


def _redis_prefix(value: str) -> str:
    if not REDIS_PREFIX.match(value):
        raise ValueError(f"expected letters, digits and _ . : - only, got {value!r}")
    return value


def _log_level(value: str) -> str:
    if value.upper() not in LOG_LEVELS:
        raise ValueError(f"unknown log level {value!r} (one of {', '.join(LOG_LEVELS)})")
    return value.upper()


def _count(value: str) -> int:
    if not value.isdigit():
        raise ValueError(f"expected a whole number ≥ 0, got {value!r}")
    return int(value)


def _flag(value: str) -> bool:
    if value.lower() not in TRUE_WORDS | FALSE_WORDS:
        raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {value!r}")
    return value.lower() in TRUE_WORDS


@dataclass(frozen=True)
class AppConfig:
    """Settings from the environment; see ENV_SETTINGS for the variable behind each field."""

    database_url: str = "sqlite:///monitor.db"
    sources_path: Path = Path("sources.yaml")
    user_agent_contact: str = PROJECT_URL
    smtp_url: SecretURL | None = None
    log_level: str = "INFO"
    watches_path: Path | None = None
    webhook_secret: SecretStr | None = None
    outlets_path: Path | None = None
    redis_url: str | None = None
    redis_prefix: str = "monitor"


@dataclass(frozen=True)
class EnvSetting:
    """One MONITOR_* variable: the AppConfig field it fills (None: tests and CI only) and its parser."""

    field: str | None
    parse: Callable[[str], object]
    help: str


# The one place to add a variable: name -> field and parser. An unlisted MONITOR_* variable is an error.
ENV_SETTINGS: dict[str, EnvSetting] = {
    "MONITOR_DATABASE_URL": EnvSetting("database_url", _database_url, "SQLAlchemy URL of the database"),
    "MONITOR_SOURCES": EnvSetting("sources_path", Path, "path of the sources file"),
    "MONITOR_CONTACT_URL": EnvSetting("user_agent_contact", _contact_url, "contact URL in the User-Agent"),
    "MONITOR_SMTP_URL": EnvSetting("smtp_url", _smtp_url, "smtp(s)://user:password@host:port for alerts"),
    "MONITOR_LOG_LEVEL": EnvSetting("log_level", _log_level, "DEBUG, INFO, WARNING, ERROR or CRITICAL"),
    "MONITOR_WATCHES": EnvSetting("watches_path", Path, "watches file; unset switches alerting off"),
    "MONITOR_WEBHOOK_SECRET": EnvSetting("webhook_secret", SecretStr, "HMAC key signing alert webhooks"),
    "MONITOR_OUTLETS_FILE": EnvSetting("outlets_path", Path, "extra outlets and wire agencies (YAML)"),
    "MONITOR_REDIS_URL": EnvSetting(
        "redis_url", _redis_url, "Redis of distributed crawling (monitor worker)"
    ),
    "MONITOR_REDIS_PREFIX": EnvSetting(
        "redis_prefix", _redis_prefix, "prefix of every Redis key (default monitor)"
    ),
    "MONITOR_CAPTURE_RETENTION": EnvSetting(
        None, parse_duration, "prune raw captures older than this, e.g. 90d"
    ),
    "MONITOR_EXTRACT_WORKERS": EnvSetting(
        None, _count, "extraction worker processes (default: cores; 0: none)"
    ),
    "MONITOR_WEB_TOKEN": EnvSetting(None, str, "shared login token of `monitor serve`"),
    "MONITOR_WEB_BASIC_AUTH": EnvSetting(None, str, "user:password login of `monitor serve`"),
    "MONITOR_TEST_POSTGRES_URL": EnvSetting(None, _database_url, "PostgreSQL for the tests marked postgres"),
    "MONITOR_TEST_REDIS_URL": EnvSetting(None, str, "Redis for the tests marked redis"),
    "MONITOR_REQUIRE_SERVICES": EnvSetting(None, _flag, "fail, not skip, when a test service is unreachable"),
    "MONITOR_EVAL_DIR": EnvSetting(None, Path, "evaluation corpus for the tests marked eval"),
}


def load_app_config(environ: Mapping[str, str] = os.environ) -> AppConfig:
    """AppConfig from MONITOR_* variables (empty is unset); ConfigError lists unknown names and bad values."""
    values: dict[str, object] = {}
    errors: list[str] = []
    for name in sorted(key for key in environ if key.startswith("MONITOR_")):
        setting, raw = ENV_SETTINGS.get(name), environ[name].strip()
        if setting is None:
            errors.append(f"unknown environment variable {name}{suggest(name, list(ENV_SETTINGS))}")
            continue
        if not raw:
            continue
        try:
            parsed = setting.parse(raw)
        except ValueError as exc:
            errors.append(f"environment variable {name}: {exc}")
            continue
        if setting.field:
            values[setting.field] = parsed
    if errors:
        raise ConfigError(errors)
    return AppConfig(**values)  # type: ignore[arg-type]
