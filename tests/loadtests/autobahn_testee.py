"""The harness's own client (loadtests._wsclient.Connection, its framing loadtests._framing) as
the testee of an Autobahn fuzzing server, kosoku in fuzzing-server mode:

    kosoku --mode fuzzingserver 127.0.0.1:9001 -i '1.*' ... &
    python -m tests.loadtests.autobahn_testee ws://127.0.0.1:9001

For every case the server offers it connects to /runCase?case=N&agent=wsharness and echoes
every message, text as text and binary as binary, until the connection ends; then it asks
/updateReports, which ends the run. Its message size limit is uvicorn's default (16 MiB), the
largest message the catalogue sends, instead of the load users' 1 MiB.
"""

from __future__ import annotations

import sys

from loadtests._wsclient import Connection, WsError

AGENT = "wsharness"
TIMEOUT_S = 30.0  # per read: a case's largest messages (16 MiB) take a while to arrive
MAX_SIZE = 2**24
MAX_MESSAGES = 100_000  # per case; the catalogue sends at most 1000


def case_count(base: str) -> int:
    connection = Connection.open(f"{base}/getCaseCount", timeout_s=TIMEOUT_S)
    try:
        return int(connection.recv(TIMEOUT_S))
    finally:
        connection.close()


def run_case(base: str, case: int) -> None:
    try:
        connection = Connection.open(f"{base}/runCase?case={case}&agent={AGENT}",
                                     timeout_s=TIMEOUT_S, max_size=MAX_SIZE)
    except WsError:
        return
    try:
        for _ in range(MAX_MESSAGES):
            message = connection.recv(TIMEOUT_S)
            if isinstance(message, str):
                connection.send_text(message)
            else:
                connection.send_binary(message)
    except WsError:
        pass  # the case ended the connection (or the client failed it): the server judges
    finally:
        connection.close()


def update_reports(base: str) -> None:
    Connection.open(f"{base}/updateReports?agent={AGENT}", timeout_s=TIMEOUT_S).close()


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m tests.loadtests.autobahn_testee ws://HOST:PORT")
    base = argv[0].rstrip("/")
    for case in range(1, case_count(base) + 1):
        run_case(base, case)
    update_reports(base)


if __name__ == "__main__":
    main(sys.argv[1:])
