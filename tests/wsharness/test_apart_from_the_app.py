"""The plumbing never loads the reference app: importing any wsharness module leaves
target_app out of sys.modules (checked in a fresh interpreter)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import wsharness

MODULES = sorted(f"wsharness.{module.name}" for module in pkgutil.iter_modules(wsharness.__path__))
LOADED_APP_MODULES = (
    "import sys, {module}; "
    "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'target_app'))")


@pytest.mark.parametrize("module", MODULES)
def test_importing_it_does_not_import_target_app(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", LOADED_APP_MODULES.format(module=module)],
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def test_serve_is_among_the_modules_checked() -> None:
    assert {"wsharness.serve", "wsharness.tied", "wsharness.timeouts"} <= set(MODULES)
