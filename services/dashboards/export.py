"""The research export for the university evaluation: pseudonymised CSV files and a data
dictionary, written from the dashboards' read model.

- Pseudonyms are ``HMAC-SHA256(random per-export key, kind:id)``; the key is never stored, so
  pseudonyms are stable within one export and unlinkable across exports.
- No names, no contact data, no free text (motivations, comments and feedback text are not even
  in the read model), no units or job titles (they could point at one person).
- Dates are coarsened to months.
- Small cells: rows are grouped by (department, month); a group describing fewer than
  ``MIN_CELL`` people first loses its month, and if the department-wide remainder still describes
  fewer than ``MIN_CELL`` people those rows are withheld. Summary cells with n < ``MIN_CELL`` are
  blanked and marked suppressed.
- Participants appear only if they have given (and not withdrawn) consent for research, and
  were not erased.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import secrets
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.dashboards.queries import Facts, load_facts
from shared.db import Database

MIN_CELL = 5
SUPPRESSED = "suppressed"

DICTIONARY: dict[str, list[tuple[str, str, str]]] = {
    "participant_feedback.csv": [
        ("participant", "pseudonym", "The participant (stable within this export only)."),
        ("recruitment", "pseudonym", "The recruitment the feedback is about."),
        ("department", "code", "Department (administration) code."),
        (
            "month",
            "YYYY-MM or empty",
            "Month the feedback was given; empty where the month was coarsened away.",
        ),
        ("influence_rating", "integer 1-5", "Effect goal 3: the participant's rating of their influence."),
    ],
    "manager_feedback.csv": [
        ("recruitment", "pseudonym", "The recruitment (one hiring manager's rating per recruitment)."),
        ("department", "code", "Department code."),
        ("month", "YYYY-MM or empty", "Month of the rating; empty where coarsened."),
        ("rating", "integer 1-5", "Effect goal 2: the manager's rating of what participation added."),
    ],
    "hire_followups.csv": [
        ("hire", "pseudonym", "The person hired (stable within this export only)."),
        ("recruitment", "pseudonym", "The recruitment that hired them."),
        ("department", "code", "Department code."),
        ("month", "YYYY-MM or empty", "Month of the follow-up; empty where coarsened."),
        ("months_after_hire", "6 or 12", "Which follow-up this is."),
        ("still_employed", "0/1", "Effect goal 1: still employed at the follow-up."),
        ("motivation_rating", "integer 1-5", "Effect goal 1: the hire's motivation for user participation."),
    ],
    "recruitments.csv": [
        ("recruitment", "pseudonym", "The recruitment."),
        ("department", "code", "Department code."),
        ("month", "YYYY-MM or empty", "Month the recruitment was opened; empty where coarsened."),
        (
            "stage",
            "text (fixed list)",
            "Furthest stage reached: preparation, advertised, applications, assessment, interviews, decided, closed.",
        ),
        ("outcome", "filled, cancelled or empty", "How the recruitment closed."),
        ("panel_size_planned", "integer", "Participants the panel should have."),
        ("panel_members", "integer", "Participants on the panel."),
    ],
    "summary.csv": [
        ("department", "code", "Department code."),
        (
            "measure",
            "text (fixed list)",
            "influence_rating_mean, manager_rating_mean, motivation_mean, "
            "retained_6_months_percent, retained_12_months_percent.",
        ),
        ("n", "integer or empty", "People the cell describes; empty when suppressed."),
        ("value", "number or empty", "The measure; empty when suppressed."),
        ("status", "ok or suppressed", f"suppressed when n < {MIN_CELL}."),
    ],
}


@dataclass
class ExportResult:
    """What was written, and how much small-cell protection removed."""

    directory: Path
    rows: dict[str, int] = field(default_factory=dict)
    coarsened: dict[str, int] = field(default_factory=dict)
    withheld: dict[str, int] = field(default_factory=dict)


class Pseudonymiser:
    """Stable within one export, unlinkable across exports (a fresh random key each time)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def __call__(self, kind: str, identifier: str) -> str:
        digest = hmac.new(self._key, f"{kind}:{identifier}".encode(), hashlib.sha256).hexdigest()
        return f"{kind[0]}{digest[:16]}"


def protect(rows: list[dict[str, Any]], person: str) -> tuple[list[dict[str, Any]], int, int]:
    """Small-cell protection over (department, month) groups of distinct ``person`` values.
    Returns the rows kept, how many lost their month, and how many were withheld."""

    def groups(items: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
        out: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in items:
            out[(row["department"], row["month"])].add(row[person])
        return out

    small = {key for key, people in groups(rows).items() if len(people) < MIN_CELL}
    coarsened = 0
    for row in rows:
        if (row["department"], row["month"]) in small:
            row["month"] = ""
            coarsened += 1
    still_small = {key for key, people in groups(rows).items() if len(people) < MIN_CELL}
    kept = [row for row in rows if (row["department"], row["month"]) not in still_small]
    return kept, coarsened, len(rows) - len(kept)


def research_consenters(facts: Facts) -> set[str]:
    """Participants with a standing research consent who were not erased."""
    consenting = {c["participant_id"] for c in facts.consents if c["purpose"] == "research" and c["given"]}
    return {p for p in consenting if p in facts.participants and not facts.participants[p]["forgotten"]}


def build_tables(facts: Facts, pseudonym: Pseudonymiser) -> dict[str, list[dict[str, Any]]]:
    """The export's row-level tables before small-cell protection."""
    allowed = research_consenters(facts)
    participant_feedback = [
        {
            "participant": pseudonym("participant", f["participant_id"]),
            "recruitment": pseudonym("recruitment", f["recruitment_id"]),
            "department": facts.department_of(f["recruitment_id"], f["department"]) or "",
            "month": f["month"],
            "influence_rating": int(f["rating"]),
        }
        for f in facts.participant_feedback
        if f["participant_id"] in allowed
    ]
    manager_feedback = [
        {
            "recruitment": pseudonym("recruitment", f["recruitment_id"]),
            "department": facts.department_of(f["recruitment_id"], f["department"]) or "",
            "month": f["month"],
            "rating": int(f["rating"]),
        }
        for f in facts.manager_feedback
    ]
    followups = [
        {
            "hire": pseudonym("hire", f["recruitment_id"] + ":" + f["candidate_id"]),
            "recruitment": pseudonym("recruitment", f["recruitment_id"]),
            "department": facts.department_of(f["recruitment_id"], f["department"]) or "",
            "month": f["month"],
            "months_after_hire": int(f["months"]),
            "still_employed": int(f["still_employed"]),
            "motivation_rating": int(f["motivation"]),
        }
        for f in facts.followups
    ]
    recruitments = [
        {
            "recruitment": pseudonym("recruitment", r["recruitment_id"]),
            "department": r["department"] or "",
            "month": str(r["opened_at"])[:7],
            "stage": r["stage"],
            "outcome": r["outcome"] or "",
            "panel_size_planned": int(r["panel_size"]),
            "panel_members": len(facts.panel_of(r["recruitment_id"])),
        }
        for r in facts.recruitments.values()
    ]
    return {
        "participant_feedback.csv": participant_feedback,
        "manager_feedback.csv": manager_feedback,
        "hire_followups.csv": followups,
        "recruitments.csv": recruitments,
    }


PERSON_COLUMN = {
    "participant_feedback.csv": "participant",
    "manager_feedback.csv": "recruitment",
    "hire_followups.csv": "hire",
    "recruitments.csv": "recruitment",
}


def summary(tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Department-level means and percentages, suppressed where n < MIN_CELL."""
    cells: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row in tables["participant_feedback.csv"]:
        cells[(row["department"], "influence_rating_mean")].append(row["influence_rating"])
    for row in tables["manager_feedback.csv"]:
        cells[(row["department"], "manager_rating_mean")].append(row["rating"])
    for row in tables["hire_followups.csv"]:
        cells[(row["department"], "motivation_mean")].append(row["motivation_rating"])
        key = "retained_6_months_percent" if row["months_after_hire"] == 6 else "retained_12_months_percent"
        cells[(row["department"], key)].append(100 * row["still_employed"])
    out: list[dict[str, Any]] = []
    for (department, measure), values in sorted(cells.items()):
        if len(values) < MIN_CELL:
            out.append({"department": department, "measure": measure, "n": "", "value": "", "status": SUPPRESSED})
        else:
            out.append(
                {
                    "department": department,
                    "measure": measure,
                    "n": len(values),
                    "value": f"{sum(values) / len(values):.2f}",
                    "status": "ok",
                }
            )
    return out


def export_research(db: Database, out: Path, key: bytes | None = None) -> ExportResult:
    """Write the pseudonymised dataset and its data dictionary into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    facts = load_facts(db)
    tables = build_tables(facts, Pseudonymiser(key))
    result = ExportResult(out)
    # Summaries come from the full (pseudonymised) rows, each cell suppressed on its own n.
    summary_rows = summary(tables)
    for name, rows in tables.items():
        kept, coarsened, withheld = protect(rows, PERSON_COLUMN[name])
        result.coarsened[name], result.withheld[name] = coarsened, withheld
        _write(out / name, [c for c, _, _ in DICTIONARY[name]], kept)
        result.rows[name] = len(kept)
    _write(out / "summary.csv", [c for c, _, _ in DICTIONARY["summary.csv"]], summary_rows)
    result.rows["summary.csv"] = len(summary_rows)
    dictionary = [
        {"file": f, "column": c, "type": t, "description": d}
        for f, columns in DICTIONARY.items()
        for c, t, d in columns
    ]
    _write(out / "data_dictionary.csv", ["file", "column", "type", "description"], dictionary)
    return result


def _write(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
