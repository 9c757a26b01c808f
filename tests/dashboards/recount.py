"""An independent recount of the dashboard numbers straight from the raw envelopes, written
without the dashboards' code, to check the projections against."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from itertools import pairwise
from typing import Any

ORDER = [
    "RecruitmentOpened",
    "AdvertPublished",
    "ApplicationReceived",
    "ApplicationAssessed",
    "InterviewScored",
    "HiringDecisionMade",
    "RecruitmentClosed",
]
NAME = ["preparation", "advertised", "applications", "assessment", "interviews", "decided", "closed"]


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def recount(envelopes: list[dict[str, Any]], code: str, today: date) -> dict[str, Any]:
    """The numbers one department's dashboard must show."""
    events = sorted(envelopes, key=lambda e: (e["source"], e["position"]))
    rec_dept: dict[str, str] = {}
    rec_events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    panels: dict[str, tuple[int, list[str]]] = {}
    for e in events:
        if e["source"] == "recruitments":
            rec_events[e["aggregate_id"]].append(e)
            if e["event_type"] == "RecruitmentOpened":
                rec_dept[e["aggregate_id"]] = e["department"]
        if e["event_type"] in ("PanelAssigned", "PanelMemberReplaced"):
            rid = e["payload"]["recruitment_id"]
            if rid not in panels or panels[rid][0] < e["aggregate_version"]:
                panels[rid] = (e["aggregate_version"], list(e["payload"]["members"]))

    def dept(e: dict[str, Any], rid: str | None) -> str | None:
        return e["department"] or rec_dept.get(rid or "")

    mine = [rid for rid, d in rec_dept.items() if d == code]
    by_stage = dict.fromkeys(NAME, 0)
    spells: dict[str, list[float]] = defaultdict(list)
    stage_of: dict[str, str] = {}
    upcoming = []
    for rid in mine:
        evs = sorted(rec_events[rid], key=lambda e: e["aggregate_version"])
        reached = [(ORDER.index(e["event_type"]), e["occurred_at"]) for e in evs if e["event_type"] in ORDER]
        path: list[tuple[int, str]] = []
        for rank, at in reached:
            if not path or rank > path[-1][0]:
                path.append((rank, at))
        for (rank, start), (_, end) in pairwise(path):
            spells[NAME[rank]].append((_t(end) - _t(start)).total_seconds() / 86400)
        stage_of[rid] = NAME[path[-1][0]]
        by_stage[stage_of[rid]] += 1
        opened = evs[0]["payload"]
        size = opened["needs"]["panel_size"]
        last = opened["planned"]["interviews_to"]
        panel = panels.get(rid, (0, []))[1]
        if stage_of[rid] not in ("decided", "closed") and last >= today.isoformat() and len(panel) < size:
            upcoming.append(rid)

    in_bank: set[str] = set()
    status: dict[str, str] = {}
    gone: set[str] = set()
    accrued: dict[str, int] = defaultdict(int)
    paid: dict[str, int] = defaultdict(int)
    accrual_dept: dict[str, str | None] = {}
    budget = None
    for e in events:
        p = e["payload"]
        if e["event_type"] == "UserRegistered" and code in p["departments"]:
            in_bank.add(e["aggregate_id"])
        elif e["event_type"] == "ContactStatusChanged":
            status[e["aggregate_id"]] = p["status"]
        elif e["event_type"] == "ParticipantForgotten":
            gone.add(e["aggregate_id"])
        elif e["event_type"] == "DepartmentSettingsChanged" and p["code"] == code:
            budget = p["budget_ore_per_month"]
        elif e["event_type"] == "HonorariumAccrued":
            accrual_dept[p["activity_ref"]] = dept(e, p["recruitment_id"])
            if accrual_dept[p["activity_ref"]] == code:
                accrued[e["occurred_at"][:7]] += p["amount_ore"]
    for e in events:
        if e["event_type"] == "HonorariumPaid":
            d = e["department"] or next(
                (accrual_dept[r] for r in e["payload"]["accrual_refs"] if r in accrual_dept), None
            )
            if d == code:
                paid[e["payload"]["period"]] += e["payload"]["amount_ore"]
    bank = in_bank - gone
    open_panel = {m for rid in mine if stage_of[rid] != "closed" for m in panels.get(rid, (0, []))[1]}
    ever = {m for rid in mine for m in panels.get(rid, (0, []))[1]}
    available = {p for p in bank if status.get(p, "available") not in ("do_not_contact", "opted_out", "paused")}
    waiting = available - open_panel

    # Imported history: recruitments whose opening says so; their events count apart.
    imported = {e["aggregate_id"] for e in events
                if e["event_type"] == "RecruitmentOpened" and e["payload"].get("imported")}

    def mean(values: list[int]) -> float | None:
        return round(sum(values) / len(values), 2) if values else None

    def ratings(kind: str) -> list[dict[str, Any]]:
        per: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        for e in events:
            if e["event_type"] == kind and dept(e, e["aggregate_id"]) == code:
                per[e["occurred_at"][:7]].append((e["payload"]["rating"], e["aggregate_id"] in imported))
        return [{"month": m, "rating": mean([r for r, _ in v]), "n": len(v), "imported": sum(i for _, i in v),
                 "rating_live": mean([r for r, i in v if not i]), "rating_imported": mean([r for r, i in v if i])}
                for m, v in sorted(per.items())]

    opened_months = sorted(e["occurred_at"][:7] for e in events if e["event_type"] == "RecruitmentOpened"
                           and e["aggregate_id"] in imported and e["department"] == code)

    follow: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["event_type"] == "HireFollowedUp" and dept(e, e["aggregate_id"]) == code:
            follow[e["occurred_at"][:7]].append(e["payload"])
    hires_goal = []
    for month, rows in sorted(follow.items()):

        def pct(months: int, rows: list[dict[str, Any]] = rows) -> int | None:
            sel = [r["still_employed"] for r in rows if r["months"] == months]
            return round(100 * sum(sel) / len(sel)) if sel else None

        hires_goal.append(
            {
                "month": month,
                "motivation": round(sum(r["motivation_rating"] for r in rows) / len(rows), 2),
                "retained_6": pct(6),
                "retained_12": pct(12),
                "n": len(rows),
            }
        )
    return {
        "recruitments_total": len(mine),
        "by_stage": by_stage,
        "days_in_stage": {s: (round(sum(v) / len(v), 1) if (v := spells.get(s)) else None) for s in NAME[:-1]},
        "upcoming": sorted(upcoming),
        "rotation": {
            "in_bank": len(bank),
            "engaged": len(open_panel & bank),
            "waiting": len(waiting),
            "never_engaged": len(waiting - ever),
        },
        "honoraria": {m: (accrued.get(m, 0), paid.get(m, 0)) for m in sorted(set(accrued) | set(paid))},
        "budget": budget,
        "hires": sum(
            1 for e in events if e["event_type"] == "HiringDecisionMade" and dept(e, e["aggregate_id"]) == code
        ),
        "effect": {
            "hires": hires_goal,
            "managers": ratings("ManagerFeedbackGiven"),
            "participants": ratings("ParticipantFeedbackGiven"),
        },
        "imported": {"recruitments": len(opened_months), "from": opened_months[0] if opened_months else None,
                     "to": opened_months[-1] if opened_months else None},
    }
