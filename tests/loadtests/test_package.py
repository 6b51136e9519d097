"""The package's face: its users by name, and helpers importable without Locust."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_client_and_target_import_without_locust() -> None:
    code = "import sys, loadtests._wsclient, loadtests._target; print('locust' in sys.modules)"
    assert run_python(code) == "False"


@pytest.mark.parametrize("name", ["AuthUser", "ChatUser", "EchoUser", "WebSocketUser"])
def test_each_user_is_importable_from_the_package(name: str) -> None:
    code = f"from loadtests import {name}; print({name}.__module__)"
    assert run_python(code).startswith("loadtests.")


def test_an_unknown_name_is_an_attribute_error() -> None:
    code = "import loadtests\ntry:\n    loadtests.Nope\nexcept AttributeError as e:\n    print(e)"
    assert "Nope" in run_python(code)
