"""Inline SVG charts: line charts (linear or HDR-percentile x axis) and horizontal bar charts.

Every chart is a standalone `<svg>` string with an `id` and a `<title>`, so a page stays one
offline file. All text is escaped here; callers pass plain strings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf")
WIDTH = 760
HEIGHT = 300
MARGIN_LEFT = 70
MARGIN_RIGHT = 20
MARGIN_TOP = 50
MARGIN_BOTTOM = 46
PERCENTILE_DECADES = 4  # the percentile axis ends at 99.99 %
LEGEND_ROW = 16
LEGEND_CHAR_WIDTH = 6.2  # px per character of 11px sans-serif, generous
BAR_ROW = 26
BAR_LABEL_WIDTH = 190


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals."""
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def linear_ticks(low: float, high: float, count: int = 5) -> list[Tick]:
    if high <= low:
        high = low + 1.0
    step = nice_step(high - low, count)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(Tick(value, format_number(value)))
        value = round(value + step, 12)
    if ticks[-1].at < high:
        ticks.append(Tick(ticks[-1].at + step, format_number(ticks[-1].at + step)))
    return ticks


def format_number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        return f"{value / 1000:.4g}k"
    return f"{value:.4g}"


def percentile_to_x(percentile: float) -> float:
    """HdrHistogram's plot axis: log10 of 1/(1-p), so 90 % -> 1, 99 % -> 2, 99.99 % -> 4."""
    remaining = max(1.0 - percentile / 100.0, 10.0 ** -PERCENTILE_DECADES)
    return math.log10(1.0 / remaining)


def percentile_ticks() -> list[Tick]:
    labels = ("0%", "90%", "99%", "99.9%", "99.99%")
    return [Tick(float(i), labels[i]) for i in range(PERCENTILE_DECADES + 1)]


def line_chart(chart_id: str, title: str, series: Sequence[Series], *, x_label: str,
               y_label: str, x_ticks: Sequence[Tick] | None = None) -> str:
    """Lines over a shared x axis; y starts at zero. `x_ticks` fixes the x axis (its range too)."""
    drawn = [s for s in series if s.points]
    if not drawn:
        return empty_chart(chart_id, title)
    xs = [x for s in drawn for x, _ in s.points]
    ys = [y for s in drawn for _, y in s.points]
    x_axis = list(x_ticks) if x_ticks else linear_ticks(min(xs), max(xs))
    if len(x_axis) == 1:
        x_axis = [x_axis[0], Tick(x_axis[0].at + 1, "")]
    y_axis = linear_ticks(0.0, max([*ys, 0.0]) or 1.0)
    legend, legend_rows = _legend([s.name for s in drawn])
    extra = LEGEND_ROW * (legend_rows - 1)
    plot = _Plot(x_axis[0].at, x_axis[-1].at, y_axis[0].at, y_axis[-1].at,
                 top=MARGIN_TOP + extra, bottom=HEIGHT + extra - MARGIN_BOTTOM)
    parts = [_open(chart_id, title, HEIGHT + extra), legend]
    parts += _axes(plot, x_axis, y_axis, x_label, y_label)
    for index, s in enumerate(drawn):
        color = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{plot.x(x):.1f},{plot.y(y):.1f}" for x, y in s.points)
        parts.append(f'<g class="series"><title>{escape(s.name)}</title>'
                     f'<polyline fill="none" stroke="{color}" stroke-width="2" '
                     f'stroke-linejoin="round" points="{coords}"/>')
        if len(s.points) <= 60:
            parts += [f'<circle cx="{plot.x(x):.1f}" cy="{plot.y(y):.1f}" r="2.5" '
                      f'fill="{color}"/>' for x, y in s.points]
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, int]], *,
              value_label: str = "count", empty_text: str = "no data") -> str:
    """Horizontal bars, one row per (label, value), in the order given."""
    if not bars:
        return empty_chart(chart_id, title, empty_text)
    height = MARGIN_TOP + BAR_ROW * len(bars) + 16
    top = max(value for _, value in bars) or 1
    span = WIDTH - BAR_LABEL_WIDTH - MARGIN_RIGHT - 60
    parts = [_open(chart_id, title, height),
             f'<text class="axis-label" x="{WIDTH - MARGIN_RIGHT}" y="{MARGIN_TOP - 12}" '
             f'text-anchor="end">{escape(value_label)}</text>']
    for row, (label, value) in enumerate(bars):
        y = MARGIN_TOP + row * BAR_ROW
        length = max(span * value / top, 1.0)
        color = PALETTE[row % len(PALETTE)]
        parts.append(
            f'<g class="bar"><title>{escape(label)}: {value}</title>'
            f'<text x="{BAR_LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end">'
            f'{escape(_shorten(label, 30))}</text>'
            f'<rect x="{BAR_LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" '
            f'height="{BAR_ROW - 8}" fill="{color}"/>'
            f'<text x="{BAR_LABEL_WIDTH + length + 6:.1f}" y="{y + 16}">{value}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def empty_chart(chart_id: str, title: str, text: str = "no data") -> str:
    height = 90
    return (f'{_open(chart_id, title, height)}<text class="empty" x="{WIDTH / 2}" '
            f'y="{height / 2 + 14}" text-anchor="middle">{escape(text)}</text></svg>')


@dataclass(frozen=True)
class _Plot:
    x_low: float
    x_high: float
    y_low: float
    y_high: float
    top: float
    bottom: float

    def x(self, value: float) -> float:
        width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        span = (self.x_high - self.x_low) or 1.0
        return MARGIN_LEFT + width * (value - self.x_low) / span

    def y(self, value: float) -> float:
        span = (self.y_high - self.y_low) or 1.0
        return self.bottom - (self.bottom - self.top) * (value - self.y_low) / span


def _open(chart_id: str, title: str, height: int) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" class="chart" '
            f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
            f'aria-labelledby="{escape(chart_id)}-title">'
            f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
            f'<text class="chart-title" x="{MARGIN_LEFT}" y="18">{escape(title)}</text>')


def _legend(names: Sequence[str]) -> tuple[str, int]:
    """The legend under the title, wrapped into rows; returns it and its number of rows."""
    parts = ['<g class="legend">']
    x, row = float(MARGIN_LEFT), 0
    for index, name in enumerate(names):
        label = _shorten(name, 48)
        width = 30 + LEGEND_CHAR_WIDTH * len(label)
        if x > MARGIN_LEFT and x + width > WIDTH - MARGIN_RIGHT:
            x, row = float(MARGIN_LEFT), row + 1
        y = 28 + LEGEND_ROW * row
        color = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x:.0f}" y="{y}" width="14" height="4" fill="{color}"/>'
                     f'<text x="{x + 18:.0f}" y="{y + 6}">{escape(label)}</text>')
        x += width
    parts.append("</g>")
    return "".join(parts), row + 1


def _axes(plot: _Plot, x_axis: Sequence[Tick], y_axis: Sequence[Tick], x_label: str,
          y_label: str) -> list[str]:
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    top, bottom = plot.top, plot.bottom
    parts = ['<g class="axes">']
    for tick in y_axis:
        y = plot.y(tick.at)
        parts.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(tick.label)}</text>')
    for tick in x_axis:
        x = plot.x(tick.at)
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" '
                     f'y2="{bottom + 5}"/><text x="{x:.1f}" y="{bottom + 18}" '
                     f'text-anchor="middle">{escape(tick.label)}</text>')
    parts.append(
        f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>'
        f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{bottom}"/>'
        f'<text class="axis-label" x="{(left + right) / 2}" y="{bottom + MARGIN_BOTTOM - 6}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="axis-label" transform="translate(16 {(top + bottom) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text></g>')
    return parts


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
