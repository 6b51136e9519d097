"""Types for argparse options (and values read elsewhere, e.g. from the environment or
Locust's web UI): numbers within a range. A bad value raises ArgumentTypeError with one
line that quotes it; argparse prefixes the option's name."""

from __future__ import annotations

import math
import os
from argparse import ArgumentTypeError
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ArgumentTypeError(f"expected a whole number of at least 0, got {text!r}")
    return value


def _finite(text: str) -> float:
    """float(text), or nan for anything that is not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return math.nan
    return value if math.isfinite(value) else math.nan


def non_negative_float(text: str) -> float:
    value = _finite(text)
    if not value >= 0:
        raise ArgumentTypeError(f"expected a finite number of at least 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _finite(text)
    if not value > 0:
        raise ArgumentTypeError(f"expected a finite number above 0, got {text!r}")
    return value


def share(text: str) -> float:
    value = _finite(text)
    if not 0 <= value <= 1:
        raise ArgumentTypeError(f"expected a share from 0 to 1, got {text!r}")
    return value


def from_env(name: str, kind: Callable[[str], T], default: T) -> T:
    """Environment variable name read as kind (one of the types above), default if unset;
    ValueError (one line, naming the variable) for a bad value."""
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return kind(text)
    except ArgumentTypeError as exc:
        raise ValueError(f"{name}: {exc}") from None
