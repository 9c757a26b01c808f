"""The web tests run against ``delaktig up`` as real processes (services, workers, broker, the
web app and the development identity provider) on free ports, once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.platform.up_process import start_up, stop_up, up_environment
from tests.web.system import System


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    data = tmp_path_factory.mktemp("web-up")
    up = up_environment(data / "data", demo=False)
    people = data / "people.json"
    people.write_text("[]")
    env = {**up.env, "DEVIDP_PEOPLE": str(people), "RELAY_POLL_INTERVAL": "0.05"}
    proc, printed = start_up(env)
    web, idp = f"http://127.0.0.1:{env['WEB_PORT']}", f"http://127.0.0.1:{env['DEVIDP_PORT']}"
    running = System(proc, up.settings, env, web, idp, people, printed=printed)
    try:
        running.arrange()
        yield running
    finally:
        stop_up(proc)


@pytest.fixture(scope="session")
def screenshots() -> Path | None:
    """Where screenshots go: ``docs/screenshots`` when ``DELAKTIG_SCREENSHOTS=1``, else nowhere."""
    import os

    if os.environ.get("DELAKTIG_SCREENSHOTS") != "1":
        return None
    path = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
