"""The inbox filter: parsed from the query string, written back into links (paging, export)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from werkzeug.datastructures import MultiDict

from storage.workflow_models import STATUSES

PER_PAGE = 50
MAX_PER_PAGE = 200
# Free-text queries longer than this are refused (the search box is for words, not documents).
MAX_QUERY = 500


class FilterError(ValueError):
    """A filter parameter is malformed; the message names the parameter and the value."""


@dataclass(slots=True, frozen=True)
class InboxFilter:
    """What the desk is looking at: filters plus paging."""

    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    watches: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    ids: tuple[int, ...] = ()
    page: int = 1
    per_page: int = PER_PAGE

    def query_args(self, **overrides: object) -> list[tuple[str, str]]:
        """The filter as query-string pairs (paging included), with some values replaced."""
        values = {
            "source": self.sources,
            "country": self.countries,
            "language": self.languages,
            "status": self.statuses,
            "watch": self.watches,
            "from": (self.date_from.isoformat(),) if self.date_from else (),
            "to": (self.date_to.isoformat(),) if self.date_to else (),
            "q": (self.q,) if self.q else (),
            "page": (str(self.page),) if self.page != 1 else (),
            "per_page": (str(self.per_page),) if self.per_page != PER_PAGE else (),
        }
        for key, value in overrides.items():
            values[key] = (str(value),) if value is not None else ()
        return [(key, v) for key, vs in values.items() for v in vs]


def _values(args: MultiDict[str, str], name: str) -> tuple[str, ...]:
    """Non-empty values of a repeatable parameter, in order, without duplicates."""
    return tuple(dict.fromkeys(v.strip() for v in args.getlist(name) if v.strip()))


def _date(args: MultiDict[str, str], name: str) -> date | None:
    """An ISO date parameter (YYYY-MM-DD) or None."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"{name}={raw!r}: expected a date as YYYY-MM-DD") from None


def _positive(args: MultiDict[str, str], name: str, default: int, upper: int) -> int:
    """A positive integer parameter, at most `upper`."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= upper:
        raise FilterError(f"{name}={raw!r}: expected a whole number from 1 to {upper}")
    return int(raw)


def _ids(values: list[str]) -> tuple[int, ...]:
    """Article ids from form values."""
    bad = [v for v in values if not v.strip().isdigit()]
    if bad:
        raise FilterError(f"id={bad[0]!r}: expected an article id (a whole number)")
    return tuple(dict.fromkeys(int(v) for v in values))


def parse_filter(args: MultiDict[str, str]) -> InboxFilter:
    """An InboxFilter from request arguments; FilterError names the first bad parameter."""
    statuses = _values(args, "status")
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise FilterError(f"status={unknown[0]!r}: expected one of {', '.join(STATUSES)}")
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        raise FilterError(f"q: the search text is longer than {MAX_QUERY} characters")
    return InboxFilter(
        sources=_values(args, "source"),
        countries=_values(args, "country"),
        languages=_values(args, "language"),
        statuses=statuses,
        watches=_values(args, "watch"),
        date_from=_date(args, "from"),
        date_to=_date(args, "to"),
        q=q,
        ids=_ids(args.getlist("id")),
        page=_positive(args, "page", 1, 1_000_000),
        per_page=_positive(args, "per_page", PER_PAGE, MAX_PER_PAGE),
    )


def parse_ids(form: MultiDict[str, str]) -> tuple[int, ...]:
    """The article ids ticked in a bulk form (`id` fields)."""
    return _ids(form.getlist("id"))
