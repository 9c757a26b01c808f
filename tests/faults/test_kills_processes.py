"""kill -9 under load (issue 11, "How it is checked"): a gunicorn worker of the service, the
leading relay/projection worker of participants, the dashboards projection worker, the broker;
killed at random moments while clients register people and retry with the same
Idempotency-Key. Nothing acknowledged may be lost, nothing applied twice, no 5xx but 503."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import run
from shared.config import Settings


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["service", "relay", "projection", "broker"])
def test_kill_9_under_load_loses_and_doubles_nothing(settings: Settings, tmp_path: Path, kind: str) -> None:
    counts = run(settings, tmp_path / "rig", kills=4, kinds=(kind,), every=1.5, clients=3, settle=45.0)
    report = "\n" + counts.table() + f"\nlogs: {tmp_path / 'rig' / 'logs'}"
    assert counts.kills[kind] == 4, report
    assert counts.acknowledged > 20 and counts.gave_up == 0, report
    assert counts.http_5xx_other == 0, report
    assert counts.duplicates == 0, report
    assert counts.lost == {k: 0 for k in counts.lost}, report
    assert counts.store == counts.acknowledged and counts.topic == counts.store, report
    assert set(counts.read_models.values()) == {counts.store}, report
