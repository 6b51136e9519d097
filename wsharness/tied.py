"""Run a program tied to the process that started it: when that process dies, even by
SIGKILL, the kernel sends the program SIGTERM (Linux PR_SET_PDEATHSIG, kept across exec).

    python wsharness/tied.py PARENT_PID PROGRAM [ARGS...]

Run as a file, it imports only the standard library before the program replaces it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def tied_command(command: list[str]) -> list[str]:
    """command, run so that it ends when this process does."""
    return [sys.executable, os.path.abspath(__file__), str(os.getpid()), *command]


def main() -> None:
    parent, command = int(sys.argv[1]), sys.argv[2:]
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before the tie was made
            sys.exit(f"wsharness: the process that started {command[0]} ({parent}) is gone")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
