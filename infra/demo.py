"""The demo ``make up`` loads: a realistic brukarbank and recruitments, through the public HTTP APIs.

Nothing is written to a database directly: every step is a request to a service, with a
deterministic ``Idempotency-Key`` on POSTs, fixed token subjects and deterministic bodies, so a
repeat replays instead of duplicating. Progress is kept in ``DATA_DIR/demo-loaded.json`` (step
names and the ids created, no personal data); a complete demo is not loaded again. Cross-service
effects travel over Kafka, so steps that depend on them poll with a bounded timeout. A failing step
is reported on stderr and the rest continues.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import requests

from shared.auth import mint_token
from shared.config import Settings

SOC = "socialforvaltningen"
ARB = "arbetsmarknadsforvaltningen"
SKOL = "skol-och-fritidsforvaltningen"
DEPARTMENTS = (SOC, ARB, SKOL)
SHORT = {SOC: "soc", ARB: "arb", SKOL: "skol"}
ADMIN = "demo-administrator"
MOTIVATION = "motivation_user_participation"
WAIT_SECONDS = 30.0

SETTINGS = {
    SOC: {"participation_limit": {"max_engagements": 4, "period_days": 365},
          "rates": {"hour_ore": 15000, "half_day_ore": 60000, "full_day_ore": 110000},
          "retention": {"inactive_profile_months": 24}, "budget_ore_per_month": 2500000},
    ARB: {"participation_limit": {"max_engagements": 3, "period_days": 365},
          "rates": {"hour_ore": 14000, "half_day_ore": 55000, "full_day_ore": 100000},
          "retention": {"inactive_profile_months": 24}, "budget_ore_per_month": 1500000},
    SKOL: {"participation_limit": {"max_engagements": 4, "period_days": 365},
           "rates": {"hour_ore": 15000, "half_day_ore": 60000, "full_day_ore": 110000},
           "retention": {"inactive_profile_months": 18}, "budget_ore_per_month": 1000000},
}

# (name, departments, experience areas, languages, preferred language)
PEOPLE: list[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = [
    ("Anna Lindqvist", (SOC,), ("economic_assistance", "mental_ill_health"), ("sv", "en"), "sv"),
    ("Mohammed Al-Sayed", (SOC, ARB), ("economic_assistance", "unemployment_and_establishment"), ("ar", "sv"), "ar"),
    ("Kerstin Johansson", (SOC,), ("substance_use_and_addiction",), ("sv",), "sv"),
    ("Jonas Eriksson", (SOC,), ("homelessness", "substance_use_and_addiction"), ("sv", "en"), "sv"),
    ("Leila Karimi", (SOC,), ("violence_in_close_relationships",), ("fa", "sv"), "sv"),
    ("Pekka Virtanen", (SOC,), ("mental_ill_health",), ("fi", "sv"), "fi"),
    ("Sara Nilsson", (SOC, SKOL), ("children_and_youth_placements", "school_and_leisure"), ("sv",), "sv"),
    ("Ahmed Hassan", (SOC,), ("homelessness",), ("so", "sv", "en"), "sv"),
    ("Birgitta Holm", (SOC,), ("disability_support", "economic_assistance"), ("sv",), "sv"),
    ("Erik Lundgren", (SOC,), ("substance_use_and_addiction", "mental_ill_health"), ("sv",), "sv"),
    ("Fatima Yusuf", (SOC,), ("violence_in_close_relationships", "economic_assistance"), ("so", "sv"), "sv"),
    ("Goran Petrovic", (ARB,), ("unemployment_and_establishment",), ("sr", "sv"), "sv"),
    ("Hanna Berg", (ARB,), ("unemployment_and_establishment", "mental_ill_health"), ("sv", "en"), "sv"),
    ("Ibrahim Diallo", (ARB,), ("unemployment_and_establishment",), ("fr", "sv"), "sv"),
    ("Johanna Sjöberg", (ARB,), ("economic_assistance",), ("sv",), "sv"),
    ("Karin Axelsson", (ARB,), ("disability_support", "unemployment_and_establishment"), ("sv",), "sv"),
    ("Lars Gustafsson", (ARB,), ("substance_use_and_addiction", "unemployment_and_establishment"), ("sv",), "sv"),
    ("Maria Andersson", (ARB, SOC), ("economic_assistance",), ("sv", "es"), "sv"),
    ("Nour Khalil", (ARB,), ("unemployment_and_establishment",), ("ar", "en"), "ar"),
    ("Oskar Wikström", (ARB,), ("mental_ill_health",), ("sv",), "sv"),
    ("Amina Osman", (SKOL,), ("school_and_leisure", "children_and_youth_placements"), ("so", "sv"), "sv"),
    ("Bengt Karlsson", (SKOL,), ("school_and_leisure",), ("sv",), "sv"),
    ("Cecilia Ek", (SKOL,), ("disability_support", "school_and_leisure"), ("sv", "en"), "sv"),
    ("Daniel Öberg", (SKOL,), ("children_and_youth_placements",), ("sv",), "sv"),
    ("Elif Demir", (SKOL,), ("school_and_leisure",), ("tr", "sv"), "sv"),
    ("Filip Persson", (SKOL,), ("mental_ill_health", "school_and_leisure"), ("sv",), "sv"),
    ("Greta Åberg", (SKOL,), ("disability_support",), ("sv",), "sv"),
    ("Hamid Rahimi", (SKOL, ARB), ("school_and_leisure", "unemployment_and_establishment"), ("fa", "sv"), "sv"),
    ("Ingrid Larsson", (SKOL,), ("children_and_youth_placements", "violence_in_close_relationships"), ("sv",), "sv"),
    ("Jelena Kovač", (SKOL,), ("school_and_leisure",), ("hr", "sv"), "sv"),
    ("Tove Strand", (SOC,), ("mental_ill_health",), ("sv",), "sv"),
]
NOT_READY = {4, 15, 26}  # no introduction training yet
PAUSED = {9}
DECLINES_PAYMENT = {13}
ERASED = 30  # Tove Strand asks to be erased

# (key, department, unit, position, the stage the demo takes it to)
RECRUITMENTS = [
    ("soc-1", SOC, "ekonomiskt-bistand", "Socialsekreterare, ekonomiskt bistånd", "hired"),
    ("soc-2", SOC, "beroendeenheten", "Behandlare, beroendevård", "interviewed"),
    ("soc-3", SOC, "barn-och-unga", "Socialsekreterare, barn och unga", "applications"),
    ("soc-4", SOC, "boendestod", "Boendestödjare", "drafting"),
    ("arb-1", ARB, "jobbtorget", "Arbetsmarknadskonsulent", "hired"),
    ("arb-2", ARB, "etablering", "Studie- och yrkesvägledare", "panel"),
    ("arb-3", ARB, "daglig-verksamhet", "Handledare, daglig verksamhet", "applications"),
    ("skol-1", SKOL, "fritidsgardar", "Fritidsledare", "decided"),
    ("skol-2", SKOL, "elevhalsan", "Skolkurator", "panel"),
    ("skol-3", SKOL, "grundskola-norr", "Elevassistent", "drafting"),
]
STAGES = ("drafting", "applications", "panel", "interviewed", "decided", "hired")
CANDIDATES = ["Emma Sundberg", "Ali Haddad", "Linnea Forsberg", "Viktor Holmström", "Sofia Nyström"]


def reached(stage: str, wanted: str) -> bool:
    return STAGES.index(stage) >= STAGES.index(wanted)


def warn(step: str, error: object) -> None:
    print(f"demo: step {step!r} skipped: {error}", file=sys.stderr, flush=True)


class DemoError(RuntimeError):
    """A request in the demo did not give the expected answer."""


class Api:
    """Requests to the services with development tokens; tolerant of Kafka's delay."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = requests.Session()
        self.tokens: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}

    def token(self, sub: str, roles: tuple[str, ...], departments: tuple[str, ...] = ()) -> str:
        key = (sub, roles, departments)
        if key not in self.tokens:
            self.tokens[key] = mint_token(self.settings, sub=sub, roles=roles, departments=departments)
        return self.tokens[key]

    def admin(self) -> str:
        return self.token(ADMIN, ("administrator",))

    def coordinator(self, department: str) -> str:
        return self.token(f"demo-coordinator-{SHORT[department]}", ("coordinator",), (department,))

    def manager(self, key: str, department: str) -> str:
        return self.token(f"demo-manager-{key}", ("hiring_manager",), (department,))

    def participant(self, pid: str) -> str:
        return self.token(pid, ("participant",))

    def call(self, method: str, service: str, path: str, token: str, body: Any = None, *,
             key: str | None = None, params: dict[str, Any] | None = None, wait: float = 0.0,
             done_if_conflict: bool = False) -> Any:
        """One request; retried on 404/409 for ``wait`` seconds (a Kafka hop not there yet)."""
        url = f"http://127.0.0.1:{self.settings.ports[service]}{path}"
        headers = {"Authorization": f"Bearer {token}"}
        if key:
            headers["Idempotency-Key"] = f"demo:{key}"
        deadline = time.monotonic() + wait
        while True:
            r = self.http.request(method, url, json=body, params=params, headers=headers, timeout=30)
            if r.status_code < 300:
                if r.headers.get("Content-Type", "").startswith("application/json"):
                    return r.json()
                return r.text
            if r.status_code == 409 and done_if_conflict:
                return None
            if r.status_code in (404, 409) and time.monotonic() < deadline:
                time.sleep(0.3)
                continue
            raise DemoError(f"{method} {path} -> {r.status_code} {r.text[:200]}")


class Demo:
    """Loads the demo step by step, recording progress in ``demo-loaded.json``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api = Api(settings)
        self.path = Path(settings.data_dir) / "demo-loaded.json"
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.state.setdefault("anchor", datetime.now(UTC).date().isoformat())
        self.state.setdefault("done", [])
        self.state.setdefault("participants", {})
        self.state.setdefault("recruitments", {})
        self.state.setdefault("candidates", {})
        self.state.setdefault("panels", {})
        self.state.setdefault("paid", [])
        self.anchor = date.fromisoformat(self.state["anchor"])
        self.warnings = 0

    # -- bookkeeping -------------------------------------------------------------------
    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True))
        tmp.replace(self.path)

    def step(self, name: str, work: Callable[[], Any]) -> bool:
        """Run ``work`` once: skipped when done before, warned about (not raised) when it fails."""
        if name in self.state["done"]:
            return True
        try:
            work()
        except Exception as error:
            if "has been erased" in str(error):  # a repeat after the demo's own erasure
                self.state["done"].append(name)
                self.save()
                return True
            self.warnings += 1
            warn(name, error)
            return False
        self.state["done"].append(name)
        self.save()
        return True

    def day(self, offset: int) -> str:
        return (self.anchor + timedelta(days=offset)).isoformat()

    def pid(self, index: int) -> str | None:
        return self.state["participants"].get(str(index))

    # -- loading ----------------------------------------------------------------------
    def already_loaded(self) -> bool:
        if not self.state.get("complete"):
            return False
        try:
            listed = self.api.call("GET", "participants", "/participants", self.api.admin(),
                                   params={"department": SOC, "limit": 1})
        except (requests.RequestException, DemoError):
            return False
        return bool(listed["items"])

    def load(self) -> str:
        if self.already_loaded():
            return "Demo already loaded (" + self.summary() + ")."
        for department in DEPARTMENTS:
            self.step(f"settings:{department}", partial(self.department_settings, department))
        self.step("history", self.history)
        for index in range(len(PEOPLE)):
            self.participant(index)
        for spec in RECRUITMENTS:
            self.open_and_advertise(spec)
        self.wait_for_matching()
        for spec in RECRUITMENTS:
            if reached(spec[4], "panel"):
                self.step(f"panel:{spec[0]}", partial(self.panel, spec))
        for spec in RECRUITMENTS:
            if reached(spec[4], "interviewed"):
                self.step(f"interviews:{spec[0]}", partial(self.interviews, spec))
        for spec in RECRUITMENTS:
            if reached(spec[4], "decided"):
                self.step(f"decision:{spec[0]}", partial(self.decision, spec))
            if reached(spec[4], "hired"):
                self.step(f"hire:{spec[0]}", partial(self.complete_hire, spec))
        for spec in RECRUITMENTS:
            if reached(spec[4], "hired"):
                self.step(f"honoraria:{spec[0]}", partial(self.honoraria, spec))
        self.step("erasure", self.erasure)
        self.state["complete"] = True
        self.save()
        return "Demo loaded (" + self.summary() + (f"; {self.warnings} step(s) skipped, see stderr" if
                                                    self.warnings else "") + ")."

    def summary(self) -> str:
        s = self.state
        hires = sum(1 for name in s["done"] if name.startswith("decision:"))
        return (f"{s.get('history', 0)} past recruitments imported, "
                f"{len(s['participants'])} participants, {len(s['recruitments'])} recruitments in "
                f"{len({r['department'] for r in s['recruitments'].values()})} departments, {hires} hiring "
                f"decisions, {len(s['paid'])} honorarium payments, {1 if 'erasure' in s['done'] else 0} erasure")

    # -- departments -----------------------------------------------------------------------
    def department_settings(self, department: str) -> None:
        body = json.loads(json.dumps(SETTINGS[department]))
        body["rates"]["valid_from"] = f"{self.anchor.year}-01-01"
        self.api.call("PUT", "participants", f"/departments/{department}/settings", self.api.admin(), body,
                      wait=10)

    # -- participants ------------------------------------------------------------------------
    def participant(self, index: int) -> None:
        name, departments, areas, languages, preferred = PEOPLE[index]
        home = departments[0]
        coordinator = self.api.coordinator(home)
        first, last = name.split(" ", 1)
        mail = (f"{first}.{last}".lower().replace(" ", "").replace("å", "a").replace("ä", "a")
                .replace("ö", "o").replace("č", "c"))

        def register() -> None:
            body = {"name": name, "email": f"{mail}@example.org", "phone": f"070-{index:03d} 12 34",
                    "preferred_language": preferred, "departments": list(departments)}
            created = self.api.call("POST", "participants", "/participants", coordinator, body,
                                    key=f"participant:{index}", wait=10)
            self.state["participants"][str(index)] = created["id"]

        if not self.step(f"register:{index}", register):
            return
        pid = self.pid(index)
        assert pid is not None
        me = self.api.participant(pid)
        base = f"/participants/{pid}"

        def consents() -> None:
            purposes = ["recruitment", "matching"] + (["research"] if index % 3 == 0 else [])
            for department in departments:
                for purpose in purposes:
                    self.api.call("POST", "participants", base + "/consents", me,
                                  {"purpose": purpose, "department": department})

        def profile() -> None:
            body = {"experience_areas": list(areas), "shared_tags": list(areas), "languages": list(languages),
                    "accessibility": "Hörslinga behövs vid intervjuer" if index % 7 == 2 else None,
                    "excluded_units": ["beroendeenheten"] if index == 3 else []}
            self.api.call("PUT", "participants", base + "/profile", me, body)

        def readiness() -> None:
            self.api.call("POST", "participants", base + "/confidentiality", me,
                          {"signed_on": self.day(-20), "text_version": "2026-1"})
            if index not in NOT_READY:
                self.api.call("POST", "participants", base + "/training", coordinator,
                              {"completed_on": self.day(-14)})

        def availability() -> None:
            windows = [{"start": self.day(-30), "end": self.day(150)}]
            if index % 5 == 4:
                windows = [{"start": self.day(-30), "end": self.day(2)}, {"start": self.day(60), "end": self.day(150)}]
            self.api.call("PUT", "participants", base + "/availability", me, {"windows": windows})
            if index in PAUSED:
                self.api.call("PUT", "participants", base + "/contact-status", me, {"status": "paused"})

        def payment_terms() -> None:
            terms = self.api.call("GET", "participants", base + "/payment-terms", me)
            accept = index not in DECLINES_PAYMENT
            self.api.call("POST", "participants", base + "/payment-terms/answer", me,
                          {"text_version": terms["text_version"], "accept": accept,
                           "reason": None if accept else "Påverkar mitt försörjningsstöd"})

        self.step(f"consents:{index}", consents)
        self.step(f"profile:{index}", profile)
        self.step(f"readiness:{index}", readiness)
        self.step(f"availability:{index}", availability)
        self.step(f"payment-terms:{index}", payment_terms)

    # -- recruitments ----------------------------------------------------------------------
    def rid(self, key: str) -> str | None:
        found = self.state["recruitments"].get(key)
        return found["id"] if found else None

    def open_and_advertise(self, spec: tuple[str, str, str, str, str]) -> None:
        key, department, unit, position, stage = spec
        coordinator = self.api.coordinator(department)
        n = int(key.rsplit("-", 1)[1])

        def open_it() -> None:
            areas = sorted({a for _, deps, person_areas, _, _ in PEOPLE if department in deps for a in person_areas})
            body = {
                "department": department, "unit": unit, "position": position,
                "hiring_manager": f"demo-manager-{key}", "interview_format": "joint" if n % 2 else "split",
                "planned": {"advert_on": self.day(-10 + n), "interviews_from": self.day(20 + n),
                            "interviews_to": self.day(24 + n), "decision_by": self.day(35 + n)},
                "scorecard": [
                    {"key": MOTIVATION, "label": "Motivation att arbeta med brukarinflytande"},
                    {"key": "bemotande", "label": "Bemötande och respekt"},
                    {"key": "samarbete", "label": "Samarbetsförmåga"},
                    {"key": "yrkeskunnande", "label": "Yrkeskunnande"},
                ],
                "needs": {"experience_areas": areas[n % len(areas):][:2] or areas[:2], "languages": ["sv"],
                          "panel_size": 3 if reached(stage, "interviewed") else 2},
            }
            created = self.api.call("POST", "recruitments", "/recruitments", coordinator, body,
                                    key=f"recruitment:{key}")
            self.state["recruitments"][key] = {"id": created["id"], "department": department}

        if not self.step(f"open:{key}", open_it):
            return
        rid = self.rid(key)
        base = f"/recruitments/{rid}"

        def job_description() -> None:
            view = self.api.call("GET", "recruitments", base, coordinator)
            if view.get("job_description"):
                return
            for text in (f"{position}: arbetet sker nära brukarna och deras nätverk.",
                         "Vi söker dig som lyssnar, är tydlig och ser personen bakom ärendet."):
                self.api.call("POST", "recruitments", base + "/job-description/contributions", coordinator,
                              {"text": text})

        self.step(f"job-description:{key}", job_description)
        if not reached(stage, "applications"):
            return

        def advert() -> None:
            view = self.api.call("GET", "recruitments", base, coordinator)
            if view.get("advert_version"):
                return
            self.api.call("POST", "recruitments", base + "/advert/publish", coordinator,
                          {"text": f"Vi söker {position.lower()}. Brukare med egen erfarenhet deltar i "
                                   "rekryteringen och sitter med vid intervjuerna.",
                           "participation_text": "Brukare läser ansökningarna och intervjuar tillsammans med "
                                                 "chefen. I jobbet planerar du insatserna tillsammans med den "
                                                 "du möter, och brukarrådet följer upp arbetet."})

        def applications() -> None:
            ids = []
            for i, candidate in enumerate(CANDIDATES[: 3 + n % 2]):
                mail = candidate.split()[0].lower()
                created = self.api.call("POST", "recruitments", base + "/applications", coordinator,
                                        {"ats_ref": f"ATS-{key}-{i + 1}", "name": candidate,
                                         "email": f"{mail}.{key}@example.net"},
                                        key=f"application:{key}:{i}", done_if_conflict=True)
                if created:
                    ids.append(created["id"])
            if not ids:
                listed = self.api.call("GET", "recruitments", base + "/candidates", coordinator)
                ids = [c["id"] for c in listed["items"]]
            self.state["candidates"][key] = ids

        self.step(f"advert:{key}", advert)
        self.step(f"applications:{key}", applications)

    def wait_for_matching(self) -> None:
        """Until matching knows every recruitment that needs a panel and the ready participants."""
        deadline = time.monotonic() + WAIT_SECONDS
        for key, department, *_rest in [s for s in RECRUITMENTS if reached(s[4], "panel")]:
            rid = self.rid(key)
            if rid is None or f"panel:{key}" in self.state["done"]:
                continue
            wanted = [self.pid(i) for i, p in enumerate(PEOPLE) if p[1][0] == department
                      and i not in NOT_READY | PAUSED and i != ERASED and self.pid(i)]
            token = self.api.coordinator(department)
            while wanted and time.monotonic() < deadline:
                try:
                    found = self.api.call("GET", "matching", f"/recruitments/{rid}/candidates/{wanted[0]}/explanation",
                                          token)
                except DemoError:
                    time.sleep(0.3)
                    continue
                if found.get("eligible") or not any(e["rule"] in ("consent_department", "consent_matching",
                                                                   "readiness") for e in found["excluded_by"]):
                    wanted.pop(0)
                else:
                    time.sleep(0.3)

    def panel(self, spec: tuple[str, str, str, str, str]) -> None:
        key, department = spec[0], spec[1]
        rid = self.rid(key)
        if rid is None:
            raise DemoError("the recruitment was not opened")
        token = self.api.coordinator(department)
        proposal = self.api.call("POST", "matching", f"/recruitments/{rid}/proposals", token, {},
                                 key=f"proposal:{key}", wait=WAIT_SECONDS)
        if not proposal["members"]:
            raise DemoError(f"matching proposed nobody: {proposal.get('empty_reason')}")
        assigned = self.api.call("POST", "matching", f"/recruitments/{rid}/panel", token,
                                 {"proposal_id": proposal["proposal_id"]}, key=f"assignment:{key}")
        self.state["panels"][key] = assigned["members"]
        if reached(spec[4], "interviewed"):  # these panels met: their members took the seat (the web app's invitations)
            for pid in assigned["members"]:
                self.api.call("POST", "matching", f"/recruitments/{rid}/invitation/acceptance",
                              self.api.participant(pid), key=f"accept:{key}:{pid}", done_if_conflict=True)

    # -- interviews and decisions ----------------------------------------------------------
    def panel_known(self, key: str, department: str) -> list[str]:
        """Wait until recruitments has learnt the panel from matching.events."""
        rid = self.rid(key)
        token = self.api.coordinator(department)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            view = self.api.call("GET", "recruitments", f"/recruitments/{rid}", token)
            if view.get("panel"):
                return list(view["panel"])
            if time.monotonic() > deadline:
                raise DemoError("recruitments did not learn the panel in time")
            time.sleep(0.3)

    def interviews(self, spec: tuple[str, str, str, str, str]) -> None:
        key, department = spec[0], spec[1]
        rid = self.rid(key)
        panel = self.panel_known(key, department)
        candidates = self.state["candidates"].get(key, [])
        if len(candidates) < 2:
            raise DemoError("no applications to interview")
        base = f"/recruitments/{rid}/candidates"
        manager = self.api.manager(key, department)
        members = [(pid, self.api.participant(pid)) for pid in panel] + [(f"demo-manager-{key}", manager)]
        for i, cid in enumerate(candidates[:2]):
            for j, (member, token) in enumerate(members):
                if member != f"demo-manager-{key}":
                    self.api.call("POST", "recruitments", f"{base}/{cid}/assessments", token,
                                  {"shortlist": "yes", "motivation": "Relevant erfarenhet, gott bemötande i brevet."},
                                  done_if_conflict=True)
                self.api.call("POST", "recruitments", f"{base}/{cid}/conflicts", token, {"has_conflict": False},
                              done_if_conflict=True)
                good = i == 0
                scores = {MOTIVATION: 5 if good else 3, "bemotande": 4 + (j % 2) if good else 3,
                          "samarbete": 4 if good else 2 + (j % 2), "yrkeskunnande": 4 if good else 3}
                self.api.call("POST", "recruitments", f"{base}/{cid}/scores", token,
                              {"scores": scores, "recommendation": "hire" if good else "maybe" if j % 2 else "no_hire",
                               "comment": "Lyssnade på riktigt och frågade om våra erfarenheter." if good else None},
                              done_if_conflict=True)

    def decision(self, spec: tuple[str, str, str, str, str]) -> None:
        key, department = spec[0], spec[1]
        rid = self.rid(key)
        cid = self.state["candidates"][key][0]
        self.api.call("POST", "recruitments", f"/recruitments/{rid}/decision", self.api.manager(key, department),
                      {"candidate_id": cid, "motivation": "Panelen var enig; starkast i bemötande och motivation "
                                                          "för brukarinflytande."},
                      done_if_conflict=True)

    def complete_hire(self, spec: tuple[str, str, str, str, str]) -> None:
        key, department = spec[0], spec[1]
        rid = self.rid(key)
        base = f"/recruitments/{rid}"
        coordinator = self.api.coordinator(department)
        manager = self.api.manager(key, department)
        self.api.call("POST", "recruitments", base + "/outcome/share", coordinator, done_if_conflict=True)
        self.api.call("POST", "recruitments", base + "/feedback/manager", manager,
                      {"rating": 5, "text": "Brukarnas frågor visade hur kandidaterna bemöter människor."},
                      done_if_conflict=True)
        for n, pid in enumerate(self.panel_known(key, department)):
            self.api.call("POST", "recruitments", base + "/feedback/participant", self.api.participant(pid),
                          {"rating": 4 + n % 2, "text": "Jag blev lyssnad på och fick veta hur det gick."},
                          done_if_conflict=True)
        self.api.call("POST", "recruitments", base + "/close", coordinator, {"outcome": "filled"},
                      done_if_conflict=True)
        self.api.call("POST", "recruitments", base + "/follow-ups", coordinator,
                      {"months": 6, "still_employed": True, "motivation_rating": 5}, done_if_conflict=True)

    # -- honoraria ---------------------------------------------------------------------------
    def honoraria(self, spec: tuple[str, str, str, str, str]) -> None:
        key, department = spec[0], spec[1]
        rid = self.rid(key)
        coordinator = self.api.coordinator(department)
        period = self.anchor.strftime("%Y-%m")
        refs_by_pid: dict[str, list[str]] = {}
        for pid in self.panel_known(key, department):
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                ledger = self.api.call("GET", "participants", f"/participants/{pid}/honoraria", coordinator,
                                       params={"year": datetime.now(UTC).year})
                mine = [a for a in ledger["accruals"] if a["recruitment_id"] == rid]
                if any(a["activity_type"] == "interview" for a in mine) or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            for payment in ledger.get("payments", []):
                if set(payment["accrual_refs"]) & {a["activity_ref"] for a in mine}:
                    if payment["payroll_ref"] not in self.state["paid"]:
                        self.state["paid"].append(payment["payroll_ref"])
            if ledger.get("payment_declined") or not mine:
                continue
            mine = self._approve_all(pid, rid, coordinator, mine)
            refs_by_pid[pid] = [a["activity_ref"] for a in mine if a.get("approved") and not a.get("payroll_ref")]
        if not refs_by_pid:
            raise DemoError("no honoraria accrued for the panel")
        unpaid = any(refs_by_pid.values())
        deadline = time.monotonic() + 10
        while unpaid and time.monotonic() < deadline:  # payroll reads the export, then confirms
            export = self.api.call("GET", "participants", "/honoraria/payroll-export", coordinator,
                                   params={"department": department, "period": period})
            if len(str(export).strip().splitlines()) > 1:
                break
            time.sleep(0.3)
        for pid, refs in refs_by_pid.items():
            if not refs:
                continue
            payroll_ref = f"LON-{period}-{key}-{pid[:8]}"
            self.api.call("POST", "participants", "/honoraria/payments", coordinator,
                          {"payroll_ref": payroll_ref, "participant_id": pid, "period": period,
                           "accrual_refs": refs}, key=f"payment:{payroll_ref}")
            if payroll_ref not in self.state["paid"]:
                self.state["paid"].append(payroll_ref)

    def _approve_all(self, pid: str, rid: str | None, coordinator: str,
                     mine: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Approves the person's accruals of the recruitment until the ledger shows them approved.

        An approval can meet a concurrent accrual (the score -> honorarium reaction writes to the
        same person): that 409 is "try again", not "done", so the ledger is read again."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            unapproved = [a["activity_ref"] for a in mine if not a.get("approved")]
            if not unapproved or time.monotonic() > deadline:
                return mine
            self.api.call("POST", "participants", f"/participants/{pid}/honoraria/approval", coordinator,
                          {"accrual_refs": unapproved}, done_if_conflict=True)
            ledger = self.api.call("GET", "participants", f"/participants/{pid}/honoraria", coordinator,
                                   params={"year": datetime.now(UTC).year})
            mine = [a for a in ledger["accruals"] if a["recruitment_id"] == rid]

    # -- history from before Delaktig -------------------------------------------------------------
    def history(self) -> None:
        """Three years of past recruitments, imported as a municipality would (``delaktig import
        history``), so the dashboards' trends start years back. Dated from the demo's anchor, so a
        repeat writes the same file and the import skips what it holds."""
        from services.recruitments.service import Recruitments

        path = Path(self.settings.data_dir) / "demo-history.csv"
        path.write_text(history_csv(self.anchor), encoding="utf-8")
        service = Recruitments.build(self.settings)
        try:  # the running recruitments worker publishes the events
            result = service.app.import_history(path.read_text(encoding="utf-8"),
                                                {"id": "demo-importer", "role": "importer"}, path.name)
        finally:
            service.close()
        self.state["history"] = result["recruitments"] + result["already_imported"]

    # -- erasure -----------------------------------------------------------------------------
    def erasure(self) -> None:
        pid = self.pid(ERASED)
        if pid is None:
            raise DemoError("the participant to erase was not registered")
        self.api.call("POST", "participants", f"/participants/{pid}/erasure", self.api.participant(pid),
                      {"legal_basis": "GDPR Art. 17(1)(b): samtycket återkallat, radering begärd"})
        self.state["erased"] = pid
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:  # until the bank's list no longer shows the person
            listed = self.api.call("GET", "participants", "/participants", self.api.admin(),
                                   params={"department": PEOPLE[ERASED][1][0], "q": pid})
            if all(p["id"] != pid for p in listed["items"]):
                return
            time.sleep(0.3)


HISTORY_YEARS = 3


def _history_row(writer: Any, ref: str, opened: date, kind: str, offset: int, **values: str) -> None:
    writer.writerow({"kind": kind, "recruitment": ref, "date": (opened + timedelta(days=offset)).isoformat(),
                     **values})
HISTORY_UNITS = {SOC: "ekonomiskt-bistand", ARB: "jobbtorget", SKOL: "fritidsgardar"}


def history_csv(anchor: date) -> str:
    """The demo's past: per department one recruitment a quarter for ``HISTORY_YEARS`` years
    before ``anchor``, with panels, decisions and feedback whose ratings grow as user
    participation matures. Deterministic: the same anchor gives the same file."""
    import csv
    import io

    from services.recruitments.history import COLUMNS

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    start = anchor - timedelta(days=365 * HISTORY_YEARS)
    for d, department in enumerate(DEPARTMENTS):
        for quarter in range(4 * HISTORY_YEARS):
            ref = f"{SHORT[department].upper()}-H{quarter + 1:02d}"
            opened = start + timedelta(days=91 * quarter + 9 * d)
            year = quarter // 4  # ratings improve year on year, with a little spread
            row = partial(_history_row, writer, ref, opened)
            row("recruitment", 0, department=department, unit=HISTORY_UNITS[department],
                position="Socialsekreterare" if department == SOC else "Handläggare",
                hiring_manager=f"chef-{SHORT[department]}-{quarter % 3 + 1}")
            if (quarter + d) % 7 == 6:
                row("closed", 30, outcome="cancelled", text="Tjänsten drogs in")
                continue
            panel = [f"brukare-{SHORT[department]}-{(quarter * 2 + i) % 9 + 1}" for i in range(2 + quarter % 2)]
            for member in panel:
                row("panel_member", 14, participant=member)
            against = (quarter + d) % 5 == 4
            row("decision", 35, candidate=f"kandidat-{ref}", recommendation="maybe" if against else "hire",
                text="Erfarenheten vägde tyngst" if against else "Bäst bemötande enligt panelen")
            row("closed", 45, outcome="filled")
            for i, member in enumerate(panel):
                row("participant_feedback", 40 + i, participant=member,
                    rating=str(min(5, 2 + year + (quarter + i) % 2)))
            if opened + timedelta(days=120) < anchor:
                row("manager_feedback", 120, rating=str(min(5, 3 + year - (quarter + d) % 2)))
    return out.getvalue()


def load_demo(settings: Settings) -> str:
    """Load the demo through the services' HTTP APIs (idempotent); returns a one-line summary."""
    return Demo(settings).load()
