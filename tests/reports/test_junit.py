"""Conformance results from pytest's JUnit XML, grouped by test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.junit import JUnitError, group_of, load_junit


def test_groups_count_each_outcome_per_test_module(junit_xml: Path) -> None:
    conformance = load_junit(junit_xml)
    groups = {g.name: g for g in conformance.groups}
    assert set(groups) == {"test_echo", "test_chat", "test_framing"}
    counts = {name: tuple(g.counts.values()) for name, g in groups.items()}
    assert list(groups["test_echo"].counts) == ["passed", "failed", "error", "skipped", "xfailed"]
    assert counts["test_framing"] == (1, 0, 0, 0, 0)
    assert counts["test_echo"] == (1, 1, 0, 1, 0)
    assert counts["test_chat"] == (1, 0, 1, 0, 0)
    assert not groups["test_echo"].ok
    assert not groups["test_chat"].ok


def test_failures_carry_the_first_line_of_their_message(junit_xml: Path) -> None:
    failures = {c.name: c for c in load_junit(junit_xml).failures}
    assert set(failures) == {"test_order", "test_broadcast"}
    assert "out of order <b>" in failures["test_order"].message
    assert "\n" not in failures["test_order"].message


@pytest.mark.parametrize(("classname", "group"), [
    ("conformance.test_echo", "test_echo"),
    ("conformance.test_chat.TestLeave", "test_chat"),
    ("test_top", "test_top"),
    ("suite.Checks", "Checks"),
])
def test_the_group_is_the_test_module(classname: str, group: str) -> None:
    assert group_of(classname) == group


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such JUnit file"),
    ("<testsuites><testcase", "malformed XML"),
    ("<html></html>", "not JUnit XML"),
])
def test_bad_junit_files_raise_one_line_errors(tmp_path: Path, content: str | None,
                                               message: str) -> None:
    path = tmp_path / "conformance.xml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(JUnitError, match=message) as caught:
        load_junit(path)
    assert "\n" not in str(caught.value)
