"""The runs this process has ended and written: what the console and the web UI show of them.

Each run's latency table in µs (reports.console) goes to stdout: when the run ends in a
process with a web UI, and at Locust's `quit` in a headless one, after Locust's own tables,
so that a headless run's output ends with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from locust import events

from reports.console import console_summary
from reports.render import REPORT_FILE
from reports.results import Results


@dataclass(frozen=True)
class FinishedRun:
    id: str
    results_path: Path | None  # None: no directory took the results; they are shown anyway
    results: Results

    @property
    def report_path(self) -> Path | None:
        """Its report.html, if one was rendered."""
        if self.results_path is None:
            return None
        path = self.results_path.parent / REPORT_FILE
        return path if path.is_file() else None


@dataclass
class Finished:
    reports: dict[str, Path] = field(default_factory=dict)  # run id -> its report.html
    last: FinishedRun | None = None  # the run that ended last, with its results
    unprinted: list[FinishedRun] = field(default_factory=list)


FINISHED = Finished()


def run_finished(environment: Any, results: Results, results_path: Path | None) -> None:
    """A run has ended: its results are written at results_path (report.html beside it, if
    rendered), or nowhere (None), and are shown all the same."""
    run = FinishedRun(id=results["run"]["id"], results_path=results_path, results=results)
    if run.report_path is not None:
        FINISHED.reports[run.id] = run.report_path
    FINISHED.last = run
    if environment.web_ui is None:
        FINISHED.unprinted.append(run)
    else:
        print_summary(run)


def print_summary(run: FinishedRun) -> None:
    lines = console_summary(run.results)
    if run.report_path is not None:
        lines += f"wsharness: full report: {run.report_path}\n"
    print(lines, end="", flush=True)


def _on_quit(**_: Any) -> None:
    unprinted, FINISHED.unprinted = FINISHED.unprinted, []
    for run in unprinted:
        print_summary(run)


quit_event: Any = events.quit
quit_event.add_listener(_on_quit)
