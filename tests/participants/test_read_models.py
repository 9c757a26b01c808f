"""The participants' read models equal a recomputation from the events, whatever happened
(property-style, on both backends): the department lists, the access log, the retention facts and
the honoraria per department and year, and the honoraria by period (accrued, approved, paid, the
year's tax flags). And a long-lived person loads from a snapshot."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from services.audit.replay import replay
from services.participants.application import PAYMENT_TERMS_VERSION, ParticipantsApp, today
from services.participants.domain import SNAPSHOT_EVERY, Participant
from services.participants.projections import (
    BankFilter,
    ParticipantBank,
    access_log,
    bank_page,
    honoraria_rows,
    inactive_people,
)
from shared.auth import Principal
from shared.config import Settings
from tests.participants.support import DEP, OTHER_DEP, build, catch_up_bank

DEPS = (DEP, OTHER_DEP)
STAFF = Principal("coord-1", frozenset({"coordinator"}), frozenset(DEPS))
SYSTEM = {"id": "test", "role": "system"}
YEAR = int(today()[:4])

# One step of what can happen to a person: (what, which person, which department, a choice).
step = st.tuples(
    st.sampled_from(["consent", "withdraw", "profile", "pause", "ready", "restrict", "hold", "release", "read",
                     "accrue", "seat", "erase", "approve", "pay", "decline"]),
    st.integers(0, 3), st.sampled_from(DEPS), st.booleans())


def happen(app: ParticipantsApp, people: list[str], what: str, who: int, dep: str, choice: bool) -> None:
    """Do one step through the application; refusals (a rule said no) change nothing."""
    pid = uuid.UUID(people[who % len(people)])
    participant = app.participant(pid)
    if participant.forgotten:
        return
    purpose = "matching" if choice else "recruitment"
    if what == "consent":
        app.give_consent(STAFF, pid, purpose, dep)
    elif what == "withdraw" and participant.has_consent(purpose, dep):
        app.withdraw_consent(STAFF, pid, purpose, dep)
    elif what == "profile" and not participant.restricted:
        shares = choice and any(c.startswith("matching:") for c in participant.consents)
        app.update_profile(STAFF, pid, {"experience_areas": ["homelessness", "mental_ill_health"],
                                        "shared_tags": ["homelessness"] if shares else [],
                                        "languages": ["ar", "sv"] if choice else ["so"], "excluded_units": []}, None)
    elif what == "pause":
        app.change_contact_status(STAFF, pid, "paused" if choice else "available", None, None)
    elif what == "ready":
        app.sign_confidentiality(STAFF, pid, date(YEAR, 1, 1), "v1")
        if choice:
            app.complete_training(STAFF, pid, date(YEAR, 1, 2))
    elif what == "restrict":
        app.change_restriction(STAFF, pid, choice, "the person disputes the data" if choice else None)
    elif what == "hold":
        app.place_legal_hold(STAFF, pid, "a claim under the discrimination act", "legal_claim" if choice else None)
    elif what == "release" and participant.legal_holds:
        app.release_legal_hold(STAFF, pid, sorted(participant.legal_holds)[0])
    elif what == "read" and dep in participant.visible_departments():
        app.read_participant(STAFF, pid, f"planning in {dep}")
    elif what == "accrue":
        app.accrue_from_activity(str(pid), "interview", str(uuid.uuid4()), dep,
                                 f"{YEAR - (0 if choice else 1)}-0{who + 1}-10", SYSTEM)
    elif what == "seat":
        app.record_panel_membership(str(pid), str(uuid.uuid4()), str(uuid.uuid4()), dep, f"{YEAR}-02-0{who + 1}",
                                    SYSTEM)
    elif what == "approve" and participant.terms_acknowledged and not participant.payment_declined:
        pending = sorted(r for r, a in participant.accruals.items() if a["department"] == dep and not a["approved"])
        if pending:
            app.approve_honoraria(STAFF, pid, pending[:1] if choice else pending)
    elif what == "pay":
        payable = sorted(r for r, a in participant.accruals.items()
                         if a["department"] == dep and a["approved"] and a["payroll_ref"] is None)
        if payable and not participant.payment_declined:
            app.record_payment(STAFF, pid, f"PR-{uuid.uuid4().hex[:8]}", f"{YEAR}-03", payable)
    elif what == "decline":
        app.answer_payment_terms(Principal(str(pid), frozenset({"participant"})), pid, PAYMENT_TERMS_VERSION,
                                 accept=not choice, reason=None if not choice else "economic assistance")
    elif what == "erase" and not participant.legal_holds and choice:
        app.erase(STAFF, pid, "GDPR Art. 17(1)(b): erasure requested")


def expected_lists(app: ParticipantsApp, people: list[str], dep: str) -> list[dict[str, Any]]:
    """Each department's list recomputed from the aggregates (each the fold of its events)."""
    out = []
    for pid in sorted(people):
        p = app.participant(uuid.UUID(pid))
        if p.forgotten or dep not in p.visible_departments():
            continue
        days = [a["accrued_on"] for a in p.accruals.values()] + [s["assigned_on"] for s in p.panels.values()]
        out.append({
            "id": pid,
            "consents": sorted(c.split(":")[0] for c in p.consents if c.endswith(":" + dep)),
            "shared_tags": sorted(p.profile["shared_tags"]) if p.has_consent("matching", dep) else [],
            "languages": sorted(p.profile["languages"]),
            "contact_status": p.contact["status"], "contact_until": p.contact["until"],
            "ready": p.ready, "restricted": p.restricted,
            "last_engaged": max(days) if days else None,
            "honoraria_this_year": sum(a["amount_ore"] for a in p.accruals.values()
                                       if a["department"] == dep and a["accrued_on"].startswith(f"{YEAR}-")),
        })
    return out


def expected_honoraria(app: ParticipantsApp, people: list[str], dep: str, period: str) -> list[dict[str, Any]]:
    """The honoraria of a department's month recomputed from the aggregates."""
    out = []
    for pid in sorted(people):
        p = app.participant(uuid.UUID(pid))

        def row(ref: str, a: dict[str, Any]) -> dict[str, Any]:
            return {"activity_ref": ref, "activity_type": a["activity_type"], "amount_ore": a["amount_ore"],
                    "accrued_on": a["accrued_on"], "approved": a["approved"], "payroll_ref": a["payroll_ref"]}

        year = sorted((row(r, a) for r, a in p.accruals.items()
                       if a["department"] == dep and a["accrued_on"].startswith(period[:4])),
                      key=lambda a: a["activity_ref"])
        month = [a for a in year if a["accrued_on"].startswith(period)]
        if not month:
            continue

        def sums(rows: list[dict[str, Any]]) -> dict[str, int]:
            return {"accrued_ore": sum(a["amount_ore"] for a in rows),
                    "approved_ore": sum(a["amount_ore"] for a in rows if a["approved"] and not a["payroll_ref"]),
                    "paid_ore": sum(a["amount_ore"] for a in rows if a["payroll_ref"])}

        paid = sum(pay["amount_ore"] for pay in p.payments.values() if pay["paid_on"].startswith(period[:4]))
        out.append({"participant_id": pid, "payment_declined": p.payment_declined, "accruals": month,
                    "period_totals": sums(month), "year_totals": sums(year),
                    "flags": {"employer_contributions_due": paid >= 100_000, "no_withholding": paid < 10_000}})
    return out


def expected_reads(app: ParticipantsApp, pid: str) -> list[dict[str, Any]]:
    """The access log recomputed by reading the whole event log (what the API no longer does)."""
    return [{"access_id": e["aggregate_id"], "at": e["occurred_at"], "by": e["actor"],
             "purpose": e["payload"]["purpose"], "categories": e["payload"]["categories"]}
            for e in app.envelopes() if e["event_type"] == "PersonalDataAccessed" and e["payload"]["subject_id"] == pid]


def test_the_read_models_equal_a_recomputation_from_the_events(settings: Settings) -> None:
    service = build(settings)
    people = [str(service.app.register_participant(STAFF, name="P", email=None, phone=None, preferred_language="sv",
                                                   departments=[DEPS[i % 2]])) for i in range(4)]

    @hsettings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.lists(step, min_size=1, max_size=12))
    @example([("seat", 0, DEP, True), ("accrue", 0, DEP, False), ("read", 0, DEP, True), ("hold", 1, DEP, True)])
    @example([("decline", 0, DEP, False), ("accrue", 0, DEP, True), ("accrue", 0, DEP, True),
              ("approve", 0, DEP, True), ("pay", 0, DEP, True),
              ("accrue", 1, OTHER_DEP, True), ("decline", 1, DEP, False),
              ("approve", 1, OTHER_DEP, False), ("decline", 1, DEP, True),
              ("pay", 1, OTHER_DEP, True), ("accrue", 4, DEP, True)])
    def check(steps: list[tuple[str, int, str, bool]]) -> None:
        for s in steps:
            happen(service.app, people, *s)
        catch_up_bank(service)
        for dep in DEPS:
            assert bank_page(service.db, BankFilter(dep), None, 1000, YEAR) == expected_lists(service.app, people, dep)
            for period in (f"{YEAR}-01", f"{YEAR}-02", f"{YEAR - 1}-01"):
                assert honoraria_rows(service.db, dep, period, None, 1000) == expected_honoraria(
                    service.app, people, dep, period)
        for pid in people:
            assert access_log(service.db, pid) == expected_reads(service.app, pid)
        inactive = []
        for pid in sorted(people):
            p = service.app.participant(uuid.UUID(pid))
            if not p.forgotten and not p.legal_holds:
                inactive.append((pid, sorted(p.departments), p.modified_on.date().isoformat()))
        assert inactive_people(service.db, "9999-12-31") == inactive

    try:
        check()
    finally:
        service.close()


def test_a_long_lived_person_loads_from_a_snapshot_and_old_stores_still_load(settings: Settings) -> None:
    # A store written before snapshots existed: the same events, no snapshot.
    class WithoutSnapshots(ParticipantsApp):
        name = ParticipantsApp.name  # the same tables
        snapshotting_intervals = None  # type: ignore[assignment]

    first = build(settings)
    first.app.close()
    old = WithoutSnapshots(settings, first.vault)
    pid = old.register_participant(STAFF, name="P", email=None, phone=None, preferred_language="sv",
                                   departments=[DEP])
    for i in range(SNAPSHOT_EVERY + 5):
        old.change_availability(STAFF, pid, [{"start": date(YEAR, 1, 1 + i % 28), "end": date(YEAR, 2, 1)}], None)
    before = old.participant(pid)
    old.close()
    first.db.close()

    service = build(settings)
    app = service.app
    try:
        assert app.snapshots is not None and not list(app.snapshots.get(pid))
        loaded = app.participant(pid)  # from the events alone
        assert loaded.version == before.version and loaded.windows == before.windows
        # New events: a snapshot at every SNAPSHOT_EVERY-th version, and loading starts from it.
        app.give_consent(STAFF, pid, "recruitment", DEP)  # keeps the person in the bank while matching comes and goes
        for _ in range(SNAPSHOT_EVERY - loaded.version % SNAPSHOT_EVERY + 3):
            app.give_consent(STAFF, pid, "matching", DEP)
            app.withdraw_consent(STAFF, pid, "matching", DEP)
        snapshots = list(app.snapshots.get(pid))
        assert snapshots and all(s.originator_version % SNAPSHOT_EVERY == 0 for s in snapshots)
        latest = snapshots[-1].originator_version
        after_snapshot = list(app.events.get(pid, gt=latest))
        assert 0 < len(after_snapshot) < SNAPSHOT_EVERY  # a load reads the snapshot and only these
        from_snapshot = app.participant(pid)
        from_events = None
        for stored in app.events.get(pid):
            from_events = stored.mutate(from_events)
        assert from_events is not None and isinstance(from_snapshot, Participant)
        assert from_snapshot.version == from_events.version
        assert from_snapshot.consents == from_events.consents and from_snapshot.windows == from_events.windows
        assert from_snapshot.contact == from_events.contact and from_snapshot.departments == from_events.departments
    finally:
        service.close()


def test_delaktig_audit_replay_rebuilds_the_banks_read_models(settings: Settings) -> None:
    service = build(settings)
    try:
        assert ParticipantBank in [factory for factory, _ in service.projections()]  # what replay discovers
        pid = service.app.register_participant(STAFF, name="P", email=None, phone=None, preferred_language="sv",
                                               departments=[DEP])
        service.app.read_participant(STAFF, pid, "planning")
        service.app.accrue_from_activity(str(pid), "interview", str(uuid.uuid4()), DEP, f"{YEAR}-03-01", SYSTEM)
        catch_up_bank(service)
        [result] = replay([(ParticipantBank, service.db)])
        assert result.identical and set(result.tables) == {"bank_access_log", "bank_accruals", "bank_honoraria",
                                                             "bank_members", "bank_payments", "bank_people"}
        with service.db.transaction() as tx:
            tx.execute("UPDATE bank_members SET ready = 1 WHERE participant_id = ?", (str(pid),))
        [tampered] = replay([(ParticipantBank, service.db)])
        assert not tampered.identical and tampered.diffs[0].table == "bank_members"
    finally:
        service.close()
