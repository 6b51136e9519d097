"""WS /ws/{client_id}: the chat room, checked against a model of who is in it.

The state machine joins clients (int ids, duplicates allowed), sends from one client or from
several at once, and makes clients leave by a clean close or by dropping the TCP connection.
After each step every client in the room must have received exactly what the model predicts:
the personal reply, every broadcast (the sender included), each sender's messages in order,
`left the chat` exactly once per departure, and nothing else.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    precondition,
    rule,
    run_state_machine_as_test,
)
from starlette.testclient import TestClient
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from conformance import strategies
from conformance.client import (
    CLOSE_TIMEOUT_S,
    describe_status,
    drop,
    open_connection,
    receive,
    receive_quiet,
)
from conformance.mismatch import SpecMismatch, show_list
from conformance.refusals import (
    expect_refused_in_process,
    expect_refused_on_the_wire,
)
from conformance.spec import Expected, chat_rule_of, left, personal_reply, says
from conformance.streams import check_interleaving
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.contract

MAX_MEMBERS = 6
OBSERVER_ID = 424242
SETTLE_S = scaled(0.5)
STEP_TIMEOUT_S = scaled(30.0)
chat_texts = strategies.short_texts(max_size=20)


@dataclass(eq=False)
class Member:
    """One client connection in the room."""

    label: str
    client_id: int
    websocket: ClientConnection

    def __repr__(self) -> str:
        return f"{self.label} (#{self.client_id})"


Expectations = dict[Member, dict[Hashable, list[Expected]]]


class Lobby:
    """What outlives one run of the state machine: its event loop and the observer.

    The observer is a member that stays in the room for the whole test, so that every departure
    is seen by someone: a step only ends when the server has announced it, and no late
    `left the chat` can reach the clients of the next run.
    """

    def __init__(self, wire: WireTarget) -> None:
        self.wire = wire
        self.loop = asyncio.new_event_loop()
        self.observer: Member | None = None

    def __enter__(self) -> Lobby:
        websocket = self.loop.run_until_complete(
            open_connection(self.wire.url(f"/ws/{OBSERVER_ID}")))
        self.observer = Member("observer", OBSERVER_ID, websocket)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.observer is not None:
            self.loop.run_until_complete(self.observer.websocket.close())
            self.loop.run_until_complete(asyncio.sleep(SETTLE_S))
        self.loop.close()


class ChatRoom(RuleBasedStateMachine):
    members = Bundle("members")

    def __init__(self, lobby: Lobby) -> None:
        super().__init__()
        assert lobby.observer is not None
        self.wire = lobby.wire
        self.loop = lobby.loop
        self.observer = lobby.observer
        self.present: list[Member] = [lobby.observer]
        self.labels = itertools.count(1)
        self.failed = False

    def run(self, coro: Awaitable[None]) -> None:
        try:
            self.loop.run_until_complete(asyncio.wait_for(coro, STEP_TIMEOUT_S))
        except BaseException:
            self.failed = True
            raise

    def connect(self, client_id: int) -> Member:
        url = self.wire.url(f"/ws/{client_id}")
        joined: list[Member] = []

        async def join() -> None:
            try:
                websocket = await open_connection(url)
            except InvalidStatus as exc:
                raise SpecMismatch("chat.join", sent=f"handshake {url}",
                                   expected="accepted (HTTP 101)",
                                   arrived=describe_status(exc.response.status_code)) from None
            joined.append(Member(f"c{next(self.labels)}", client_id, websocket))

        self.run(join())
        self.present.append(joined[0])
        return joined[0]

    def step(self, what: str, action: Callable[[], Awaitable[None]],
             expectations: Expectations) -> None:
        """Do action, then check that every member received what the model predicts."""
        room = f"{what}, the room holding {show_list(self.present)}"

        async def act_and_check() -> None:
            await action()
            members = list(expectations)
            received = await asyncio.gather(*(
                receive(m.websocket, sum(len(s) for s in expectations[m].values()))
                for m in members))
            for member, got in zip(members, received, strict=True):
                check_interleaving(repr(member), room, expectations[member], got, chat_rule_of)

        self.run(act_and_check())

    @precondition(lambda self: len(self.present) < MAX_MEMBERS)
    @rule(target=members, client_id=strategies.ints())
    def join(self, client_id: int) -> Member:
        return self.connect(client_id)

    @precondition(lambda self: len(self.present) < MAX_MEMBERS)
    @rule(target=members, same_as=members)
    def join_with_a_taken_id(self, same_as: Member) -> Member:
        return self.connect(same_as.client_id)

    @rule(sender=members, text=chat_texts)
    def send(self, sender: Member, text: str) -> None:
        self.send_concurrently([(sender, text)])

    @rule(sends=st.lists(st.tuples(members, chat_texts), min_size=2, max_size=6))
    def send_concurrently(self, sends: list[tuple[Member, str]]) -> None:
        """Each sender sends its texts in order; the senders all at once."""
        by_sender: dict[Member, list[str]] = {}
        for sender, text in sends:
            by_sender.setdefault(sender, []).append(text)
        expectations: Expectations = {m: {} for m in self.present}
        for sender, texts in by_sender.items():
            for member in self.present:
                stream = expectations[member].setdefault(repr(sender), [])
                for text in texts:
                    if member is sender:
                        stream.append(personal_reply(text))
                    stream.append(says(sender.client_id, text))

        async def send_all() -> None:
            async def send_from(sender: Member, texts: list[str]) -> None:
                for text in texts:
                    await sender.websocket.send(text)
            await asyncio.gather(*(send_from(s, t) for s, t in by_sender.items()))

        said = "; ".join(f"{s!r} sent {show_list(t)}" for s, t in by_sender.items())
        self.step(said, send_all, expectations)

    @rule(leaver=consumes(members))
    def leave_by_closing(self, leaver: Member) -> None:
        self.leave(leaver, "closed cleanly", leaver.websocket.close)

    @rule(leaver=consumes(members))
    def leave_by_dropping_tcp(self, leaver: Member) -> None:
        async def abort() -> None:
            drop(leaver.websocket)
        self.leave(leaver, "dropped its TCP connection (no close frame)", abort)

    def leave(self, leaver: Member, how: str, action: Callable[[], Awaitable[None]]) -> None:
        self.present.remove(leaver)
        expectations: Expectations = {
            m: {repr(leaver): [left(leaver.client_id)]} for m in self.present}
        self.step(f"{leaver!r} {how}", action, expectations)

    def teardown(self) -> None:
        try:
            if not self.failed:
                self.run(self.expect_no_strays())
                while len(self.present) > 1:
                    leaver = self.present[-1]
                    self.leave(leaver, "closed cleanly (end of the run)", leaver.websocket.close)
        finally:
            if self.failed:
                self.loop.run_until_complete(self.close_after_failure())

    async def close_after_failure(self) -> None:
        """Close everyone but the observer, then let the observer swallow the aftermath."""
        await asyncio.gather(*(asyncio.wait_for(m.websocket.close(), CLOSE_TIMEOUT_S)
                               for m in self.present[1:]), return_exceptions=True)
        await receive_quiet(self.observer.websocket, SETTLE_S)

    async def expect_no_strays(self) -> None:
        strays = await asyncio.gather(*(receive_quiet(m.websocket) for m in self.present))
        for member, got in zip(self.present, strays, strict=True):
            if got.messages:
                first = got.messages[0]
                raise SpecMismatch(
                    chat_rule_of(first if isinstance(first, str) else ""),
                    sent=f"nothing more, the room holding {show_list(self.present)}",
                    expected=f"{member!r} gets nothing more",
                    arrived=f"{member!r} got {show_list(got.messages)} then {got.ending}")


def test_chat_room_model_wire(wire: WireTarget) -> None:
    with Lobby(wire) as lobby:
        class ChatRoomInLobby(ChatRoom):
            def __init__(self) -> None:
                super().__init__(lobby)

        run_state_machine_as_test(ChatRoomInLobby)


@given(client_id=strategies.non_int_texts())
@example(client_id="abc")
@example(client_id="1.5")
def test_non_int_client_id_refused_wire(wire: WireTarget, client_id: str) -> None:
    expect_refused_on_the_wire(wire, f"/ws/{strategies.url_encoded(client_id)}", None,
                               "chat.refuse-non-int-id")


@given(client_id=strategies.non_int_texts())
@example(client_id="abc")
def test_non_int_client_id_refused_in_process(in_process: TestClient, client_id: str) -> None:
    expect_refused_in_process(in_process, f"/ws/{strategies.url_encoded(client_id)}", None,
                              "chat.refuse-non-int-id")
