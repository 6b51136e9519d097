"""Compare a run with a baseline: one check per metric and statistic, each with a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reports.measures import error_share, run_duration_s, throughput_per_s
from reports.results import Metric, Results
from reports.summary import cell, markdown_table
from reports.thresholds import (
    HIGHER_IS_BETTER,
    LATENCY_STATS,
    PERCENTILE_OF,
    STATS,
    Rules,
    Stat,
    Thresholds,
)

Verdict = Literal["ok", "regression", "improved", "skipped", "new"]


@dataclass(frozen=True)
class Check:
    metric: str
    stat: str
    baseline: float | None
    current: float | None
    threshold: str
    verdict: Verdict
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    checks: tuple[Check, ...]
    warnings: tuple[str, ...]

    @property
    def regressions(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == "regression"]


def compare(baseline: Results, current: Results, thresholds: Thresholds) -> Comparison:
    checks: list[Check] = []
    base_duration, duration = run_duration_s(baseline), run_duration_s(current)
    for name in [*baseline["metrics"], *(n for n in current["metrics"]
                                        if n not in baseline["metrics"])]:
        base = baseline["metrics"].get(name)
        metric = current["metrics"].get(name)
        if metric is None:
            checks.append(Check(name, "samples", base["count"] if base else None, None, "",
                                "regression", "metric missing from the current run"))
            continue
        rules = thresholds.for_metric(name, metric["kind"])
        if base is not None and base["count"] and not metric["count"]:
            checks.append(Check(name, "samples", base["count"], 0, "> 0", "regression",
                                "no samples in the current run"))
        for stat in STATS:
            if stat in LATENCY_STATS and not metric["count"]:
                continue
            checks.append(check_stat(name, stat, rules, base=base, metric=metric,
                                      base_duration=base_duration, duration=duration))
    return Comparison(tuple(checks), run_warnings(baseline, current))


def statistic(stat: Stat, metric: Metric, duration_s: float | None) -> float | None:
    if stat in PERCENTILE_OF:
        return metric["percentiles_ms"][PERCENTILE_OF[stat]]
    if stat == "mean":
        return metric["mean_ms"]
    if stat == "error_share":
        return error_share(metric)
    return throughput_per_s(metric, duration_s)


def samples_above(stat: Stat, metric: Metric) -> float:
    """Samples above a percentile: a statistic of few samples is noise, not judged.

    The mean counts as the median; a rate counts as the 90th percentile (with 10 samples
    above it, a rate rests on 100 samples, about +-10 % of counting noise).
    """
    if stat == "mean":
        return metric["count"] * 0.5
    if stat == "throughput":
        return metric["count"] * 0.1
    if stat not in PERCENTILE_OF:
        return float("inf")
    return metric["count"] * (1.0 - float(PERCENTILE_OF[stat]) / 100.0)


def check_stat(name: str, stat: Stat, rules: Rules, *, base: Metric | None, metric: Metric,
               base_duration: float | None, duration: float | None) -> Check:
    current = statistic(stat, metric, duration)
    before = statistic(stat, base, base_duration) if base else None
    described = describe(stat, rules)
    runs = [m for m in (base, metric) if m is not None]
    if current is None or any(samples_above(stat, m) < rules.min_tail_samples for m in runs):
        return Check(name, stat, before, current, described, "skipped",
                     f"fewer than {rules.min_tail_samples} samples above it"
                     if current is not None else "run duration unknown")
    sign = -1.0 if stat in HIGHER_IS_BETTER else 1.0
    limit = rules.absolute.get(stat)
    if limit is not None and sign * (current - limit) > 0:
        return Check(name, stat, before, current, described, "regression",
                     f"beyond the absolute limit {fmt(stat, limit)}")
    if before is None:
        return Check(name, stat, None, current, described, "new", "no baseline")
    rule = rules.relative.get(stat)
    if rule is None:
        return Check(name, stat, before, current, described, "ok")
    worse = sign * (current - before)
    margin = max(rule.slack, abs(before) * rule.percent / 100.0)
    if worse > margin:
        return Check(name, stat, before, current, described, "regression")
    if -worse > margin:
        return Check(name, stat, before, current, described, "improved")
    return Check(name, stat, before, current, described, "ok")


def describe(stat: Stat, rules: Rules) -> str:
    parts = []
    rule = rules.relative.get(stat)
    if rule is not None:
        direction = "-" if stat in HIGHER_IS_BETTER else "+"
        relative = [f"{direction}{rule.percent:g} %"] if rule.percent else []
        if rule.slack:
            slack = (f"{100 * rule.slack:.2f} pt" if stat == "error_share"
                     else fmt(stat, rule.slack))
            relative.append(f"{direction}{slack}")
        parts.append(" and ".join(relative) or "any change")
    limit = rules.absolute.get(stat)
    if limit is not None:
        parts.append(f"{'at least' if stat in HIGHER_IS_BETTER else 'at most'} "
                     f"{fmt(stat, limit)}")
    return "; ".join(parts)


def fmt(stat: str, value: float | None) -> str:
    if value is None:
        return "-"
    if stat == "error_share":
        return f"{100 * value:.2f} %"
    if stat == "throughput":
        return f"{value:.1f}/s"
    if stat == "samples":
        return f"{value:.0f}"
    return f"{value:.3f} ms"


def change(check: Check) -> str:
    if check.baseline is None or check.current is None:
        return "-"
    delta = check.current - check.baseline
    if check.stat == "error_share":
        return f"{100 * delta:+.2f} pt"
    relative = f" ({100 * delta / check.baseline:+.0f} %)" if check.baseline else ""
    unit = {"throughput": "/s", "samples": ""}.get(check.stat, " ms")
    return f"{delta:+.3f}{unit}{relative}"


COMPARABLE_SETTINGS = ("user_classes", "message_rate", "think_time", "message_size",
                       "chat_room_size", "run_time", "processes")


def run_warnings(baseline: Results, current: Results) -> tuple[str, ...]:
    """The load itself differs: a comparison of such runs measures the change of load too."""
    before: dict[str, object] = {"users": baseline["run"].get("users"),
                                 **baseline["run"].get("settings", {})}
    now: dict[str, object] = {"users": current["run"].get("users"),
                              **current["run"].get("settings", {})}
    return tuple(f"the runs differ in {key}: baseline {before[key]}, current {now[key]}"
                 for key in ("users", *COMPARABLE_SETTINGS)
                 if before.get(key) is not None and now.get(key) is not None
                 and before[key] != now[key])


VERDICT_TEXT: dict[Verdict, str] = {
    "ok": "ok", "regression": "**REGRESSION**", "improved": "improved", "skipped": "skipped",
    "new": "new",
}


def comparison_markdown(comparison: Comparison, baseline: str, current: str) -> str:
    """Regressions first, then every check folded (GitHub renders <details>), then the verdict."""
    header = ["metric", "statistic", "baseline", "current", "change", "threshold", "verdict"]

    def rows(checks: list[Check]) -> list[list[str]]:
        return [[c.metric, c.stat, fmt(c.stat, c.baseline), fmt(c.stat, c.current), change(c),
                 c.threshold or "-", VERDICT_TEXT[c.verdict] + (f" ({c.note})" if c.note else "")]
                for c in checks]

    regressions = comparison.regressions
    lines = [f"### wsharness comparison: {'REGRESSION' if regressions else 'no regression'}", "",
             f"baseline `{cell(baseline)}`, current `{cell(current)}`. A statistic regresses "
             "when it is worse than the baseline by more than the relative threshold AND the "
             "slack, or beyond an absolute limit.", ""]
    if regressions:
        lines += [*markdown_table(header, rows(regressions)), ""]
    lines += [f"<details><summary>All {len(comparison.checks)} checks</summary>", "",
              *markdown_table(header, rows(list(comparison.checks))), "", "</details>", ""]
    lines += [f"Warning: {w}." for w in comparison.warnings]
    lines.append(f"Verdict: {len(regressions)} regression(s) in {len(comparison.checks)} checks."
                 if regressions else f"Verdict: no regression in {len(comparison.checks)} checks.")
    return "\n".join(lines) + "\n"
