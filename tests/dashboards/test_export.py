"""The research export: pseudonymised, no direct identifiers, no free text, months only, no
cell describing fewer than five people; run through the ``delaktig export research`` command."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

from infra.cli import main as delaktig
from services.dashboards.export import PERSON_COLUMN, export_research
from services.dashboards.service import Dashboards
from shared.config import Settings
from tests.dashboards.events import EventWriter, raw_events
from tests.dashboards.scenario import ARB, FEEDBACK_TEXT, SKOL, SOC, seed

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
FIVE = 5  # the rule stated here, not the code's constant: no cell describes fewer than five people


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_research_export_is_pseudonymised_and_has_no_small_cells(
    sqlite_settings: Settings, tmp_path: Path, monkeypatch, capsys
) -> None:
    settings = sqlite_settings
    writer = EventWriter(settings)
    people = seed(writer)
    writer.close()
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", settings.topic_prefix)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DB_NAMESPACE", raising=False)
    out = tmp_path / "export1"
    assert delaktig(["export", "research", "--out", str(out)]) == 0
    assert "participant_feedback.csv: 12 rows" in capsys.readouterr().out

    files = {p.name for p in out.iterdir()}
    assert files == {
        "participant_feedback.csv",
        "manager_feedback.csv",
        "hire_followups.csv",
        "recruitments.csv",
        "summary.csv",
        "data_dictionary.csv",
    }
    dictionary = _read(out / "data_dictionary.csv")
    for name in files - {"data_dictionary.csv"}:
        header = next(csv.reader((out / name).open(encoding="utf-8")))
        assert header == [d["column"] for d in dictionary if d["file"] == name]

    # No direct identifiers, no ciphertext, no free text, no exact dates.
    envelopes = raw_events(settings)
    ids = {e["aggregate_id"] for e in envelopes} | {e["actor"]["id"] for e in envelopes}
    ids |= {p for group in people.values() for p in group}
    texts = {
        v
        for e in envelopes
        for k, v in e["payload"].items()
        if k in ("text", "motivation", "unit", "position", "reason")
    }
    for name in files - {"data_dictionary.csv"}:
        raw = (out / name).read_text(encoding="utf-8")
        assert not UUID.search(raw) and "enc:v1" not in raw and FEEDBACK_TEXT not in raw
        assert not FULL_DATE.search(raw)
        assert not [i for i in ids if i in raw]
        assert not [t for t in texts if isinstance(t, str) and t and t in raw]

    # Small cells: every (department, month) group describes at least FIVE people.
    for name, person in PERSON_COLUMN.items():
        groups: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in _read(out / name):
            groups[(row["department"], row["month"])].add(row[person])
        assert all(len(people_in) >= FIVE for people_in in groups.values()), (name, groups)
    for row in _read(out / "summary.csv"):
        assert (row["status"] == "suppressed" and row["n"] == "" and row["value"] == "") or int(row["n"]) >= FIVE

    # What the scenario leads to: socialförvaltningen's six consenting participants are kept
    # (the one without research consent is not there); the small departments are withheld.
    feedback = _read(out / "participant_feedback.csv")
    assert len(feedback) == 12 and {r["department"] for r in feedback} == {SOC}
    assert {r["month"] for r in feedback} == {"2026-03"}
    assert len({r["participant"] for r in feedback}) == 6
    followups = _read(out / "hire_followups.csv")
    assert (
        sorted((r["month"], r["months_after_hire"]) for r in followups)
        == [("2026-09", "6")] * 6 + [("2027-03", "12")] * 5
    )
    assert {r["department"] for r in _read(out / "recruitments.csv")} == {SOC}
    summary = {(r["department"], r["measure"]): r for r in _read(out / "summary.csv")}
    assert summary[(SOC, "manager_rating_mean")]["n"] == "6"
    assert summary[(ARB, "influence_rating_mean")]["status"] == "suppressed"
    assert not any(d == SKOL for d, _ in summary)
    ratings = [
        e["payload"]["rating"]
        for e in envelopes
        if e["event_type"] == "ManagerFeedbackGiven" and e["department"] == SOC
    ]
    assert float(summary[(SOC, "manager_rating_mean")]["value"]) == round(sum(ratings) / len(ratings), 2)

    # Pseudonyms are stable inside one export (one hire: same pseudonym at 6 and 12 months)
    # and unlinkable across exports.
    hires = defaultdict(set)
    for r in followups:
        hires[r["hire"]].add(r["months_after_hire"])
    assert sum(1 for months in hires.values() if months == {"6", "12"}) == 5
    service = Dashboards.build(settings)
    try:
        export_research(service.db, tmp_path / "export2")
    finally:
        service.close()
    second = _read(tmp_path / "export2" / "participant_feedback.csv")
    assert len(second) == 12
    assert not {r["participant"] for r in feedback} & {r["participant"] for r in second}
    assert json.dumps(sorted(r["influence_rating"] for r in feedback)) == json.dumps(
        sorted(r["influence_rating"] for r in second)
    )
