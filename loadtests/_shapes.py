"""Load shapes chosen by --shape: ramp, step, spike, soak over the run time, peak at --users.

They live in a private module on purpose: Locust would use the first shape class it finds
in a locustfile for every run, with or without --shape.
"""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape

DEFAULT_DURATION_S = 60.0
STEPS = 4


class StagedShape(LoadTestShape):
    """Users over time as stages (until_fraction_of_duration, users_fraction, spawn_rate)."""

    use_common_options = True
    stages: tuple[tuple[float, float], ...] = ()

    def __init__(self, users: int, spawn_rate: float, duration_s: float) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.users = max(1, users)
        self.spawn_rate = spawn_rate if spawn_rate > 0 else float(self.users)
        self.duration_s = duration_s

    def tick(self) -> tuple[int, float] | None:
        elapsed: float = self.get_run_time()  # type: ignore[no-untyped-call]
        if elapsed >= self.duration_s:
            return None
        return self.at(elapsed / self.duration_s)

    def at(self, fraction: float) -> tuple[int, float]:
        for until, share in self.stages:
            if fraction < until:
                return max(1, round(self.users * share)), self.spawn_rate
        return self.users, self.spawn_rate


class RampShape(StagedShape):
    """From one user up to --users, linearly over the whole run."""

    def at(self, fraction: float) -> tuple[int, float]:
        users = max(1, round(self.users * min(1.0, fraction + 1 / self.duration_s)))
        return users, max(self.spawn_rate, self.users / self.duration_s)


class StepShape(StagedShape):
    """A quarter of --users more in each quarter of the run."""

    stages = tuple(((step + 1) / STEPS, (step + 1) / STEPS) for step in range(STEPS))


class SpikeShape(StagedShape):
    """A fifth of --users, all of them for the middle fifth of the run, then a fifth again."""

    stages = ((0.4, 0.2), (0.6, 1.0), (1.0, 0.2))


class SoakShape(StagedShape):
    """--users for the whole run: a long steady load."""

    stages = ((1.0, 1.0),)


SHAPE_CLASSES: dict[str, type[StagedShape]] = {
    "ramp": RampShape, "step": StepShape, "spike": SpikeShape, "soak": SoakShape}


def make_shape(name: str, options: Any) -> StagedShape:
    users = int(getattr(options, "num_users", None) or 1)
    spawn_rate = float(getattr(options, "spawn_rate", None) or 0)
    duration = float(getattr(options, "run_time", None) or DEFAULT_DURATION_S)
    return SHAPE_CLASSES[name](users, spawn_rate, duration)
