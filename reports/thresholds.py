"""Regression thresholds: the defaults, and a JSON or TOML file that overrides them.

A statistic regresses against the baseline when it got worse by more than `percent` % of the
baseline AND by more than `slack` (ms for latencies, a fraction for the error share, messages
per second for throughput): the percentage ignores noise on slow metrics, the slack ignores
noise on fast ones. Absolute limits judge the current run alone: a ceiling for latencies (ms)
and the error share (fraction), a floor for throughput (per second).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from reports.textfile import read_text

Stat = Literal["p50", "p90", "p99", "mean", "error_share", "throughput"]
STATS: tuple[Stat, ...] = ("p50", "p90", "p99", "mean", "error_share", "throughput")
LATENCY_STATS: tuple[Stat, ...] = ("p50", "p90", "p99", "mean")
PERCENTILE_OF: dict[Stat, str] = {"p50": "50", "p90": "90", "p99": "99"}
HIGHER_IS_BETTER: frozenset[Stat] = frozenset({"throughput"})


class ThresholdsError(Exception):
    """A thresholds file that is missing or malformed (one-line message)."""


@dataclass(frozen=True)
class Relative:
    percent: float
    slack: float


@dataclass(frozen=True)
class Rules:
    relative: dict[Stat, Relative] = field(default_factory=dict)
    absolute: dict[Stat, float] = field(default_factory=dict)
    min_tail_samples: int = 10  # pXX is judged only with this many samples above it, both runs


@dataclass(frozen=True)
class Thresholds:
    default: Rules
    metrics: dict[str, Rules] = field(default_factory=dict)

    def for_metric(self, name: str, kind: str) -> Rules:
        """Rules for one metric: by its name, else its kind (rtt, connect, fanout), else default."""
        return self.metrics.get(name) or self.metrics.get(kind) or self.default


# The built-in thresholds, in the thresholds-file format; reports/thresholds.toml states them
# and the README says how they were measured.
DEFAULT_DATA: dict[str, Any] = {
    "min_tail_samples": 10,
    "relative": {
        "p50": {"percent": 50, "slack": 3.0},
        "p90": {"percent": 100, "slack": 20.0},
        "p99": {"percent": 200, "slack": 150.0},
        "mean": {"percent": 100, "slack": 10.0},
        "error_share": {"percent": 0, "slack": 0.005},
        "throughput": {"percent": 30, "slack": 0},
    },
    "absolute": {"error_share": 0.01},
    "metrics": {
        "connect": {"relative": {
            "p50": {"percent": 100, "slack": 10.0},
            "p90": {"percent": 100, "slack": 60.0},
            "mean": {"percent": 100, "slack": 25.0},
        }},
    },
}


def load_thresholds(path: Path | None) -> Thresholds:
    """The defaults, overridden by a `.toml` or `.json` file when one is given."""
    if path is None:
        return DEFAULTS
    text = read_text(path, "thresholds file", ThresholdsError)
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ThresholdsError(f"{path}: malformed {path.suffix.lstrip('.') or 'JSON'}: "
                              f"{exc}") from None
    if not isinstance(data, dict):
        raise ThresholdsError(f"{path}: not a table of thresholds")
    try:
        return thresholds_from(data)
    except ThresholdsError as exc:
        raise ThresholdsError(f"{path}: {exc}") from None


def thresholds_from(overrides: dict[str, Any]) -> Thresholds:
    """Thresholds from a file's tables laid over the defaults (a key left out keeps its default)."""
    data = _overlay(DEFAULT_DATA, overrides)
    metrics = _as_table(data.pop("metrics", {}), "metrics")
    return Thresholds(
        _rules(data, ""),
        {name: _rules(_overlay(data, _as_table(table, f"metrics.{name}")), f"metrics.{name}.")
         for name, table in metrics.items()})


def _overlay(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        below = merged.get(key)
        merged[key] = (_overlay(below, value) if isinstance(below, dict)
                       and isinstance(value, dict) else value)
    return merged


def _rules(data: dict[str, Any], where: str) -> Rules:
    unknown = set(data) - {"relative", "absolute", "min_tail_samples"}
    if unknown:
        raise ThresholdsError(f"{where}unknown key {sorted(unknown)[0]!r}")
    relative: dict[Stat, Relative] = {}
    absolute: dict[Stat, float] = {}
    for stat, value in _table(data, "relative", where).items():
        _set(relative, _stat(stat, where), _relative(value, f"{where}relative.{stat}"))
    for stat, value in _table(data, "absolute", where).items():
        _set(absolute, _stat(stat, where), _number(value, f"{where}absolute.{stat}"))
    tail = data.get("min_tail_samples")
    if not isinstance(tail, int) or isinstance(tail, bool) or tail < 1:
        raise ThresholdsError(f"{where}min_tail_samples must be a positive integer")
    return Rules(relative, absolute, tail)


def _set(rules: dict[Stat, Any], stat: Stat, value: object) -> None:
    if value is None:
        rules.pop(stat, None)
    else:
        rules[stat] = value


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    return _as_table(data.get(key, {}), f"{where}{key}")


def _as_table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ThresholdsError(f"{where} must be a table")
    return cast(dict[str, Any], value)


def _stat(name: str, where: str) -> Stat:
    if name not in STATS:
        raise ThresholdsError(f"{where}unknown statistic {name!r} (known: {', '.join(STATS)})")
    return name


def _relative(value: object, where: str) -> Relative | None:
    if value is False:
        return None
    table = _as_table(value, where)
    unknown = set(table) - {"percent", "slack"}
    if unknown:
        raise ThresholdsError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    return Relative(_number(table.get("percent", 0.0), f"{where}.percent") or 0.0,
                    _number(table.get("slack", 0.0), f"{where}.slack") or 0.0)


def _number(value: object, where: str) -> float | None:
    if value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ThresholdsError(f"{where} must be a non-negative number (or false to disable)")
    return float(value)


DEFAULTS = thresholds_from({})
