"""Churn: thousands of connects and disconnects in the chat room, then the room still works.

A room of 50 members, all reading. In each of 200 waves its 25 oldest members leave at once,
half with a close frame and half by dropping TCP, and 25 new members join: 5,051 connections
in all (about 8 s of a 2-core machine against the reference app). After each wave every
member that stayed must have each departure announced (the oldest leave, so that the members
still to be told come after them in a room's join order), and none twice; at the end a new
member's message must reach everyone.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
from collections.abc import Callable, Sequence

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from conformance.client import REPLY_TIMEOUT_S, drop, run
from conformance.crowd import empty_room, open_many
from conformance.mismatch import SpecMismatch, show_list
from conformance.spec import personal_reply, says
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.hardening

ROOM = 50
WAVES = 200
LEAVING_PER_WAVE = 25
FIRST_ID = 870_000
MESSAGE = "after the churn"
WAVE_TIMEOUT_S = scaled(10.0)
CHECK_TIMEOUT_S = scaled(150.0)
SHOWN_MEMBERS = 5
LEFT = re.compile(r"Client #(-?\d+) left the chat")


class Member:
    """A chat member that reads all the time: the departures announced to it, other texts."""

    def __init__(self, ident: int, connection: ClientConnection) -> None:
        self.ident = ident
        self.connection = connection
        self.lefts: collections.Counter[int] = collections.Counter()
        self.texts: list[str] = []
        self.ending = ""
        self.changed = asyncio.Event()
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        try:
            async for message in self.connection:
                if isinstance(message, str) and (match := LEFT.fullmatch(message)):
                    self.lefts[int(match.group(1))] += 1
                else:
                    self.texts.append(str(message))
                self.changed.set()
            self.ending = "the connection closed"
        except ConnectionClosed as exc:
            self.ending = f"the connection closed ({exc})"
        finally:
            self.changed.set()

    async def wait_until(self, done: Callable[[], bool], deadline: float) -> bool:
        """Whether done() holds before deadline (loop time), checked at each message, with at
        most REPLY_TIMEOUT_S between two messages."""
        loop = asyncio.get_running_loop()
        while not done():
            if self.reader.done() or loop.time() >= deadline:
                return done()
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(),
                                       min(REPLY_TIMEOUT_S, deadline - loop.time()))
            except TimeoutError:
                return done()
        return True

    async def stop_reading(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class Churn:
    """The room as it churns: who is in it, who has left, and the ids given so far."""

    def __init__(self, target: WireTarget) -> None:
        self.target = target
        self.members: list[Member] = []
        self.gone: list[Member] = []
        self.next_id = FIRST_ID

    async def join(self, count: int) -> list[Member]:
        ids = range(self.next_id, self.next_id + count)
        self.next_id += count
        connections = await open_many([self.target.url(f"/ws/{i}") for i in ids])
        joined = [Member(i, c) for i, c in zip(ids, connections, strict=True)]
        self.members.extend(joined)
        return joined

    async def wave(self, number: int) -> None:
        leaving, staying = self.members[:LEAVING_PER_WAVE], self.members[LEAVING_PER_WAVE:]
        clean, abrupt = leaving[::2], leaving[1::2]
        for member in abrupt:
            drop(member.connection)
        await asyncio.gather(*(m.connection.close() for m in clean))
        await asyncio.gather(*(m.stop_reading() for m in leaving))
        self.members = staying
        self.gone.extend(leaving)
        ids = [m.ident for m in leaving]
        deadline = asyncio.get_running_loop().time() + WAVE_TIMEOUT_S
        told = await asyncio.gather(*(m.wait_until(told_of(m, ids), deadline) for m in staying))
        if not all(told):
            raise SpecMismatch(
                "hardening.churn-departures",
                sent=f"wave {number} of {WAVES}: members {describe_ids(ids)} left at once "
                f"({len(clean)} with a close frame, {len(abrupt)} dropping TCP), "
                f"{len(staying)} stayed, all reading",
                expected="every member that stayed gets each departure's `left the chat`",
                arrived=describe_missing(staying, told, ids))
        await self.join(LEAVING_PER_WAVE)


def told_of(member: Member, ids: Sequence[int]) -> Callable[[], bool]:
    return lambda: all(member.lefts[i] for i in ids)


def heard_by(member: Member, text: str) -> Callable[[], bool]:
    return lambda: text in member.texts


def describe_ids(ids: Sequence[int]) -> str:
    return f"#{ids[0]}..#{ids[-1]}" if len(ids) > 1 else f"#{ids[0]}"


def describe_missing(staying: Sequence[Member], told: Sequence[bool], ids: Sequence[int]) -> str:
    untold = [m for m, ok in zip(staying, told, strict=True) if not ok]
    shown = "; ".join(f"member #{m.ident} got {sum(1 for i in ids if m.lefts[i])} of "
                      f"{len(ids)}, missing {show_list([i for i in ids if not m.lefts[i]])}"
                      + (f", then {m.ending}" if m.ending else "")
                      for m in untold[:SHOWN_MEMBERS])
    more = f"; and {len(untold) - SHOWN_MEMBERS} more" if len(untold) > SHOWN_MEMBERS else ""
    return (f"{len(untold)} of {len(staying)} members were not told within "
            f"{WAVE_TIMEOUT_S:g}s (or {REPLY_TIMEOUT_S:g}s without a message): {shown}{more}")


def duplicates(members: Sequence[Member]) -> list[str]:
    return [f"member #{m.ident} got `Client #{i} left the chat` {n} times"
            for m in members for i, n in m.lefts.items() if n > 1 and i >= FIRST_ID]


async def churn_then_talk(target: WireTarget) -> None:
    churn = Churn(target)
    try:
        await churn.join(ROOM)
        for number in range(1, WAVES + 1):
            await churn.wave(number)
        speaker, *_ = await churn.join(1)
        await speaker.connection.send(MESSAGE)
        heard = says(speaker.ident, MESSAGE).text
        deadline = asyncio.get_running_loop().time() + WAVE_TIMEOUT_S
        listened = await asyncio.gather(*(m.wait_until(heard_by(m, heard), deadline)
                                          for m in churn.members))
        deaf = [m for m, ok in zip(churn.members, listened, strict=True) if not ok]
        if deaf or speaker.texts[:2] != [personal_reply(MESSAGE).text, heard]:
            raise SpecMismatch(
                "hardening.churn-recovery",
                sent=f"after {WAVES} waves ({churn.next_id - FIRST_ID - 1} connections), new "
                f"member #{speaker.ident} sent {MESSAGE!r}",
                expected=f"#{speaker.ident} gets [{personal_reply(MESSAGE).text!r}, {heard!r}], "
                f"every other member of {len(churn.members)} gets {heard!r}",
                arrived=f"#{speaker.ident} got {show_list(speaker.texts)}; "
                f"{len(deaf)} member(s) did not get it"
                + (f", e.g. #{deaf[0].ident}: {show_list(deaf[0].texts)}, then {deaf[0].ending}"
                   if deaf else ""))
        doubled = duplicates([*churn.gone, *churn.members])
        if doubled:
            raise SpecMismatch(
                "hardening.churn-departures",
                sent=f"{WAVES} waves of {LEAVING_PER_WAVE} departures at once",
                expected="each departure announced to each member exactly once",
                arrived=f"{len(doubled)} repeat(s): {'; '.join(doubled[:SHOWN_MEMBERS])}")
    finally:
        await asyncio.gather(*(m.stop_reading() for m in churn.members))
        await empty_room([m.connection for m in churn.members])


def test_churn_announces_every_departure_once_then_the_chat_works_wire(
        wire: WireTarget) -> None:
    run(churn_then_talk(wire), CHECK_TIMEOUT_S)
