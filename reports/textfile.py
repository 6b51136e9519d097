"""Read a file the reports were given, or say in one line why it cannot be read."""

from __future__ import annotations

from pathlib import Path


def read_bytes(path: Path, what: str, error: type[Exception]) -> bytes:
    """The file's bytes; `error` names the problem (missing, unreadable)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None


def read_text(path: Path, what: str, error: type[Exception]) -> str:
    """The file's UTF-8 text; `error` names the problem (missing, unreadable, not text)."""
    data = read_bytes(path, what, error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a {what}: not UTF-8 text at byte {exc.start}") from None
