"""Read a text file the reports were given, or say in one line why it cannot be read."""

from __future__ import annotations

from pathlib import Path


def read_text(path: Path, what: str, error: type[Exception]) -> str:
    """The file's UTF-8 text; `error` names the problem (missing, unreadable, not text)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such {what}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a {what}: not UTF-8 text at byte {exc.start}") from None
