"""EchoUser's --payload: text, binary or JSON messages to the echo endpoint /raw, each checked
to come back unchanged; without it, text to /ws as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loadtests.echo_user import binary_message, json_message, text_message
from tests.loadtests.running import results_of, run_locust

SIZES = st.integers(1, 5000)
SEQUENCES = st.integers(1, 2**40)


@given(sequence=SEQUENCES, size=SIZES)
def test_each_payload_is_at_least_the_message_size(sequence: int, size: int) -> None:
    assert len(text_message(sequence, size)) >= size
    assert len(binary_message(sequence, size)) >= size
    assert len(json_message(sequence, size)) >= size


@given(sequence=SEQUENCES, size=SIZES)
def test_json_parses_and_binary_is_never_text(sequence: int, size: int) -> None:
    assert json.loads(json_message(sequence, size))["seq"] == sequence
    with pytest.raises(UnicodeDecodeError):
        binary_message(sequence, size).decode()


@given(first=SEQUENCES, second=SEQUENCES, size=SIZES)
def test_messages_of_different_sequence_numbers_differ(first: int, second: int,
                                                       size: int) -> None:
    if first != second:
        for make in (text_message, binary_message, json_message):
            assert make(first, size) != make(second, size)


@pytest.mark.parametrize("payload", ["text", "binary", "json"])
def test_echo_user_checks_every_payload_on_raw(payload: str, tmp_path: Path) -> None:
    results = results_of(run_locust("-u", "2", "-r", "2", "-t", "3s", "EchoUser",
                                    "--payload", payload, "--message-size", "300",
                                    report_dir=tmp_path), tmp_path)
    rtt = results["metrics"]["rtt /raw"]
    assert rtt["count"] > 0
    assert rtt["errors"] == 0
    assert results["errors"] == {}
    assert "rtt /ws" not in results["metrics"]
    assert results["run"]["settings"]["payload"] == payload
