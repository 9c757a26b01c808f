"""Security headers on every answer of every service, and /metrics only where configured
(issue 17, items 5 and 6; finding 14's API part)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.audit.service import Audit
from services.dashboards.service import Dashboards
from services.matching.service import Matching
from services.participants.service import Participants
from services.recruitments.service import Recruitments
from shared.auth import mint_token
from shared.config import Settings
from tests.conftest import bearer

DEP = "socialforvaltningen"
BUILDERS: list[Any] = [Participants, Recruitments, Matching, Audit, Dashboards]


@pytest.fixture
def running(sqlite_settings: Settings, serve) -> Iterator[dict[str, str]]:
    built = [builder.build(sqlite_settings) for builder in BUILDERS]
    yield {svc.name if hasattr(svc, "name") else type(svc).__name__.lower(): serve(svc.http()) for svc in built}
    for svc in built:
        svc.close()


def assert_hardened(response: Any, html: bool = False) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    if html:
        assert "script-src" not in csp or "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "default-src 'none'" in csp
    else:
        assert csp == "default-src 'none'; frame-ancestors 'none'"


def test_every_answer_of_every_service_carries_the_security_headers(running: dict[str, str], http,
                                                                    sqlite_settings: Settings) -> None:
    staff = bearer(mint_token(sqlite_settings, roles=["administrator"], departments=[DEP]))
    for name, url in running.items():
        for path, headers in (("/healthz", {}), ("/openapi.json", {}), ("/no-such-page", {}),
                              ("/readyz", {})):
            assert_hardened(http.get(url + path, headers=headers))
        if name != "dashboards":
            assert_hardened(http.post(url + "/participants", json={}))  # 401 or 404/405
    participants = running["participants"]
    r = http.get(f"{participants}/departments/{DEP}/settings", headers=staff)
    assert r.status_code == 200 and r.json()
    assert_hardened(r)
    r = http.post(f"{participants}/participants", json={"name": "A B", "preferred_language": "sv",
                                                          "departments": [DEP]}, headers=staff)
    assert r.status_code == 201
    assert_hardened(r)
    page = http.get(f"{running['dashboards']}/login")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert_hardened(page, html=True)


def test_metrics_are_served_only_to_the_configured_addresses(sqlite_settings: Settings, serve, http) -> None:
    open_to_loopback = Participants.build(sqlite_settings)
    closed = Participants.build(sqlite_settings.with_(metrics_allow=("10.0.0.0/8",)))
    try:
        r = http.get(serve(open_to_loopback.http()) + "/metrics")
        assert r.status_code == 200 and "http_requests_total" in r.text
        r = http.get(serve(closed.http()) + "/metrics")
        assert r.status_code == 404 and "http_requests_total" not in r.text
    finally:
        open_to_loopback.close()
        closed.close()
    assert Settings.from_env({"METRICS_ALLOW": "10.1.2.3, 192.168.0.0/16"}).metrics_allow == (
        "10.1.2.3", "192.168.0.0/16")
    assert Settings.from_env({}).metrics_allow == ("127.0.0.1/32", "::1/128")
