"""A small demo-like world for the security tests: all five services over real HTTP with their
workers, two departments, participants in one bank and in both, recruitments with a panel that
matching assigned, candidates, an honorarium paid through payroll.

Built through the public HTTP APIs (and the same consumer entry point the participants service
uses for accruals); afterwards the workers stop, so that every later change in a store comes from
the request under test."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml

from infra.cli import available_services, build_service
from shared.auth import mint_token
from shared.config import Settings

OWN = "socialforvaltningen"
OTHER = "arbetsmarknadsforvaltningen"
MATRIX = Path(__file__).resolve().parents[2] / "docs" / "authorization-matrix.yaml"
SCORECARD = [
    {"key": "motivation_user_participation", "label": "Motivation för brukardelaktighet"},
    {"key": "empathy", "label": "Empati och respekt"},
    {"key": "collaboration", "label": "Samarbete"},
]
WRITING_SERVICES = ("participants", "recruitments", "matching")


def load_matrix() -> dict[str, dict[str, dict[str, Any]]]:
    """``{service: {"METHOD /path": row}}`` from docs/authorization-matrix.yaml."""
    data: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(MATRIX.read_text(encoding="utf-8"))
    return data


def eventually(check: Callable[[], Any], timeout: float = 60.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"not reached in {timeout}s: {last!r}")


@dataclass(frozen=True)
class Caller:
    """One kind of caller: a role, and where it stands to the resource."""

    role: str
    kind: str  # own | other (department), subject | stranger (participant), any (administrator)

    @property
    def name(self) -> str:
        return f"{self.role}@{self.kind}"


CALLERS = [
    *(Caller(role, kind) for role in ("coordinator", "hiring_manager", "auditor", "researcher")
      for kind in ("own", "other")),
    Caller("administrator", "any"),
    Caller("participant", "subject"),
    Caller("participant", "stranger"),
]


@dataclass
class World:
    settings: Settings
    urls: dict[str, str]
    services: dict[str, Any]
    http: requests.Session
    ids: dict[str, str] = field(default_factory=dict)

    # -- tokens ------------------------------------------------------------------------------
    def token(self, sub: str, role: str, departments: tuple[str, ...] = ()) -> dict[str, str]:
        return {"Authorization": "Bearer " + mint_token(self.settings, sub=sub, roles=[role],
                                                        departments=departments)}

    def staff(self, role: str, kind: str) -> dict[str, str]:
        department = {"own": OWN, "other": OTHER}.get(kind)
        return self.token(f"{role}-{kind}", role, (department,) if department else ())

    @property
    def coord(self) -> dict[str, str]:
        return self.staff("coordinator", "own")

    @property
    def admin(self) -> dict[str, str]:
        return self.token("administrator-any", "administrator")

    def me(self, pid: str) -> dict[str, str]:
        return self.token(pid, "participant")

    def headers_for(self, caller: Caller, subject: str) -> dict[str, str]:
        if caller.role == "participant":
            return self.me(subject if caller.kind == "subject" else self.ids["stranger"])
        return self.staff(caller.role, caller.kind)

    # -- requests ----------------------------------------------------------------------------
    def ok(self, method: str, service: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        r = self.http.request(method, self.urls[service] + path, headers=headers, **kwargs)
        assert 200 <= r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json() if r.content and r.headers.get("Content-Type", "").startswith("application/json") else r

    def positions(self) -> tuple[int, ...]:
        """Where every writing service's event store stands (a refused write must not move it)."""
        return tuple(self.services[name].app.max_position() for name in WRITING_SERVICES)

    # -- building -----------------------------------------------------------------------------
    def register(self, departments: list[str], consent_to: list[str], ready: bool = True) -> str:
        n = len(self.ids)
        pid: str = self.ok("POST", "participants", "/participants", self.coord, json={
            "name": f"Deltagare {n}", "email": f"d{n}@example.se", "departments": departments,
            "department": OWN})["id"]
        me = self.me(pid)
        for department in consent_to:
            for purpose in ("recruitment", "matching"):
                self.ok("POST", "participants", f"/participants/{pid}/consents", me,
                        json={"purpose": purpose, "department": department})
        if ready:
            self.ok("POST", "participants", f"/participants/{pid}/confidentiality", me,
                    json={"signed_on": "2026-11-01", "text_version": "v3"})
            self.ok("POST", "participants", f"/participants/{pid}/training", self.admin,
                    json={"completed_on": "2026-11-02"})
            areas = self.areas[:2]
            self.ok("PUT", "participants", f"/participants/{pid}/profile", me, json={
                "experience_areas": areas, "shared_tags": areas, "languages": ["sv"]})
            self.ok("PUT", "participants", f"/participants/{pid}/availability", me,
                    json={"windows": [{"start": "2026-01-01", "end": "2028-12-31"}]})
        return pid

    def open_recruitment(self, department: str, headers: dict[str, str], manager: str) -> str:
        start = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
        end = (datetime.now(UTC).date() + timedelta(days=40)).isoformat()
        rid: str = self.ok("POST", "recruitments", "/recruitments", headers, json={
            "department": department, "unit": "ekonomiskt-bistand", "position": "Socialsekreterare",
            "hiring_manager": manager, "interview_format": "joint",
            "planned": {"interviews_from": start, "interviews_to": end},
            "scorecard": SCORECARD, "needs": {"experience_areas": self.areas[:2], "languages": ["sv"]}})["id"]
        return rid

    def build(self) -> None:
        self.areas = [a["code"] if isinstance(a, dict) else a for a in
                      self.ok("GET", "participants", "/vocabulary/experience-areas", self.coord)["areas"]]
        ids = self.ids
        ids["subject"] = self.register([OWN], [OWN])
        ids["stranger"] = self.register([OWN], [OWN])
        for i in range(5):
            ids[f"bank{i}"] = self.register([OWN], [OWN])
        ids["shared"] = self.register([OWN, OTHER], [OWN, OTHER], ready=False)
        ids["erase"] = self.register([OWN], [], ready=False)

        # Honoraria of the shared person in OWN: two accruals (as the consumer of
        # recruitments.events records them), terms accepted, one approved and paid.
        today = datetime.now(UTC).date().isoformat()
        participants = self.services["participants"].app
        for n in (1, 2):
            assert participants.accrue_from_activity(ids["shared"], "interview", f"r{n}", OWN, today,
                                                     {"id": "system", "role": "system"})
        refs = [f"recruitment:r{n}:interview:{ids['shared']}" for n in (1, 2)]
        ids["accrual1"], ids["accrual2"] = refs
        self.ok("POST", "participants", f"/participants/{ids['shared']}/payment-terms/answer",
                self.me(ids["shared"]), json={"text_version": "2026-1", "accept": True})
        self.ok("POST", "participants", f"/participants/{ids['shared']}/honoraria/approval", self.coord,
                json={"accrual_refs": [refs[0]]})
        ids["payroll_ref"] = "PR-" + uuid.uuid4().hex[:8]
        self.ok("POST", "participants", "/honoraria/payments", self.coord, json={
            "payroll_ref": ids["payroll_ref"], "participant_id": ids["shared"], "period": today[:7],
            "accrual_refs": [refs[0]]})

        # Recruitments: REC (OWN, hiring manager "hiring_manager-own"), REC3 (OWN, no panel yet)
        # and REC_OTHER (OTHER).
        ids["rec"] = self.open_recruitment(OWN, self.coord, "hiring_manager-own")
        ids["rec3"] = self.open_recruitment(OWN, self.coord, "hiring_manager-own")
        ids["rec_other"] = self.open_recruitment(OTHER, self.staff("coordinator", "other"), "hiring_manager-other")

        # Matching learns the bank and the recruitments from Kafka; the panel of REC is picked.
        def proposal(rid: str, headers: dict[str, str], size: int) -> Any:
            r = self.http.post(f"{self.urls['matching']}/recruitments/{rid}/proposals", headers=headers, json={})
            return r.json() if r.status_code == 201 and len(r.json()["members"]) >= size else None

        eventually(lambda: proposal(ids["rec"], self.coord, 3))
        eventually(lambda: proposal(ids["rec3"], self.coord, 3))
        eventually(lambda: self.http.post(f"{self.urls['matching']}/recruitments/{ids['rec_other']}/proposals",
                                          headers=self.staff("coordinator", "other"), json={}).status_code == 201)
        panel = [ids["subject"], ids["bank0"], ids["bank1"]]
        self.ok("POST", "matching", f"/recruitments/{ids['rec']}/panel", self.coord,
                json={"members": panel, "overrides": []})
        rec_url = f"{self.urls['recruitments']}/recruitments/{ids['rec']}"
        eventually(lambda: self.http.get(rec_url, headers=self.coord).json().get("panel") == panel)
        # The auditors see the recruitment's events on Kafka.
        eventually(lambda: self.http.get(f"{self.urls['audit']}/recruitments/{ids['rec']}/decision-record",
                                         headers=self.staff("auditor", "own")).status_code == 200)
        # A read of personal data in OWN reaches the auditors' access log.
        self.ok("GET", "participants", f"/participants/{ids['subject']}", self.coord,
                params={"purpose": "planning a panel"})
        eventually(lambda: self.http.get(f"{self.urls['audit']}/access-log", params={"subject_id": ids["subject"]},
                                         headers=self.staff("auditor", "own")).json()["items"])
        dashboards = self.services["dashboards"]
        eventually(lambda: self.http.get(f"{self.urls['dashboards']}/api/departments/{OWN}",
                                         headers=self.coord).status_code == 200)
        dashboards.catch_up()

    def ensure_candidates(self) -> tuple[str, str]:
        """The advert published and two applications (C1 with the panel's declarations)."""
        if "c1" not in self.ids:
            rid = self.ids["rec"]
            self.ok("POST", "recruitments", f"/recruitments/{rid}/advert/publish", self.coord,
                    json={"text": "Vi söker dig"})
            for name in ("c1", "c2"):
                self.ids[name] = self.ok("POST", "recruitments", f"/recruitments/{rid}/applications", self.coord,
                                         json={"ats_ref": f"varbi-{name}", "name": f"Kandidat {name}",
                                               "email": f"{name}@example.se"})["id"]
            for who in (self.me(self.ids["subject"]), self.staff("hiring_manager", "own"), self.coord, self.admin):
                self.ok("POST", "recruitments", f"/recruitments/{rid}/candidates/{self.ids['c1']}/conflicts",
                        who, json={"has_conflict": False})
        return self.ids["c1"], self.ids["c2"]

    def published(self) -> str:
        """REC with its advert published and in the public read model (the workers are stopped)."""
        self.ensure_candidates()
        recruitments = self.services["recruitments"]
        recruitments.relay().drain()
        recruitments.public_adverts().catch_up()
        return self.ids["rec"]


def start_world(settings: Settings, serve: Callable[[Any], str],
                http: requests.Session) -> tuple[World, Callable[[], None]]:
    """The running world, and a function that stops its workers (and later closes it)."""
    stop = threading.Event()
    services = {name: build_service(name, settings) for name in available_services()}
    urls = {name: serve(service.http()) for name, service in services.items()}
    threads = [threading.Thread(target=s.worker().run, args=(stop,), daemon=True) for s in services.values()]
    for t in threads:
        t.start()

    def stop_workers() -> None:
        stop.set()
        for t in threads:
            t.join(timeout=20)

    world = World(settings, urls, services, http)
    try:
        world.build()
    finally:
        stop_workers()
    return world, stop_workers
