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
    recruitment(w, SOC, stage="closed", panel=people[:3], month=3, feedback_from=people)
    withdrawn = people[:2]
    for pid in withdrawn:
        w.emit("participants", "ConsentWithdrawn", pid, {"purpose": "research", "department": SOC},
               department=SOC, actor={"id": pid, "role": "participant"}, at="2026-06-01T10:00:00Z")
    # Withdrawing a consent for another purpose does not take a person out of the research data.
    other_purpose = people[2]
    w.emit("participants", "ConsentWithdrawn", other_purpose, {"purpose": "recruitment", "department": SOC},
           department=SOC, actor={"id": other_purpose, "role": "participant"}, at="2026-06-01T10:05:00Z")
    w.flush()
    w.close()

    service = Dashboards.build(settings)
    try:
        service.catch_up()
        export_research(service.db, tmp_path / "out", key=KEY)
    finally:
        service.close()

    pseudonym = Pseudonymiser(KEY)
    exported = {row["participant"] for row in _read(tmp_path / "out" / "participant_feedback.csv")}
    assert not exported & {pseudonym("participant", p) for p in withdrawn}
    assert exported == {pseudonym("participant", p) for p in people[2:]}
