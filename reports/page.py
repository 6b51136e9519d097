"""The HTML shell shared by the run report and the history page: one offline file, no scripts."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1000px; margin: 1.5em auto; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
.subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
#run-info td, #run-settings td, #conformance-failures td, #autobahn-not-ok td { text-align: left; }
#history-runs td { white-space: nowrap; }
th { background: #f4f4f4; }
.ok { color: #17692d; font-weight: 600; }
.bad { color: #b3261e; font-weight: 600; }
.note { color: #555; font-size: .92em; }
svg.chart { display: block; max-width: 100%; height: auto; margin: .6em 0; }
svg.chart text { font: 11px system-ui, sans-serif; fill: #333; }
svg.chart .chart-title { font-size: 13px; font-weight: 600; }
svg.chart .axis-label { fill: #555; }
svg.chart .empty { fill: #888; font-size: 13px; }
svg.chart .axis { stroke: #555; }
svg.chart .grid { stroke: #e6e6e6; }
svg.chart .tick { stroke: #555; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; }
"""


def document(title: str, body: Sequence[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body) + "\n</body></html>\n")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, table_id: str = "",
          raw_cells: bool = False) -> str:
    """A table; cells are escaped unless raw_cells (for cells the caller built as HTML)."""
    def cell(value: str) -> str:
        return value if raw_cells else escape(value)

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in rows)
    id_attr = f' id="{escape(table_id)}"' if table_id else ""
    return f"<table{id_attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def section(section_id: str, heading: str, parts: Sequence[str]) -> str:
    return (f'<section id="{escape(section_id)}"><h2>{escape(heading)}</h2>'
            + "".join(parts) + "</section>")


def paragraph(text: str, css_class: str = "") -> str:
    class_attr = f' class="{escape(css_class)}"' if css_class else ""
    return f"<p{class_attr}>{escape(text)}</p>"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{100 * fraction:.2f} %"
