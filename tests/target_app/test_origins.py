"""Which Origins may rely on the session cookie."""

from __future__ import annotations

import pytest

from target_app.origins import ALLOWED_ORIGINS_ENV, OriginPolicy


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        (None, "example.com", True),
        ("https://app.example.com", "app.example.com", True),
        ("https://app.example.com", "api.example.com", False),
        ("http://localhost:3000", "api.example.com", True),
        ("http://127.0.0.2:9", None, True),
        ("http://[::1]:8000", None, True),
        ("http://dev.localhost", None, True),
        ("https://evil.example", "app.example.com", False),
        ("null", "app.example.com", False),
        ("file://", None, False),
    ],
)
def test_default_policy(origin: str | None, host: str | None, allowed: bool) -> None:
    assert OriginPolicy().allows(origin, host) is allowed


def test_allow_list_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOWED_ORIGINS_ENV, " https://Partner.example/ , https://b.example")
    policy = OriginPolicy.from_env()
    assert policy.allows("https://partner.example", "api.example.com")
    assert policy.allows("https://b.example", "api.example.com")
    assert not policy.allows("https://c.example", "api.example.com")
