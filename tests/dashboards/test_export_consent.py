"""The research export honours consent as it stands now: a participant who withdrew their research
consent is not in the dataset, whatever else they consented to or withdrew."""

from __future__ import annotations

import csv
from pathlib import Path

from services.dashboards.export import Pseudonymiser, build_tables, export_research, research_consenters
from services.dashboards.queries import Facts
from services.dashboards.service import Dashboards
from shared.config import Settings
from tests.dashboards.events import EventWriter
from tests.dashboards.scenario import NAMES, SOC, onboard, participants, recruitment

KEY = b"k" * 32  # a fixed export key, so the test can tell whose pseudonym is whose


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_withdrawn_research_consent_is_not_exported(sqlite_settings: Settings, tmp_path: Path) -> None:
    settings = sqlite_settings
    w = EventWriter(settings)
    onboard(w, SOC, NAMES[SOC])
    people = participants(w, SOC, 8, research=8)
    rid = recruitment(w, SOC, stage="closed", panel=people[:3], month=3, feedback_from=people, influence=3)
    withdrawn = people[:2]
    for pid in withdrawn:
        w.emit("participants", "ConsentWithdrawn", pid, {"purpose": "research", "department": SOC},
               department=SOC, actor={"id": pid, "role": "participant"}, at="2026-06-01T10:00:00Z")
    # Withdrawing a consent for another purpose does not take a person out of the research data.
    other_purpose = people[2]
    w.emit("participants", "ConsentWithdrawn", other_purpose, {"purpose": "recruitment", "department": SOC},
           department=SOC, actor={"id": other_purpose, "role": "participant"}, at="2026-06-01T10:05:00Z")
    # Erased after consenting to research: not exported either.
    erased = people[3]
    w.emit("participants", "ParticipantForgotten", erased,
           {"legal_basis": "GDPR art. 17", "erased": ["personal"], "kept": ["participation"]},
           department=None, at="2026-06-02T10:00:00Z")
    w.flush()
    w.close()

    service = Dashboards.build(settings)
    try:
        service.catch_up()
        out = tmp_path / "exports" / "2026" / "out"  # parents are made; exporting again overwrites
        export_research(service.db, out, key=KEY)
        result = export_research(service.db, out, key=KEY)
    finally:
        service.close()
    for name, count in result.rows.items():
        assert len(_read(out / name)) == count, name
    assert set(result.rows) == {"participant_feedback.csv", "manager_feedback.csv", "hire_followups.csv",
                                "recruitments.csv", "summary.csv"}

    pseudonym = Pseudonymiser(KEY)
    rows = _read(out / "participant_feedback.csv")
    exported = {row["participant"] for row in rows}
    assert not exported & {pseudonym("participant", p) for p in [*withdrawn, erased]}
    assert exported == {pseudonym("participant", p) for p in [people[2], *people[4:]]}
    # Each row names its recruitment and department, the month only, and the rating given.
    assert {(r["recruitment"], r["department"], r["month"], r["influence_rating"]) for r in rows} == {
        (pseudonym("recruitment", rid), SOC, "2026-03", "3")}


def test_pseudonyms_are_keyed_hashes_marked_with_their_kind() -> None:
    import hashlib
    import hmac

    pseudonym = Pseudonymiser(KEY)
    expected = hmac.new(KEY, b"participant:abc", hashlib.sha256).hexdigest()[:16]
    assert pseudonym("participant", "abc") == "p" + expected
    assert pseudonym("recruitment", "abc")[0] == "r" and len(pseudonym("hire", "abc")) == 17
    assert pseudonym("participant", "abc") != Pseudonymiser(b"x" * 32)("participant", "abc")
    assert Pseudonymiser()("participant", "abc") != Pseudonymiser()("participant", "abc")  # a fresh key each time


def _facts() -> Facts:
    def recruitment_row(rid: str, department: str | None, outcome: str | None) -> dict[str, object]:
        return {"recruitment_id": rid, "department": department, "opened_at": "2026-03-05T09:00:00Z",
                "stage": "closed" if outcome else "interviews", "outcome": outcome, "panel_size": 3,
                "panel_learned": '["a", "b", "c"]'}

    return Facts(
        departments=[], spells=[], participant_departments={}, accruals={}, payments=[], hires=[],
        recruitments={"R1": recruitment_row("R1", SOC, "filled"), "R2": recruitment_row("R2", None, None)},
        panels={"R1": ["a", "b"]},
        participants={p: {"participant_id": p, "forgotten": p == "gone"} for p in ("a", "b", "c", "gone")},
        consents=[{"participant_id": "a", "purpose": "research", "given": 1},
                  {"participant_id": "b", "purpose": "research", "given": 1},
                  {"participant_id": "c", "purpose": "recruitment", "given": 1},
                  {"participant_id": "gone", "purpose": "research", "given": 1},
                  {"participant_id": "ghost", "purpose": "research", "given": 1}],
        participant_feedback=[
            {"participant_id": "a", "recruitment_id": "R1", "department": None, "month": "2026-03", "rating": 4},
            {"participant_id": "a", "recruitment_id": "R1", "department": "kultur", "month": "2026-05", "rating": 3},
            {"participant_id": "b", "recruitment_id": "R9", "department": None, "month": "2026-04", "rating": 2},
            {"participant_id": "c", "recruitment_id": "R1", "department": SOC, "month": "2026-03", "rating": 5},
            {"participant_id": "gone", "recruitment_id": "R1", "department": SOC, "month": "2026-03", "rating": 1},
            {"participant_id": "ghost", "recruitment_id": "R1", "department": SOC, "month": "2026-03", "rating": 1},
        ],
        # Each file's rows: the event's own department, none (its recruitment's), none and an
        # unknown recruitment (no department).
        manager_feedback=[{"recruitment_id": "R1", "department": "kultur", "month": "2026-04", "rating": 5},
                          {"recruitment_id": "R1", "department": None, "month": "2026-05", "rating": 4},
                          {"recruitment_id": "R9", "department": None, "month": "2026-06", "rating": 3}],
        followups=[{"recruitment_id": "R1", "candidate_id": "k1", "department": None, "month": "2026-09",
                    "months": 6, "still_employed": True, "motivation": 4},
                   {"recruitment_id": "R1", "candidate_id": "k2", "department": "kultur", "month": "2026-10",
                    "months": 12, "still_employed": False, "motivation": 2},
                   {"recruitment_id": "R9", "candidate_id": "k3", "department": None, "month": "2026-11",
                    "months": 6, "still_employed": True, "motivation": 5}],
    )


def test_rows_carry_pseudonyms_that_join_across_files_and_departments_as_recorded() -> None:
    p = Pseudonymiser(KEY)
    tables = build_tables(_facts(), p)
    assert research_consenters(_facts()) == {"a", "b"}  # not the erased, not the unregistered, not other purposes
    assert tables["participant_feedback.csv"] == [
        {"participant": p("participant", "a"), "recruitment": p("recruitment", "R1"), "department": SOC,
         "month": "2026-03", "influence_rating": 4},
        {"participant": p("participant", "a"), "recruitment": p("recruitment", "R1"), "department": "kultur",
         "month": "2026-05", "influence_rating": 3},
        {"participant": p("participant", "b"), "recruitment": p("recruitment", "R9"), "department": "",
         "month": "2026-04", "influence_rating": 2},
    ]
    # In every file: an event's own department comes first; else its recruitment's; else none.
    assert tables["manager_feedback.csv"] == [
        {"recruitment": p("recruitment", "R1"), "department": "kultur", "month": "2026-04", "rating": 5},
        {"recruitment": p("recruitment", "R1"), "department": SOC, "month": "2026-05", "rating": 4},
        {"recruitment": p("recruitment", "R9"), "department": "", "month": "2026-06", "rating": 3}]
    assert tables["hire_followups.csv"] == [
        {"hire": p("hire", "R1:k1"), "recruitment": p("recruitment", "R1"), "department": SOC, "month": "2026-09",
         "months_after_hire": 6, "still_employed": 1, "motivation_rating": 4},
        {"hire": p("hire", "R1:k2"), "recruitment": p("recruitment", "R1"), "department": "kultur",
         "month": "2026-10", "months_after_hire": 12, "still_employed": 0, "motivation_rating": 2},
        {"hire": p("hire", "R9:k3"), "recruitment": p("recruitment", "R9"), "department": "", "month": "2026-11",
         "months_after_hire": 6, "still_employed": 1, "motivation_rating": 5}]
    assert tables["recruitments.csv"] == [
        {"recruitment": p("recruitment", "R1"), "department": SOC, "month": "2026-03", "stage": "closed",
         "outcome": "filled", "panel_size_planned": 3, "panel_members": 2},
        {"recruitment": p("recruitment", "R2"), "department": "", "month": "2026-03", "stage": "interviews",
         "outcome": "", "panel_size_planned": 3, "panel_members": 3},
    ]
    assert p("hire", "R1:k1") != p("hire", "R1k1")
