"""Locust's web UI shows the harness's view of a run: a "wsharness latency" tab, its report.

- The tab is one of Locust's extended tabs (`extended_tabs` and `extended_tables` in the web
  UI's template arguments, its rows under `extended_stats` in the /stats/requests answer the
  page polls every 2 s while a run goes): a row for the run (live, ending, ended), one per
  metric (count, errors, p50/p90/p99/p99.9/max in µs; the fan-out delay is the `fanout`
  metrics), then close codes and errors by kind. While a run goes its rows are live; once it
  has ended they are its results.json. A poll that comes while the run is being ended waits
  (bounded) for its results, so the page's last poll of a run shows them.
- GET wsharness/latency: the same view as JSON.
- GET wsharness/runs/<run id>/report.html: the report of a run this process ended (the id is
  looked up among those runs, never joined to a path); GET wsharness/report redirects to the
  last one's, linked from the Download Data tab.
- Live figures: a single process reads its own histograms (folded once a second). In a
  distributed run each worker adds its encoded histograms to Locust's worker report (every
  3 s) and the master adds up the latest report of each worker of the run, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from locust import events
from locust.runners import MasterRunner

from loadtests._finished import FINISHED, FinishedRun
from loadtests._recorder import RECORDER, Merged, Snapshot
from loadtests._run import PROCESS, QUIT_WAIT_S, Run
from reports.console import NO_SAMPLES
from reports.measures import PERCENTILE_LABELS, percentiles_us
from reports.results import METRIC_KINDS, PERCENTILES, histogram_percentiles_us

TAB_KEY = "wsharness"
TAB_TITLE = "wsharness latency"  # Locust upper-cases tab titles: "µs" would read "MS"
LIVE_KEY = "wsharness_live"  # a worker's histograms in its report to the master
PERCENTILE_COLUMNS = {p: label.replace(".", "") for p, label in PERCENTILE_LABELS.items()}
COLUMNS = [("label", "Name"), ("kind", "Kind"), ("count", "Count"), ("errors", "Errors"),
           *((PERCENTILE_COLUMNS[p], f"{label} µs") for p, label in PERCENTILE_LABELS.items())]
REPORT_LINK_TITLE = "wsharness report.html of the last run"


@dataclass
class Live:
    """What the master has heard from its workers about the run under way."""

    stopping: Run | None = None  # the run Locust began to stop (its results are coming)
    by_worker: dict[str, Snapshot] = field(default_factory=dict)  # each worker's latest
    version: int = 0
    merged: tuple[int, Merged] | None = None  # by_worker added up, at a version


LIVE = Live()


# -- the view ---------------------------------------------------------------------------------

def metric_row(name: str, kind: str, count: int, errors: int,
               us: dict[str, int]) -> dict[str, Any]:
    return {"metric": name, "kind": kind, "count": count, "errors": errors,
            **{PERCENTILE_COLUMNS[p]: us[p] if count else NO_SAMPLES for p in PERCENTILES}}


def live_measurements(runner: Any) -> Merged:
    """The run under way as this process knows it: its own histograms, or on a master the
    latest report of each worker added up."""
    if isinstance(runner, MasterRunner):
        if LIVE.merged is None or LIVE.merged[0] != LIVE.version:
            merged = Merged()
            for snapshot in LIVE.by_worker.values():
                merged.add(snapshot)
            LIVE.merged = (LIVE.version, merged)
        return LIVE.merged[1]
    merged = Merged()
    merged.add(RECORDER.snapshot(timeline=False))
    return merged


def report_url(run: FinishedRun) -> str | None:
    if run.report_path is None:
        return None
    return url_for("wsharness.report", run_id=run.id)


def view(environment: Any, wait_s: float = QUIT_WAIT_S) -> dict[str, Any]:
    """The run under way (live), else the last one this process ended (its results.json).
    A run being ended is waited for, up to wait_s: its results are about to be written."""
    run = PROCESS.run
    if run is not None and LIVE.stopping is not run:
        return _live_view(environment, run, "live")
    if not PROCESS.ended.is_set():
        PROCESS.ended.wait(wait_s)
        run = PROCESS.run
        if run is not None:
            return _live_view(environment, run, "ending")
    last = FINISHED.last
    if last is None:
        return {"state": "idle", "run": None, "source": None, "metrics": [], "close_codes": {},
                "errors": {}, "report": None}
    results = last.results
    rows = [metric_row(name, metric["kind"], metric["count"], metric["errors"],
                       percentiles_us(metric)) for name, metric in results["metrics"].items()]
    source = str(last.results_path) if last.results_path else None
    return {"state": "ended", "run": last.id, "source": source, "metrics": rows,
            "close_codes": results["close_codes"], "errors": results["errors"],
            "report": report_url(last)}


def _live_view(environment: Any, run: Run, state: str) -> dict[str, Any]:
    runner = environment.runner
    merged = live_measurements(runner)
    rows = [metric_row(name, merged.kinds[name], int(histogram.get_total_count()),
                       merged.metric_errors[name], histogram_percentiles_us(histogram))
            for name, histogram in sorted(merged.histograms.items())
            if merged.kinds[name] in METRIC_KINDS]
    source = (f"the latest reports of {len(LIVE.by_worker)} worker(s)"
              if isinstance(runner, MasterRunner) else "this process")
    return {"state": state, "run": run.id, "source": source, "metrics": rows,
            "close_codes": dict(sorted(merged.close_codes.items())),
            "errors": dict(sorted(merged.errors.items())), "report": None}


def table_rows(latency: dict[str, Any]) -> list[dict[str, Any]]:
    """The view as the tab's rows: the run, its metrics, its close codes, its errors. The
    first column's key is not "name", by which Locust's table would sort them."""
    if latency["run"] is None:
        return [{"label": "no run yet", "kind": ""}]
    state = latency["state"]
    if latency["report"]:
        state += f", report: {latency['report']}"
    rows = [{"label": f"run {latency['run']}", "kind": state}]
    rows += [{"label": row["metric"], **row} for row in latency["metrics"]]
    rows += [{"label": code, "kind": "close code", "count": count}
             for code, count in latency["close_codes"].items()]
    rows += [{"label": kind, "kind": "error", "count": count}
             for kind, count in latency["errors"].items()]
    return rows


# -- the web UI -------------------------------------------------------------------------------

def install(environment: Any) -> None:
    """Add the tab, the routes and the report link to the web UI (before it serves)."""
    web_ui = environment.web_ui
    prefix = getattr(environment.parsed_options, "web_base_path", None) or None
    blueprint = Blueprint("wsharness", __name__, url_prefix=prefix)

    def latency() -> ResponseReturnValue:
        return jsonify(view(environment))

    def last_report() -> ResponseReturnValue:
        last = FINISHED.last
        if last is None or last.report_path is None:
            return "no run has ended here yet\n", 404
        return redirect(url_for("wsharness.report", run_id=last.id))

    def report(run_id: str) -> ResponseReturnValue:
        path = FINISHED.reports.get(run_id)
        if path is None or not path.is_file():
            return "no such run here\n", 404
        return send_file(path, mimetype="text/html", max_age=0)

    def add_tab_rows(response: Response) -> Response:
        """Locust's answer to the page's poll, with the tab's rows (a new response: Locust
        caches its own for 2 s)."""
        if request.endpoint != "locust.request_stats" or response.status_code != 200:
            return response
        rows = table_rows(view(environment))
        return jsonify({**response.get_json(), "extended_stats": [{"key": TAB_KEY,
                                                                   "data": rows}]})

    for rule, endpoint in (("/wsharness/latency", latency), ("/wsharness/report", last_report),
                           ("/wsharness/runs/<run_id>/report.html", report)):
        blueprint.add_url_rule(rule, endpoint.__name__,
                               web_ui.auth_required_if_enabled(endpoint))
    web_ui.app.register_blueprint(blueprint)
    web_ui.app.after_request(add_tab_rows)
    web_ui.template_args.update({
        "extended_tabs": [{"key": TAB_KEY, "title": TAB_TITLE}],
        "extended_tables": [{"key": TAB_KEY, "structure": [
            {"key": key, "title": title} for key, title in COLUMNS]}],
        "extended_csv_files": [{"href": "./wsharness/report", "title": REPORT_LINK_TITLE}],
    })


# -- Locust's events --------------------------------------------------------------------------

def _on_init(environment: Any, **_: Any) -> None:
    if environment.web_ui is not None:
        install(environment)


def _on_test_start(**_: Any) -> None:
    LIVE.stopping = None
    LIVE.by_worker.clear()
    LIVE.version += 1


def _on_test_stopping(**_: Any) -> None:
    LIVE.stopping = PROCESS.run


def _on_report_to_master(data: dict[str, Any], **_: Any) -> None:
    """A worker: its histograms so far ride on its regular report to the master."""
    if not RECORDER.frozen:
        data[LIVE_KEY] = RECORDER.snapshot(timeline=False)


def _on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    snapshot = data.get(LIVE_KEY)
    if snapshot is not None and PROCESS.run is not None:
        LIVE.by_worker[client_id] = snapshot
        LIVE.version += 1


def _listen() -> None:
    hooks: list[tuple[Any, Any]] = [
        (events.init, _on_init), (events.test_start, _on_test_start),
        (events.test_stopping, _on_test_stopping),
        (events.report_to_master, _on_report_to_master),
        (events.worker_report, _on_worker_report)]
    for event, listener in hooks:
        event.add_listener(listener)


_listen()
