"""Does what one receiver got interleave the per-sender streams it should get, each in order?

A chat receiver gets several senders' messages with no global order between senders, but each
sender's messages in the order sent. `check_interleaving` accepts exactly the interleavings of
the expected per-sender streams and, otherwise, names the rule broken at the first message that
cannot fit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from conformance.client import Message, Received
from conformance.mismatch import SpecMismatch, shorten, show_list
from conformance.spec import Expected

Streams = Mapping[Hashable, Sequence[Expected]]


@dataclass
class Misfit:
    """Where the best attempt to fit the arrivals into the streams got stuck."""

    position: int
    heads: tuple[int, ...]


def sender_key(client_id: int) -> Hashable:
    """The key of one chat client's stream (several connections may share an id)."""
    return f"client #{client_id}"


def check_interleaving(receiver: str, sent: str, streams: Streams, received: Received,
                       rule_of_stray: Callable[[str], str], *, complete: bool = True) -> None:
    """Raise SpecMismatch unless received interleaves the streams, each in order; with
    complete=False a prefix of each stream is enough (a receiver that was cut off)."""
    arrived, ending = received
    keys = list(streams)
    sequences = [list(streams[k]) for k in keys]
    misfit = fit(sequences, arrived)
    if misfit is None or (not complete and misfit.position >= len(arrived)):
        return
    rule, difference = diagnose(sequences, arrived, misfit, ending, rule_of_stray)
    expected = {str(k): [e.text for e in s] for k, s in zip(keys, sequences, strict=True) if s}
    expected_lines = "; ".join(f"from {k}: {show_list(v)}" for k, v in list(expected.items())[:8])
    if len(expected) > 8:
        expected_lines += f"; ... ({len(expected) - 8} more senders)"
    raise SpecMismatch(
        rule, sent=sent,
        expected=f"{receiver} gets{'' if complete else ' a prefix of each stream'}, in any "
        f"interleaving keeping each sender's order: {expected_lines}",
        arrived=f"{receiver} got {len(arrived)} message(s): {show_list(arrived)} then {ending}",
        difference=difference)


def fit(sequences: list[list[Expected]], arrived: Sequence[Message]) -> Misfit | None:
    """None when arrived interleaves the sequences exactly; else where the best fit stops."""
    if all_texts_unique(sequences):
        return fit_unique(sequences, arrived)
    return fit_search(sequences, arrived)


def all_texts_unique(sequences: list[list[Expected]]) -> bool:
    texts = [e.text for s in sequences for e in s]
    return len(texts) == len(set(texts))


def fit_unique(sequences: list[list[Expected]], arrived: Sequence[Message]) -> Misfit | None:
    where = {e.text: (k, i) for k, s in enumerate(sequences) for i, e in enumerate(s)}
    heads = [0] * len(sequences)
    for position, message in enumerate(arrived):
        place = where.get(message) if isinstance(message, str) else None
        if place is None or heads[place[0]] != place[1]:
            return Misfit(position, tuple(heads))
        heads[place[0]] += 1
    if any(h < len(s) for h, s in zip(heads, sequences, strict=True)):
        return Misfit(len(arrived), tuple(heads))
    return None


def fit_search(sequences: list[list[Expected]], arrived: Sequence[Message]) -> Misfit | None:
    """Depth-first search over which sender each arrival came from (texts may repeat)."""
    best = Misfit(0, tuple(0 for _ in sequences))
    dead_ends: set[tuple[int, ...]] = set()
    stack = [best.heads]
    while stack:
        heads = stack.pop()
        position = sum(heads)
        if heads in dead_ends:
            continue
        if position > best.position:
            best = Misfit(position, heads)
        if position == len(arrived):
            if all(h == len(s) for h, s in zip(heads, sequences, strict=True)):
                return None
            dead_ends.add(heads)
            continue
        dead_ends.add(heads)
        for k, sequence in enumerate(sequences):
            if heads[k] < len(sequence) and sequence[heads[k]].text == arrived[position]:
                stack.append((*heads[:k], heads[k] + 1, *heads[k + 1:]))
    return best


def diagnose(sequences: list[list[Expected]], arrived: Sequence[Message], misfit: Misfit,
             ending: str, rule_of_stray: Callable[[str], str]) -> tuple[str, str]:
    """The rule broken where the fit stopped, and the first difference in words."""
    at = f"message #{misfit.position + 1}"
    pending = [s[h] for s, h in zip(sequences, misfit.heads, strict=True) if h < len(s)]
    if misfit.position >= len(arrived):
        missing = pending[0]
        return missing.rule, f"{at}: expected {shorten(missing.text)} ({len(pending)} " \
            f"sender(s) still owed messages), arrived {ending}"
    message = arrived[misfit.position]
    text = message if isinstance(message, str) else ""
    later = [(s[h], s[j], j - h) for s, h in zip(sequences, misfit.heads, strict=True)
             for j in range(h + 1, len(s)) if s[j].text == text]
    if later:
        skipped, found, gap = later[0]
        rule = "chat.order"
        if skipped.text not in arrived[misfit.position:]:
            return skipped.rule, f"{at}: arrived {shorten(message)} but never " \
                f"{shorten(skipped.text)} before it"
        if found.rule == "chat.left":
            rule = "chat.left"
        elif rule_of_stray(skipped.text) == "chat.personal-reply" and gap == 1:
            rule = "chat.personal-reply"
        return rule, f"{at}: arrived {shorten(message)} before {shorten(skipped.text)} " \
            f"of the same sender"
    earlier = [e for s, h in zip(sequences, misfit.heads, strict=True) for e in s[:h]
               if e.text == text]
    what = "again (a duplicate)" if earlier else "unexpected"
    rule = earlier[0].rule if earlier else rule_of_stray(text)
    wanted = shorten(pending[0].text) if pending else "nothing more"
    return rule, f"{at}: arrived {shorten(message)}, {what}; expected {wanted}"
