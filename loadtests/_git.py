"""The git revision of the code a run measured."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_rev(repo: Path) -> str:
    """The commit the run's code is at, `-dirty` if tracked files differ from it."""
    rev = _git(repo, "rev-parse", "HEAD")
    if not rev:
        return "unknown"
    return rev + "-dirty" if _git(repo, "status", "--porcelain", "--untracked-files=no") else rev


def _git(repo: Path, *args: str) -> str:
    """git's output, or "" if git fails or is missing."""
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
