"""The dashboards' figures: what a department's page and the administration-wide comparison show,
computed from the projected facts. ``figures.py`` runs this per department on that department's
facts only (``load_department_facts``) after each batch and daily, and stores the result; the
pages read the stored rows. ``load_facts`` (every fact table whole) is for the research export
and for tests that recompute everything as a reference, never for a request."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.dashboards.projections import STAGES
from shared.db import Database, Tx

UNAVAILABLE = ("do_not_contact", "opted_out", "paused")


@dataclass
class Facts:
    """Everything the read model holds, loaded once per page (the volumes are municipal)."""

    departments: list[dict[str, Any]]
    recruitments: dict[str, dict[str, Any]]
    spells: list[dict[str, Any]]
    panels: dict[str, list[str]]
    participants: dict[str, dict[str, Any]]
    participant_departments: dict[str, set[str]]
    accruals: dict[str, dict[str, Any]]
    payments: list[dict[str, Any]]
    hires: list[dict[str, Any]]
    followups: list[dict[str, Any]]
    manager_feedback: list[dict[str, Any]]
    participant_feedback: list[dict[str, Any]]
    consents: list[dict[str, Any]] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)  # recruitments imported from before Delaktig

    def department_of(self, recruitment_id: str | None, department: str | None) -> str | None:
        """An event's own department, else its recruitment's."""
        if department:
            return department
        recruitment = self.recruitments.get(recruitment_id or "")
        return recruitment["department"] if recruitment else None

    def panel_of(self, recruitment_id: str) -> list[str]:
        """The recruitment's panel: matching's latest, else what recruitments learned."""
        if recruitment_id in self.panels:
            return self.panels[recruitment_id]
        recruitment = self.recruitments.get(recruitment_id)
        return list(json.loads(recruitment["panel_learned"])) if recruitment else []


def load_facts(db: Database) -> Facts:
    """Read every fact table in one transaction (a consistent snapshot)."""
    with db.transaction() as tx:
        return _load(tx)


def load_department_facts(tx: Tx, code: str) -> Facts:
    """The facts that can count for department ``code`` (its own rows, rows without a department
    of its recruitments, and what a payment without a department needs to find its department),
    so that ``department_dashboard(facts, code, today)`` equals it on every fact."""
    recruitments = {r["recruitment_id"]: r for r in tx.all("SELECT * FROM dash_recruitments WHERE department = ?",
                                                           (code,))}
    members = {r["participant_id"] for r in tx.all(
        "SELECT participant_id FROM dash_participant_departments WHERE department = ?", (code,))}
    accruals = {r["activity_ref"]: r for r in _attributed(tx, "dash_accruals", code)}
    payments = tx.all("SELECT * FROM dash_payments WHERE department = ?", (code,))
    # A payment without a department takes that of the first of its accruals that is known: any
    # such payment of a participant with an accrual here is a candidate (a participant's payment
    # pays that participant's own accruals), with every accrual it names and their recruitments.
    unplaced = where_in(tx, "SELECT * FROM dash_payments WHERE (department IS NULL OR department = '') AND "
                         "participant_id IN ({marks})", sorted({a["participant_id"] for a in accruals.values()}))
    payments.extend(unplaced)
    named = sorted({ref for p in unplaced for ref in json.loads(p["accrual_refs"])} - set(accruals))
    for row in where_in(tx, "SELECT * FROM dash_accruals WHERE activity_ref IN ({marks})", named):
        accruals[row["activity_ref"]] = row
    others = sorted({str(a["recruitment_id"]) for a in accruals.values() if a["recruitment_id"]} - set(recruitments))
    for row in where_in(tx, "SELECT * FROM dash_recruitments WHERE recruitment_id IN ({marks})", others):
        recruitments[row["recruitment_id"]] = row
    manager_feedback = _attributed(tx, "dash_manager_feedback", code)
    participant_feedback = _attributed(tx, "dash_participant_feedback", code)
    rated = sorted({str(r["recruitment_id"]) for r in manager_feedback + participant_feedback} | set(recruitments))
    return Facts(
        departments=tx.all("SELECT code, name, onboarded_at, budget_ore_per_month FROM dash_departments "
                           "WHERE code = ?", (code,)),
        recruitments=recruitments,
        spells=tx.all("SELECT s.* FROM dash_stage_spells s JOIN dash_recruitments r "
                      "ON r.recruitment_id = s.recruitment_id WHERE r.department = ?", (code,)),
        panels={r["recruitment_id"]: list(json.loads(r["members"])) for r in tx.all(
            "SELECT p.* FROM dash_panels p JOIN dash_recruitments r ON r.recruitment_id = p.recruitment_id "
            "WHERE r.department = ?", (code,))},
        participants={r["participant_id"]: r for r in tx.all(
            "SELECT p.* FROM dash_participants p JOIN dash_participant_departments d "
            "ON d.participant_id = p.participant_id WHERE d.department = ?", (code,))},
        participant_departments={code: members} if members else {},
        accruals=accruals,
        payments=payments,
        hires=_attributed(tx, "dash_hires", code),
        followups=_attributed(tx, "dash_followups", code),
        manager_feedback=manager_feedback,
        participant_feedback=participant_feedback,
        imported={r["recruitment_id"] for r in where_in(
            tx, "SELECT recruitment_id FROM dash_imported WHERE recruitment_id IN ({marks})", rated)},
    )


def _attributed(tx: Tx, table: str, code: str) -> list[dict[str, Any]]:
    """Rows of ``table`` that count for ``code``: their own department, else their recruitment's
    (``Facts.department_of``: an empty department is no department)."""
    return tx.all(
        f"SELECT * FROM {table} WHERE department = ? UNION ALL "
        f"SELECT t.* FROM {table} t JOIN dash_recruitments r ON r.recruitment_id = t.recruitment_id "
        "WHERE (t.department IS NULL OR t.department = '') AND r.department = ?",
        (code, code),
    )


def where_in(tx: Tx, sql: str, values: list[str], chunk: int = 500) -> list[dict[str, Any]]:
    """``sql`` with ``{marks}`` bound to ``values``, a chunk at a time."""
    out: list[dict[str, Any]] = []
    for i in range(0, len(values), chunk):
        part = values[i:i + chunk]
        out.extend(tx.all(sql.format(marks=", ".join("?" for _ in part)), part))
    return out


def _load(tx: Tx) -> Facts:
    recruitments = {r["recruitment_id"]: r for r in tx.all("SELECT * FROM dash_recruitments")}
    members: dict[str, set[str]] = defaultdict(set)
    for row in tx.all("SELECT participant_id, department FROM dash_participant_departments"):
        members[row["department"]].add(row["participant_id"])
    return Facts(
        departments=tx.all(
            "SELECT code, name, onboarded_at, budget_ore_per_month FROM dash_departments ORDER BY onboarded_at, code"
        ),
        recruitments=recruitments,
        spells=tx.all("SELECT * FROM dash_stage_spells"),
        panels={r["recruitment_id"]: list(json.loads(r["members"])) for r in tx.all("SELECT * FROM dash_panels")},
        participants={r["participant_id"]: r for r in tx.all("SELECT * FROM dash_participants")},
        participant_departments=dict(members),
        accruals={r["activity_ref"]: r for r in tx.all("SELECT * FROM dash_accruals")},
        payments=tx.all("SELECT * FROM dash_payments"),
        hires=tx.all("SELECT * FROM dash_hires"),
        followups=tx.all("SELECT * FROM dash_followups"),
        manager_feedback=tx.all("SELECT * FROM dash_manager_feedback"),
        participant_feedback=tx.all("SELECT * FROM dash_participant_feedback"),
        consents=tx.all("SELECT * FROM dash_consents"),
        imported={r["recruitment_id"] for r in tx.all("SELECT recruitment_id FROM dash_imported")},
    )


def _days(start: str, end: str) -> float:
    a = datetime.fromisoformat(start.replace("Z", "+00:00"))
    b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    return max(0.0, (b - a).total_seconds() / 86400)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def payment_department(facts: Facts, payment: dict[str, Any]) -> str | None:
    """A payment's department: its own, else that of the first accrual it pays."""
    if payment["department"]:
        return str(payment["department"])
    for ref in json.loads(payment["accrual_refs"]):
        accrual = facts.accruals.get(ref)
        if accrual:
            return facts.department_of(accrual["recruitment_id"], accrual["department"])
    return None


def department_dashboard(facts: Facts, code: str, today: date) -> dict[str, Any]:
    """The numbers of one department's page."""
    recruitments = [r for r in facts.recruitments.values() if r["department"] == code]
    ids = {r["recruitment_id"] for r in recruitments}
    by_stage = {stage: sum(1 for r in recruitments if r["stage"] == stage) for stage in STAGES}

    durations: dict[str, list[float]] = defaultdict(list)
    for spell in facts.spells:
        if spell["recruitment_id"] in ids and spell["left_at"]:
            durations[spell["stage"]].append(_days(spell["entered_at"], spell["left_at"]))
    days_in_stage = {s: (round(sum(d) / len(d), 1) if (d := durations.get(s)) else None) for s in STAGES[:-1]}

    upcoming = []
    for r in sorted(recruitments, key=lambda r: (r["interviews_from"] or "", r["recruitment_id"])):
        last_day = r["interviews_to"] or r["interviews_from"]
        if r["stage"] in ("decided", "closed") or not last_day or last_day < today.isoformat():
            continue
        panel = len(facts.panel_of(r["recruitment_id"]))
        if panel < r["panel_size"]:
            upcoming.append(
                {
                    "recruitment_id": r["recruitment_id"],
                    "unit": r["unit"],
                    "position": r["position"],
                    "interviews_from": r["interviews_from"],
                    "panel": panel,
                    "panel_size": r["panel_size"],
                }
            )

    open_ids = {r["recruitment_id"] for r in recruitments if r["stage"] != "closed"}
    engaged_now = {p for rid in open_ids for p in facts.panel_of(rid)}
    ever = {p for rid in ids for p in facts.panel_of(rid)}
    bank = {
        p
        for p in facts.participant_departments.get(code, set())
        if p in facts.participants and not facts.participants[p]["forgotten"]
    }
    available = {p for p in bank if facts.participants[p]["contact_status"] not in UNAVAILABLE}
    waiting = available - engaged_now
    rotation = {
        "in_bank": len(bank),
        "engaged": len(engaged_now & bank),
        "waiting": len(waiting),
        "never_engaged": len(waiting - ever),
    }

    accrued: dict[str, int] = defaultdict(int)
    for a in facts.accruals.values():
        if facts.department_of(a["recruitment_id"], a["department"]) == code:
            accrued[a["month"]] += int(a["amount_ore"])
    paid: dict[str, int] = defaultdict(int)
    for p in facts.payments:
        if payment_department(facts, p) == code:
            paid[p["month"]] += int(p["amount_ore"])
    department = next((d for d in facts.departments if d["code"] == code), None)
    budget = department["budget_ore_per_month"] if department else None
    honoraria = [
        {"month": m, "accrued_ore": accrued.get(m, 0), "paid_ore": paid.get(m, 0), "budget_ore": budget}
        for m in sorted(set(accrued) | set(paid))
    ]

    return {
        "code": code,
        "name": department["name"] if department else code,
        "recruitments_total": len(recruitments),
        "by_stage": by_stage,
        "days_in_stage": days_in_stage,
        "upcoming_without_full_panel": upcoming,
        "rotation": rotation,
        "honoraria": honoraria,
        "budget_ore_per_month": budget,
        "hires": sum(1 for h in facts.hires if facts.department_of(h["recruitment_id"], h["department"]) == code),
        "effect": effect_goals(facts, code),
        "imported": imported_history(facts, recruitments),
    }


def imported_history(facts: Facts, recruitments: list[dict[str, Any]]) -> dict[str, Any]:
    """How many of the recruitments are imported history, and the months they span."""
    months = sorted(str(r["opened_at"])[:7] for r in recruitments if r["recruitment_id"] in facts.imported)
    return {"recruitments": len(months), "from": months[0] if months else None, "to": months[-1] if months else None}


def effect_goals(facts: Facts, code: str) -> dict[str, list[dict[str, Any]]]:
    """The three effect goals, per month: (1) hires' motivation and retention at 6/12 months,
    (2) managers' rating, (3) participants' rating of their influence."""
    motivation: dict[str, list[int]] = defaultdict(list)
    retention: dict[tuple[str, int], list[int]] = defaultdict(list)
    for f in facts.followups:
        if facts.department_of(f["recruitment_id"], f["department"]) == code:
            motivation[f["month"]].append(int(f["motivation"]))
            retention[(f["month"], int(f["months"]))].append(int(f["still_employed"]))
    months = sorted(motivation)
    hires = [
        {
            "month": m,
            "motivation": _mean(motivation[m]),
            "retained_6": _percent(retention.get((m, 6))),
            "retained_12": _percent(retention.get((m, 12))),
            "n": len(motivation[m]),
        }
        for m in months
    ]

    def ratings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Per month: every rating, and apart those from live recruitments and from imported history.
        per: dict[str, dict[bool, list[int]]] = defaultdict(lambda: {True: [], False: []})
        for row in rows:
            if facts.department_of(row["recruitment_id"], row["department"]) == code:
                per[row["month"]][row["recruitment_id"] in facts.imported].append(int(row["rating"]))
        return [
            {
                "month": m,
                "rating": _mean(per[m][True] + per[m][False]),
                "n": len(per[m][True]) + len(per[m][False]),
                "imported": len(per[m][True]),
                "rating_live": _mean(per[m][False]),
                "rating_imported": _mean(per[m][True]),
            }
            for m in sorted(per)
        ]

    return {
        "hires": hires,
        "managers": ratings(facts.manager_feedback),
        "participants": ratings(facts.participant_feedback),
    }


def _percent(values: list[int] | None) -> int | None:
    return round(100 * sum(values) / len(values)) if values else None


def overview(facts: Facts, codes: list[str], today: date) -> list[dict[str, Any]]:
    """One row per department the viewer may see, for the administration-wide comparison."""
    rows = []
    for code in codes:
        d = department_dashboard(facts, code, today)
        manager = [
            int(r["rating"])
            for r in facts.manager_feedback
            if facts.department_of(r["recruitment_id"], r["department"]) == code
        ]
        influence = [
            int(r["rating"])
            for r in facts.participant_feedback
            if facts.department_of(r["recruitment_id"], r["department"]) == code
        ]
        rows.append(
            {
                "code": code,
                "name": d["name"],
                "recruitments": d["recruitments_total"],
                "open": d["recruitments_total"] - d["by_stage"]["closed"],
                "hires": d["hires"],
                "engaged": d["rotation"]["engaged"],
                "waiting": d["rotation"]["waiting"],
                "accrued_ore": sum(h["accrued_ore"] for h in d["honoraria"]),
                "manager_rating": _mean(manager),
                "participant_rating": _mean(influence),
            }
        )
    return rows
