"""The load shapes of --shape: users between one and the peak at every moment of the run, in
the order each shape promises, and the run ends when its time is up."""

from __future__ import annotations

import argparse
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loadtests._shapes import (
    DEFAULT_DURATION_S,
    SHAPE_CLASSES,
    STEPS,
    SpikeShape,
    StagedShape,
    make_shape,
)

ENDING_RUN_S = 0.05
WAIT_S = 30.0

peaks = st.integers(1, 10_000)
spawn_rates = st.one_of(st.just(0.0), st.floats(0.01, 1000))
durations = st.floats(1, 86_400)
fractions = st.floats(0, 1, exclude_max=True)


@settings(deadline=None)
@given(name=st.sampled_from(sorted(SHAPE_CLASSES)), peak=peaks, spawn_rate=spawn_rates,
       duration=durations, at=st.lists(fractions, min_size=2, max_size=20))
def test_users_stay_between_one_and_the_peak_and_never_fall_while_rising(
        name: str, peak: int, spawn_rate: float, duration: float, at: list[float]) -> None:
    shape = SHAPE_CLASSES[name](peak, spawn_rate, duration)
    points = [(fraction, *shape.at(fraction)) for fraction in sorted(at)]
    for _, users, rate in points:
        assert 1 <= users <= peak
        assert rate > 0
    users_over_time = [users for _, users, _ in points]
    if name in ("ramp", "step"):
        assert users_over_time == sorted(users_over_time)
    elif name == "soak":
        assert set(users_over_time) == {peak}
    else:  # spike: the peak in the middle fifth only
        for fraction, users, _ in points:
            middle = SpikeShape.stages[0][0] <= fraction < SpikeShape.stages[1][0]
            assert (users == peak) if middle else (users == max(1, round(peak * 0.2)))


@settings(deadline=None)
@given(peak=peaks, duration=durations)
def test_ramp_and_step_reach_the_peak_at_the_end(peak: int, duration: float) -> None:
    for name in ("ramp", "step"):
        shape = SHAPE_CLASSES[name](peak, 0, duration)
        assert shape.at(max(1 - 1 / duration, 1 - 1 / STEPS))[0] == peak
    quarters = [SHAPE_CLASSES["step"](peak, 0, duration).at(q / STEPS)[0] for q in range(STEPS)]
    assert quarters == [max(1, round(peak * (q + 1) / STEPS)) for q in range(STEPS)]


@pytest.mark.parametrize("name", sorted(SHAPE_CLASSES))
def test_every_shape_ends_the_run_when_its_time_is_up(name: str) -> None:
    shape: StagedShape = SHAPE_CLASSES[name](5, 0, ENDING_RUN_S)
    deadline = time.monotonic() + WAIT_S
    while (tick := shape.tick()) is not None:
        users, rate = tick
        assert 1 <= users <= 5
        assert rate > 0
        assert time.monotonic() < deadline, "the shape never ended"
    assert shape.tick() is None


def test_make_shape_reads_users_spawn_rate_and_run_time_with_defaults() -> None:
    shape = make_shape("step", argparse.Namespace(num_users=8, spawn_rate=2.0, run_time=40))
    assert (type(shape).__name__, shape.users, shape.spawn_rate, shape.duration_s) == (
        "StepShape", 8, 2.0, 40.0)
    unset = make_shape("soak", argparse.Namespace(num_users=None, spawn_rate=None,
                                                  run_time=None))
    assert (unset.users, unset.spawn_rate, unset.duration_s) == (1, 1.0, DEFAULT_DURATION_S)
