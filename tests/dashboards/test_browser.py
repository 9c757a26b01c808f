"""Headless Chromium signs in as a coordinator of one department, sees its numbers and not
another department's, and the charts render as SVG; a phone-sized screenshot is taken.

Needs the Debian packages ``chromium`` (and ``chromium-driver`` for WebDriver users); the test
drives the browser binary directly (``--dump-dom``, ``--screenshot``), without new Python packages.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from services.dashboards.service import Dashboards
from shared.config import Settings
from tests.dashboards.events import EventWriter
from tests.dashboards.scenario import ARB, NAMES, SKOL, SOC, seed

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")) if p),
    None,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium chromium-driver)"),
]


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_coordinator_sees_own_department_in_chromium(sqlite_settings: Settings, serve, token, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAKTIG_DEV_TOKEN_LOGIN", "1")  # ?token= signs in: a development aid
    settings = sqlite_settings
    writer = EventWriter(settings)
    seed(writer)
    writer.close()
    service = Dashboards.build(settings)
    try:
        service.catch_up()
        url = serve(service.http())
        login = f"{url}/login?token={quote(token(departments=(SOC,)))}&next={quote(f'/departments/{SOC}')}"

        dumped = _chromium(tmp_path / "profile", "--dump-dom", login)
        dom = dumped.stdout
        assert f'data-department="{SOC}"' in dom, dumped.stderr[-2000:]
        assert NAMES[SOC] in dom
        assert NAMES[ARB] not in dom and NAMES[SKOL] not in dom
        # Socialförvaltningen's numbers from the scenario: 9 recruitments, 6 hires, 8 waiting.
        assert re.search(r'data-field="recruitments_total">9<', dom)
        assert re.search(r'data-field="hires">6<', dom)
        assert re.search(r'data-field="waiting">8<', dom)
        assert len(re.findall(r"<svg[^>]*class=\"chart\"", dom)) == 7
        assert len(re.findall(r'<rect class="bar"', dom)) >= 7

        other = _chromium(tmp_path / "profile", "--dump-dom", f"{url}/departments/{ARB}")
        assert "403" in other.stdout and NAMES[ARB] not in other.stdout.split("<main>")[-1]

        shot = tmp_path / "phone.png"
        _chromium(tmp_path / "profile2", f"--screenshot={shot}", "--window-size=390,844", "--hide-scrollbars", login)
        assert shot.exists()
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (390, 844)
    finally:
        service.close()
