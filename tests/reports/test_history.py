"""The trend page across runs: time order, git revisions, links, unreadable runs skipped."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reports.history import find_runs, write_history
from reports.render import render_run
from reports.results import ResultsError
from tests.reports import factory
from tests.reports.conftest import MakeRun


def three_runs(make_run: MakeRun) -> list[Path]:
    """Written out of time order on purpose: run c is the oldest."""
    return [make_run(name, started=factory.START + timedelta(hours=hours), git_rev=rev)
            for name, hours, rev in (("a", 1, "aaaa1111"), ("b", 2, "bbbb2222"),
                                     ("c", 0, "cccc3333"))]


def test_runs_are_ordered_by_start_time(make_run: MakeRun) -> None:
    runs_dir = three_runs(make_run)[0].parent
    runs, skipped = find_runs(runs_dir)
    assert [run.rev for run in runs] == ["cccc3333", "aaaa1111", "bbbb2222"]
    assert skipped == []


def test_the_page_has_trend_charts_and_a_row_per_run(make_run: MakeRun) -> None:
    dirs = three_runs(make_run)
    render_run(dirs[0])
    page = write_history(dirs[0].parent)[0].read_text()
    for chart_id in ("chart-history-rtt", "chart-history-connect", "chart-history-fanout",
                     "chart-history-throughput", "chart-history-errors"):
        assert f'id="{chart_id}"' in page
    assert page.count("<tr><td>") == 3
    assert page.index("cccc3333") < page.index("aaaa1111") < page.index("bbbb2222")
    assert page.count('<a href="a/report.html">report</a>') == 1


def test_an_unreadable_run_is_skipped_with_a_line(make_run: MakeRun) -> None:
    runs_dir = three_runs(make_run)[0].parent
    (runs_dir / "broken").mkdir()
    (runs_dir / "broken" / "results.json").write_text("{")
    output, skipped = write_history(runs_dir)
    assert len(skipped) == 1
    assert "broken" in skipped[0]
    assert "malformed JSON" in skipped[0]
    assert output.read_text().count("<tr><td>") == 3


def test_an_output_elsewhere_links_back_to_the_reports(make_run: MakeRun,
                                                       tmp_path: Path) -> None:
    run_dir = make_run()
    render_run(run_dir)
    output = tmp_path / "site" / "trend.html"
    output.parent.mkdir()
    write_history(run_dir.parent, output)
    assert '<a href="../runs/run-1/report.html">' in output.read_text()


def test_no_runs_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match="no readable"):
        write_history(tmp_path)
