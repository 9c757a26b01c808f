"""A varied history on the three public topics: three departments, participants with different
consents and statuses, recruitments at every stage, panels, honoraria and the effect goals."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from tests.dashboards.events import EventWriter, new_id

SOC, ARB, SKOL = "socialforvaltningen", "arbetsmarknadsforvaltningen", "skol-och-fritidsforvaltningen"
NAMES = {
    SOC: "Socialförvaltningen",
    ARB: "Arbetsmarknadsförvaltningen",
    SKOL: "Skol- och fritidsförvaltningen",
}
FEEDBACK_TEXT = "Jag kände mig lyssnad på"  # free text that must never reach a page or the export


def department_id(code: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"department:{code}"))


def panel_id(recruitment_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "panel:" + recruitment_id))


def onboard(w: EventWriter, code: str, name: str, budget_ore: int | None = None) -> None:
    w.emit(
        "participants",
        "DepartmentOnboarded",
        department_id(code),
        {"code": code, "name": name},
        department=None,
        at="2026-01-02T08:00:00Z",
    )
    if budget_ore is not None:
        w.emit(
            "participants",
            "DepartmentSettingsChanged",
            department_id(code),
            {
                "code": code,
                "participation_limit": {"max_engagements": 3, "period_days": 180},
                "rates": {
                    "hour_ore": 15000,
                    "half_day_ore": 50000,
                    "full_day_ore": 90000,
                    "valid_from": "2026-01-01",
                },
                "retention": {"inactive_profile_months": 24},
                "budget_ore_per_month": budget_ore,
            },
            department=code,
            at="2026-01-02T08:05:00Z",
        )


def participants(w: EventWriter, code: str, count: int, research: int) -> list[str]:
    ids = []
    for i in range(count):
        pid = new_id()
        ids.append(pid)
        w.emit(
            "participants",
            "UserRegistered",
            pid,
            {"personal": "enc:v1:" + uuid.uuid4().hex, "preferred_language": "sv", "departments": [code]},
            department=code,
            actor={"id": pid, "role": "participant"},
            at="2026-01-10T09:00:00Z",
        )
        w.emit(
            "participants",
            "ConsentGiven",
            pid,
            {"purpose": "recruitment", "department": code},
            department=code,
            actor={"id": pid, "role": "participant"},
            at="2026-01-10T09:01:00Z",
        )
        if i < research:
            w.emit(
                "participants",
                "ConsentGiven",
                pid,
                {"purpose": "research", "department": code},
                department=code,
                actor={"id": pid, "role": "participant"},
                at="2026-01-10T09:02:00Z",
            )
    return ids


def recruitment(
    w: EventWriter,
    code: str,
    *,
    stage: str,
    panel: list[str],
    month: int,
    panel_size: int = 3,
    interviews_from: date | None = None,
    feedback_from: list[str] = (),  # type: ignore[assignment]
    manager_rating: int = 4,
    influence: int = 4,
    followups: tuple[tuple[int, bool, int], ...] = (),
    unit: str = "Enhet Norr",
) -> str:
    """One recruitment taken through the events up to ``stage``."""
    rid = new_id()
    base = datetime(2026, month, 1, 9, 0, tzinfo=UTC)
    start = interviews_from or date(2026, month, 20)

    def at(days: int) -> datetime:
        return base + timedelta(days=days)

    w.emit(
        "recruitments",
        "RecruitmentOpened",
        rid,
        {
            "unit": unit,
            "position": "Socialsekreterare",
            "hiring_manager": "staff-hm",
            "coordinator": "staff-co",
            "interview_format": "joint",
            "planned": {
                "advert_on": "2026-01-01",
                "interviews_from": start.isoformat(),
                "interviews_to": (start + timedelta(days=2)).isoformat(),
                "decision_by": "2027-12-31",
            },
            "scorecard": [{"key": "empathy", "label": "Empati"}],
            "needs": {
                "experience_areas": ["ekonomiskt_bistand"],
                "languages": ["sv"],
                "panel_size": panel_size,
            },
        },
        department=code,
        at=at(0),
    )
    steps = ["advertised", "applications", "assessment", "interviews", "decided", "closed"]
    wanted = steps[: steps.index(stage) + 1] if stage in steps else []
    candidate = new_id()
    if panel:
        w.emit(
            "matching",
            "PanelAssigned",
            panel_id(rid),
            {"recruitment_id": rid, "members": panel, "proposal_id": None, "overrides": []},
            department=code,
            at=at(1),
        )
        w.emit(
            "recruitments",
            "PanelLearned",
            rid,
            {"members": [{"participant_id": p} for p in panel]},
            department=code,
            at=at(1),
        )
    if "advertised" in wanted:
        w.emit(
            "recruitments",
            "AdvertPublished",
            rid,
            {"version": 1, "text_hash": "ab" * 32},
            department=code,
            at=at(3),
        )
    if "applications" in wanted:
        w.emit(
            "recruitments",
            "ApplicationReceived",
            rid,
            {
                "candidate_id": candidate,
                "ats_ref": "ats-1",
                "personal": "enc:v1:" + uuid.uuid4().hex,
                "protected_identity": False,
            },
            department=code,
            at=at(5),
        )
    if "assessment" in wanted:
        w.emit(
            "recruitments",
            "ApplicationAssessed",
            rid,
            {
                "candidate_id": candidate,
                "assessor": {"id": "staff-hm", "role": "hiring_manager"},
                "shortlist": "yes",
                "motivation": "Stark ansökan",
            },
            department=code,
            at=at(9),
        )
    if "interviews" in wanted:
        for p in panel:
            w.emit(
                "recruitments",
                "InterviewScored",
                rid,
                {
                    "candidate_id": candidate,
                    "member": {"id": p, "role": "participant"},
                    "scores": {"empathy": 4},
                    "recommendation": "hire",
                    "comment": "enc:v1:" + uuid.uuid4().hex,
                },
                department=code,
                at=at(12),
            )
            w.emit(
                "participants",
                "HonorariumAccrued",
                p,
                {
                    "activity_ref": f"recruitment:{rid}:interview:{p}",
                    "activity_type": "interview",
                    "recruitment_id": rid,
                    "hours": 3,
                    "amount_ore": 45000,
                    "rate_basis": "hour",
                },
                department=code,
                at=at(12),
            )
    if "decided" in wanted:
        w.emit(
            "recruitments",
            "HiringDecisionMade",
            rid,
            {
                "candidate_id": candidate,
                "motivation": "Bäst i intervjun",
                "participants_recommendation": "hire",
                "against_participants": False,
            },
            department=code,
            at=at(16),
        )
    if "closed" in wanted:
        w.emit(
            "recruitments",
            "RecruitmentClosed",
            rid,
            {"outcome": "filled", "reason": "tillsatt"},
            department=code,
            at=at(20),
        )
        w.emit(
            "recruitments",
            "ManagerFeedbackGiven",
            rid,
            {"rating": manager_rating, "text": FEEDBACK_TEXT},
            department=code,
            at=at(25),
        )
        for p in feedback_from:
            w.emit(
                "recruitments",
                "ParticipantFeedbackGiven",
                rid,
                {"participant_id": p, "rating": influence, "text": FEEDBACK_TEXT},
                department=code,
                at=at(25),
            )
        for months, still, motivation in followups:
            w.emit(
                "recruitments",
                "HireFollowedUp",
                rid,
                {
                    "candidate_id": candidate,
                    "months": months,
                    "still_employed": still,
                    "motivation_rating": motivation,
                },
                department=code,
                at=at(25 + 30 * months),
            )
    return rid


def seed(w: EventWriter) -> dict[str, list[str]]:
    """The whole history; returns the participant ids per department."""
    onboard(w, SOC, NAMES[SOC], budget_ore=300000)
    onboard(w, ARB, NAMES[ARB], budget_ore=150000)
    onboard(w, SKOL, NAMES[SKOL])
    people = {
        SOC: participants(w, SOC, 14, research=9),
        ARB: participants(w, ARB, 7, research=7),
        SKOL: participants(w, SKOL, 3, research=3),
    }
    soc = people[SOC]
    # Rotation: one opted out, one erased.
    w.emit(
        "participants",
        "ContactStatusChanged",
        soc[13],
        {"status": "opted_out", "until": None, "reason": None},
        department=SOC,
        at="2026-02-01T10:00:00Z",
    )
    w.emit(
        "participants",
        "ParticipantForgotten",
        soc[12],
        {"legal_basis": "GDPR art. 17", "erased": ["personal"], "kept": ["participation"]},
        department=None,
        at="2026-02-02T10:00:00Z",
    )
    # Six filled recruitments in socialförvaltningen: feedback from 7 participants (6 consented to research).
    for i in range(6):
        recruitment(
            w,
            SOC,
            stage="closed",
            panel=soc[0:3] if i % 2 else soc[3:6],
            month=3,
            feedback_from=[soc[(i + k) % 12] for k in range(3)] if i < 3 else soc[8:10],
            manager_rating=3 + i % 3,
            influence=2 + i % 4,
            followups=((6, i != 2, 3 + i % 3),) + (((12, i < 4, 4),) if i < 5 else ()),
        )
    soon = datetime.now(UTC).date() + timedelta(days=30)
    recruitment(w, SOC, stage="interviews", panel=soc[6:9], month=5)
    recruitment(w, SOC, stage="advertised", panel=soc[9:10], month=6, interviews_from=soon, unit="Enhet Söder")
    recruitment(w, SOC, stage="preparation", panel=[], month=7, interviews_from=soon)
    arb = people[ARB]
    recruitment(
        w,
        ARB,
        stage="closed",
        panel=arb[0:3],
        month=4,
        feedback_from=arb[0:2],
        manager_rating=5,
        influence=5,
        followups=((6, True, 5),),
    )
    recruitment(w, ARB, stage="assessment", panel=arb[3:4], month=8, interviews_from=soon, unit="Jobbtorget")
    recruitment(w, SKOL, stage="applications", panel=[], month=9)
    # Honoraria: one accrual without a department of its own (resolved via its recruitment), payments.
    first = soc[0]
    w.emit(
        "participants",
        "HonorariumAccrued",
        first,
        {
            "activity_ref": f"extra:{first}",
            "activity_type": "job_description",
            "recruitment_id": None,
            "hours": 1,
            "amount_ore": 15000,
            "rate_basis": "hour",
        },
        department=SOC,
        at="2026-04-02T10:00:00Z",
    )
    w.emit(
        "participants",
        "HonorariumPaid",
        first,
        {"payroll_ref": "PR-1", "amount_ore": 60000, "period": "2026-04", "accrual_refs": [f"extra:{first}"]},
        department=None,
        at="2026-04-28T10:00:00Z",
    )
    w.emit(
        "participants",
        "HonorariumPaid",
        arb[0],
        {"payroll_ref": "PR-2", "amount_ore": 45000, "period": "2026-05", "accrual_refs": []},
        department=ARB,
        at="2026-05-28T10:00:00Z",
    )
    w.flush()
    return people
