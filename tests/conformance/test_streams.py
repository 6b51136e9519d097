"""Matching what a chat receiver got against per-sender streams (pure, no network)."""

import re
from collections.abc import Hashable

import pytest

from conformance.client import Received
from conformance.mismatch import SpecMismatch
from conformance.spec import Expected, chat_rule_of, left, personal_reply, says
from conformance.streams import check_interleaving

SENDER_A = [personal_reply("x"), says(1, "x"), personal_reply("y"), says(1, "y")]
SENDER_B = [says(2, "z")]


def check(streams: dict[Hashable, list[Expected]], arrived: list[str]) -> None:
    check_interleaving("receiver", "test", streams, Received(list(arrived), "nothing more"),
                       chat_rule_of)


def texts(expected: list[Expected]) -> list[str]:
    return [e.text for e in expected]


def test_any_interleaving_that_keeps_each_senders_order_fits() -> None:
    a, b = texts(SENDER_A), texts(SENDER_B)
    for arrived in ([*a, *b], [*b, *a], [a[0], b[0], *a[1:]], [*a[:3], b[0], a[3]]):
        check({"a": SENDER_A, "b": SENDER_B}, arrived)


def test_repeated_texts_from_two_connections_with_one_id_fit_either_way() -> None:
    first = [says(7, "same"), says(7, "after first")]
    second = [says(7, "same"), says(7, "after second")]
    arrived = ["Client #7 says: same", "Client #7 says: after second",
               "Client #7 says: same", "Client #7 says: after first"]
    check({"first": first, "second": second}, arrived)


@pytest.mark.parametrize(("arrived", "rule"), [
    (["Client #1 says: x", "You wrote: x", "You wrote: y", "Client #1 says: y"],
     "chat.personal-reply"),
    (["You wrote: y", "Client #1 says: y", "You wrote: x", "Client #1 says: x"], "chat.order"),
    (["You wrote: x", "Client #1 says: x", "You wrote: y"], "chat.broadcast"),
    (["You wrote: x", "Client #1 says: x", "Client #1 says: x", "You wrote: y",
      "Client #1 says: y"], "chat.broadcast"),
    (["You wrote: x", "Client #1 says: x", "Client #9 left the chat", "You wrote: y",
      "Client #1 says: y"], "chat.left"),
])
def test_the_first_misfit_names_the_rule_it_breaks(arrived: list[str], rule: str) -> None:
    with pytest.raises(SpecMismatch, match=rf"^rule: {re.escape(rule)} "):
        check({"a": SENDER_A}, arrived)


def test_left_before_that_clients_last_message_breaks_the_left_rule() -> None:
    stream = [says(3, "last"), left(3)]
    with pytest.raises(SpecMismatch, match=r"^rule: chat\.left "):
        check({"c": stream}, ["Client #3 left the chat", "Client #3 says: last"])


def test_a_message_that_never_comes_is_missing_not_out_of_order() -> None:
    with pytest.raises(SpecMismatch, match=r"^rule: chat\.broadcast "):
        check({"a": SENDER_A}, ["You wrote: x", "You wrote: y"])
