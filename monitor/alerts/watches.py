"""Watches: the YAML file of keyword watches, validated with errors that name file, line, watch and field.

Shape (see docs and `monitor watch add --help`)::

    watches:
      - name: iran-in-syria
        any: ["نصير زاده", "Nasirzadeh", "نصیرزاده"]   # a term, "term*" (prefix), or {term:, prefix:}
        all: [["الأسد", "Assad"]]                      # an inner list = per-language variants of one term
        none: ["كرة القدم"]
        title_only: false
        sources: [] ; languages: []                     # scope; empty = everything
        mode: instant | digest ; digest_every: 30m | 6h
        channels: ["console", "email:desk@example.org", "webhook:https://hooks.example.org/x?format=slack"]
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.alerts.channels import parse_channel
from monitor.textnorm import normalize

# "30m", "6h", "7d", "90s": the duration syntax used by digest_every and `--since`.
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class WatchesError(ValueError):
    """The watches file is unreadable or invalid; the message lists every problem with file and line."""


def parse_duration(text: str) -> timedelta:
    """Parse "30m", "6h", "7d", "2w" or "90s" into a timedelta."""
    found = _DURATION.match(text)
    if not found or int(found.group(1)) == 0:
        raise ValueError(
            f"invalid duration {text!r}: use a positive number and s, m, h, d or w, e.g. 30m or 6h"
        )
    return timedelta(seconds=int(found.group(1)) * _UNIT_SECONDS[found.group(2)])


class Term(BaseModel):
    """One term or phrase; `prefix` lets «دمشق» match «دمشقي»; `whole_word` overrides the watch's setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    term: str = Field(min_length=1)
    prefix: bool = False
    whole_word: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        """Accept a bare string; a trailing `*` means prefix."""
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.endswith("*"):
                return {"term": stripped[:-1].rstrip(), "prefix": True}
            return {"term": stripped}
        return value

    @field_validator("term")
    @classmethod
    def _not_empty_when_normalised(cls, value: str) -> str:
        """Refuse terms that normalise to nothing (only marks or punctuation-free whitespace)."""
        if not normalize(value):
            raise ValueError(f"term {value!r} is empty after normalisation")
        return value


def _as_variants(value: Any) -> Any:
    """A bare term becomes a one-variant group; a list is a group of per-language variants."""
    return value if isinstance(value, list | tuple) else [value]


TermGroup = Annotated[tuple[Term, ...], BeforeValidator(_as_variants), Field(min_length=1)]


class Watch(BaseModel):
    """One watch: boolean term groups, scope, mode and channels."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w.@-]+$")
    any: list[TermGroup] = []
    all: list[TermGroup] = []
    none: list[TermGroup] = []
    title_only: bool = False
    sources: list[str] = []
    languages: list[str] = []
    whole_word: bool = True
    mode: Literal["instant", "digest"] = "instant"
    digest_every: str | None = None
    channels: list[str] = Field(default_factory=lambda: ["console"], min_length=1)
    enabled: bool = True

    @field_validator("channels")
    @classmethod
    def _valid_channels(cls, value: list[str]) -> list[str]:
        """Every channel parses (console, log, email:ADDR, webhook:URL)."""
        for spec in value:
            parse_channel(spec)
        return value

    @field_validator("digest_every")
    @classmethod
    def _valid_duration(cls, value: str | None) -> str | None:
        """digest_every is a duration such as 30m or 6h."""
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Watch:
        """At least one positive term; digest_every only with digest mode."""
        if not self.any and not self.all:
            raise ValueError("a watch needs at least one term in 'any' or 'all'")
        if self.digest_every is not None and self.mode != "digest":
            raise ValueError("digest_every is only used with mode: digest")
        return self

    @property
    def digest_interval(self) -> timedelta:
        """The digest window (1 h when digest mode has no digest_every)."""
        return parse_duration(self.digest_every or "1h")


class WatchesFile(BaseModel):
    """The top level of watches.yaml."""

    model_config = ConfigDict(extra="forbid")

    watches: list[Watch] = []

    @field_validator("watches", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        """`watches:` with nothing under it means no watches."""
        return [] if value is None else value


def _node_lines(node: yaml.Node, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each path in the YAML tree (keys and list indexes) to its 1-based line."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines.update(_node_lines(value, (*path, key.value)))
            lines[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            lines.update(_node_lines(value, (*path, index)))
    return lines


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    """The line of the longest prefix of a pydantic error location found in the YAML tree."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _describe(error: Any, data: Any, lines: dict[tuple[Any, ...], int], path: str) -> str:
    """One error line: file:line: watch 'name': field 'x': message."""
    loc = tuple(error["loc"])
    where = f"{path}:{_line_for(loc, lines)}"
    if len(loc) >= 2 and loc[0] == "watches" and isinstance(loc[1], int):
        item = data["watches"][loc[1]] if isinstance(data.get("watches"), list) else None
        name = item.get("name") if isinstance(item, dict) else None
        where += f": watch {name!r}" if name else f": watch #{loc[1] + 1}"
        loc = loc[2:]
    fields = ".".join(str(part) for part in loc if not str(part).startswith(("function-", "tuple[")))
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: field {fields!r}: {message}" if fields else f"{where}: {message}"


def _check_unique(parsed: WatchesFile, lines: dict[tuple[Any, ...], int], path: str) -> None:
    """Watch names are unique."""
    seen: dict[str, int] = {}
    for index, watch in enumerate(parsed.watches):
        if watch.name in seen:
            line = lines.get(("watches", index, "name"), 1)
            raise WatchesError(
                f"{path}:{line}: watch {watch.name!r}: duplicate name (first at watch #{seen[watch.name] + 1})"
            )
        seen[watch.name] = index


def parse_watches(text: str, path: str = "watches.yaml") -> list[Watch]:
    """Parse and validate the text of a watches file."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise WatchesError(f"{path}:{line}: YAML syntax error: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return []
    lines = _node_lines(node) if node is not None else {}
    if not isinstance(data, dict):
        raise WatchesError(f"{path}:1: expected a mapping with a 'watches:' list")
    try:
        parsed = WatchesFile.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error, data, lines, path) for error in exc.errors()]
        raise WatchesError("\n".join(problems)) from exc
    _check_unique(parsed, lines, path)
    return parsed.watches


def load_watches(path: str | Path) -> list[Watch]:
    """Read and validate a watches file (a missing file is an error)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise WatchesError(f"{path}: cannot read watches file: {exc.strerror}") from exc
    return parse_watches(text, str(path))


def _term_yaml(term: Term) -> Any:
    """The shortest YAML form of a term."""
    if term.whole_word is None:
        return term.term + ("*" if term.prefix else "")
    return term.model_dump(exclude_defaults=True)


def watch_to_yaml(watch: Watch) -> dict[str, Any]:
    """A watch as plain data: name and terms first, defaults left out, channels last."""
    data: dict[str, Any] = {"name": watch.name}
    for group in ("any", "all", "none"):
        items = getattr(watch, group)
        if items:
            data[group] = [_term_yaml(g[0]) if len(g) == 1 else [_term_yaml(t) for t in g] for g in items]
    data.update(watch.model_dump(exclude_defaults=True, exclude={"name", "any", "all", "none", "channels"}))
    data["channels"] = list(watch.channels)
    return data


def _dump(data: Any) -> str:
    """YAML text with Unicode kept readable and key order kept."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=1000)


def _atomic_write(path: Path, text: str) -> None:
    """Write text next to path, fsync, then rename over it."""
    handle, temp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _watch_items(text: str) -> yaml.SequenceNode | None:
    """The block-style `watches:` sequence node of a file, or None when it is absent or in flow style."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if key.value == "watches" and isinstance(value, yaml.SequenceNode) and not value.flow_style:
            return value if value.value else None
    return None


def _last_line(node: yaml.Node) -> int:
    """The 0-based line where a node's last value ends (block end marks run on past trailing comments)."""
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _last_line(node.value[-1])
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def _text_with_added(text: str, watch: Watch) -> str:
    """Append a watch after the last one, keeping the rest of the file (comments included) as it is."""
    items = _watch_items(text) if text.strip() else None
    if items is None:
        current = yaml.safe_load(text) if text.strip() else None
        data = current if isinstance(current, dict) else {}
        data["watches"] = [*(data.get("watches") or []), watch_to_yaml(watch)]
        return _dump(data)
    lines = text.splitlines(keepends=True)
    dash_line = lines[items.value[0].start_mark.line]
    indent = dash_line[: len(dash_line) - len(dash_line.lstrip())]
    block = "".join(indent + line for line in _dump([watch_to_yaml(watch)]).splitlines(keepends=True))
    end = _last_line(items) + 1
    head = "".join(lines[:end])
    return head + ("" if head.endswith("\n") else "\n") + block + "".join(lines[end:])


def _text_with_removed(text: str, name: str) -> str:
    """Cut the lines of one watch out of the file, keeping everything else (comments included)."""
    items = _watch_items(text)
    lines = text.splitlines(keepends=True)
    for item in items.value if items is not None else []:
        names = [v.value for k, v in getattr(item, "value", []) if k.value == "name"]
        if names == [name]:
            return "".join(lines[: item.start_mark.line] + lines[_last_line(item) + 1 :])
    raise WatchesError(f"no watch named {name!r}")


def add_watch(path: str | Path, watch: Watch) -> None:
    """Add a watch to the file (created if missing): validate the new text, then replace atomically."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    existing = parse_watches(text, str(path))
    if any(w.name == watch.name for w in existing):
        raise WatchesError(f"{path}: a watch named {watch.name!r} already exists")
    new_text = _text_with_added(text, watch)
    parse_watches(new_text, str(path))
    _atomic_write(path, new_text)


def remove_watch(path: str | Path, name: str) -> None:
    """Remove a watch by name: validate the new text, then replace atomically."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not any(w.name == name for w in parse_watches(text, str(path))):
        raise WatchesError(f"{path}: no watch named {name!r}")
    new_text = _text_with_removed(text, name)
    remaining = parse_watches(new_text, str(path))
    if any(w.name == name for w in remaining):
        raise WatchesError(f"{path}: could not remove watch {name!r} safely; edit the file by hand")
    _atomic_write(path, new_text)
