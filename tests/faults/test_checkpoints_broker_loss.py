"""Item 6 of issue 11: checkpoints survive the broker. The publisher recovers from producer errors
and publishes again the checkpoints a broker lost; ``audit verify`` fails when a source has more
than ``CHECKPOINT_EVERY_EVENTS`` events that no checkpoint covers (a flag makes it a warning)."""

from __future__ import annotations

import json
import threading
import time

import pytest

from services.audit.checkpoints import signature_valid, stored_checkpoints
from services.audit.cli import run_verify
from services.audit.service import Audit
from services.audit.verify import load_from_kafka, missing_checkpoints, verify_records
from shared.config import Settings
from shared.kafka import read_all
from tests.audit.helpers import SourceWriter, new_id
from tests.faults.support import own_broker

ACTOR = {"id": "staff-1", "role": "coordinator"}


def registrations(settings: Settings, count: int, writer: SourceWriter | None = None) -> SourceWriter:
    writer = writer or SourceWriter(settings, "participants")
    for i in range(count):
        writer.emit("UserRegistered", new_id(), {"n": i}, ACTOR, minute=i)
    return writer


def checkpoints_on(settings: Settings) -> list[dict]:
    return [json.loads(r.value) for r in read_all(settings, settings.topic("audit.checkpoints"))]


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_publisher_recovers_after_broker_loss_and_republishes_lost_checkpoints(settings: Settings) -> None:
    with own_broker(settings) as (broker, settings):
        writer = registrations(settings, 25)
        audit = Audit.build(settings)
        audit.catch_up()  # checkpoints at 10, 20 and (forced) 25
        stored = stored_checkpoints(audit.db)
        assert [c["tree_size"] for c in stored] == [10, 20, 25]
        assert len(checkpoints_on(settings)) == 3

        writer.close()
        broker.lose_everything()
        # The audit worker keeps running its periodic job through the loss, as under `up`.
        audit.publisher.check_every = 0.5
        stop = threading.Event()
        worker = threading.Thread(target=audit.worker().run, args=(stop,), daemon=True)
        worker.start()
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            try:
                if len(checkpoints_on(settings)) >= 3:
                    break
            except Exception:  # noqa: S110 - the broker is coming back
                pass
            time.sleep(0.5)
        stop.set()
        worker.join(timeout=15)
        again = checkpoints_on(settings)
        assert sorted(c["tree_size"] for c in again) == [10, 20, 25]
        assert audit.publisher.republished >= 3
        public = audit.app.key.public_key()
        assert all(signature_valid(public, c) for c in again)
        assert {json.dumps(c, sort_keys=True) for c in again} == {json.dumps(c, sort_keys=True) for c in stored}
        audit.close()


def test_verify_fails_on_events_no_checkpoint_covers(sqlite_settings: Settings) -> None:
    with own_broker(sqlite_settings) as (_broker, settings):
        writer = registrations(settings, 25)
        audit = Audit.build(settings)
        public = audit.app.key.public_key()
        report, history = verify_records(load_from_kafka(settings), public)
        assert report.ok  # chains intact: the old verify passed with 0 checkpoints
        problems = missing_checkpoints(history, settings.checkpoint_every_events)
        assert [(p.source, p.kind, p.position) for p in problems] == [("participants", "checkpoint-missing", 1)]
        assert "25 events from position 1 on are covered by no signed checkpoint" in problems[0].detail

        result = run_verify(settings, None, None, stores=False)
        assert not result["ok"] and result["first_problem"]["kind"] == "checkpoint-missing"
        lenient = run_verify(settings, None, None, stores=False, allow_missing_checkpoints=True)
        assert lenient["ok"] and [w["kind"] for w in lenient["warnings"]] == ["checkpoint-missing"]

        audit.catch_up()
        assert run_verify(settings, None, None, stores=False)["ok"]
        # 11 more events than the last checkpoint covers: due, and missing.
        registrations(settings, 11, writer)
        result = run_verify(settings, None, None, stores=False)
        assert not result["ok"] and "11 events from position 26" in result["first_problem"]["detail"]
        writer.close()
        audit.close()
