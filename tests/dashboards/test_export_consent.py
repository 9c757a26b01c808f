"""The research export honours consent as it stands now: a participant who withdrew their research
consent is not in the dataset, whatever else they consented to or withdrew."""

from __future__ import annotations

import csv
from pathlib import Path

from services.dashboards.export import Pseudonymiser, export_research
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
        export_research(service.db, tmp_path / "out", key=KEY)
    finally:
        service.close()

    pseudonym = Pseudonymiser(KEY)
    rows = _read(tmp_path / "out" / "participant_feedback.csv")
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
