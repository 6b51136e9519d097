"""Waiting, bounded, for something a server writes to its log."""

from __future__ import annotations

import time
from pathlib import Path

from tests.target_app.wire import TIMEOUT_S


def wait_for_log(path: Path, text: str, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path.name}")
