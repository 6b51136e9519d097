"""The freezer of long-lived objects: it freezes once the connections have grown enough,
and the end of the run unfreezes everything."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from loadtests._gc import FREEZE_FROM, GROWTH, Freezer


@pytest.fixture
def freezer() -> Iterator[Freezer]:
    freezer = Freezer()
    try:
        yield freezer
    finally:
        freezer.release()
        gc.unfreeze()


def test_objects_are_frozen_as_the_connections_grow_by_a_quarter(freezer: Freezer) -> None:
    freezer.grown(FREEZE_FROM - 1)
    assert gc.get_freeze_count() == 0
    freezer.grown(FREEZE_FROM)
    first = gc.get_freeze_count()
    assert first > 0
    assert freezer.frozen_at == FREEZE_FROM
    freezer.grown(int(FREEZE_FROM * GROWTH) - 1)
    assert freezer.frozen_at == FREEZE_FROM  # not grown enough: left as it is
    survivors = [[n] for n in range(1000)]  # containers: objects the collector tracks
    freezer.grown(int(FREEZE_FROM * GROWTH) + 1)
    assert gc.get_freeze_count() >= first + len(survivors)


def test_the_end_of_the_run_unfreezes_everything(freezer: Freezer) -> None:
    freezer.grown(FREEZE_FROM)
    freezer.release()
    assert gc.get_freeze_count() == 0
    assert freezer.frozen_at == 0
