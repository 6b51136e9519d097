"""WS /items/{item_id}/ws: credentials (cookie `session`, query `token`), `q`, the replies."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.testclient import TestClient
from websockets.exceptions import InvalidStatus

from conformance import strategies
from conformance.client import describe_status, exchange, run, sentinel
from conformance.mismatch import SpecMismatch, expect_messages, show_list
from conformance.refusals import (
    describe_handshake,
    expect_refused_in_process,
    expect_refused_on_the_wire,
)
from conformance.spec import Expected, items_replies
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

pytestmark = pytest.mark.contract

CHECK_TIMEOUT_S = scaled(30.0)
messages = st.lists(strategies.short_texts(), min_size=1, max_size=3)
item_ids = strategies.path_safe_texts()
optional_q = st.one_of(st.none(), strategies.ints())


def items_path(item_id: str, token: str | None = None, q: object = None) -> str:
    query = [(name, str(value)) for name, value in (("token", token), ("q", q))
             if value is not None]
    encoded = urlencode(query, quote_via=quote)
    return f"/items/{strategies.url_encoded(item_id)}/ws" + (f"?{encoded}" if encoded else "")


def check_replies(wire: WireTarget, *, item_id: str, cookie: str | None, token: str | None,
                  q: int | None, sent_messages: list[str], value_rule: str) -> None:
    """Connect with these credentials and check every reply, in order, and no others."""
    url = wire.url(items_path(item_id, token, q))
    value = cookie or token or ""
    sent = [*sent_messages, sentinel()]
    expected: list[Expected] = [
        reply for m in sent for reply in items_replies(value, q, m, item_id, value_rule)]
    try:
        received = run(exchange(url, sent, len(expected), cookie), CHECK_TIMEOUT_S)
    except InvalidStatus as exc:
        raise SpecMismatch(value_rule, sent=describe_handshake(url, cookie),
                           expected="accepted (HTTP 101)",
                           arrived=describe_status(exc.response.status_code)) from None
    expect_messages(f"{describe_handshake(url, cookie)}, then {show_list(sent)}", expected,
                    received.messages, received.ending, extra_rule="items.replies")


@given(item_id=item_ids, token=strategies.tokens().filter(bool), sent=messages)
@example(item_id="foo", token="some-token", sent=["hello"])
@example(item_id="a b?c#d%e;f", token="t&q=1 +", sent=[""])
def test_token_only_wire(wire: WireTarget, item_id: str, token: str, sent: list[str]) -> None:
    check_replies(wire, item_id=item_id, cookie=None, token=token, q=None, sent_messages=sent,
                  value_rule="items.token")


@given(item_id=item_ids, cookie=strategies.cookie_values(), sent=messages)
@example(item_id="foo", cookie="abc", sent=["hello"])
def test_cookie_only_wire(wire: WireTarget, item_id: str, cookie: str, sent: list[str]) -> None:
    check_replies(wire, item_id=item_id, cookie=cookie, token=None, q=None, sent_messages=sent,
                  value_rule="items.cookie")


@given(item_id=item_ids, cookie=strategies.cookie_values(), token=strategies.tokens(),
       sent=messages)
@example(item_id="foo", cookie="from-cookie", token="from-token", sent=["hello"])
@example(item_id="foo", cookie="from-cookie", token="", sent=["hello"])
def test_cookie_wins_over_token_wire(wire: WireTarget, item_id: str, cookie: str, token: str,
                                     sent: list[str]) -> None:
    check_replies(wire, item_id=item_id, cookie=cookie, token=token, q=None, sent_messages=sent,
                  value_rule="items.cookie-wins")


@given(item_id=item_ids, sent=messages)
@example(item_id="foo", sent=["hello"])
def test_empty_token_counts_as_present_wire(wire: WireTarget, item_id: str,
                                            sent: list[str]) -> None:
    check_replies(wire, item_id=item_id, cookie=None, token="", q=None, sent_messages=sent,
                  value_rule="items.empty-token")


@given(item_id=item_ids, q=strategies.ints(), token=strategies.tokens().filter(bool),
       sent=messages)
@example(item_id="foo", q=0, token="t", sent=["hello"])
@example(item_id="foo", q=-(2**70), token="t", sent=["hello"])
def test_int_q_is_shown_wire(wire: WireTarget, item_id: str, q: int, token: str,
                             sent: list[str]) -> None:
    check_replies(wire, item_id=item_id, cookie=None, token=token, q=q, sent_messages=sent,
                  value_rule="items.token")


@given(item_id=item_ids, q=optional_q)
@example(item_id="foo", q=None)
@example(item_id="foo", q=5)
def test_refused_without_credentials_wire(wire: WireTarget, item_id: str,
                                          q: int | None) -> None:
    expect_refused_on_the_wire(wire, items_path(item_id, None, q), None,
                               "items.refuse-without-credentials")


@given(item_id=item_ids, q=optional_q)
@example(item_id="foo", q=None)
def test_refused_without_credentials_in_process(in_process: TestClient, item_id: str,
                                                q: int | None) -> None:
    expect_refused_in_process(in_process, items_path(item_id, None, q), None,
                              "items.refuse-without-credentials")


credentials = st.sampled_from(["token", "cookie", "both"])


def credentials_for(which: str) -> tuple[str | None, str | None]:
    """(cookie, token) for a handshake that carries valid credentials."""
    return ("c" if which != "token" else None), ("t" if which != "cookie" else None)


@given(item_id=item_ids, q=strategies.non_int_texts(), which=credentials)
@example(item_id="foo", q="bar", which="token")
def test_non_int_q_refused_wire(wire: WireTarget, item_id: str, q: str, which: str) -> None:
    cookie, token = credentials_for(which)
    expect_refused_on_the_wire(wire, items_path(item_id, token, q), cookie,
                               "items.refuse-non-int-q")


@given(item_id=item_ids, q=strategies.non_int_texts(), which=credentials)
@example(item_id="foo", q="bar", which="token")
def test_non_int_q_refused_in_process(in_process: TestClient, item_id: str, q: str,
                                      which: str) -> None:
    cookie, token = credentials_for(which)
    expect_refused_in_process(in_process, items_path(item_id, token, q), cookie,
                              "items.refuse-non-int-q")
