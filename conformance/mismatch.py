"""Failures that read like a spec diff: the rule, what was sent, expected, what arrived."""

from __future__ import annotations

from collections.abc import Sequence

from conformance.spec import RULES, Expected

SHOWN_CHARS = 120
SHOWN_ITEMS = 8


def shorten(value: object) -> str:
    text = repr(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}... ({len(text)} chars)"


def show_list(values: Sequence[object]) -> str:
    shown = ", ".join(shorten(v) for v in values[:SHOWN_ITEMS])
    more = f", ... ({len(values) - SHOWN_ITEMS} more)" if len(values) > SHOWN_ITEMS else ""
    return f"[{shown}{more}]"


class SpecMismatch(AssertionError):
    """The target did not do what a rule of PROTOCOL.md demands."""

    def __init__(self, rule: str, *, sent: str, expected: str, arrived: str,
                 difference: str = "") -> None:
        self.rule = rule
        lines = [f"rule: {rule} ({RULES.get(rule, 'see PROTOCOL.md')})",
                 f"sent:     {sent}", f"expected: {expected}", f"arrived:  {arrived}"]
        if difference:
            lines.append(f"first difference: {difference}")
        super().__init__("\n".join(lines))


def first_difference(expected: Sequence[str], arrived: Sequence[object]) -> int | None:
    for index, (want, got) in enumerate(zip(expected, arrived, strict=False)):
        if want != got:
            return index
    if len(expected) == len(arrived):
        return None
    return min(len(expected), len(arrived))


def describe_difference(index: int, expected: Sequence[str], arrived: Sequence[object],
                        ending: str) -> str:
    want = shorten(expected[index]) if index < len(expected) else "nothing more"
    got = shorten(arrived[index]) if index < len(arrived) else ending
    return f"message #{index + 1}: expected {want}, arrived {got}"


def expect_messages(sent: str, expected: Sequence[Expected], arrived: Sequence[object],
                    ending: str, extra_rule: str) -> None:
    """Raise SpecMismatch unless exactly the expected messages arrived, in order.

    The rule named is the one demanding the first expected message that did not arrive in
    its place, or extra_rule when every expected message came and more followed.
    """
    texts = [e.text for e in expected]
    index = first_difference(texts, arrived)
    if index is None:
        return
    rule = expected[index].rule if index < len(expected) else extra_rule
    raise SpecMismatch(rule, sent=sent, expected=show_list(texts),
                       arrived=f"{show_list(arrived)} then {ending}",
                       difference=describe_difference(index, texts, arrived, ending))
