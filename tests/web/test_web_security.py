"""What a municipality must hold the web app to, against the running system: people reach only
their own pages, every form needs its CSRF token, sessions end (idle, expired, signed out), the
headers forbid inline script and framing, and one-time codes cannot be guessed."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from services.web import signin
from services.web.app import create_app
from services.web.config import WebConfig
from tests.web.system import PEOPLE, System, csrf_of, sign_in

pytestmark = [pytest.mark.slow]


def outsider(system: System) -> str:
    """A participant in the bank who is not on the panel (as it is now: a decline changes it)."""
    panel = system.call("GET", "recruitments", f"/recruitments/{system.recruitment}", system.coordinator())["panel"]
    return next(pid for pid in system.participants.values() if pid not in panel and pid not in system.panel)


def test_up_starts_the_web_app_and_says_so_first(system: System) -> None:
    block = system.printed.split("Demo loaded")[-1].strip().splitlines()
    assert block[0] == f"open {system.web}/"
    assert requests.get(system.idp + "/.well-known/openid-configuration", timeout=10).json()["issuer"] == system.idp


def test_security_headers_and_session_cookie(system: System) -> None:
    r = requests.get(system.web + "/", timeout=10)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in r.text and " style=" not in r.text  # static files only
    s = sign_in(system, system.panel[0])
    cookie = next(c for c in s.cookies if c.name == "delaktig_web")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert s.get(system.web + "/mina-uppdrag", timeout=10).headers["Cache-Control"] == "no-store"


def test_session_cookie_is_secure_behind_tls(tmp_path: Path) -> None:
    config = WebConfig(oidc_issuer="http://127.0.0.1:9", oidc_client_id="web", oidc_client_secret="s",
                       service_urls={}, secret_key="k" * 32, data_dir=tmp_path, proxies=1)
    client = create_app(config).test_client()
    plain = client.get("/?lang=en")
    assert "Secure" not in plain.headers["Set-Cookie"] and "SameSite=Lax" in plain.headers["Set-Cookie"]
    tls = client.get("/?lang=sv", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.1"})
    header = tls.headers["Set-Cookie"]
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert tls.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_person_cannot_reach_anyone_elses_pages(system: System) -> None:
    stranger = sign_in(system, outsider(system))
    rid, cid = system.recruitment, system.candidates[0]
    for path in (f"/uppdrag/{rid}", f"/uppdrag/{rid}/kandidater/{cid}", f"/uppdrag/{rid}/svar",
                 f"/uppdrag/{rid}/aterkoppling"):
        r = stranger.get(system.web + path, allow_redirects=False, timeout=10)
        assert r.status_code in (403, 404), (path, r.status_code)
    assert "Socialsekreterare" not in stranger.get(system.web + "/mina-uppdrag", timeout=10).text
    staff = sign_in(system, "test-coordinator-soc")
    assert staff.get(system.web + "/mina-uppdrag", allow_redirects=False, timeout=10).status_code == 403
    # The person's own pages carry no id at all: there is nothing to change in the address.
    assert all(p not in r.url for p in system.participants.values())


def test_a_form_posted_without_its_csrf_token_is_refused(system: System) -> None:
    s = sign_in(system, outsider(system))
    refused = s.post(system.web + "/tystnadsplikt", data={"confirm": "y"}, allow_redirects=False, timeout=10)
    assert refused.status_code == 400 and "Formuläret hade gått ut" in refused.text
    forged = s.post(system.web + "/tystnadsplikt", data={"confirm": "y", "csrf_token": "forged"},
                    allow_redirects=False, timeout=10)
    assert forged.status_code == 400
    page = s.get(system.web + "/tystnadsplikt", timeout=10).text
    signed = s.post(system.web + "/tystnadsplikt", data={"confirm": "y", "csrf_token": csrf_of(page)},
                    allow_redirects=False, timeout=10)
    assert signed.status_code == 303
    # Sign-out is a form too.
    assert s.post(system.web + "/logga-ut", allow_redirects=False, timeout=10).status_code == 400


def test_sign_out_ends_the_session_also_for_a_copied_cookie(system: System) -> None:
    s = sign_in(system, outsider(system))
    copied = requests.Session()
    copied.cookies.update(s.cookies)
    page = s.get(system.web + "/mina-uppdrag", timeout=10)
    assert page.status_code == 200
    out = s.post(system.web + "/logga-ut", data={"csrf_token": csrf_of(page.text)}, timeout=10)
    assert out.url == system.web + "/utloggad" and "Du är utloggad" in out.text
    for session in (s, copied):
        r = session.get(system.web + "/mina-uppdrag", allow_redirects=False, timeout=10)
        assert r.status_code == 302 and r.headers["Location"].startswith("/logga-in")


def test_an_expired_session_goes_back_to_sign_in(system: System, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The web app in-process, against the running identity provider and services."""
    config = WebConfig.from_env({**system.env, "WEB_SECRET_KEY": "x" * 32, "DATA_DIR": str(tmp_path)})
    client = create_app(config).test_client()
    base = system.web  # the callback URL registered at the provider
    start = client.get("/logga-in", base_url=base)
    to_idp = client.post("/logga-in", data={"csrf_token": csrf_of(start.get_data(as_text=True)),
                                            "next": "/mina-uppdrag"}, base_url=base)
    browser = requests.Session()
    chooser = browser.get(to_idp.headers["Location"], timeout=10)
    request_id = re.search(r'name="request" value="([^"]+)"', chooser.text)
    assert request_id is not None
    back = browser.post(system.idp + "/choose", data={"request": request_id.group(1), "sub": system.panel[0]},
                        allow_redirects=False, timeout=10)
    callback = urlparse(back.headers["Location"])
    landed = client.get(f"{callback.path}?{callback.query}", base_url=base)
    assert landed.status_code == 302 and landed.headers["Location"] == "/mina-uppdrag"
    assert client.get("/mina-uppdrag", base_url=base).status_code == 200
    later = time.time() + config.session_minutes * 60 + 5
    monkeypatch.setattr(signin.time, "time", lambda: later)
    expired = client.get("/mina-uppdrag", base_url=base)
    assert expired.status_code == 302 and expired.headers["Location"].startswith("/logga-in?next=/mina-uppdrag")


def _code_request(system: System, browser: requests.Session, address: str) -> tuple[str, str]:
    page = browser.get(system.web + "/logga-in", timeout=10).text
    chooser = browser.post(system.web + "/logga-in", data={"csrf_token": csrf_of(page), "next": "/mina-uppdrag"},
                           timeout=10)
    request_id = re.search(r'name="request" value="([^"]+)"', chooser.text)
    assert request_id is not None
    sent = browser.post(system.idp + "/code", data={"request": request_id.group(1), "address": address}, timeout=10)
    ticket = re.search(r"ticket=([^&\"]+)", sent.url)
    assert ticket is not None
    return request_id.group(1), ticket.group(1)


def _latest_code(system: System) -> str:
    outbox = requests.get(system.idp + "/outbox", timeout=10).text
    found = re.search(r'class="code">(\d{6})<', outbox)
    assert found is not None
    return found.group(1)


def test_one_time_code_signs_in_without_e_identification(system: System) -> None:
    name, _, phone = PEOPLE[4]
    browser = requests.Session()
    request_id, ticket = _code_request(system, browser, phone)
    landed = browser.post(system.idp + "/code/enter",
                          data={"request": request_id, "ticket": ticket, "code": _latest_code(system)}, timeout=10)
    assert landed.url == system.web + "/mina-uppdrag" and f"Inloggad som {name}" in landed.text


def test_one_time_code_cannot_be_guessed_within_its_rate_limit(system: System) -> None:
    _, email, _ = PEOPLE[3]
    browser = requests.Session()
    request_id, ticket = _code_request(system, browser, email)
    right = _latest_code(system)
    wrong = [f"{n:06d}" for n in range(6) if f"{n:06d}" != right][:5]
    for guess in wrong:
        r = browser.post(system.idp + "/code/enter", data={"request": request_id, "ticket": ticket, "code": guess},
                         timeout=10)
        assert r.status_code == 400 and r.url.startswith(system.idp)
    late = browser.post(system.idp + "/code/enter", data={"request": request_id, "ticket": ticket, "code": right},
                        timeout=10)
    assert late.status_code == 400 and "gäller inte längre" in late.text
    assert "Inloggad" not in late.text


def test_dashboards_sign_in_with_openid_connect_and_no_pasted_tokens(system: System) -> None:
    dashboards = system.url("dashboards", "")
    browser = requests.Session()
    start = browser.get(dashboards + "/departments/socialforvaltningen", timeout=10)
    assert start.url.startswith(system.idp + "/choose"), start.url  # straight to the identity provider
    request_id = re.search(r'name="request" value="([^"]+)"', start.text)
    assert request_id is not None
    landed = browser.post(system.idp + "/choose", data={"request": request_id.group(1),
                                                        "sub": "test-coordinator-soc"}, timeout=10)
    assert landed.url == dashboards + "/departments/socialforvaltningen" and landed.status_code == 200
    # Without the development flag a pasted or linked token signs nobody in.
    token = system.coordinator()
    stranger = requests.Session()
    linked = stranger.get(dashboards + "/login", params={"token": token}, allow_redirects=False, timeout=10)
    assert linked.status_code == 302 and linked.headers["Location"].startswith(system.idp + "/authorize")
    assert "delaktig_session" not in linked.cookies
    assert stranger.post(dashboards + "/login", data={"token": token}, timeout=10).status_code == 404


def test_invitation_answers_are_audited_like_every_other_event(system: System) -> None:
    """An answer goes on matching.events and the whole history still verifies and replays."""
    import subprocess
    import sys

    rid = system.recruitment
    panel = system.call("GET", "recruitments", f"/recruitments/{rid}", system.coordinator())["panel"]
    answered = 0
    for pid in panel:
        status = system.call("GET", "matching", f"/recruitments/{rid}/invitation", system.as_participant(pid))
        if status["status"] == "invited" and not answered:
            system.call("POST", "matching", f"/recruitments/{rid}/invitation/acceptance", system.as_participant(pid))
            answered += 1
    import json

    from shared.kafka import read_all

    def published() -> set[str]:
        records = read_all(system.settings, system.settings.topic("matching.events"))
        return {json.loads(r.value)["event_type"] for r in records}

    from tests.web.system import eventually

    assert "InvitationAccepted" in eventually(lambda: "InvitationAccepted" in published() and published())
    env = {**system.env, "KAFKA_BOOTSTRAP_SERVERS": system.settings.kafka_bootstrap}
    for command in (["audit", "verify"], ["audit", "replay"]):
        done = subprocess.run([sys.executable, "-m", "infra.cli", *command], env=env, capture_output=True,
                              text=True, timeout=240)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
