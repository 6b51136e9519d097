"""The SVG chart module: axes, percentile scale, escaping, empty data."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from reports import charts
from reports.charts import Series

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("low", "high"), [(0, 1), (0, 7.3), (0, 950), (0, 0.012), (3, 17)])
def test_linear_ticks_are_round_and_cover_the_range(low: float, high: float) -> None:
    ticks = charts.linear_ticks(low, high)
    steps = {round(b.at - a.at, 12) for a, b in itertools.pairwise(ticks)}
    assert ticks[0].at <= low
    assert ticks[-1].at >= high
    assert len(steps) == 1
    assert 3 <= len(ticks) <= 8


@pytest.mark.parametrize(("percentile", "x"), [(0, 0), (90, 1), (99, 2), (99.9, 3), (99.99, 4),
                                               (100, 4)])
def test_percentile_axis_is_hdrhistograms_log_scale(percentile: float, x: float) -> None:
    assert charts.percentile_to_x(percentile) == pytest.approx(x)


def test_line_chart_is_well_formed_svg_with_id_title_and_one_line_per_series() -> None:
    svg = charts.line_chart("chart-x", "A & <B>", [Series("one", [(0, 1), (1, 2)]),
                                                  Series("two <i>", [(0, 3), (1, 1)])],
                            x_label="s", y_label="ms")
    root = ET.fromstring(svg)
    assert root.get("id") == "chart-x"
    assert root.findtext(f"{SVG}title") == "A & <B>"
    assert len(root.findall(f".//{SVG}polyline")) == 2
    legend = [t.text for t in root.iterfind(f".//{SVG}g[@class='legend']/{SVG}text")]
    assert legend == ["one", "two <i>"]


def test_bar_chart_has_a_bar_per_entry_sized_by_value() -> None:
    root = ET.fromstring(charts.bar_chart("bars", "Close codes", [("1000", 40), ("1006", 10)]))
    widths = [float(r.get("width", "0")) for r in root.iterfind(f".//{SVG}rect")]
    assert len(widths) == 2
    assert widths[0] == pytest.approx(4 * widths[1])


def test_a_chart_without_data_says_so() -> None:
    root = ET.fromstring(charts.line_chart("empty", "Nothing", [Series("a", [])],
                                           x_label="s", y_label="ms"))
    assert root.get("id") == "empty"
    assert "no data" in "".join(root.itertext())


def test_a_long_legend_wraps_and_the_chart_grows_to_fit() -> None:
    names = [f"connect /items/{{item_id}}/ws variant {i}" for i in range(6)]
    root = ET.fromstring(charts.line_chart("wrap", "Many", [Series(n, [(0, 1), (1, 2)])
                                                             for n in names],
                                           x_label="s", y_label="ms"))
    legend = list(root.iterfind(f".//{SVG}g[@class='legend']/{SVG}text"))
    rows = {float(t.get("y", "0")) for t in legend}
    assert len(legend) == 6
    assert len(rows) > 1
    assert float(root.get("height", "0")) > charts.HEIGHT
    for text in legend:
        right = float(text.get("x", "0")) + charts.LEGEND_CHAR_WIDTH * len(text.text or "")
        assert right <= charts.WIDTH
