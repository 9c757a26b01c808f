"""Dashboards over real HTTP, fed from real Kafka topics: equal to a recount from the raw events,
a fourth department appears without a restart, and staff see only their own departments."""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from services.dashboards.service import Dashboards
from shared.config import Settings
from tests.conftest import bearer
from tests.dashboards.events import EventWriter, raw_events
from tests.dashboards.recount import recount
from tests.dashboards.scenario import ARB, FEEDBACK_TEXT, NAMES, SKOL, SOC, department_id, seed

SVG_NS = "{http://www.w3.org/2000/svg}"


def _svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg.*?</svg>", html, flags=re.S)]  # noqa: S314


def _comparable(view: dict) -> dict:
    return {
        "recruitments_total": view["recruitments_total"],
        "by_stage": view["by_stage"],
        "days_in_stage": view["days_in_stage"],
        "upcoming": sorted(u["recruitment_id"] for u in view["upcoming_without_full_panel"]),
        "rotation": view["rotation"],
        "honoraria": {h["month"]: (h["accrued_ore"], h["paid_ore"]) for h in view["honoraria"]},
        "budget": view["budget_ore_per_month"],
        "hires": view["hires"],
        "effect": view["effect"],
        "imported": view["imported"],
    }


def test_dashboards_equal_a_recount_from_the_raw_events(settings: Settings, serve, token, http) -> None:
    writer = EventWriter(settings)
    seed(writer)
    writer.close()
    service = Dashboards.build(settings)
    try:
        service.catch_up()
        url = serve(service.http())
        admin = bearer(token(role="administrator", departments=()))
        envelopes = raw_events(settings)
        today = datetime.now(UTC).date()
        for code in (SOC, ARB, SKOL):
            got = http.get(f"{url}/api/departments/{code}", headers=admin)
            assert got.status_code == 200, got.text
            body = got.json()
            assert _comparable(body) == recount(envelopes, code, today)
            assert [item["lag"] for item in body["lag"]] == [0, 0, 0]
        soc = http.get(f"{url}/api/departments/{SOC}", headers=admin).json()
        # The scenario's shape, so the recount compares something substantial.
        assert soc["by_stage"]["closed"] == 6 and soc["recruitments_total"] == 9
        assert len(soc["upcoming_without_full_panel"]) == 2
        assert soc["rotation"]["in_bank"] == 13 and soc["rotation"]["waiting"] == 8
        assert {h["month"]: h["paid_ore"] for h in soc["honoraria"]}["2026-04"] == 60000
        overview = http.get(f"{url}/api/overview", headers=admin).json()
        assert [r["code"] for r in overview["items"]] == sorted([SOC, ARB, SKOL])
        assert {r["code"]: r["hires"] for r in overview["items"]} == {SOC: 6, ARB: 1, SKOL: 0}
        # A page at a time: the next page carries on after the last code served, nothing twice.
        first = http.get(f"{url}/api/overview", params={"limit": 2}, headers=admin).json()
        rest = http.get(f"{url}/api/overview", params={"limit": 2, "cursor": first["next_cursor"]},
                        headers=admin).json()
        assert [r["code"] for r in first["items"] + rest["items"]] == sorted([SOC, ARB, SKOL])
        assert rest["next_cursor"] is None
        for bad, field in (({"limit": 201}, "limit"), ({"cursor": "%%%"}, "cursor")):
            refused = http.get(f"{url}/api/overview", params=bad, headers=admin)
            assert refused.status_code == 422 and field in refused.json()["detail"]
        page = http.get(f"{url}/departments/{SOC}?lang=en", headers=admin)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        assert "Recruitments by stage" in page.text and FEEDBACK_TEXT not in page.text
        svgs = _svgs(page.text)
        assert len(svgs) == 7
        stage_bars = [b for b in svgs[0].iter(f"{SVG_NS}rect") if b.get("class") == "bar"]
        assert sorted(int(b.get("data-value")) for b in stage_bars) == sorted(
            v for v in soc["by_stage"].values() if v is not None
        )
        # The effect-goal charts draw exactly the recounted numbers.
        expected = recount(envelopes, SOC, today)["effect"]
        by_title = {svg.get("aria-label"): svg for svg in svgs}
        retention = by_title["Goal 1: hires - still employed"]
        drawn = sorted(
            (b.get("data-label"), b.get("data-series"), b.get("data-value"))
            for b in retention.iter(f"{SVG_NS}rect")
            if b.get("class") == "bar"
        )
        wanted = sorted(
            (h["month"], series, str(h[key]))
            for h in expected["hires"]
            for series, key in (
                ("Retained at 6 months (%)", "retained_6"),
                ("Retained at 12 months (%)", "retained_12"),
            )
            if h[key] is not None
        )
        assert drawn == wanted and len(drawn) == 2
        influence = by_title["Goal 3: participants' rating of their influence"]
        points = [(c.get("data-label"), float(c.get("data-value"))) for c in influence.iter(f"{SVG_NS}circle")]
        assert points == [(p["month"], p["rating"]) for p in expected["participants"]] and points
        swedish = http.get(f"{url}/departments/{SOC}", headers=admin).text
        assert "Rekryteringar per steg" in swedish and 'lang="sv"' in swedish
    finally:
        service.close()


def test_a_fourth_department_appears_without_restart(sqlite_settings: Settings, serve, token, http) -> None:
    settings = sqlite_settings
    writer = EventWriter(settings)
    seed(writer)
    service = Dashboards.build(settings)
    stop = threading.Event()
    runner = threading.Thread(target=service.worker().run, args=(stop,), daemon=True)
    runner.start()
    try:
        url = serve(service.http())
        admin = bearer(token(role="administrator", departments=()))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            codes = [r["code"] for r in http.get(f"{url}/api/overview", headers=admin).json()["items"]]
            if len(codes) == 3:
                break
            time.sleep(0.2)
        assert sorted(codes) == sorted([SOC, ARB, SKOL])
        kultur = "kultur-och-fritidsforvaltningen"
        writer.emit(
            "participants",
            "DepartmentOnboarded",
            department_id(kultur),
            {"code": kultur, "name": "Kultur- och fritidsförvaltningen"},
            department=None,
        )
        writer.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            html = http.get(f"{url}/overview", headers=admin).text
            if "Kultur- och fritidsförvaltningen" in html:
                break
            time.sleep(0.2)
        assert f'data-department="{kultur}"' in html
        own = http.get(f"{url}/departments/{kultur}", headers=bearer(token(departments=(kultur,))))
        assert own.status_code == 200 and "Kultur- och fritidsförvaltningen" in own.text
        assert NAMES[SOC] not in own.text
    finally:
        stop.set()
        runner.join(timeout=15)
        writer.close()
        service.close()


def test_a_coordinator_sees_only_their_department(sqlite_settings: Settings, serve, token, http,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DELAKTIG_DEV_TOKEN_LOGIN", "1")  # sign in by pasting a token (development)
    settings = sqlite_settings
    writer = EventWriter(settings)
    seed(writer)
    writer.close()
    service = Dashboards.build(settings)
    try:
        service.catch_up()
        url = serve(service.http())
        # Not signed in: the page sends the browser to the sign-in form; the API says 401.
        first = http.get(f"{url}/departments/{ARB}", allow_redirects=False)
        assert first.status_code == 302 and first.headers["Location"].startswith("/login?next=")
        assert http.get(f"{url}/api/overview").status_code == 401
        http.get(f"{url}/login")  # the form sets this browser's anti-forgery cookie
        csrf = http.cookies["delaktig_csrf"]
        assert http.post(f"{url}/login", data={"token": "not-a-token", "csrf": csrf}).status_code == 401
        participant = token(role="participant", departments=(ARB,))
        assert http.post(f"{url}/login", data={"token": participant, "csrf": csrf}).status_code == 401
        # Sign in with the form; the token lives in an HttpOnly cookie from then on.
        signed_in = http.post(
            f"{url}/login",
            data={"token": token(departments=(ARB,)), "next": f"/departments/{ARB}", "csrf": csrf},
            allow_redirects=False,
        )
        assert signed_in.status_code == 302 and signed_in.headers["Location"] == f"/departments/{ARB}"
        assert "HttpOnly" in signed_in.headers["Set-Cookie"]
        own = http.get(f"{url}{signed_in.headers['Location']}")
        assert own.status_code == 200
        assert re.search(r'data-field="recruitments_total">2<', own.text)
        assert re.search(r'data-field="in_bank">7<', own.text)
        assert NAMES[SOC] not in own.text and NAMES[SKOL] not in own.text
        assert http.get(f"{url}/departments/{SOC}").status_code == 403
        assert http.get(f"{url}/api/departments/{SOC}").status_code == 403
        overview = http.get(f"{url}/overview").text
        assert f'data-department="{ARB}"' in overview and f'data-department="{SOC}"' not in overview
        assert NAMES[SOC] not in overview
        assert [r["code"] for r in http.get(f"{url}/api/overview").json()["items"]] == [ARB]
        # A redirect target elsewhere is refused; signing out drops the cookie.
        away = http.get(
            f"{url}/login",
            params={"token": token(departments=(ARB,)), "next": "//evil.example"},
            allow_redirects=False,
        )
        assert away.headers["Location"] == "/overview"
        http.post(f"{url}/logout", data={"csrf": csrf})
        assert http.get(f"{url}/overview", allow_redirects=False).status_code == 302
        # A hiring manager of two departments sees both; a bearer header works too.
        both = bearer(token(role="hiring_manager", departments=(SOC, ARB)))
        codes = [r["code"] for r in http.get(f"{url}/api/overview", headers=both).json()["items"]]
        assert sorted(codes) == sorted([SOC, ARB])
        assert (
            http.get(f"{url}/departments/unknown-dept", headers=bearer(token(role="administrator"))).status_code == 404
        )
    finally:
        service.close()


@pytest.mark.parametrize("lang,label", [("sv", "Väntande"), ("en", "Waiting")])
def test_pages_are_bilingual_and_show_projection_lag(
    sqlite_settings: Settings, serve, token, http, lang, label
) -> None:
    settings = sqlite_settings
    writer = EventWriter(settings)
    seed(writer)
    writer.close()
    service = Dashboards.build(settings)
    try:
        url = serve(service.http())
        head = bearer(token(departments=(SOC,)))
        behind = http.get(f"{url}/api/overview", headers=head).json()["lag"]
        assert all(item["lag"] > 0 for item in behind), behind  # nothing applied yet
        service.catch_up()
        time.sleep(1.1)  # the lag probe caches for a second
        page = http.get(f"{url}/departments/{SOC}?lang={lang}", headers=head)
        assert label in page.text
        assert re.findall(r'data-lag="(\d+)"', page.text) == ["0", "0", "0"]
    finally:
        service.close()


def test_the_header_leads_back_to_the_workspace_in_the_language_in_use(
        sqlite_settings: Settings, serve, token, http, monkeypatch: pytest.MonkeyPatch) -> None:
    """One navigation: the dashboards' header has the web app's workspace and the same language words."""
    monkeypatch.delenv("WEB_PORT", raising=False)
    monkeypatch.setenv("WEB_PUBLIC_URL", "https://delaktig.example.se/")
    service = Dashboards.build(sqlite_settings)
    try:
        url = serve(service.http())
        head = bearer(token(departments=(SOC,)))
        english = http.get(f"{url}/overview?lang=en", headers=head).text
        link = '<a href="https://delaktig.example.se/arbetsyta?lang=en" data-testid="workspace-link">Your workspace</a>'
        assert link in english
        assert ">På svenska</a>" in english
        swedish = http.get(f"{url}/overview", headers=head).text
        assert "arbetsyta?lang=sv" in swedish and "Din arbetsyta" in swedish and ">In English</a>" in swedish
        monkeypatch.delenv("WEB_PUBLIC_URL")
        assert "workspace-link" not in http.get(f"{url}/overview", headers=head).text  # no web app: no link
    finally:
        service.close()
