"""The dashboards' own tests sign in by pasting a development token: that needs the explicit
development flag (without it, ``/login`` goes to the identity provider; see tests/web)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def dev_token_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAKTIG_DEV_TOKEN_LOGIN", "1")
