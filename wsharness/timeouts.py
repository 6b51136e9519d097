"""One timeout unit for slow machines: WSHARNESS_TIMEOUT_SCALE (default 1) multiplies every
timeout the harness waits on, e.g. 3 on a slow CI runner.

The scale is read once per process. A value that is not a positive number ends the program
with one line, as a bad command-line option does: nothing can wait sensibly without it.
"""

from __future__ import annotations

import functools

from wsharness.argtypes import from_env, positive_float

TIMEOUT_SCALE_ENV = "WSHARNESS_TIMEOUT_SCALE"


class TimeoutScaleError(SystemExit):
    """WSHARNESS_TIMEOUT_SCALE is not a positive number (one-line message)."""


@functools.cache
def timeout_scale() -> float:
    """The factor every timeout is multiplied by in this process."""
    try:
        return from_env(TIMEOUT_SCALE_ENV, positive_float, 1.0)
    except ValueError as exc:
        raise TimeoutScaleError(f"wsharness: {exc}") from None


def scaled(seconds: float) -> float:
    """seconds, scaled for this machine."""
    return seconds * timeout_scale()
