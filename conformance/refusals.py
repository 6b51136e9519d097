"""Refused before accept: HTTP 403 on the wire, close code 1008 in-process."""

from __future__ import annotations

from http import HTTPStatus

from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.frames import CloseCode

from conformance.client import describe_status, handshake_status, run
from conformance.mismatch import SpecMismatch
from conformance.targets import WireTarget
from wsharness.timeouts import scaled

CHECK_TIMEOUT_S = scaled(30.0)
REFUSED_ON_THE_WIRE = HTTPStatus.FORBIDDEN
REFUSED_IN_PROCESS = f"closed with code {int(CloseCode.POLICY_VIOLATION)} before accept"


def describe_handshake(url: str, cookie: str | None) -> str:
    return f"{url} with " + (f"cookie session={cookie!r}" if cookie is not None else "no cookie")


def expect_refused_on_the_wire(wire: WireTarget, path: str, cookie: str | None,
                               rule: str) -> None:
    url = wire.url(path)
    status = run(handshake_status(url, cookie), CHECK_TIMEOUT_S)
    if status != REFUSED_ON_THE_WIRE:
        raise SpecMismatch(rule, sent=describe_handshake(url, cookie),
                           expected=f"refused before accept: HTTP {int(REFUSED_ON_THE_WIRE)}",
                           arrived=describe_status(status))


def expect_refused_in_process(client: TestClient, path: str, cookie: str | None,
                              rule: str) -> None:
    outcome = in_process_outcome(client, path, cookie)
    if outcome != REFUSED_IN_PROCESS:
        raise SpecMismatch(rule, sent=f"in-process {describe_handshake(path, cookie)}",
                           expected=REFUSED_IN_PROCESS, arrived=outcome)


def in_process_outcome(client: TestClient, path: str, cookie: str | None) -> str:
    headers = {"cookie": f"session={cookie}"} if cookie is not None else {}
    try:
        with client.websocket_connect(path, headers=headers):
            return "accepted"
    except WebSocketDisconnect as exc:
        return f"closed with code {exc.code} before accept"
    except Exception as exc:  # the app crashed: that is the finding, not a harness error
        return f"the app raised {exc!r}"
