"""Rendering a run: report.html and summary.md beside results.json, from constructed results."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from reports.render import render_run
from reports.results import LostWorker, ResultsError, load_results
from tests.reports import factory
from tests.reports.conftest import MakeRun

CHART_IDS = ("chart-throughput", "chart-users", "chart-rtt-timeline", "chart-hdr-rtt",
             "chart-hdr-connect", "chart-hdr-fanout", "chart-close-codes", "chart-errors")
HOSTILE = "<script>alert(1)</script>"


def test_render_run_writes_both_files_beside_results_json(make_run: MakeRun) -> None:
    run_dir = make_run()
    html_path, md_path = render_run(run_dir)
    assert html_path == run_dir / "report.html"
    assert md_path == run_dir / "summary.md"
    html = html_path.read_text()
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in html
    assert html.startswith("<!DOCTYPE html>")


def test_render_accepts_the_results_file_itself(make_run: MakeRun) -> None:
    run_dir = make_run()
    assert render_run(run_dir / "results.json")[0] == run_dir / "report.html"


def test_the_page_is_self_contained(make_run: MakeRun) -> None:
    html = render_run(make_run())[0].read_text()
    references = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert references
    assert all(ref.startswith(("data:", "#")) for ref in references), references
    assert "<script" not in html


def test_summary_has_a_row_per_metric_with_its_percentiles(make_run: MakeRun) -> None:
    document = factory.results()
    md = render_run(make_run(document=document))[1].read_text()
    for name, metric in document["metrics"].items():
        row = next(line for line in md.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {metric['count']} |" in row
        assert f"{metric['percentiles_ms']['99']:.3f}" in row


def test_every_value_from_the_results_is_escaped(make_run: MakeRun) -> None:
    document = factory.results(
        run_id=HOSTILE, git_rev=HOSTILE, errors={HOSTILE: 2}, close_codes={HOSTILE: 1},
        metrics={HOSTILE: factory.metric("rtt", factory.latencies_us(300, 100))})
    document["run"]["settings"] = {HOSTILE: HOSTILE}
    html_path, md_path = render_run(make_run(document=document))
    assert "<script>" not in html_path.read_text()
    assert "&lt;script&gt;" in html_path.read_text()
    assert "<script>" not in md_path.read_text()


def test_a_run_without_samples_renders_empty_charts(make_run: MakeRun) -> None:
    document = factory.results(metrics={}, close_codes={}, points=[])
    html = render_run(make_run(document=document))[0].read_text()
    assert html.count(">no data<") == len(CHART_IDS) - 2
    assert ">no connection closed<" in html
    assert ">no errors<" in html


def test_conformance_xml_beside_results_is_picked_up(make_run: MakeRun, junit_xml: Path) -> None:
    run_dir = make_run()
    shutil.copy(junit_xml, run_dir / "conformance.xml")
    html_path, md_path = render_run(run_dir)
    html = html_path.read_text()
    assert 'id="conformance-groups"' in html
    assert "out of order &lt;b&gt;" in html
    assert "| test_echo | **fail** | 1 | 1 | 0 | 1 |" in md_path.read_text()


def test_an_explicit_junit_file_is_used(make_run: MakeRun, junit_xml: Path) -> None:
    html_path, _ = render_run(make_run(), junit=junit_xml)
    assert "3 passed, 1 failed, 1 errors, 1 skipped" in html_path.read_text()


def test_without_conformance_the_report_says_how_to_add_it(make_run: MakeRun) -> None:
    assert "No conformance results" in render_run(make_run())[0].read_text()


def test_a_malformed_results_file_raises_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(ResultsError, match="malformed JSON"):
        render_run(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_lost_workers_are_named_with_when_they_were_last_heard(make_run: MakeRun) -> None:
    document = factory.results()
    document["lost_workers"] = [LostWorker(
        id="vm_5902fabb", index=1, last_heard_at="2026-11-30T12:00:04.500+00:00", t=4.5,
        reason="missed heartbeats")]
    html_path, md_path = render_run(make_run(document=document))
    for text in (html_path.read_text(), md_path.read_text()):
        assert "Lost workers: 1" in text
        assert "worker 1 (vm_5902fabb): last heard 2026-11-30T12:00:04.500+00:00, 4.5 s into " \
            "the run; missed heartbeats" in text


def test_results_without_lost_workers_still_load_and_say_nothing_of_them(
        make_run: MakeRun) -> None:
    """Files written before `lost_workers` existed (schema 1 all the same) keep loading."""
    run_dir = make_run()
    assert "lost_workers" not in load_results(run_dir)
    html_path, md_path = render_run(run_dir)
    assert "Lost workers" not in html_path.read_text() + md_path.read_text()


def test_lost_workers_of_the_wrong_shape_are_refused(tmp_path: Path) -> None:
    document = factory.results()
    document["lost_workers"] = [{"index": 1}]  # type: ignore[typeddict-item]
    with pytest.raises(ResultsError, match="lost_workers"):
        factory.run_dir(tmp_path, document)


def test_open_connections_over_time_are_charted_with_their_peak(make_run: MakeRun) -> None:
    document = factory.results()
    for point in document["timeline"]:
        point["connections"] = int(point["t"]) * 100
    peak = int(document["timeline"][-1]["t"]) * 100
    html_path, md_path = render_run(make_run(document=document))
    html = html_path.read_text()
    assert "open connections" in html  # the users chart's second series
    assert f"peak {peak} open connections" in html
    assert f"Open connections: peak {peak} at " in md_path.read_text()


def test_results_without_open_connections_still_load_and_say_nothing_of_them(
        make_run: MakeRun) -> None:
    """Files written before timeline points had `connections` (schema 1) keep loading."""
    run_dir = make_run()
    assert all("connections" not in point for point in load_results(run_dir)["timeline"])
    html_path, md_path = render_run(run_dir)
    assert "open connections" not in html_path.read_text()
    assert "Open connections" not in md_path.read_text()


@pytest.mark.parametrize("count", [-1, 1.5, True, "9"])
def test_open_connections_that_are_not_a_count_are_refused(tmp_path: Path,
                                                           count: object) -> None:
    document = factory.results()
    document["timeline"][0]["connections"] = count  # type: ignore[typeddict-item]
    with pytest.raises(ResultsError, match="'connections' is not a non-negative integer"):
        factory.run_dir(tmp_path, document)


def test_close_codes_are_shown_with_websockets_names_for_them(make_run: MakeRun) -> None:
    document = factory.results(close_codes={"1000": 40, "1013": 2, "4000": 1})
    html = render_run(make_run(document=document))[0].read_text()
    for label in ("1000 (OK)", "1013 (try again later)", "4000 (private use)"):
        assert label in html
