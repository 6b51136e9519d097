"""A master that quits before its run kills the workers it forked."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from wsharness.timeouts import scaled

# in a process of its own: kill_children kills every child of the process calling it
SCRIPT = textwrap.dedent("""
    import subprocess, sys
    from loadtests._forked import child_pids, kill_children
    children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
                for _ in range(2)]
    assert sorted(child_pids()) == sorted(child.pid for child in children)
    assert sorted(kill_children()) == sorted(child.pid for child in children)
    print(*(child.wait() for child in children))
""")


def test_children_are_killed() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], check=False, capture_output=True,
                          text=True, timeout=scaled(30))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["-9", "-9"]
