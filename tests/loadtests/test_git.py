"""The run's git revision in the results file: the commit, marked when the code differs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from loadtests._git import git_rev


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_then_dirty_once_a_tracked_file_changes(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "add", "code.py")
    _git(tmp_path, "commit", "-q", "-m", "one")
    commit = _git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "untracked.txt").write_text("not code of the run\n")
    assert git_rev(tmp_path) == commit
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_rev(tmp_path) == commit + "-dirty"


def test_outside_a_repository_it_is_unknown(tmp_path: Path) -> None:
    assert git_rev(tmp_path) == "unknown"
