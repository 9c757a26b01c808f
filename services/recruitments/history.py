"""History import (``delaktig import history FILE.csv``): past recruitments from paper and
spreadsheets, with their original dates. The format is documented in ``docs/history-import.md``.

Two steps, so that nothing of a bad file is written: ``read_history`` checks every row (format of
each field, then the recruitment's own rules, by running the domain commands in memory) and
collects every error with its line and field; ``RecruitmentsApp.import_history`` writes only a
file without errors, in one transaction. Recruitment ids are derived from department and
reference, so a re-run finds what an earlier run wrote and skips it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from services.recruitments.domain import RECOMMENDATIONS, Recruitment
from shared.errors import DomainError, InvalidInput

COLUMNS = (
    "kind",
    "recruitment",
    "date",
    "department",
    "unit",
    "position",
    "hiring_manager",
    "participant",
    "candidate",
    "recommendation",
    "rating",
    "outcome",
    "text",
)
# The kinds of row, in the order rows of one day are applied.
KINDS = ("recruitment", "panel_member", "decision", "manager_feedback", "participant_feedback", "closed")
REQUIRED = {
    "recruitment": ("department", "unit", "position", "hiring_manager"),
    "panel_member": ("participant",),
    "decision": ("candidate",),
    "manager_feedback": ("rating",),
    "participant_feedback": ("participant", "rating"),
    "closed": ("outcome",),
}
# References stand for people without naming them: no spaces, so a name cannot be typed in.
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
DEPARTMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
EARLIEST = date(1990, 1, 1)
NAMESPACE = uuid.UUID("5d0f7c0e-3a7e-4c55-9a43-1d3f2b7c9e11")  # fixed: ids must not change between runs


class HistoryInvalid(InvalidInput):
    """The file has errors; nothing of it was imported. ``errors`` lists them all."""

    def __init__(self, errors: list[RowError]) -> None:
        first = errors[0]
        super().__init__(f"{len(errors)} error(s) in the file; nothing was imported", field=first.field)
        self.errors = errors


@dataclass(frozen=True)
class RowError:
    """One thing wrong with one row."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


@dataclass(frozen=True)
class Row:
    line: int
    kind: str
    recruitment: str
    on: date
    values: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.values.get(name) or None


@dataclass
class PastRecruitment:
    """One past recruitment: its opening row and the rows that belong to it."""

    opening: Row
    rows: list[Row] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return self.opening.recruitment

    @property
    def department(self) -> str:
        return self.opening.values["department"]

    @property
    def id(self) -> uuid.UUID:
        return recruitment_id(self.department, self.ref)

    @property
    def digest(self) -> str:
        """SHA-256 of this recruitment's rows (not their line numbers): a re-run compares it."""
        canonical = sorted(
            "\x1f".join([r.kind, r.on.isoformat(), *(r.values.get(c, "") for c in COLUMNS)])
            for r in [self.opening, *self.rows]
        )
        return hashlib.sha256("\x1e".join(canonical).encode("utf-8")).hexdigest()

    def in_order(self) -> list[Row]:
        """The rows after the opening, in the order they happened (by date, then kind)."""
        return sorted(self.rows, key=lambda r: (r.on, KINDS.index(r.kind), r.line))


def recruitment_id(department: str, ref: str) -> uuid.UUID:
    """The id a past recruitment gets: the same for the same department and reference."""
    return uuid.uuid5(NAMESPACE, f"{department}/{ref}")


def moment(on: date) -> datetime:
    """The time an imported event is dated: noon UTC of its day (the same calendar day in Sweden)."""
    return datetime.combine(on, time(12, 0), tzinfo=UTC)


def parse_csv(text: str) -> tuple[list[Row], list[RowError]]:
    """Every row of the file, checked field by field. Comma or semicolon separated (a Swedish
    spreadsheet saves with semicolons); the first line names the columns."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("kind", "recruitment", "date") if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        return [], [RowError(1, c, "this column is missing" if c in missing else
                             f"unknown column; the columns are {', '.join(COLUMNS)}") for c in missing + unknown]
    reader.fieldnames = header
    rows: list[Row] = []
    errors: list[RowError] = []
    today = datetime.now(UTC).date()
    for record in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in record.items() if k in COLUMNS and isinstance(v, str)}
        if not any(values.values()):
            continue  # an empty spreadsheet row
        row_errors = _check_row(line, values, today)
        errors.extend(row_errors)
        if not row_errors:
            rows.append(Row(line, values["kind"], values["recruitment"], date.fromisoformat(values["date"]), values))
    return rows, errors


def _check_row(line: int, values: dict[str, str], today: date) -> list[RowError]:
    kind = values.get("kind", "")
    if kind not in KINDS:
        return [RowError(line, "kind", f"one of {', '.join(KINDS)}")]
    errors = []
    for name in ("recruitment", "date", *REQUIRED[kind]):
        if not values.get(name):
            errors.append(RowError(line, name, f"needed in a {kind} row"))
    if errors:
        return errors
    try:
        on = date.fromisoformat(values["date"])
    except ValueError:
        errors.append(RowError(line, "date", "a date as YYYY-MM-DD"))
    else:
        if not EARLIEST <= on <= today:
            errors.append(RowError(line, "date", f"a past date, from {EARLIEST.isoformat()} to today"))
    for name in ("recruitment", "hiring_manager", "participant", "candidate"):
        if values.get(name) and not REFERENCE.match(values[name]):
            errors.append(RowError(line, name, "a reference without spaces (letters, digits, - _ . : /), "
                                               "never a name"))
    if kind == "recruitment" and not DEPARTMENT.match(values["department"]):
        errors.append(RowError(line, "department", "a department code, e.g. socialforvaltningen"))
    if values.get("rating") and values["rating"] not in ("1", "2", "3", "4", "5"):
        errors.append(RowError(line, "rating", "a whole number from 1 to 5"))
    if kind == "decision" and values.get("recommendation") and values["recommendation"] not in RECOMMENDATIONS:
        errors.append(RowError(line, "recommendation", f"empty or one of {', '.join(RECOMMENDATIONS)}"))
    if kind == "closed" and values["outcome"] not in ("filled", "cancelled"):
        errors.append(RowError(line, "outcome", "filled or cancelled"))
    return errors


def group(rows: Iterable[Row]) -> tuple[list[PastRecruitment], list[RowError]]:
    """Rows by recruitment: each needs one ``recruitment`` row and one ``closed`` row."""
    past: dict[tuple[str, str], PastRecruitment] = {}
    errors: list[RowError] = []
    rows = list(rows)
    for row in rows:
        if row.kind != "recruitment":
            continue
        key = (row.values["department"], row.recruitment)
        if any(p.ref == row.recruitment for p in past.values()):
            errors.append(RowError(row.line, "recruitment", f"{row.recruitment} has another recruitment row"))
            continue
        past[key] = PastRecruitment(row)
    by_ref = {p.ref: p for p in past.values()}
    for row in rows:
        if row.kind == "recruitment":
            continue
        if row.recruitment not in by_ref:
            errors.append(RowError(row.line, "recruitment", f"no recruitment row for {row.recruitment}"))
            continue
        by_ref[row.recruitment].rows.append(row)
    for p in past.values():
        closes = [r for r in p.rows if r.kind == "closed"]
        if len(closes) != 1:
            line = closes[1].line if closes else p.opening.line
            errors.append(RowError(line, "kind", f"{p.ref} needs exactly one closed row (how it ended)"))
    return list(past.values()), errors


def build(
    past: PastRecruitment, actor: dict[str, str], imported_at: str, source: str
) -> tuple[Recruitment | None, RowError | None]:
    """The recruitment as its rows record it, in memory (nothing saved): every domain rule is
    checked here, so a file that builds is a file that imports."""

    def mark(row: Row, digest: str | None = None) -> dict[str, Any]:
        return {"by": actor["id"], "at": imported_at, "source": source, "line": row.line, "digest": digest}

    o = past.opening
    panel = [r.values["participant"] for r in past.rows if r.kind == "panel_member"]
    row = o
    try:
        rec = Recruitment.import_history(
            past.id, unit=o.values["unit"], position=o.values["position"],
            hiring_manager=o.values["hiring_manager"], panel_size=max(1, len(panel)),
            department=past.department, imported=mark(o, past.digest), timestamp=moment(o.on), actor=actor,
        )
        members: list[str] = []
        for row in past.in_order():
            at, imported, department = moment(row.on), mark(row), past.department
            text = row.get("text") or ""
            if row.kind == "panel_member":
                members = [*members, row.values["participant"]]
                rec.import_panel(members, imported, at, actor, department)
            elif row.kind == "decision":
                rec.import_decision(row.values["candidate"], text, row.get("recommendation"), imported, at, actor,
                                    department)
            elif row.kind == "manager_feedback":
                rec.import_manager_feedback(int(row.values["rating"]), text, imported, at, actor, department)
            elif row.kind == "participant_feedback":
                rec.import_participant_feedback(row.values["participant"], int(row.values["rating"]), text,
                                                imported, at, actor, department)
            else:
                rec.import_close(row.values["outcome"], row.get("text"), imported, at, actor, department)
    except DomainError as refused:
        return None, RowError(row.line, refused.field or "kind", refused.detail)
    return rec, None


def read_history(
    text: str, actor: dict[str, str], imported_at: str, source: str
) -> tuple[list[tuple[PastRecruitment, Recruitment]], list[RowError]]:
    """Every past recruitment of the file, built in memory, and every error found (by line)."""
    rows, errors = parse_csv(text)
    past, group_errors = group(rows)
    errors += group_errors
    built = []
    failed = {e.line for e in group_errors}
    for p in past:
        if p.opening.line in failed:
            continue
        rec, error = build(p, actor, imported_at, source)
        if error is not None:
            errors.append(error)
        elif rec is not None:
            built.append((p, rec))
    return built, sorted(errors, key=lambda e: (e.line, e.field))
