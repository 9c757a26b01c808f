"""Read models of the participants service, fed from Kafka (the API reads them directly;
reactions that issue commands live in ``reactions.py``).

``ParticipantDirectory`` (from participants.events) holds only pseudonymous data and vault
tokens: who is in which department's bank, consents, shared tags, status, the honoraria ledger.
It masks a person as soon as ``ParticipantForgotten`` arrives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.participants.domain import tax_flags
from shared.consumer import Projection, dumps
from shared.db import Database, Tx
from shared.envelope import Envelope
from shared.pagination import after_key_sql, decode_cursor, page_of

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
"""


def ledger_ddl(table: str) -> str:
    """An honoraria ledger: each accrual with its approval and the payment that paid it."""
    return f"""
CREATE TABLE IF NOT EXISTS {table} (
    activity_ref TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL,
    department TEXT,
    activity_type TEXT NOT NULL,
    amount_ore BIGINT NOT NULL,
    accrued_on TEXT NOT NULL,
    approved INTEGER NOT NULL,
    payroll_ref TEXT
)"""


def apply_to_ledger(tx: Tx, table: str, kind: str, pid: str, envelope: Envelope) -> None:
    """An accrual, an approval or a payment of person ``pid`` into the ledger ``table``."""
    payload = envelope["payload"]
    if kind == "HonorariumAccrued":
        tx.execute(f"INSERT INTO {table} (activity_ref, participant_id, department, activity_type, amount_ore, "
                   f"accrued_on, approved, payroll_ref) VALUES (?, ?, ?, ?, ?, ?, 0, NULL) "
                   f"ON CONFLICT (activity_ref) DO NOTHING",
                   (payload["activity_ref"], pid, envelope["department"], payload["activity_type"],
                    payload["amount_ore"], payload["accrued_on"]))
    elif kind == "HonorariumApproved":
        tx.executemany(f"UPDATE {table} SET approved = 1 WHERE activity_ref = ? AND participant_id = ?",
                       [(ref, pid) for ref in payload["accrual_refs"]])
    elif kind == "HonorariumPaid":
        tx.executemany(f"UPDATE {table} SET payroll_ref = ? WHERE activity_ref = ? AND participant_id = ?",
                       [(payload["payroll_ref"], ref, pid) for ref in payload["accrual_refs"]])


def consents_after(consents: list[str], departments: list[str], kind: str,
                   payload: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Consents ("purpose:department") and bank departments after ``ConsentGiven`` or
    ``ConsentWithdrawn``: withdrawing the last consent in a department leaves that department's bank
    (as ``Participant.withdraw_consent`` does)."""
    key = f"{payload['purpose']}:{payload['department']}"
    held = set(consents) | {key} if kind == "ConsentGiven" else set(consents) - {key}
    banks = set(departments)
    if kind == "ConsentWithdrawn" and not any(c.endswith(f":{payload['department']}") for c in held):
        banks.discard(payload["department"])
    return sorted(held), sorted(banks)


class ParticipantDirectory(Projection):
    """The coordinators' list of participants and the payroll ledger (pseudonymous)."""

    name = "participants-directory"
    topics = ("participants.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(DIRECTORY_DDL)
        db.migrate(ledger_ddl("honoraria_ledger"))
        # The payroll export reads what is approved and unpaid only, not every accrual ever made.
        db.migrate("CREATE INDEX IF NOT EXISTS honoraria_ledger_payable ON honoraria_ledger (department, activity_ref) "
                   "WHERE approved = 1 AND payroll_ref IS NULL")

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
        apply_to_ledger(tx, "honoraria_ledger", kind, pid, envelope)
        changes: dict[str, Any] = {"last_event_at": at}
        if kind in ("ConsentGiven", "ConsentWithdrawn"):
            consents, departments = consents_after(json.loads(row["consents"]), json.loads(row["departments"]),
                                                   kind, payload)
            changes.update(consents=dumps(consents), departments=dumps(departments))
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


# -- the brukarbank: the coordinators' paginated list, the access log and retention -------------
BANK_DDL = """
CREATE TABLE IF NOT EXISTS bank_people (
    participant_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    forgotten INTEGER NOT NULL,
    on_hold INTEGER NOT NULL,
    last_event_on TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bank_people_inactive ON bank_people (forgotten, on_hold, last_event_on);
CREATE TABLE IF NOT EXISTS bank_members (
    department TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    consents TEXT NOT NULL,
    shared_tags TEXT NOT NULL,
    languages TEXT NOT NULL,
    contact_status TEXT NOT NULL,
    contact_until TEXT,
    ready INTEGER NOT NULL,
    restricted INTEGER NOT NULL,
    last_engaged TEXT,
    PRIMARY KEY (department, participant_id)
);
CREATE TABLE IF NOT EXISTS bank_honoraria (
    activity_ref TEXT PRIMARY KEY,
    participant_id TEXT NOT NULL,
    department TEXT,
    amount_ore BIGINT NOT NULL,
    accrued_on TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bank_honoraria_person ON bank_honoraria (participant_id, department, accrued_on);
CREATE INDEX IF NOT EXISTS bank_accruals_period ON bank_accruals (department, accrued_on, participant_id);
CREATE INDEX IF NOT EXISTS bank_accruals_person ON bank_accruals (participant_id, department, accrued_on);
CREATE TABLE IF NOT EXISTS bank_payments (
    participant_id TEXT NOT NULL,
    payroll_ref TEXT NOT NULL,
    amount_ore BIGINT NOT NULL,
    paid_on TEXT NOT NULL,
    PRIMARY KEY (participant_id, payroll_ref)
);
CREATE TABLE IF NOT EXISTS bank_access_log (
    access_id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    occurred_at TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    purpose TEXT NOT NULL,
    categories TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS bank_access_log_subject ON bank_access_log (subject_id, position)
"""

# The events of a person's aggregate that are activity in the sense of retention: all of them.
# Lists in ``bank_members`` are stored as ",a,b," so that one LIKE '%,a,%' finds a member.
SEP = ","


def _joined(values: list[str]) -> str:
    return SEP + SEP.join(values) + SEP if values else ""


def _split(value: str) -> list[str]:
    return [v for v in value.split(SEP) if v]


def new_person(payload: dict[str, Any]) -> dict[str, Any]:
    """What the bank holds about a person just registered (pseudonymous only)."""
    return {"departments": sorted(payload["departments"]), "consents": [], "shared_tags": [], "languages": [],
            "contact_status": "available", "contact_until": None, "confidentiality": False, "training": False,
            "restricted": False, "forgotten": False, "legal_holds": [], "last_engaged": None,
            "payment_declined": False}


def person_after(state: dict[str, Any], kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The bank's view of a person after one of their events (a pure function of the events, so
    the read model equals a recomputation from them)."""
    s = dict(state)
    if kind in ("ConsentGiven", "ConsentWithdrawn"):
        s["consents"], s["departments"] = consents_after(s["consents"], s["departments"], kind, payload)
        if not any(c.startswith("matching:") for c in s["consents"]):
            s["shared_tags"] = []
    elif kind == "ProfileUpdated":
        s.update(shared_tags=list(payload["shared_tags"]), languages=list(payload["languages"]))
    elif kind == "ContactStatusChanged":
        s.update(contact_status=payload["status"], contact_until=payload["until"])
    elif kind == "ConfidentialityUndertakingSigned":
        s["confidentiality"] = True
    elif kind == "IntroductionTrainingCompleted":
        s["training"] = True
    elif kind == "ProcessingRestrictionChanged":
        s["restricted"] = bool(payload["restricted"])
    elif kind == "LegalHoldPlaced":
        s["legal_holds"] = sorted({*s["legal_holds"], payload["hold_id"]})
    elif kind == "LegalHoldReleased":
        s["legal_holds"] = [h for h in s["legal_holds"] if h != payload["hold_id"]]
    elif kind in ("PanelMembershipRecorded", "HonorariumAccrued"):
        # The latest panel seat or paid activity (the events carry their own dates).
        day = payload["assigned_on"] if kind == "PanelMembershipRecorded" else payload["accrued_on"]
        s["last_engaged"] = max(day, s["last_engaged"] or day)
    elif kind in ("PaymentDeclined", "PaymentTermsAcknowledged"):
        s["payment_declined"] = kind == "PaymentDeclined"
    elif kind == "ParticipantForgotten":
        s.update(forgotten=True, shared_tags=[], languages=[])
    return s


def members_of(pid: str, state: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The person's rows in ``bank_members``: one per department whose coordinators may see them."""
    if state["forgotten"]:
        return []
    consents = state["consents"]
    visible = set(state["departments"]) | {c.split(":", 1)[1] for c in consents}
    rows = []
    for department in sorted(visible):
        purposes = sorted(c.split(":", 1)[0] for c in consents if c.endswith(":" + department))
        tags = state["shared_tags"] if f"matching:{department}" in consents else []
        rows.append((department, pid, _joined(purposes), _joined(sorted(tags)), _joined(sorted(state["languages"])),
                     state["contact_status"], state["contact_until"],
                     int(state["confidentiality"] and state["training"]), int(state["restricted"]),
                     state["last_engaged"]))
    return rows


class ParticipantBank(Projection):
    """The brukarbank's read models: the department lists coordinators page through (with the
    date each person last took part and their honoraria), the log of reads of each person's
    data (for the Art. 15 report) and what the retention rules need (last activity, holds)."""

    # "-v2": the honoraria ledger by period (bank_accruals, bank_payments) came later; a new consumer
    # name makes an existing worker read the topic again from its start, so the new tables hold the
    # whole history (every apply here is idempotent, so the tables already there end the same).
    name = "participants-bank-v2"
    topics = ("participants.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(ledger_ddl("bank_accruals") + ";\n" + BANK_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        payload = envelope["payload"]
        if kind == "PersonalDataAccessed":
            actor = envelope["actor"] or {}
            tx.execute(
                "INSERT INTO bank_access_log (access_id, subject_id, position, occurred_at, actor_id, actor_role, "
                "purpose, categories) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (access_id) DO NOTHING",
                (envelope["aggregate_id"], payload["subject_id"], envelope["position"], envelope["occurred_at"],
                 str(actor.get("id")), str(actor.get("role")), payload["purpose"], dumps(payload["categories"])),
            )
            return
        pid = envelope["aggregate_id"]
        day = str(envelope["occurred_at"])[:10]
        if kind == "UserRegistered":
            state = new_person(payload)
        else:
            row = tx.one("SELECT state FROM bank_people WHERE participant_id = ?", (pid,))
            if row is None:
                return  # not a participant (a department, the vocabulary)
            state = person_after(json.loads(row["state"]), kind, payload)
        if kind == "HonorariumAccrued":
            tx.execute("INSERT INTO bank_honoraria (activity_ref, participant_id, department, amount_ore, accrued_on) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT (activity_ref) DO NOTHING",
                       (payload["activity_ref"], pid, envelope["department"], payload["amount_ore"],
                        payload["accrued_on"]))
        self._apply_honoraria(tx, kind, pid, envelope)
        tx.execute("DELETE FROM bank_people WHERE participant_id = ?", (pid,))
        tx.execute("INSERT INTO bank_people (participant_id, state, forgotten, on_hold, last_event_on) "
                   "VALUES (?, ?, ?, ?, ?)",
                   (pid, dumps(state), int(state["forgotten"]), int(bool(state["legal_holds"])), day))
        tx.execute("DELETE FROM bank_members WHERE participant_id = ?", (pid,))
        rows = members_of(pid, state)
        if rows:
            tx.executemany("INSERT INTO bank_members (department, participant_id, consents, shared_tags, languages, "
                           "contact_status, contact_until, ready, restricted, last_engaged) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


    @staticmethod
    def _apply_honoraria(tx: Tx, kind: str, pid: str, envelope: Envelope) -> None:
        """The honoraria ledger by period: each accrual with its approval and payment, and each
        payment with its day (the yearly tax thresholds count payments)."""
        apply_to_ledger(tx, "bank_accruals", kind, pid, envelope)
        if kind == "HonorariumPaid":
            payload = envelope["payload"]
            tx.execute("INSERT INTO bank_payments (participant_id, payroll_ref, amount_ore, paid_on) "
                       "VALUES (?, ?, ?, ?) ON CONFLICT (participant_id, payroll_ref) DO NOTHING",
                       (pid, payload["payroll_ref"], payload["amount_ore"], payload["paid_on"]))


@dataclass(frozen=True)
class BankFilter:
    """The filters of a department's list (all optional but the department)."""

    department: str
    ready: bool | None = None
    contact_status: str | None = None
    consent: str | None = None
    language: str | None = None
    shared_tag: str | None = None
    q: str | None = None


def _like(value: str) -> str:
    """A LIKE pattern (``ESCAPE '!'``) that finds ``value`` anywhere, its wildcards taken literally."""
    return "%" + value.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def bank_page(db: Database, where: BankFilter, after: str | None, limit: int, year: int) -> list[dict[str, Any]]:
    """Up to ``limit`` summaries of the department's bank after participant id ``after``, in id
    order, each with the person's honoraria accrued in ``year`` in this department (öre).

    Read in key order from the department's rows only (index on ``(department, participant_id)``):
    the cost of a page does not grow with the history or the size of other departments."""
    condition, key = after_key_sql(None if after is None else (after,), "participant_id")
    sql = f"SELECT * FROM bank_members WHERE department = ? AND {condition}"
    params: list[Any] = [where.department, *key]
    if where.ready is not None:
        sql += " AND ready = ?"
        params.append(int(where.ready))
    if where.contact_status:
        sql += " AND contact_status = ?"
        params.append(where.contact_status)
    for column, member in (("consents", where.consent), ("languages", where.language),
                           ("shared_tags", where.shared_tag)):
        if member:
            sql += f" AND {column} LIKE ? ESCAPE '!'"
            params.append(_like(SEP + member + SEP))
    text = (where.q or "").strip().lower()
    if text:
        # Free text over the pseudonymous fields only: id, shared tags, languages (no names here).
        sql += " AND (" + " OR ".join(f"{c} LIKE ? ESCAPE '!'" for c in ("participant_id", "shared_tags",
                                                                          "languages")) + ")"
        params.extend([_like(text)] * 3)
    sql += " ORDER BY participant_id LIMIT ?"
    params.append(limit)
    with db.transaction() as tx:
        rows = tx.all(sql, params)
        ids = [r["participant_id"] for r in rows]
        paid: dict[str, int] = {}
        if ids:
            marks = ", ".join("?" for _ in ids)
            for r in tx.all(f"SELECT participant_id, SUM(amount_ore) AS total FROM bank_honoraria "
                            f"WHERE department = ? AND accrued_on >= ? AND accrued_on < ? "
                            f"AND participant_id IN ({marks}) GROUP BY participant_id",
                            (where.department, f"{year}-01-01", f"{year + 1}-01-01", *ids)):
                paid[r["participant_id"]] = int(r["total"])
    return [{
        "id": r["participant_id"],
        "consents": _split(r["consents"]),
        "shared_tags": _split(r["shared_tags"]),
        "languages": _split(r["languages"]),
        "contact_status": r["contact_status"],
        "contact_until": r["contact_until"],
        "ready": bool(r["ready"]),
        "restricted": bool(r["restricted"]),
        "last_engaged": r["last_engaged"],
        "honoraria_this_year": paid.get(r["participant_id"], 0),
    } for r in rows]


def participants_page(db: Database, query: dict[str, Any], year: int) -> dict[str, Any]:
    """One page of ``GET /participants`` (``query``: the loaded ``ListQuery``)."""
    after = decode_cursor(query.get("cursor"), arity=1)
    where = BankFilter(query["department"], query.get("ready"), query.get("contact_status"), query.get("consent"),
                       query.get("language"), query.get("shared_tag"), query.get("q"))
    rows = bank_page(db, where, str(after[0]) if after else None, query["limit"] + 1, year)
    return page_of(rows, query["limit"], lambda item: (item["id"],))


def _month_after(period: str) -> str:
    """The first day of the month after ``period`` (YYYY-MM)."""
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12}-{month % 12 + 1:02d}-01"


def _sums(accruals: list[dict[str, Any]]) -> dict[str, int]:
    """Accrued, approved (still unpaid) and paid öre of some accruals."""
    return {"accrued_ore": sum(a["amount_ore"] for a in accruals),
            "approved_ore": sum(a["amount_ore"] for a in accruals if a["approved"] and a["payroll_ref"] is None),
            "paid_ore": sum(a["amount_ore"] for a in accruals if a["payroll_ref"] is not None)}


def honoraria_rows(db: Database, department: str, period: str, after: str | None,
                   limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` people with accruals of ``department`` in ``period`` (YYYY-MM), after
    participant id ``after`` in id order: their accruals of the period, the period's and the
    year's totals in this department, and the year's tax-threshold flags (which count every
    payment of the municipality, as ``Participant`` honoraria do; only the flags, not the other
    departments' amounts, are shown).

    Read from the period's rows of the department only (index on ``(department, accrued_on)``)
    and the page's people: the cost does not grow with the history or the bank."""
    start, end = f"{period}-01", _month_after(period)
    year = period[:4]
    condition, key = after_key_sql(None if after is None else (after,), "participant_id")
    sql = ("SELECT DISTINCT participant_id FROM bank_accruals WHERE department = ? AND accrued_on >= ? "
           f"AND accrued_on < ? AND {condition}")
    params: list[Any] = [department, start, end, *key]
    params.append(limit)
    with db.transaction() as tx:
        ids = [r["participant_id"] for r in tx.all(sql + " ORDER BY participant_id LIMIT ?", params)]
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        accruals = tx.all(f"SELECT * FROM bank_accruals WHERE department = ? AND accrued_on >= ? AND accrued_on < ? "
                          f"AND participant_id IN ({marks}) ORDER BY participant_id, activity_ref",
                          (department, f"{year}-01-01", f"{int(year) + 1}-01-01", *ids))
        paid = {r["participant_id"]: int(r["total"]) for r in tx.all(
            f"SELECT participant_id, SUM(amount_ore) AS total FROM bank_payments WHERE paid_on >= ? AND paid_on < ? "
            f"AND participant_id IN ({marks}) GROUP BY participant_id",
            (f"{year}-01-01", f"{int(year) + 1}-01-01", *ids))}
        declined = {r["participant_id"]: bool(json.loads(r["state"]).get("payment_declined"))
                    for r in tx.all(f"SELECT participant_id, state FROM bank_people WHERE participant_id IN ({marks})",
                                    ids)}
    out = []
    for pid in ids:
        year_rows = [{"activity_ref": a["activity_ref"], "activity_type": a["activity_type"],
                      "amount_ore": int(a["amount_ore"]), "accrued_on": a["accrued_on"],
                      "approved": bool(a["approved"]), "payroll_ref": a["payroll_ref"]}
                     for a in accruals if a["participant_id"] == pid]
        in_period = [a for a in year_rows if a["accrued_on"].startswith(period)]
        out.append({"participant_id": pid, "payment_declined": declined.get(pid, False), "accruals": in_period,
                    "period_totals": _sums(in_period), "year_totals": _sums(year_rows),
                    "flags": tax_flags(paid.get(pid, 0))})
    return out


def honoraria_page(db: Database, query: dict[str, Any]) -> dict[str, Any]:
    """One page of ``GET /honoraria`` (``query``: the loaded ``HonorariaQuery``)."""
    after = decode_cursor(query.get("cursor"), arity=1)
    rows = honoraria_rows(db, query["department"], query["period"], str(after[0]) if after else None,
                          query["limit"] + 1)
    return page_of(rows, query["limit"], lambda item: (item["participant_id"],))


def access_log(db: Database, subject_id: str) -> list[dict[str, Any]]:
    """Who read this person's personal data, when and why, in the order it happened."""
    with db.transaction() as tx:
        rows = tx.all("SELECT * FROM bank_access_log WHERE subject_id = ? ORDER BY position", (subject_id,))
    return [{"access_id": r["access_id"], "at": r["occurred_at"], "by": {"id": r["actor_id"], "role": r["actor_role"]},
             "purpose": r["purpose"], "categories": json.loads(r["categories"])} for r in rows]


def inactive_people(db: Database, before: str) -> list[tuple[str, list[str], str]]:
    """People not erased, without a legal hold, whose last event was before ``before`` (a date):
    ``(id, departments, last event day)``, in id order."""
    with db.transaction() as tx:
        rows = tx.all("SELECT participant_id, state, last_event_on FROM bank_people "
                      "WHERE forgotten = 0 AND on_hold = 0 AND last_event_on < ? ORDER BY participant_id", (before,))
    return [(r["participant_id"], list(json.loads(r["state"])["departments"]), r["last_event_on"]) for r in rows]
