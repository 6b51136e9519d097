"""`Started`: a send begun in the broadcaster's task and finished in the member's."""

from __future__ import annotations

import asyncio

import pytest

from target_app.room import Started


async def wait_then_record(event: asyncio.Event, log: list[str]) -> None:
    try:
        log.append("began")
        await event.wait()
        log.append("finished")
    except asyncio.CancelledError:
        log.append("cancelled")
        raise


def begin(event: asyncio.Event, log: list[str]) -> Started:
    """Step the coroutine outside any task until it waits, as Member.offer does."""
    coroutine = wait_then_record(event, log)
    return Started(coroutine, coroutine.send(None))


def test_a_started_coroutine_finishes_in_the_task_that_awaits_it() -> None:
    async def scenario() -> list[str]:
        event, log = asyncio.Event(), list[str]()
        finishing = asyncio.create_task(_await(begin(event, log)))
        await asyncio.sleep(0)
        assert log == ["began"]
        event.set()
        await finishing
        return log

    assert asyncio.run(scenario()) == ["began", "finished"]


def test_cancelling_the_awaiting_task_cancels_the_started_coroutine() -> None:
    async def scenario() -> list[str]:
        event, log = asyncio.Event(), list[str]()
        finishing = asyncio.create_task(_await(begin(event, log)))
        await asyncio.sleep(0)
        finishing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await finishing
        return log

    assert asyncio.run(scenario()) == ["began", "cancelled"]


def test_closing_a_started_coroutine_that_nobody_awaits() -> None:
    async def scenario() -> list[str]:
        event, log = asyncio.Event(), list[str]()
        begin(event, log).close()
        return log

    assert asyncio.run(scenario()) == ["began"]


async def _await(started: Started) -> None:
    await started
