"""``delaktig seed --scale N``: years of history at a municipality's scale, through the services.

Every event is a command to a service's application object (the same methods the HTTP routes
call, with the same checks), never a hand-written row. Cross-service effects travel as they do in
production: the relays publish to Kafka and the consumer loops (matching's bank, recruitments'
panel feed, participants' honoraria) apply them; the generator pumps them between the steps that
need them. At the end every read model is caught up and the audit service cuts and publishes its
signed checkpoints, so ``delaktig audit verify`` checks the result.

Scale 1 is about 10,000 participants and 5,000 recruitments in 30 departments over three years
(12 quarters), about 300,000 events: registration with consents, profile, readiness, availability
and payment terms; recruitments opened with a job description, an advert and applications;
panels proposed, assigned and accepted; assessments, conflict declarations, scores; decisions,
outcome shared, feedback, closing and a follow-up; honoraria accrued, approved and paid; and a
few erasures. The story is still running at its end: a third of the last quarter's staffed
recruitments have held their interviews and wait for the hiring manager's decision (their adverts
still public, their panels' assignments still open). Below scale 1 there are fewer departments
(each bank keeps a few hundred people, at least three departments).

**Transactions.** The commands of one step of ``STORIES_PER_TRANSACTION`` stories (25 people's
registrations, 25 recruitments' openings or interview days) commit together in one transaction
of the service's store (``begin_atomic``, the scope an ``Idempotency-Key`` request uses), so the
generator is not bound by one durable commit per event; the rate it prints is events per second
of the whole run, pumping included. While seeding, aggregates are read through eventsourcing's
aggregate cache (fast-forwarded from the store), the relays and consumer loops stay open between
pumps. With ``SEED_FOLLOWER=1`` a second process (``follow``) applies the read models and the
audit trail that no command reads while the story is written; it is off by default (on the
loaded 2-core machine it was slower: 627 against 761 events/s at scale 0.1).

**Dates.** The story happens over three years ending now: the clock eventsourcing stamps events
with (``eventsourcing.domain.datetime_now_with_tzinfo``) and the services' ``today()`` are moved
through the quarters while the commands run (``SeedClock``), so ``occurred_at`` and the dates the
domain records (decisions, payments, readiness) are spread as in a real history.

**Deterministic.** One ``random.Random(seed)`` decides every choice (who registers where, who
sits on which panel, scores, erasures), so the same seed gives the same story and the same counts.
Identifiers the services draw themselves (``uuid4``) and ciphertexts (random nonces) differ from
run to run, as they must.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from shared.auth import Principal
from shared.config import Settings

log = logging.getLogger(__name__)

PARTICIPANTS_AT_SCALE_1 = 10_000
RECRUITMENTS_AT_SCALE_1 = 5_000
MAX_DEPARTMENTS = 30
MIN_DEPARTMENTS = 3
PEOPLE_PER_DEPARTMENT = 300  # below scale 1, fewer departments keep each bank this large
QUARTERS = 12  # three years
DAYS_PER_QUARTER = 91
SECOND_DEPARTMENT_SHARE = 0.2  # people who take part in two departments
RESEARCH_CONSENT_SHARE = 0.3
DECLINES_PAYMENT_SHARE = 0.05
ERASED_SHARE = 0.01  # asked to be erased after the quarter they registered in
RUNNING_EVERY = 3  # every third staffed recruitment of the last quarter still awaits its decision
SCORED_CANDIDATES = 2
STORIES_PER_TRANSACTION = 25  # one commit for this many people's registrations (or recruitments' steps)
AGGREGATE_CACHE = {"AGGREGATE_CACHE_MAXSIZE": "20000", "DEEPCOPY_FROM_AGGREGATE_CACHE": "n"}
MOTIVATION = "motivation_user_participation"
SCORECARD = [
    {"key": MOTIVATION, "label": "Motivation att arbeta med brukarinflytande"},
    {"key": "bemotande", "label": "Bemötande och respekt"},
    {"key": "samarbete", "label": "Samarbetsförmåga"},
    {"key": "yrkeskunnande", "label": "Yrkeskunnande"},
]
UNITS = ("ekonomiskt-bistand", "beroendeenheten", "barn-och-unga", "boendestod", "jobbtorget", "etablering",
         "daglig-verksamhet", "fritidsgardar", "elevhalsan", "grundskola")
POSITIONS = ("Socialsekreterare", "Behandlare", "Boendestödjare", "Arbetsmarknadskonsulent",
             "Studie- och yrkesvägledare", "Handledare", "Fritidsledare", "Skolkurator", "Elevassistent")
FIRST_NAMES = ("Anna", "Mohammed", "Kerstin", "Jonas", "Leila", "Pekka", "Sara", "Ahmed", "Birgitta", "Erik",
               "Fatima", "Goran", "Hanna", "Ibrahim", "Johanna", "Karin", "Lars", "Maria", "Nour", "Oskar")
LAST_NAMES = ("Lindqvist", "Al-Sayed", "Johansson", "Eriksson", "Karimi", "Virtanen", "Nilsson", "Hassan",
              "Holm", "Lundgren", "Yusuf", "Petrovic", "Berg", "Diallo", "Sjöberg", "Axelsson")
LANGUAGES = ("sv", "en", "ar", "so", "fa", "fi", "tr", "es")
EVENT_SOURCED = ("participants", "recruitments", "matching")  # the services with an event store
ADMIN = Principal("seed-administrator", frozenset({"administrator"}))
SYSTEM = {"id": "system", "role": "system"}


def _unpublished(relay: Any) -> int:
    """How many of a relay's stored events it has not published yet."""
    return int(relay.app.max_position() - relay.state().position)


def _while_progressing(step: Callable[[], Any], remaining: Callable[[], int]) -> None:
    """Run ``step`` (which gives up with ``TimeoutError`` after its own time limit) again for as
    long as what is ``remaining`` shrinks between attempts: on a loaded machine a catch-up of a
    large history can outlast one limit and still be well under way; a step that stops moving
    fails with the last ``TimeoutError``."""
    last: int | None = None
    while True:
        try:
            step()
            return
        except TimeoutError:
            now = remaining()
            if last is not None and now >= last:
                raise
            log.warning("still catching up; going on", extra={"remaining": now})
            last = now


# -- the clock ---------------------------------------------------------------------------------
class SeedClock:
    """The moment the services see while the generator runs. Time only moves forward, by at least
    a millisecond per event, so ``occurred_at`` keeps the order the commands ran in."""

    STEP = timedelta(milliseconds=1)

    def __init__(self, start: datetime) -> None:
        self.now = start

    def at(self, moment: datetime) -> None:
        """Move to ``moment`` (or stay, if the history is already past it)."""
        self.now = max(self.now, moment)

    def tick(self) -> datetime:
        self.now += self.STEP
        return self.now

    def today(self) -> date:
        return self.now.date()

    @contextlib.contextmanager
    def installed(self) -> Iterator[SeedClock]:
        """While open, events are stamped and ``today()`` is answered from this clock."""
        import eventsourcing.domain

        import services.matching.application as matching
        import services.participants.application as participants
        import services.recruitments.application as recruitments

        saved = [(eventsourcing.domain, "datetime_now_with_tzinfo"), (matching, "today"),
                 (recruitments, "today"), (participants, "today")]
        originals = [getattr(module, name) for module, name in saved]
        eventsourcing.domain.datetime_now_with_tzinfo = self.tick  # type: ignore[assignment]
        matching.today = self.today  # type: ignore[assignment]
        recruitments.today = self.today  # type: ignore[assignment]
        participants.today = lambda: self.today().isoformat()  # type: ignore[assignment]
        try:
            yield self
        finally:
            for (module, name), original in zip(saved, originals, strict=True):
                setattr(module, name, original)


# -- the plan ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """How big the history is."""

    participants: int
    recruitments: int
    departments: int

    @classmethod
    def at_scale(cls, scale: float) -> Plan:
        people = max(MIN_DEPARTMENTS * 10, round(PARTICIPANTS_AT_SCALE_1 * scale))
        departments = max(MIN_DEPARTMENTS, min(MAX_DEPARTMENTS, people // PEOPLE_PER_DEPARTMENT))
        return cls(people, max(QUARTERS, round(RECRUITMENTS_AT_SCALE_1 * scale)), departments)


@dataclass
class Person:
    pid: UUID
    departments: list[str]
    registered_quarter: int
    accepts_payment: bool
    erased: bool = False

    @property
    def me(self) -> Principal:
        return Principal(str(self.pid), frozenset({"participant"}))


@dataclass
class Opened:
    rid: UUID
    department: str
    manager: Principal
    candidates: list[str]
    panel: list[str] = field(default_factory=list)


@dataclass
class Counts:
    """What was done (the test checks these against the services' own answers)."""

    participants: int = 0
    recruitments: int = 0
    panels: int = 0
    decisions: int = 0
    payments: int = 0
    erasures: int = 0
    unfilled: int = 0
    running: int = 0  # interviews held, no decision yet (the last quarter)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def department_codes(n: int) -> list[str]:
    return [f"forvaltning-{i + 1:02d}" for i in range(n)]


def coordinator(department: str) -> Principal:
    return Principal(f"seed-coordinator-{department}", frozenset({"coordinator"}), frozenset({department}))


# -- the generator -------------------------------------------------------------------------------
class Generator:
    """Builds the history quarter by quarter (see the module docstring)."""

    def __init__(self, settings: Settings, services: dict[str, Any], plan: Plan, seed: int, end: date) -> None:
        self.settings = settings
        self.services = services
        self.plan = plan
        self.rng = random.Random(seed)
        self.start = datetime.combine(end - timedelta(days=QUARTERS * DAYS_PER_QUARTER), datetime.min.time(), UTC)
        self.clock = SeedClock(self.start)
        self.departments = department_codes(plan.departments)
        self.people: list[Person] = []
        self.counts = Counts()
        self.p = services["participants"].app
        self.r = services["recruitments"].app
        self.m = services["matching"].app
        self._relays: dict[str, Any] = {}
        self.story_told: Callable[[], None] = lambda: None  # called before the last pump
        self._loops: dict[Callable[[], Any], Any] = {}

    # -- plumbing ------------------------------------------------------------------------
    def day(self, quarter: int, offset: int) -> datetime:
        return self.start + timedelta(days=quarter * DAYS_PER_QUARTER + offset, hours=8)

    def pump(self, *loops: Callable[[], Any]) -> None:
        """Publish every service's new events, then let the named consumer loops apply them. The
        relays and loops are built once and kept open between pumps (each keeps its broker
        connection and its place), as a worker keeps them."""
        for name in EVENT_SOURCED:
            if name not in self._relays:
                self._relays[name] = self.services[name].relay()
            relay = self._relays[name]
            _while_progressing(partial(relay.drain, timeout=600),
                               partial(_unpublished, relay))
        for make in loops:
            if make not in self._loops:  # a bound method equals itself; a maker closure is itself
                self._loops[make] = make()
            loop = self._loops[make]
            _while_progressing(partial(loop.catch_up, timeout=600), loop.lag)

    def close(self) -> None:
        """Close the relays and consumer loops the pumps kept open."""
        for part in [*self._relays.values(), *self._loops.values()]:
            with contextlib.suppress(Exception):
                part.close()
        self._relays.clear()
        self._loops.clear()

    @contextlib.contextmanager
    def batch(self, app: Any) -> Iterator[None]:
        """One transaction for a group of commands to one service (a person's registration, a
        recruitment's interview day): the commands and their checks are the ones the API runs,
        each saving its events as usual, but they commit together (``begin_atomic``, the scope
        ``@idempotent`` uses for one request). A refusal rolls the whole group back."""
        scope = app.begin_atomic()
        try:
            yield
        except BaseException:
            scope.rollback()
            raise
        scope.commit()

    def chunks(self, items: list[Any]) -> Iterator[list[Any]]:
        """``items`` in groups of ``STORIES_PER_TRANSACTION``: one transaction per group."""
        for start in range(0, len(items), STORIES_PER_TRANSACTION):
            yield items[start:start + STORIES_PER_TRANSACTION]

    def share(self, total: int, quarter: int) -> int:
        """This quarter's part of ``total``, spread evenly (the remainder in the first quarters)."""
        return total // QUARTERS + (1 if quarter < total % QUARTERS else 0)

    # -- departments ---------------------------------------------------------------------
    def onboard(self) -> None:
        from services.participants.domain import DEFAULT_SETTINGS

        self.clock.at(self.start)
        for code in self.departments:
            if self.p.department(code) is None:
                self.p.onboard_department(code, code.replace("-", " ").title(), ADMIN.actor())
            settings = {**DEFAULT_SETTINGS, "rates": {**DEFAULT_SETTINGS["rates"],
                                                      "valid_from": self.start.date().isoformat()}}
            self.p.change_department_settings(ADMIN, code, settings)

    # -- participants --------------------------------------------------------------------------
    def register(self, quarter: int) -> None:
        rng = self.rng
        count = self.share(self.plan.participants, quarter)
        for group in self.chunks(list(range(count))):
            with self.batch(self.p):
                for i in group:
                    self.clock.at(self.day(quarter, 14 * i // max(count, 1)))
                    home = rng.choice(self.departments)
                    departments = [home]
                    if rng.random() < SECOND_DEPARTMENT_SHARE:
                        departments.append(rng.choice([d for d in self.departments if d != home]))
                    self.register_one(quarter, departments)
                    self.counts.participants += 1

    def register_one(self, quarter: int, departments: list[str]) -> None:
        """One person: registration, consents, profile, readiness, availability, payment terms."""
        from services.participants.application import PAYMENT_TERMS_VERSION
        from services.participants.domain import DEFAULT_EXPERIENCE_AREAS

        rng = self.rng
        staff = coordinator(departments[0])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        pid = self.p.register_participant(
            staff, name=f"{first} {last}", email=f"{first}.{last}.{len(self.people)}@example.org".lower(),
            phone=f"070-{rng.randrange(10**7):07d}", preferred_language=rng.choice(("sv", "sv", "sv", "en")),
            departments=departments)
        person = Person(pid, departments, quarter, rng.random() >= DECLINES_PAYMENT_SHARE)
        me = person.me
        for department in departments:
            for purpose in ("recruitment", "matching"):
                self.p.give_consent(me, pid, purpose, department)
            if rng.random() < RESEARCH_CONSENT_SHARE:
                self.p.give_consent(me, pid, "research", department)
        areas = rng.sample(DEFAULT_EXPERIENCE_AREAS, rng.randint(1, 3))
        languages = sorted({"sv", rng.choice(LANGUAGES)})
        self.p.update_profile(me, pid, {"experience_areas": areas, "shared_tags": areas, "languages": languages,
                                        "accessibility": None, "excluded_units": []}, None)
        today = self.clock.today()
        self.p.sign_confidentiality(me, pid, today, "2026-1")
        self.p.complete_training(staff, pid, today)
        self.p.change_availability(me, pid, [{"start": today, "end": today + timedelta(days=4 * 365)}], None)
        self.p.answer_payment_terms(me, pid, PAYMENT_TERMS_VERSION, person.accepts_payment,
                                    None if person.accepts_payment else "Påverkar mitt försörjningsstöd")
        self.people.append(person)

    # -- recruitments -------------------------------------------------------------------------
    def open_recruitments(self, quarter: int) -> list[Opened]:
        opened: list[Opened] = []
        count = self.share(self.plan.recruitments, quarter)
        for group in self.chunks(list(range(count))):
            with self.batch(self.r):
                for i in group:
                    self.clock.at(self.day(quarter, 15 + 7 * i // max(count, 1)))
                    department = self.departments[(quarter * 7 + i) % len(self.departments)]
                    opened.append(self.open_one(quarter, i, department))
                    self.counts.recruitments += 1
        return opened

    def open_one(self, quarter: int, i: int, department: str) -> Opened:
        """A recruitment opened with its job description, advert and applications."""
        from services.participants.domain import DEFAULT_EXPERIENCE_AREAS

        rng = self.rng
        staff = coordinator(department)
        manager = Principal(f"seed-manager-{quarter}-{i}", frozenset({"hiring_manager"}), frozenset({department}))
        position = rng.choice(POSITIONS)
        start = self.clock.today()
        rid = self.r.open_recruitment(
            staff, department=department, unit=rng.choice(UNITS), position=position,
            hiring_manager=manager.sub, interview_format=rng.choice(("joint", "split")),
            planned={"advert_on": start, "interviews_from": start + timedelta(days=25),
                     "interviews_to": start + timedelta(days=30), "decision_by": start + timedelta(days=40)},
            scorecard=SCORECARD,
            needs={"experience_areas": rng.sample(DEFAULT_EXPERIENCE_AREAS, 2), "languages": ["sv"],
                   "panel_size": rng.choice((2, 3))})
        for text in (f"{position}: arbetet sker nära brukarna och deras nätverk.",
                     "Vi söker dig som lyssnar, är tydlig och ser personen bakom ärendet."):
            self.r.contribute(staff, rid, "job_description", text)
        self.r.publish_advert(staff, rid, f"Vi söker {position.lower()}. Brukare deltar i rekryteringen.")
        candidates = [self.r.receive_application(staff, rid, ats_ref=f"ATS-{quarter}-{i}-{n}",
                                                 name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                                                 email=f"kandidat.{quarter}.{i}.{n}@example.net", phone=None,
                                                 protected_identity=False)
                      for n in range(rng.choice((3, 4)))]
        return Opened(rid, department, manager, candidates)

    def panels(self, quarter: int, opened: list[Opened]) -> list[Opened]:
        """Matching proposes, the coordinator assigns, the members accept. Returns the staffed ones."""
        from shared.errors import Conflict

        staffed = []
        positions = {id(rec): n for n, rec in enumerate(opened)}
        for group in self.chunks(opened):
            with self.batch(self.m):
                for rec in group:
                    self.clock.at(self.day(quarter, 25 + 5 * positions[id(rec)] // max(len(opened), 1)))
                    staff = coordinator(rec.department)
                    proposal = self.m.propose_panel(staff, str(rec.rid))
                    if proposal["members"]:
                        assigned = self.m.assign_panel(staff, str(rec.rid), proposal_id=proposal["proposal_id"])
                        rec.panel = list(assigned["members"])
                    for pid in rec.panel:
                        with contextlib.suppress(Conflict):
                            self.m.accept_invitation(Principal(pid, frozenset({"participant"})), str(rec.rid))
            unfilled = [rec for rec in group if not rec.panel]  # nobody eligible this quarter
            if unfilled:
                with self.batch(self.r):
                    for rec in unfilled:
                        self.r.close_recruitment(coordinator(rec.department), rec.rid, "cancelled",
                                                 "Ingen panel kunde sättas ihop.")
                        self.counts.unfilled += 1
            for rec in group:
                if rec.panel:
                    staffed.append(rec)
                    self.counts.panels += 1
        return staffed

    def scores(self, good: bool) -> dict[str, int]:
        """One member's scorecard: the first candidate is the strong one."""
        rng = self.rng
        if good:
            return {MOTIVATION: 5, "bemotande": rng.randint(4, 5), "samarbete": 4, "yrkeskunnande": 4}
        return {MOTIVATION: rng.randint(2, 4), "bemotande": 3, "samarbete": rng.randint(2, 3), "yrkeskunnande": 3}

    def interviews_and_decisions(self, quarter: int, staffed: list[Opened]) -> None:
        rng = self.rng
        positions = {id(rec): n for n, rec in enumerate(staffed)}
        for group in self.chunks(staffed):
            with self.batch(self.r):
                for rec in group:
                    self.clock.at(self.day(quarter, 45 + 10 * positions[id(rec)] // max(len(staffed), 1)))
                    rid = rec.rid
                    members = [Principal(pid, frozenset({"participant"})) for pid in rec.panel] + [rec.manager]
                    for c, cid in enumerate(rec.candidates[:SCORED_CANDIDATES]):
                        good = c == 0
                        for j, member in enumerate(members):
                            if member is not rec.manager:
                                self.r.assess_application(member, rid, cid, "yes",
                                                          "Relevant erfarenhet, gott bemötande.")
                            self.r.declare_conflict(member, rid, cid, False)
                            self.r.score(member, rid, cid, self.scores(good),
                                         "hire" if good else ("maybe" if j % 2 else "no_hire"),
                                         "Lyssnade på riktigt." if good else None)
        last = quarter == QUARTERS - 1
        deciding = [rec for n, rec in enumerate(staffed) if not (last and n % RUNNING_EVERY == 0)]
        self.counts.running += len(staffed) - len(deciding)
        for group in self.chunks(deciding):
            with self.batch(self.r):
                for rec in group:
                    self.clock.at(self.day(quarter, 60 + 10 * positions[id(rec)] // max(len(staffed), 1)))
                    staff = coordinator(rec.department)
                    self.r.decide(rec.manager, rec.rid, rec.candidates[0], "Panelen var enig; starkast i bemötande.",
                                  None)
                    self.r.share_outcome(staff, rec.rid)
                    self.r.manager_feedback(rec.manager, rec.rid, rng.randint(3, 5),
                                            "Brukarnas frågor gjorde skillnad.")
                    for pid in rec.panel:
                        self.r.participant_feedback(Principal(pid, frozenset({"participant"})), rec.rid,
                                                    rng.randint(3, 5),
                                                    "Jag blev lyssnad på och fick veta hur det gick.")
                    self.r.close_recruitment(staff, rec.rid, "filled", None)
                    self.r.follow_up(staff, rec.rid, 6, rng.random() < 0.9, rng.randint(3, 5))
                    self.counts.decisions += 1

    def honoraria(self, quarter: int, staffed: list[Opened]) -> None:
        """Approve and pay every accrual of this quarter's panels (the payroll round)."""
        period = self.day(quarter, 85).strftime("%Y-%m")
        positions = {id(rec): n for n, rec in enumerate(staffed)}
        for group in self.chunks(staffed):
            with self.batch(self.p):
                for rec in group:
                    self.clock.at(self.day(quarter, 80 + 5 * positions[id(rec)] // max(len(staffed), 1)))
                    staff = coordinator(rec.department)
                    for pid in rec.panel:
                        participant = self.p.participant(UUID(pid))
                        refs = sorted(ref for ref, a in participant.accruals.items()
                                      if a["recruitment_id"] == str(rec.rid) and not a.get("approved"))
                        if not refs or participant.payment_declined or participant.forgotten:
                            continue
                        self.p.approve_honoraria(staff, UUID(pid), refs)
                        self.p.record_payment(staff, UUID(pid), f"LON-{period}-{str(rec.rid)[:8]}-{pid[:8]}", period,
                                              refs)
                        self.counts.payments += 1

    def erasures(self, quarter: int) -> None:
        self.clock.at(self.day(quarter, 88))
        for person in self.people:
            if person.registered_quarter == quarter and self.rng.random() < ERASED_SHARE:
                self.p.erase(person.me, person.pid, "GDPR Art. 17(1)(b): samtycket återkallat, radering begärd")
                person.erased = True
                self.counts.erasures += 1

    # -- the whole story ----------------------------------------------------------------------
    def run(self, progress: Callable[[str], None] = lambda _text: None) -> Counts:
        m, r, p = self.services["matching"], self.services["recruitments"], self.services["participants"]
        with self.clock.installed():
            self.onboard()
            for quarter in range(QUARTERS):
                self.register(quarter)
                opened = self.open_recruitments(quarter)
                self.pump(m.consumer)  # matching learns the new people and recruitments
                staffed = self.panels(quarter, opened)
                self.pump(r.panel_feed, p.participation)  # recruitments learn their panels
                self.interviews_and_decisions(quarter, staffed)
                self.pump(p.participation)  # scores become honoraria
                self.honoraria(quarter, staffed)
                self.erasures(quarter)
                progress(f"quarter {quarter + 1}/{QUARTERS}: {self.counts.participants} participants, "
                         f"{self.counts.recruitments} recruitments")
            self.story_told()
            self.pump(*self.read_models())
        return self.counts

    def read_models(self) -> list[Callable[[], Any]]:
        """Every consumer loop of every service's worker (read models and reactions)."""
        from shared.consumer import ConsumerLoop

        makers: list[Callable[[], Any]] = []
        for name, service in self.services.items():
            if name == "audit":  # caught up by its own catch_up, which also cuts the checkpoints
                continue
            for part in service.worker().parts:
                if isinstance(part, ConsumerLoop):
                    part.close()
                    makers.append(_given(part))
        return makers


def _given(loop: Any) -> Callable[[], Any]:
    """A maker that hands out an already built consumer loop."""

    def make() -> Any:
        return loop

    return make


# -- the read models, alongside -------------------------------------------------------------------
FOLLOWED = ("participants", "recruitments", "dashboards", "audit")  # not matching: its commands read its read model


def follow(settings: Settings, skip: list[str], stop: Any) -> None:
    """In a second process while the story is written, apply the read models and the audit trail
    the generator's commands never read (what the workers do in production), so the last pump
    only has the tail to catch up. The reaction loops the generator pumps itself are skipped."""
    import logging

    from infra.cli import compose_services
    from shared.consumer import ConsumerLoop

    logging.getLogger("kafka").setLevel(logging.ERROR)
    services = dict(compose_services(settings))
    loops: list[ConsumerLoop] = []
    try:
        for name in FOLLOWED:
            service = services[name]
            parts = service.consumer_loops() if name == "audit" else service.worker().parts
            loops += [p for p in parts if isinstance(p, ConsumerLoop) and p.name not in skip]
        while not stop.is_set():
            read = 0
            for loop in loops:
                try:
                    read += loop.poll_once(timeout_ms=20)
                except Exception:  # noqa: S112 - a busy store or broker: the next round retries
                    continue
            if not read:
                stop.wait(0.2)
    finally:
        for loop in loops:
            with contextlib.suppress(Exception):
                loop.close()
        for service in services.values():
            with contextlib.suppress(Exception):
                service.close()


@contextlib.contextmanager
def follower(settings: Settings, skip: list[str]) -> Iterator[Callable[[], None]]:
    """Run ``follow`` in a second process; the callable it yields stops it (idempotent)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    proc = context.Process(target=follow, args=(settings, skip, stop), name="seed-follower", daemon=True)
    proc.start()

    def halt() -> None:
        stop.set()
        proc.join(timeout=120)
        if proc.is_alive():
            proc.kill()
            proc.join()

    try:
        yield halt
    finally:
        halt()


@contextlib.contextmanager
def _unfollowed() -> Iterator[Callable[[], None]]:
    """The default: no second process; the last pump applies every read model."""
    yield lambda: None


def event_count(services: dict[str, Any]) -> int:
    """Events stored by the event-sourced services (what the generator wrote)."""
    return sum(int(services[name].app.max_position()) for name in EVENT_SOURCED)


@dataclass
class SeedResult:
    counts: Counts
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def seed(settings: Settings, scale: float, seed_value: int = 1, progress: Callable[[str], None] = print,
         end: date | None = None) -> SeedResult:
    """Build the history into the configured stores and topics; see the module docstring."""
    from infra.cli import compose_services
    from shared.kafka import ensure_topics

    ensure_topics(settings)
    # The generator re-reads the same aggregates many times (a recruitment per command of its
    # interview day, a person per accrual): eventsourcing's aggregate cache keeps them in memory
    # and fast-forwards them from the store on each read, instead of replaying every event again.
    # Not copied on the way out: one thread, and a refused command fails the whole run.
    saved = {name: os.environ.get(name) for name in AGGREGATE_CACHE}
    os.environ.update(AGGREGATE_CACHE)
    try:
        services = dict(compose_services(settings))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    generator: Generator | None = None
    try:
        before = event_count(services)
        started = time.perf_counter()
        generator = Generator(settings, services, Plan.at_scale(scale), seed_value, end or datetime.now(UTC).date())
        pumped = [services["recruitments"].panel_feed(), services["participants"].participation()]
        skip = [loop.name for loop in pumped]
        for loop in pumped:
            loop.close()
        with follower(settings, skip) if os.environ.get("SEED_FOLLOWER") == "1" else _unfollowed() as halt:
            generator.story_told = halt
            counts = generator.run(progress)
        audit = services["audit"]
        generator.pump(*(_given(loop) for loop in audit.consumer_loops()))  # its own catch_up waits 30 s at most
        audit.catch_up(force_checkpoint=True)  # the signed checkpoints over the new history
        seconds = time.perf_counter() - started
        return SeedResult(counts, event_count(services) - before, seconds)
    finally:
        if generator is not None:
            generator.close()
        for service in services.values():
            service.close()


def register(subparsers: Any) -> None:
    """Add ``delaktig seed`` to the ``delaktig`` parser."""
    cmd = subparsers.add_parser("seed", help="generate years of history through the services (benchmarks, trials)")
    cmd.add_argument("--scale", type=float, default=1.0,
                     help="1 = about 10,000 participants, 5,000 recruitments, 30 departments, 3 years")
    cmd.add_argument("--database-url", help="PostgreSQL URL (default: DATABASE_URL, else embedded SQLite)")
    cmd.add_argument("--seed", type=int, default=1, help="the same seed gives the same history")
    cmd.set_defaults(func=cmd_seed)


def cmd_seed(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.database_url:
        settings = settings.with_(database_url=args.database_url)
    if args.scale <= 0:
        print("--scale must be above 0", file=sys.stderr)
        return 2
    result = seed(settings, args.scale, args.seed, progress=lambda text: print(text, flush=True))
    print(f"seeded: {', '.join(f'{k} {v}' for k, v in result.counts.as_dict().items())}")
    print(f"{result.events} events in {result.seconds:.1f} s: {result.rate:,.0f} events/s")
    return 0
