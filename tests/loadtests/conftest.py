"""Locust in the test process, for the unit tests of the harness's Locust parts.

Importing locust monkey-patches the standard library for gevent (threads, sockets,
subprocesses, sleep) unless LOCUST_SKIP_MONKEY_PATCH is set: here it is set for that one
import, so the other tests of the session keep real threads and sockets. What the unit tests
run (the recorder, Locust's statistics, the shapes, a user on gevent's own sockets) needs no
patching; the Locust runs the other tests start are subprocesses that patch themselves as
usual, and do not inherit the variable.
"""

from __future__ import annotations

import importlib
import os

SKIP_PATCH = "LOCUST_SKIP_MONKEY_PATCH"

_before = os.environ.get(SKIP_PATCH)
os.environ[SKIP_PATCH] = "1"
try:
    importlib.import_module("locust")
finally:
    if _before is None:
        del os.environ[SKIP_PATCH]
    else:
        os.environ[SKIP_PATCH] = _before
