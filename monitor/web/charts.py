"""Chart geometry for server-rendered SVG (no JavaScript, no build): stacked day bars and horizontal bars.

Functions here are pure: counts in, rectangles and labels out; templates draw them, CSS classes `s0`…`s8`
colour the series (inline styles are forbidden by the Content-Security-Policy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

# Series beyond this many are summed into "other" (a legend of more colours cannot be read).
MAX_SERIES = 8
OTHER = "other"
WIDTH, HEIGHT = 760, 240
LEFT, BOTTOM, TOP = 44, 28, 8


@dataclass(slots=True, frozen=True)
class Rect:
    """One bar segment: position, size, colour class and hover label."""

    x: float
    y: float
    w: float
    h: float
    cls: str
    label: str


@dataclass(slots=True, frozen=True)
class Tick:
    """An axis label at a position."""

    pos: float
    text: str


@dataclass(slots=True, frozen=True)
class StackedChart:
    """A stacked bar chart of counts per day."""

    width: int
    height: int
    rects: list[Rect]
    xticks: list[Tick]
    yticks: list[Tick]
    legend: list[tuple[str, str, int]]
    total: int


def day_range(since: date, until: date) -> list[date]:
    """Every day from `since` to `until`, inclusive."""
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def top_series(counts: Iterable[tuple[str, str, int]]) -> tuple[dict[str, dict[str, int]], list[str]]:
    """(day → series → count, series names by total desc), series past MAX_SERIES folded into 'other'."""
    totals: dict[str, int] = defaultdict(int)
    rows = list(counts)
    for _day, series, n in rows:
        totals[series] += n
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    keep = set(ranked[:MAX_SERIES]) if len(ranked) > MAX_SERIES + 1 else set(ranked)
    grid: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for day, series, n in rows:
        grid[day][series if series in keep else OTHER] += n
    names = [s for s in ranked if s in keep] + ([OTHER] if len(keep) < len(ranked) else [])
    return grid, names


def _nice_max(value: int) -> int:
    """A round axis maximum ≥ value (1, 2, 5 × 10^k)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _xticks(days: list[date], slot: float) -> list[Tick]:
    """Day labels, thinned to about ten."""
    every = max(1, len(days) // 10)
    return [Tick(LEFT + slot * (i + 0.5), d.strftime("%m-%d")) for i, d in enumerate(days) if i % every == 0]


def stacked_days(counts: Iterable[tuple[str, str, int]], since: date, until: date) -> StackedChart:
    """Stacked bars, one per day, one segment per series."""
    grid, names = top_series(counts)
    days = day_range(since, until)
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(days), 1)
    peak = _nice_max(max((sum(grid[d.isoformat()].values()) for d in days), default=0) or 1)
    rects: list[Rect] = []
    for i, day in enumerate(days):
        y = float(TOP + plot_h)
        for k, series in enumerate(names):
            n = grid[day.isoformat()].get(series, 0)
            h = plot_h * n / peak
            if n:
                y -= h
                label = f"{day.isoformat()} · {series}: {n}"
                rects.append(Rect(LEFT + slot * i + slot * 0.1, y, slot * 0.8, h, f"s{k}", label))
    # Whole-number ticks drawn where their value is (a rounded half of 5 would sit at 2.5 labelled "2").
    yticks = [Tick(TOP + plot_h * (1 - v / peak), str(v)) for v in sorted({0, peak // 2, peak})]
    legend = [(f"s{k}", s, sum(grid[d].get(s, 0) for d in grid)) for k, s in enumerate(names)]
    return StackedChart(WIDTH, HEIGHT, rects, _xticks(days, slot), yticks, legend, sum(n for *_, n in legend))


@dataclass(slots=True, frozen=True)
class HBar:
    """One labelled horizontal bar (and an optional inner part, e.g. notified of matched)."""

    label: str
    value: int
    inner: int
    w: float
    inner_w: float
    y: float


def hbars(values: Iterable[tuple[str, int, int]], width: int = 460, row: int = 22) -> list[HBar]:
    """Horizontal bars scaled to the largest value."""
    rows = list(values)
    peak = max((v for _, v, _ in rows), default=0) or 1
    return [
        HBar(label, v, k, width * v / peak, width * k / peak, i * row) for i, (label, v, k) in enumerate(rows)
    ]
