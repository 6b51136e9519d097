"""`summary.md`: a run in a few Markdown lines, for a CI job summary or a pull-request comment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from reports.junit import Conformance, Group, Outcome
from reports.measures import error_share, ranked_counts, run_duration_s, throughput_per_s
from reports.results import Results


def cell(value: object) -> str:
    """A Markdown table cell: HTML-escaped, pipes and line breaks neutralised."""
    text = escape(str(value)).replace("|", "\\|")
    return " ".join(text.split())


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], *,
                   align_right: bool = True) -> list[str]:
    """A Markdown table; columns after the first are right-aligned unless align_right=False."""
    right = "---:" if align_right else "---"
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---" if i == 0 else right for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


MATRIX_MARKS: dict[Outcome, str] = {"passed": "✓", "failed": "✗", "error": "error",
                                    "xfailed": "xfail", "skipped": "skip"}
MATRIX_LEGEND = ("✓ passed, ✗ failed, error: the test errored, xfail: an expected failure (a "
                 "known server gap), skip: skipped; – : no test of the group ran there")
BAD_OUTCOMES: tuple[Outcome, ...] = ("failed", "error")


def matrix_cell(counts: Group | None) -> list[tuple[str, bool]]:
    """A group x target cell as its parts, each with whether it is bad (a failure or an
    error): [("41 ✓", False), ("2 xfail", False)]; [] when no test ran there."""
    if counts is None:
        return []
    return [(f"{n} {mark}", outcome in BAD_OUTCOMES) for outcome, mark in MATRIX_MARKS.items()
            if (n := counts.counts[outcome])]


def matrix_rows(conformance: Conformance, show: Callable[[str, bool], str]) -> list[list[str]]:
    """The group x target matrix as table rows, each cell's parts shown by show(text, bad)
    and joined; a dash where no test of the group ran."""
    return [[group, *(" · ".join(show(text, bad) for text, bad in matrix_cell(row.get(target)))
                      or "–" for target in conformance.targets)]
            for group, row in conformance.matrix().items()]


def conformance_totals(conformance: Conformance) -> str:
    return (f"{conformance.total('passed')} passed, {conformance.total('failed')} failed, "
            f"{conformance.total('error')} errors, {conformance.total('skipped')} skipped, "
            f"{conformance.total('xfailed')} xfailed")


def conformance_markdown(conformance: Conformance) -> list[str]:
    """The totals, then one table: groups by targets when the run checked several served
    targets, else the groups' counts."""
    lines = [f"Conformance: {conformance_totals(conformance)}.", ""]
    if len(conformance.served_targets) > 1:
        rows = matrix_rows(conformance, lambda text, bad: f"**{text}**" if bad else text)
        lines += markdown_table(["group", *conformance.targets], rows, align_right=False)
        lines += ["", MATRIX_LEGEND + "."]
    else:
        lines += markdown_table(
            ["group", "verdict", "passed", "failed", "errors", "skipped", "xfailed"],
            [[g.name, "pass" if g.ok else "**fail**", g.counts["passed"], g.counts["failed"],
              g.counts["error"], g.counts["skipped"], g.counts["xfailed"]]
             for g in conformance.groups])
    for target in conformance.autobahn_targets:
        counts = conformance.autobahn_counts(target)
        lines += ["", f"Autobahn catalogue, {cell(target)}: " + ", ".join(
            f"{name} {n}" for name, n in counts.items() if n) + "."]
    return lines


def summary_markdown(results: Results, conformance: Conformance | None) -> str:
    run = results["run"]
    duration = run_duration_s(results)
    lines = [
        f"### wsharness load run `{cell(run.get('id', '?'))}`",
        "",
        " · ".join([
            f"target {cell(run.get('target', '?'))}",
            *([f"server {cell(run['server'])}"] if "server" in run else []),
            f"{cell(run.get('users', '?'))} users",
            f"{duration:.1f} s" if duration else "duration unknown",
            f"git `{cell(run.get('git_rev', '?'))}`",
        ]),
        "",
    ]
    rows = []
    for name, m in results["metrics"].items():
        p = m["percentiles_ms"]
        rate = throughput_per_s(m, duration)
        rows.append([name, m["kind"], m["count"], m["errors"], f"{100 * error_share(m):.2f} %",
                     "-" if rate is None else f"{rate:.1f}",
                     *(f"{p[k]:.3f}" for k in ("50", "90", "99", "99.9", "100"))])
    lines += markdown_table(["metric", "kind", "count", "errors", "error share", "per s",
                             "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"], rows)
    lines.append("")
    lines.append("Close codes: " + _counts(results["close_codes"]) + ". Errors: "
                 + _counts(results["errors"]) + ".")
    peak = peak_connections(results)
    if peak is not None:
        lines += ["", f"Open connections: peak {peak[1]} at {peak[0]:.0f} s."]
    lost = results.get("lost_workers", [])
    if lost:
        lines += ["", f"**Lost workers: {len(lost)}**; their measurements are missing from "
                  "these results."]
        lines += [f"- {cell(line)}" for line in lost_worker_lines(results)]
    if conformance is not None:
        lines += ["", *conformance_markdown(conformance)]
    return "\n".join(lines) + "\n"


def peak_connections(results: Results) -> tuple[float, int] | None:
    """(seconds into the run, connections) where the most were open, if the run counted them."""
    points = [(p["t"], p["connections"]) for p in results["timeline"] if "connections" in p]
    return max(points, key=lambda point: point[1]) if points else None


def _counts(table: dict[str, int]) -> str:
    if not table:
        return "none"
    return ", ".join(f"{cell(key)} × {count}" for key, count in ranked_counts(table))


def lost_worker_lines(results: Results) -> list[str]:
    """One sentence per lost worker: which one, when it was last heard from, how it was lost."""
    lines = []
    for worker in results.get("lost_workers", []):
        index = worker.get("index")
        name = f"worker {index} ({worker['id']})" if index is not None else f"worker {worker['id']}"
        t = worker.get("t")
        when = (f"last heard {worker.get('last_heard_at')}"
                + (f", {t:.1f} s into the run" if t is not None else "")
                if worker.get("last_heard_at") else "never heard from during the run")
        lines.append(f"{name}: {when}; {worker.get('reason', 'lost')}")
    return lines
