"""The harness's options: parsed on Locust's own parser, or arriving as the web UI's strings,
they give the same typed Settings, and a bad value is refused with the option's name."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from locust.argument_parser import LocustArgumentParser

from loadtests._options import DEFAULT_MESSAGE_RATE, PAYLOADS, SHAPES, Settings, add_arguments

BAD_VALUES = [  # (option, value, what the error says)
    ("--message-size", "0", "expected a whole number of at least 1"),
    ("--message-size", "3.5", "expected a whole number of at least 1"),
    ("--think-time", "-1", "expected a finite number of at least 0"),
    ("--message-rate", "inf", "expected a finite number of at least 0"),
    ("--message-rate", "nan", "expected a finite number of at least 0"),
    ("--chat-room-size", "0", "expected a whole number of at least 1"),
    ("--bad-credentials", "1.5", "expected a share from 0 to 1"),
    ("--ws-timeout", "0", "expected a finite number above 0"),
    ("--max-messages", "many", "expected a whole number of at least 1"),
    ("--max-connecting", "-1", "expected a whole number of at least 0"),
    ("--source-addresses", "127.0.0.300", "expected a network (127.0.0.0/8) or addresses"),
]

finite = st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1,
               max_size=20)


def rates_allowed_with(think_time: float) -> st.SearchStrategy[float]:
    """With a think time, only the rates that it may replace (0, or the default)."""
    return st.sampled_from((0.0, DEFAULT_MESSAGE_RATE)) if think_time else finite


valid_settings = finite.flatmap(lambda think_time: st.builds(
    Settings,
    message_size=st.integers(1, 10**6), think_time=st.just(think_time),
    message_rate=rates_allowed_with(think_time), payload=st.sampled_from(("", *PAYLOADS)),
    chat_room_size=st.integers(1, 100), bad_credentials=st.floats(0, 1),
    ws_timeout=finite.filter(lambda value: value > 0), max_messages=st.integers(1, 10**9),
    shape=st.sampled_from(("", *SHAPES)), report_dir=text, target_app=text,
    max_connecting=st.integers(0, 10**4),
    source_addresses=st.sampled_from(("", "127.0.0.0/8", "127.0.0.2,127.0.0.3", "::1")),
    worker_snapshots=st.booleans(),
))


def parser() -> LocustArgumentParser:
    locust_parser = LocustArgumentParser()
    add_arguments(locust_parser)
    return locust_parser


def web_ui_form(values: dict[str, Any]) -> argparse.Namespace:
    """Options as the web UI's form sends them: every value a string, a checkbox "on"."""
    return argparse.Namespace(**{
        name: ("on" if value else "") if isinstance(value, bool) else str(value)
        for name, value in values.items()})


def test_no_options_are_the_defaults() -> None:
    assert Settings.from_options(parser().parse_args([])) == Settings()
    assert Settings.from_options(None) == Settings()
    assert Settings.from_options(web_ui_form(dict.fromkeys(Settings().as_dict(), ""))) == \
        Settings()


@settings(deadline=None)
@given(chosen=valid_settings)
def test_options_from_the_command_line_and_the_web_ui_give_the_same_settings(
        chosen: Settings) -> None:
    arguments = []
    for field in fields(Settings):
        value = getattr(chosen, field.name)
        option = "--" + field.name.replace("_", "-")
        if isinstance(value, bool):
            arguments += [option] if value else []
        elif value != "":
            arguments += [f"{option}={value}"]
    assert Settings.from_options(parser().parse_args(arguments)) == chosen
    assert Settings.from_options(web_ui_form(chosen.as_dict())) == chosen


@pytest.mark.parametrize(("option", "value", "message"), BAD_VALUES)
def test_a_bad_value_is_refused_on_the_command_line_and_from_the_web_ui(
        option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args([f"{option}={value}"])
    assert message in capsys.readouterr().err
    name = option.removeprefix("--").replace("-", "_")
    with pytest.raises(ValueError, match=f"^{option}: .*{re.escape(message)}"):
        Settings.from_options(web_ui_form({name: value}))


@settings(deadline=None)
@given(think_time=finite, message_rate=st.one_of(finite, st.just(DEFAULT_MESSAGE_RATE)))
def test_think_time_replaces_the_default_rate_and_another_rate_with_it_is_an_error(
        think_time: float, message_rate: float) -> None:
    assume(think_time > 0)
    options = argparse.Namespace(think_time=think_time, message_rate=message_rate)
    if message_rate in (0, DEFAULT_MESSAGE_RATE):
        assert Settings.from_options(options).think_time == think_time
    else:
        with pytest.raises(ValueError, match="both pace the users: give one"):
            Settings.from_options(options)


def test_an_unknown_shape_from_the_web_ui_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^--shape: unknown shape 'wave'"):
        Settings.from_options(argparse.Namespace(shape="wave"))


def test_an_unknown_payload_from_the_web_ui_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^--payload: unknown payload 'xml'"):
        Settings.from_options(argparse.Namespace(payload="xml"))


def test_worker_snapshots_are_a_command_line_option_only() -> None:
    in_web_ui = parser().args_included_in_web_ui
    assert "worker_snapshots" not in in_web_ui
    assert {field.name for field in fields(Settings)} - {"worker_snapshots"} <= set(in_web_ui)
