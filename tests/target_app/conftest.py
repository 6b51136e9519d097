"""Both variants of the reference app, in-process and over a real uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

import target_app
import target_app.docs
from wsharness.serve import Server, serve

APPS = {"hardened": "target_app:app", "docs": "target_app.docs:app"}
IN_PROCESS = {"hardened": target_app.app, "docs": target_app.docs.app}


@dataclass(frozen=True)
class RunningApp:
    variant: str
    server: Server
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def running_apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningApp]]:
    logs = tmp_path_factory.mktemp("server-logs")
    with serve(APPS["hardened"], log_path=logs / "hardened.log", log_level="info") as hardened, \
            serve(APPS["docs"], log_path=logs / "docs.log", log_level="info") as docs:
        yield {
            "hardened": RunningApp("hardened", hardened, logs / "hardened.log"),
            "docs": RunningApp("docs", docs, logs / "docs.log"),
        }


@pytest.fixture(params=sorted(APPS))
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def running(running_apps: dict[str, RunningApp], variant: str) -> RunningApp:
    return running_apps[variant]


@pytest.fixture
def app(variant: str) -> FastAPI:
    return IN_PROCESS[variant]


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
