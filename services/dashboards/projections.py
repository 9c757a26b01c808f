"""Projections of the public Kafka topics into the dashboards' read model.

Each topic has its own projection (and so its own position and lag). They store facts, not
totals: cross-topic joins (a payment's department via its accruals, a panel's recruitment) are
made when the figures are computed (``figures.py``, per department, after each batch), so the
result does not depend on the order in which the three topics arrive. Free text (motivations,
comments, feedback text) and personal data are never stored.
"""

from __future__ import annotations

import re
from typing import Any

from shared.consumer import Projection, dumps
from shared.db import Database, Tx
from shared.envelope import Envelope

# Recruitment stages, in order; a recruitment only moves forward through them.
STAGES = ("preparation", "advertised", "applications", "assessment", "interviews", "decided", "closed")
STAGE_OF_EVENT = {
    "RecruitmentOpened": "preparation",
    "AdvertPublished": "advertised",
    "ApplicationReceived": "applications",
    "ApplicationAssessed": "assessment",
    "InterviewScored": "interviews",
    "HiringDecisionMade": "decided",
    "RecruitmentClosed": "closed",
}
MONTH = re.compile(r"^\d{4}-\d{2}$")

PARTICIPANTS_DDL = """
CREATE TABLE IF NOT EXISTS dash_departments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    onboarded_at TEXT NOT NULL,
    budget_ore_per_month BIGINT
);
CREATE TABLE IF NOT EXISTS dash_participants (
    participant_id TEXT PRIMARY KEY,
    registered_at TEXT NOT NULL,
    contact_status TEXT NOT NULL,
    forgotten INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_participant_departments (
    participant_id TEXT NOT NULL,
    department TEXT NOT NULL,
    PRIMARY KEY (participant_id, department)
);
CREATE TABLE IF NOT EXISTS dash_consents (
    participant_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    department TEXT NOT NULL,
    given INTEGER NOT NULL,
    PRIMARY KEY (participant_id, purpose, department)
);
CREATE TABLE IF NOT EXISTS dash_accruals (
    activity_ref TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL,
    recruitment_id TEXT,
    department TEXT,
    month TEXT NOT NULL,
    amount_ore BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_payments (
    event_id TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL,
    department TEXT,
    month TEXT NOT NULL,
    amount_ore BIGINT NOT NULL,
    accrual_refs TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dash_participant_departments_by_department ON dash_participant_departments (department);
CREATE INDEX IF NOT EXISTS dash_accruals_by_department ON dash_accruals (department);
CREATE INDEX IF NOT EXISTS dash_accruals_by_recruitment ON dash_accruals (recruitment_id);
CREATE INDEX IF NOT EXISTS dash_accruals_by_participant ON dash_accruals (participant_id);
CREATE INDEX IF NOT EXISTS dash_payments_by_department ON dash_payments (department);
CREATE INDEX IF NOT EXISTS dash_payments_by_participant ON dash_payments (participant_id)
"""

RECRUITMENTS_DDL = """
CREATE TABLE IF NOT EXISTS dash_recruitments (
    recruitment_id TEXT PRIMARY KEY,
    department TEXT,
    opened_at TEXT NOT NULL,
    unit TEXT NOT NULL,
    position TEXT NOT NULL,
    panel_size INTEGER NOT NULL,
    interviews_from TEXT,
    interviews_to TEXT,
    stage TEXT NOT NULL,
    stage_since TEXT NOT NULL,
    outcome TEXT,
    panel_learned TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_stage_spells (
    recruitment_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    entered_at TEXT NOT NULL,
    left_at TEXT,
    PRIMARY KEY (recruitment_id, stage)
);
CREATE TABLE IF NOT EXISTS dash_hires (
    recruitment_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    department TEXT,
    month TEXT NOT NULL,
    against_participants INTEGER NOT NULL,
    PRIMARY KEY (recruitment_id, candidate_id)
);
CREATE TABLE IF NOT EXISTS dash_followups (
    event_id TEXT PRIMARY KEY,
    recruitment_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    department TEXT,
    month TEXT NOT NULL,
    months INTEGER NOT NULL,
    still_employed INTEGER NOT NULL,
    motivation INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_manager_feedback (
    event_id TEXT PRIMARY KEY,
    recruitment_id TEXT NOT NULL,
    department TEXT,
    month TEXT NOT NULL,
    rating INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_participant_feedback (
    event_id TEXT PRIMARY KEY,
    recruitment_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    department TEXT,
    month TEXT NOT NULL,
    rating INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_imported (
    recruitment_id TEXT PRIMARY KEY,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS dash_recruitments_by_department ON dash_recruitments (department);
CREATE INDEX IF NOT EXISTS dash_hires_by_department ON dash_hires (department);
CREATE INDEX IF NOT EXISTS dash_followups_by_department ON dash_followups (department);
CREATE INDEX IF NOT EXISTS dash_followups_by_recruitment ON dash_followups (recruitment_id);
CREATE INDEX IF NOT EXISTS dash_manager_feedback_by_department ON dash_manager_feedback (department);
CREATE INDEX IF NOT EXISTS dash_manager_feedback_by_recruitment ON dash_manager_feedback (recruitment_id);
CREATE INDEX IF NOT EXISTS dash_participant_feedback_by_department ON dash_participant_feedback (department);
CREATE INDEX IF NOT EXISTS dash_participant_feedback_by_recruitment ON dash_participant_feedback (recruitment_id)
"""

MATCHING_DDL = """
CREATE TABLE IF NOT EXISTS dash_panels (
    recruitment_id TEXT PRIMARY KEY,
    aggregate_version INTEGER NOT NULL,
    members TEXT NOT NULL
)
"""


def month_of(timestamp: str) -> str:
    """``2026-11-23T00:48:10Z`` -> ``2026-11``."""
    return str(timestamp)[:7]


def _member_ids(members: Any) -> list[str]:
    """Panel members arrive as ids or as ``{participant_id: ...}`` objects."""
    out: list[str] = []
    for member in members or []:
        if isinstance(member, dict):
            out.append(str(member.get("participant_id") or member.get("id")))
        else:
            out.append(str(member))
    return out


class ParticipantsProjection(Projection):
    """Departments, the participant bank (ids only), consents and honoraria."""

    name = "dashboards.participants"
    topics = ("participants.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(PARTICIPANTS_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        payload = envelope.get("payload") or {}
        agg = str(envelope["aggregate_id"])
        at = str(envelope["occurred_at"])
        department = envelope.get("department")
        if kind == "DepartmentOnboarded":
            tx.execute(
                "INSERT INTO dash_departments (code, name, onboarded_at) VALUES (?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name",
                (payload["code"], payload["name"], at),
            )
        elif kind == "DepartmentSettingsChanged":
            tx.execute(
                "UPDATE dash_departments SET budget_ore_per_month = ? WHERE code = ?",
                (payload.get("budget_ore_per_month"), payload["code"]),
            )
        elif kind == "UserRegistered":
            tx.execute(
                "INSERT INTO dash_participants (participant_id, registered_at, contact_status, forgotten) "
                "VALUES (?, ?, 'available', 0) ON CONFLICT (participant_id) DO NOTHING",
                (agg, at),
            )
            for code in payload.get("departments") or []:
                tx.execute(
                    "INSERT INTO dash_participant_departments (participant_id, department) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (agg, code),
                )
        elif kind in ("ConsentGiven", "ConsentWithdrawn"):
            given = 1 if kind == "ConsentGiven" else 0
            tx.execute(
                "INSERT INTO dash_consents (participant_id, purpose, department, given) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (participant_id, purpose, department) DO UPDATE SET given = excluded.given",
                (agg, payload["purpose"], payload.get("department") or department or "", given),
            )
            if given and payload.get("department"):
                tx.execute(
                    "INSERT INTO dash_participant_departments (participant_id, department) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (agg, payload["department"]),
                )
        elif kind == "ContactStatusChanged":
            tx.execute(
                "UPDATE dash_participants SET contact_status = ? WHERE participant_id = ?",
                (payload["status"], agg),
            )
        elif kind == "ParticipantForgotten":
            tx.execute("UPDATE dash_participants SET forgotten = 1 WHERE participant_id = ?", (agg,))
        elif kind == "HonorariumAccrued":
            tx.execute(
                "INSERT INTO dash_accruals (activity_ref, participant_id, recruitment_id, department, month, "
                "amount_ore) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (activity_ref) DO NOTHING",
                (
                    payload["activity_ref"],
                    agg,
                    payload.get("recruitment_id"),
                    department,
                    month_of(at),
                    int(payload["amount_ore"]),
                ),
            )
        elif kind == "HonorariumPaid":
            period = str(payload.get("period") or "")
            tx.execute(
                "INSERT INTO dash_payments (event_id, participant_id, department, month, amount_ore, "
                "accrual_refs) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                (
                    envelope["event_id"],
                    agg,
                    department,
                    period if MONTH.match(period) else month_of(at),
                    int(payload["amount_ore"]),
                    dumps(list(payload.get("accrual_refs") or [])),
                ),
            )


class RecruitmentsProjection(Projection):
    """Recruitments, their stages, hires and the three effect-goal measures."""

    name = "dashboards.recruitments"
    topics = ("recruitments.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(RECRUITMENTS_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        payload = envelope.get("payload") or {}
        rid = str(envelope["aggregate_id"])
        at = str(envelope["occurred_at"])
        department = envelope.get("department")
        if kind == "RecruitmentOpened":
            planned = payload.get("planned") or {}
            needs = payload.get("needs") or {}
            tx.execute(
                "INSERT INTO dash_recruitments (recruitment_id, department, opened_at, unit, position, "
                "panel_size, "
                "interviews_from, interviews_to, stage, stage_since, outcome, panel_learned) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'preparation', ?, NULL, '[]') "
                "ON CONFLICT (recruitment_id) DO NOTHING",
                (
                    rid,
                    department,
                    at,
                    str(payload.get("unit") or ""),
                    str(payload.get("position") or ""),
                    int(needs.get("panel_size") or 0),
                    planned.get("interviews_from"),
                    planned.get("interviews_to"),
                    at,
                ),
            )
            tx.execute(
                "INSERT INTO dash_stage_spells (recruitment_id, stage, entered_at) "
                "VALUES (?, 'preparation', ?) "
                "ON CONFLICT DO NOTHING",
                (rid, at),
            )
            imported = payload.get("imported")
            if imported:  # history from before Delaktig: dated as it happened, shown apart
                tx.execute(
                    "INSERT INTO dash_imported (recruitment_id, imported_by, imported_at) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (rid, str(imported["by"]), str(imported["at"])),
                )
        elif kind == "PanelLearned":
            tx.execute(
                "UPDATE dash_recruitments SET panel_learned = ? WHERE recruitment_id = ?",
                (dumps(_member_ids(payload.get("members"))), rid),
            )
        elif kind == "HiringDecisionMade":
            tx.execute(
                "INSERT INTO dash_hires (recruitment_id, candidate_id, department, month, "
                "against_participants) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    rid,
                    str(payload["candidate_id"]),
                    department,
                    month_of(at),
                    1 if payload.get("against_participants") else 0,
                ),
            )
        elif kind == "RecruitmentClosed":
            tx.execute(
                "UPDATE dash_recruitments SET outcome = ? WHERE recruitment_id = ?",
                (payload.get("outcome"), rid),
            )
        elif kind == "HireFollowedUp":
            tx.execute(
                "INSERT INTO dash_followups (event_id, recruitment_id, candidate_id, department, month, "
                "months, "
                "still_employed, motivation) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    envelope["event_id"],
                    rid,
                    str(payload["candidate_id"]),
                    department,
                    month_of(at),
                    int(payload["months"]),
                    1 if payload.get("still_employed") else 0,
                    int(payload["motivation_rating"]),
                ),
            )
        elif kind == "ManagerFeedbackGiven":
            tx.execute(
                "INSERT INTO dash_manager_feedback (event_id, recruitment_id, department, month, rating) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (envelope["event_id"], rid, department, month_of(at), int(payload["rating"])),
            )
        elif kind == "ParticipantFeedbackGiven":
            tx.execute(
                "INSERT INTO dash_participant_feedback "
                "(event_id, recruitment_id, participant_id, department, month, rating) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    envelope["event_id"],
                    rid,
                    str(payload["participant_id"]),
                    department,
                    month_of(at),
                    int(payload["rating"]),
                ),
            )
        if kind in STAGE_OF_EVENT and kind != "RecruitmentOpened":
            self._advance(tx, rid, STAGE_OF_EVENT[kind], at)

    @staticmethod
    def _advance(tx: Tx, rid: str, stage: str, at: str) -> None:
        """Move a recruitment forward to ``stage`` (never back), closing the current spell."""
        row = tx.one("SELECT stage FROM dash_recruitments WHERE recruitment_id = ?", (rid,))
        if row is None or STAGES.index(stage) <= STAGES.index(row["stage"]):
            return
        tx.execute(
            "UPDATE dash_stage_spells SET left_at = ? WHERE recruitment_id = ? AND stage = ?",
            (at, rid, row["stage"]),
        )
        tx.execute(
            "INSERT INTO dash_stage_spells (recruitment_id, stage, entered_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (rid, stage, at),
        )
        tx.execute(
            "UPDATE dash_recruitments SET stage = ?, stage_since = ? WHERE recruitment_id = ?",
            (stage, at, rid),
        )


class MatchingProjection(Projection):
    """The current panel of each recruitment."""

    name = "dashboards.matching"
    topics = ("matching.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(MATCHING_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        if kind not in ("PanelAssigned", "PanelMemberReplaced"):
            return
        payload = envelope.get("payload") or {}
        version = int(envelope.get("aggregate_version") or 0)
        tx.execute(
            "INSERT INTO dash_panels (recruitment_id, aggregate_version, members) VALUES (?, ?, ?) "
            "ON CONFLICT (recruitment_id) DO UPDATE SET aggregate_version = excluded.aggregate_version, "
            "members = excluded.members WHERE dash_panels.aggregate_version < excluded.aggregate_version",
            (str(payload["recruitment_id"]), version, dumps(_member_ids(payload.get("members")))),
        )


def all_projections() -> list[Projection]:
    """The dashboards' projections, one per public topic."""
    return [ParticipantsProjection(), RecruitmentsProjection(), MatchingProjection()]
