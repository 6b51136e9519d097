"""A master that quits early ends the workers it forked, gently, then hard."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from wsharness.timeouts import scaled

# in a process of its own: end_children ends every child of the process calling it
SCRIPT = textwrap.dedent("""
    import os, signal, subprocess, sys
    from loadtests._forked import child_pids, end_children
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    stubborn = subprocess.Popen([sys.executable, "-c",
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(600)"], stdout=subprocess.PIPE)
    stubborn.stdout.readline()
    assert sorted(child_pids()) == sorted([polite.pid, stubborn.pid])
    end_children(float(sys.argv[1]))
    print(polite.wait(), stubborn.wait())
""")


def test_children_end_on_sigterm_and_the_stubborn_on_sigkill() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, "0.5"], check=False, capture_output=True,
                          text=True, timeout=scaled(30))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["-15", "-9"]
