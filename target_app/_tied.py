"""Run uvicorn tied to the process that started it: when that process dies, even by
SIGKILL, the kernel sends this one SIGTERM and uvicorn shuts down (Linux PR_SET_PDEATHSIG).

    python -m target_app._tied PARENT_PID UVICORN_ARGS...
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    parent, uvicorn_args = int(sys.argv[1]), sys.argv[2:]
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before the tie was made
            sys.exit(f"wsharness: the process that started this server ({parent}) is gone")
    sys.argv = ["uvicorn", *uvicorn_args]
    runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
