"""Read models and reactions of the participants service, fed from Kafka.

``ParticipantDirectory`` (from participants.events) holds only pseudonymous data and vault
tokens: who is in which department's bank, consents, shared tags, status, the honoraria ledger.
It masks a person as soon as ``ParticipantForgotten`` arrives.
``HonorariaFromRecruitments`` (from recruitments.events) accrues honoraria for participants'
work on recruitments by issuing commands to the application (idempotent on the activity ref).
"""

from __future__ import annotations

import json
from typing import Any

from services.participants.application import ParticipantsApp
from shared.consumer import Projection, dumps
from shared.contract import paid_activity
from shared.db import Database, Tx
from shared.envelope import Envelope

DIRECTORY_DDL = """
CREATE TABLE IF NOT EXISTS participant_directory (
    participant_id TEXT PRIMARY KEY,
    departments TEXT NOT NULL,
    consents TEXT NOT NULL,
    shared_tags TEXT NOT NULL,
    languages TEXT NOT NULL,
    contact_status TEXT NOT NULL,
    contact_until TEXT,
    confidentiality_signed INTEGER NOT NULL,
    training_completed INTEGER NOT NULL,
    personal TEXT,
    payment_declined INTEGER NOT NULL,
    restricted INTEGER NOT NULL,
    forgotten INTEGER NOT NULL,
    last_event_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS honoraria_ledger (
    activity_ref TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL,
    department TEXT,
    activity_type TEXT NOT NULL,
    amount_ore BIGINT NOT NULL,
    accrued_on TEXT NOT NULL,
    approved INTEGER NOT NULL,
    payroll_ref TEXT
)
"""


class ParticipantDirectory(Projection):
    """The coordinators' list of participants and the payroll ledger (pseudonymous)."""

    name = "participants-directory"
    topics = ("participants.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(DIRECTORY_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        pid = envelope["aggregate_id"]
        payload = envelope["payload"]
        at = envelope["occurred_at"]
        if kind == "UserRegistered":
            tx.execute(
                "INSERT INTO participant_directory (participant_id, departments, consents, shared_tags, languages, "
                "contact_status, contact_until, confidentiality_signed, training_completed, personal, "
                "payment_declined, restricted, forgotten, last_event_at) "
                "VALUES (?, ?, '[]', '[]', '[]', 'available', NULL, 0, 0, ?, 0, 0, 0, ?) "
                "ON CONFLICT (participant_id) DO NOTHING",
                (pid, dumps(sorted(payload["departments"])), payload["personal"], at),
            )
            return
        row = tx.one("SELECT departments, consents FROM participant_directory WHERE participant_id = ?", (pid,))
        if row is None:
            return
        self._apply_ledger(tx, kind, pid, envelope)
        changes: dict[str, Any] = {"last_event_at": at}
        if kind in ("ConsentGiven", "ConsentWithdrawn"):
            consents = set(json.loads(row["consents"]))
            key = f"{payload['purpose']}:{payload['department']}"
            consents = consents | {key} if kind == "ConsentGiven" else consents - {key}
            changes["consents"] = dumps(sorted(consents))
            if kind == "ConsentWithdrawn" and not any(c.endswith(f":{payload['department']}") for c in consents):
                departments = set(json.loads(row["departments"])) - {payload["department"]}
                changes["departments"] = dumps(sorted(departments))
            if not any(c.startswith("matching:") for c in consents):
                changes["shared_tags"] = "[]"
        elif kind == "ProfileUpdated":
            changes.update(shared_tags=dumps(payload["shared_tags"]), languages=dumps(payload["languages"]))
        elif kind == "ContactDetailsUpdated":
            changes["personal"] = payload["personal"]
        elif kind == "ContactStatusChanged":
            changes.update(contact_status=payload["status"], contact_until=payload["until"])
        elif kind == "ConfidentialityUndertakingSigned":
            changes["confidentiality_signed"] = 1
        elif kind == "IntroductionTrainingCompleted":
            changes["training_completed"] = 1
        elif kind == "PaymentDeclined":
            changes["payment_declined"] = 1
        elif kind == "PaymentTermsAcknowledged":
            changes["payment_declined"] = 0
        elif kind == "ProcessingRestrictionChanged":
            changes["restricted"] = 1 if payload["restricted"] else 0
        elif kind == "ParticipantForgotten":
            changes.update(personal=None, shared_tags="[]", languages="[]", forgotten=1)
        columns = ", ".join(f"{name} = ?" for name in changes)
        tx.execute(f"UPDATE participant_directory SET {columns} WHERE participant_id = ?",
                   (*changes.values(), pid))

    def _apply_ledger(self, tx: Tx, kind: str, pid: str, envelope: Envelope) -> None:
        payload = envelope["payload"]
        if kind == "HonorariumAccrued":
            tx.execute(
                "INSERT INTO honoraria_ledger (activity_ref, participant_id, department, activity_type, amount_ore, "
                "accrued_on, approved, payroll_ref) VALUES (?, ?, ?, ?, ?, ?, 0, NULL) "
                "ON CONFLICT (activity_ref) DO NOTHING",
                (payload["activity_ref"], pid, envelope["department"], payload["activity_type"],
                 payload["amount_ore"], payload["accrued_on"]),
            )
        elif kind == "HonorariumApproved":
            for ref in payload["accrual_refs"]:
                tx.execute("UPDATE honoraria_ledger SET approved = 1 WHERE activity_ref = ?", (ref,))
        elif kind == "HonorariumPaid":
            for ref in payload["accrual_refs"]:
                tx.execute("UPDATE honoraria_ledger SET payroll_ref = ? WHERE activity_ref = ?",
                           (payload["payroll_ref"], ref))


def list_participants(db: Database, department: str) -> list[dict[str, Any]]:
    """Participants visible to a department's coordinators: registered there or consented there."""
    with db.transaction() as tx:
        rows = tx.all("SELECT * FROM participant_directory WHERE forgotten = 0 ORDER BY participant_id")
    out = []
    for row in rows:
        consents = json.loads(row["consents"])
        visible = set(json.loads(row["departments"])) | {c.split(":", 1)[1] for c in consents}
        if department not in visible:
            continue
        out.append({
            "id": row["participant_id"],
            "consents": [c.split(":", 1)[0] for c in consents if c.endswith(":" + department)],
            "shared_tags": json.loads(row["shared_tags"]) if f"matching:{department}" in consents else [],
            "languages": json.loads(row["languages"]),
            "contact_status": row["contact_status"],
            "contact_until": row["contact_until"],
            "ready": bool(row["confidentiality_signed"] and row["training_completed"]),
            "restricted": bool(row["restricted"]),
        })
    return out


def payable_accruals(db: Database, department: str) -> list[dict[str, Any]]:
    """Approved, unpaid accruals of a department, for people who have not declined payment."""
    with db.transaction() as tx:
        return tx.all(
            "SELECT l.activity_ref, l.participant_id, l.activity_type, l.amount_ore FROM honoraria_ledger l "
            "JOIN participant_directory d ON d.participant_id = l.participant_id "
            "WHERE l.department = ? AND l.approved = 1 AND l.payroll_ref IS NULL AND d.payment_declined = 0 "
            "ORDER BY l.activity_ref",
            (department,),
        )


class ParticipationFromOtherServices(Projection):
    """Participants' work on recruitments becomes honoraria; panel seats assigned by matching
    are noted (they count towards participation limits and are kept under records law).
    A reaction, no read model: it issues commands to the application."""

    name = "participants-participation"
    topics = ("recruitments.events", "matching.events")

    def __init__(self, app: ParticipantsApp) -> None:
        self.app = app

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        if envelope.get("source") == "matching":
            self._apply_panel(envelope)
            return
        work = paid_activity(envelope)
        if work is None:
            return
        self.app.accrue_from_activity(
            work.participant_id, work.activity_type, work.recruitment_id, envelope.get("department"),
            str(envelope["occurred_at"])[:10], {"id": "participants-honoraria", "role": "system"},
        )


    def _apply_panel(self, envelope: Envelope) -> None:
        payload = envelope.get("payload") or {}
        kind = envelope.get("event_type")
        if kind == "PanelAssigned":
            members = [str(m) for m in payload.get("members") or []]
        elif kind == "PanelMemberReplaced":
            members = [str(payload["replacement"])] if payload.get("replacement") else []
        else:
            return
        for member in members:
            self.app.record_panel_membership(
                member, str(payload["recruitment_id"]), str(envelope["aggregate_id"]), envelope.get("department"),
                str(envelope["occurred_at"])[:10], {"id": "participants-participation", "role": "system"},
            )
