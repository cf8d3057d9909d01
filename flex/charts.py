"""Bar charts drawn on the server as inline SVG: no chart library, no script, no inline style.

The Content-Security-Policy forbids inline scripts and styles (flex/settings.py), so a chart is plain
SVG markup: its geometry is computed here, drawn by `templates/flex/bar_chart.svg.html`, and coloured
with SVG presentation attributes (`fill`, `stroke`), which the policy does not touch. Each chart has
a `<title>` and `<desc>` for screen readers and a `<title>` per bar (the tooltip); the page shows the
same numbers in a table under it. Colours are the Okabe–Ito palette, told apart by colour-blind
readers too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 96, 12, 34, 42  # room for the axis labels and the legend
TICKS = 4


@dataclass(frozen=True)
class Series:
    name: str
    values: list[Decimal | int | None]  # one per category; None: nothing to show (drawn as no bar)


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    fill: str
    label: str  # what a reader hears or sees on hover: "March 2026, collected: € 1.234,00"


@dataclass(frozen=True)
class Tick:
    y: str
    label: str


@dataclass(frozen=True)
class Label:
    x: str
    y: str
    text: str
    fill: str = ""
    subtext: str = ""  # a second line under the first (the year under a month)


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    width: int
    height: int
    left: str
    right: str
    baseline: str
    bars: list[Bar]
    ticks: list[Tick]
    categories: list[Label]
    legend: list[Label]


def _number(value: float) -> str:
    """A coordinate as SVG reads it, whatever the page's locale (a template would write 12,5)."""
    return f"{value:.1f}"


def nice_top(largest: float, ticks: int = TICKS) -> float:
    """The axis maximum: the smallest 1, 2, 2.5 or 5 × 10ⁿ step times `ticks` that holds `largest`."""
    if largest <= 0:
        return float(ticks)
    rough = largest / ticks
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    return step * ticks


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    categories: list[str | tuple[str, str]],
    series: list[Series],
    format_value: Callable[[Decimal | int], str],
    format_tick: Callable[[Decimal | int], str] | None = None,
    top: float | None = None,
) -> Chart:
    """Grouped bars: per category one bar per series, on a common axis from 0 to `top` (a round
    number above the largest value when not given). A category may be two lines (month, year)."""
    lines = [category if isinstance(category, tuple) else (category, "") for category in categories]
    values = [float(v) for s in series for v in s.values if v is not None]
    top = top or nice_top(max(values, default=0))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_height
    slot = plot_width / max(len(categories), 1)
    bar_width = slot * 0.8 / max(len(series), 1)

    def y_of(value: float) -> float:
        return baseline - plot_height * max(0.0, min(value, top)) / top

    bars = []
    for index, (first_line, second_line) in enumerate(lines):
        category = f"{first_line} {second_line}".strip()
        for number, one in enumerate(series):
            value = one.values[index]
            if value is None:
                continue
            y = y_of(float(value))
            bars.append(
                Bar(
                    x=_number(LEFT + index * slot + slot * 0.1 + number * bar_width),
                    y=_number(y),
                    width=_number(bar_width * 0.92),
                    height=_number(baseline - y),
                    fill=PALETTE[number % len(PALETTE)],
                    label=f"{category}, {one.name}: {format_value(value)}",
                )
            )
    ticks = [
        Tick(y=_number(y_of(top * step / TICKS)), label=(format_tick or format_value)(_tick_value(top * step / TICKS)))
        for step in range(TICKS + 1)
    ]
    labels = [
        Label(x=_number(LEFT + index * slot + slot / 2), y=_number(baseline + 16), text=first, subtext=second)
        for index, (first, second) in enumerate(lines)
    ]
    legend = [
        Label(x=_number(LEFT + number * 170), y=_number(TOP - 22), text=one.name, fill=PALETTE[number % len(PALETTE)])
        for number, one in enumerate(series)
    ]
    return Chart(
        id=chart_id,
        title=title,
        description=description,
        width=WIDTH,
        height=HEIGHT,
        left=_number(LEFT),
        right=_number(WIDTH - RIGHT),
        baseline=_number(baseline),
        bars=bars,
        ticks=ticks,
        categories=labels,
        legend=legend,
    )


def _tick_value(value: float) -> Decimal | int:
    return int(value) if float(value).is_integer() else Decimal(str(round(value, 2)))
