"""How long a user waits before it connects again after losing its connection."""

from __future__ import annotations

import random

RECONNECT_FIRST_S = 0.1  # a connection dropped by a live target costs ~0.1 s
RECONNECT_CAP_S = 2.0  # a user connects again at most ~2 s after its target is back


class Backoff:
    """Capped exponential backoff with jitter: pauses of d x U(0.5, 1) for d = first, 2 first,
    ... up to cap. The jitter spreads many users' reconnects over the cap, and its floor of half
    the delay bounds the attempts: 5 in the first 1.55 s, then at most one per cap / 2 s."""

    def __init__(self, first_s: float = RECONNECT_FIRST_S, cap_s: float = RECONNECT_CAP_S) -> None:
        self.first_s, self.cap_s = first_s, cap_s
        self.delay_s = 0.0

    def next_pause_s(self) -> float:
        self.delay_s = min(self.cap_s, 2 * self.delay_s if self.delay_s else self.first_s)
        return self.delay_s * (0.5 + 0.5 * random.random())

    def reset(self) -> None:
        self.delay_s = 0.0
