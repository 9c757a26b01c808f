"""The whole system as ``make up`` runs it (real processes on free ports, demo off), and a small
world arranged through the services' public APIs with development tokens: five participants in
the bank, one recruitment with two applications and a panel of three assigned by matching."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from shared.auth import mint_token
from shared.config import Settings

SOC = "socialforvaltningen"
MANAGER = "test-manager-soc"
COORDINATOR = "test-coordinator-soc"
PEOPLE = [
    ("Anna Lindqvist", "anna.lindqvist@example.org", "070-100 00 01"),
    ("Mohammed Al-Sayed", "mohammed.alsayed@example.org", "070-100 00 02"),
    ("Kerstin Johansson", "kerstin.johansson@example.org", "070-100 00 03"),
    ("Jonas Eriksson", "jonas.eriksson@example.org", "070-100 00 04"),
    ("Leila Karimi", "leila.karimi@example.org", "070-100 00 05"),
]
SCORECARD = [
    {"key": "motivation_user_participation", "label": "Motivation att arbeta med brukarinflytande"},
    {"key": "bemotande", "label": "Bemötande och respekt"},
    {"key": "samarbete", "label": "Samarbetsförmåga"},
]


def eventually(check: Callable[[], Any], timeout: float = 45.0, every: float = 0.3) -> Any:
    """The first truthy answer of ``check`` within ``timeout`` (a Kafka hop takes a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(every)


@dataclass
class System:
    """One running ``delaktig up`` and what a test needs to reach it."""

    proc: subprocess.Popen[bytes]
    settings: Settings
    env: dict[str, str]
    web: str
    idp: str
    people_file: Path
    printed: str = ""  # what `delaktig up` printed when it was ready
    http: requests.Session = field(default_factory=requests.Session)
    participants: dict[str, str] = field(default_factory=dict)  # name -> id
    recruitment: str = ""
    candidates: list[str] = field(default_factory=list)
    panel: list[str] = field(default_factory=list)
    more_people: list[dict[str, Any]] = field(default_factory=list)  # signed in by later tests

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.settings.ports[service]}{path}"

    def token(self, sub: str, role: str, departments: tuple[str, ...] = ()) -> str:
        return mint_token(self.settings, sub=sub, roles=[role], departments=departments)

    def call(self, method: str, service: str, path: str, token: str, body: Any = None, **params: Any) -> Any:
        r = self.http.request(method, self.url(service, path), json=body, params=params or None,
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code < 300, f"{method} {path} -> {r.status_code} {r.text[:300]}"
        return r.json() if r.content else None

    def honoraria_listed(self, pid: str, department: str, period: str) -> dict[str, Any] | None:
        """The person's row of the department's honoraria read model for ``period`` (every page)."""
        cursor = None
        while True:
            page = self.call("GET", "participants", "/honoraria", self.coordinator(), department=department,
                             period=period, limit=200, **({"cursor": cursor} if cursor else {}))
            found = next((p for p in page["items"] if p["participant_id"] == pid), None)
            if found is not None or page["next_cursor"] is None:
                return found
            cursor = page["next_cursor"]

    def admin(self) -> str:
        return self.token("test-admin", "administrator")

    def coordinator(self, department: str = SOC) -> str:
        sub = COORDINATOR if department == SOC else f"test-coordinator-{department}"
        return self.token(sub, "coordinator", (department,))

    def manager(self) -> str:
        return self.token(MANAGER, "hiring_manager", (SOC,))

    def as_participant(self, pid: str) -> str:
        return self.token(pid, "participant")

    def name_of(self, pid: str) -> str:
        return next(name for name, p in self.participants.items() if p == pid)

    # -- the world ----------------------------------------------------------------------
    def arrange(self) -> None:
        """Register the people, open a recruitment with applications and assign a panel of three."""
        self.department_settings(SOC, max_engagements=4)
        for name, email, phone in PEOPLE:
            self.participants[name] = self.ready_participant(name, email, phone, SOC)
        self.write_people()
        self.recruitment = self.open_recruitment(SOC, "Socialsekreterare, ekonomiskt bistånd", panel_size=3)
        base = f"/recruitments/{self.recruitment}"
        self.call("POST", "recruitments", base + "/advert/publish", self.coordinator(),
                  {"text": "Vi söker en socialsekreterare. Brukare sitter med vid intervjuerna."})
        for i, candidate in enumerate(("Emma Sundberg", "Ali Haddad")):
            made = self.call("POST", "recruitments", base + "/applications", self.coordinator(),
                             {"ats_ref": f"ATS-{i}", "name": candidate, "email": f"c{i}@example.net"})
            self.candidates.append(made["id"])
        self.panel = self.assign_panel(SOC, self.recruitment, 3)

    def department_settings(self, department: str, max_engagements: int) -> None:
        today = datetime.now(UTC).date()
        body = {"participation_limit": {"max_engagements": max_engagements, "period_days": 365},
                "rates": {"hour_ore": 15000, "half_day_ore": 60000, "full_day_ore": 110000,
                          "valid_from": f"{today.year}-01-01"},
                "retention": {"inactive_profile_months": 24}, "budget_ore_per_month": 2500000}
        eventually(lambda: self.http.put(self.url("participants", f"/departments/{department}/settings"), json=body,
                                         headers={"Authorization": f"Bearer {self.admin()}"}, timeout=10).ok)

    def ready_participant(self, name: str, email: str, phone: str, department: str) -> str:
        """A person in the bank of ``department`` whom matching may propose: consents, profile,
        undertaking signed, training done, available for 90 days, payment terms accepted."""
        today = datetime.now(UTC).date()
        coordinator = self.coordinator(department)
        pid: str = self.call("POST", "participants", "/participants", coordinator,
                             {"name": name, "email": email, "phone": phone, "departments": [department]})["id"]
        me, base = self.as_participant(pid), f"/participants/{pid}"
        for purpose in ("recruitment", "matching"):
            self.call("POST", "participants", base + "/consents", me, {"purpose": purpose, "department": department})
        self.call("PUT", "participants", base + "/profile", me,
                  {"experience_areas": ["economic_assistance"], "shared_tags": ["economic_assistance"],
                   "languages": ["sv"]})
        # Matching proposes only people who are ready: undertaking signed and training done.
        self.call("POST", "participants", base + "/confidentiality", me,
                  {"signed_on": (today - timedelta(days=30)).isoformat(), "text_version": "2026-1"})
        self.call("POST", "participants", base + "/training", coordinator,
                  {"completed_on": (today - timedelta(days=7)).isoformat()})
        self.call("PUT", "participants", base + "/availability", me,
                  {"windows": [{"start": today.isoformat(), "end": (today + timedelta(days=90)).isoformat()}]})
        terms = self.call("GET", "participants", base + "/payment-terms", me)
        self.call("POST", "participants", base + "/payment-terms/answer", me,
                  {"text_version": terms["text_version"], "accept": True, "reason": None})
        return pid

    def open_recruitment(self, department: str, position: str, panel_size: int, in_days: int = 14) -> str:
        today = datetime.now(UTC).date()
        coordinator = self.coordinator(department)
        body = {"department": department, "unit": "ekonomiskt-bistand", "position": position,
                "hiring_manager": MANAGER, "interview_format": "joint",
                "planned": {"interviews_from": (today + timedelta(days=in_days)).isoformat(),
                            "interviews_to": (today + timedelta(days=in_days + 2)).isoformat()},
                "scorecard": SCORECARD, "needs": {"experience_areas": ["economic_assistance"], "languages": ["sv"],
                                                  "panel_size": panel_size}}
        rid: str = self.call("POST", "recruitments", "/recruitments", coordinator, body)["id"]
        return rid

    def assign_panel(self, department: str, rid: str, size: int) -> list[str]:
        """Matching's proposal of ``size`` people, confirmed; returns once recruitments and every
        member's own list of recruitments show the panel."""
        coordinator = self.coordinator(department)
        base = f"/recruitments/{rid}"

        def proposal() -> Any:
            r = self.http.post(self.url("matching", base + "/proposals"), json={},
                               headers={"Authorization": f"Bearer {coordinator}"}, timeout=10)
            return r.json() if r.status_code == 201 and len(r.json()["members"]) == size else None

        proposed = eventually(proposal, timeout=90)  # matching learns the bank over Kafka; slow when busy
        members: list[str] = self.call("POST", "matching", base + "/panel", coordinator,
                                       {"proposal_id": proposed["proposal_id"]})["members"]
        eventually(lambda: self.call("GET", "recruitments", base, coordinator)["panel"] == members, timeout=90)
        # The assignments page reads each member's list from the recruitments list's read model,
        # which follows the same events a moment later: wait until every member's list has it.
        def listed(pid: str) -> bool:
            return rid in {item["id"] for item in
                           self.call("GET", "recruitments", "/recruitments", self.as_participant(pid))["items"]}

        for pid in members:
            eventually(partial(listed, pid), timeout=90)
        return members

    def write_people(self) -> None:
        """What the development identity provider vouches for (it reads this file on each request)."""
        people = [{"sub": self.participants[name], "name": name, "roles": ["participant"], "email": email,
                   "phone": phone} for name, email, phone in PEOPLE]
        people.append({"sub": COORDINATOR, "name": "Samordnare Soc", "roles": ["coordinator"], "departments": [SOC]})
        people += self.more_people
        self.people_file.write_text(json.dumps(people))


def sign_in(system: System, sub: str) -> requests.Session:
    """A browser-less sign-in through the development identity provider (for the negative tests)."""
    s = requests.Session()
    page = s.get(system.web + "/logga-in").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    chooser = s.post(system.web + "/logga-in", data={"csrf_token": csrf.group(1), "next": "/mina-uppdrag"})
    assert chooser.url.startswith(system.idp + "/choose"), chooser.url
    request_id = re.search(r'name="request" value="([^"]+)"', chooser.text)
    assert request_id is not None
    landed = s.post(urljoin(system.idp, "/choose"), data={"request": request_id.group(1), "sub": sub})
    assert landed.url.startswith(system.web), landed.url
    return s


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)
