"""Item 2 of issue 11, verify side: ``audit verify`` compares every read model's applied
positions with the sources' heads, so silent loss in a read model cannot pass any more."""

from __future__ import annotations

import pytest

from services.audit.keys import load_signing_key
from services.audit.verify import load_from_kafka, read_model_problems, verify_records
from shared.config import Settings
from shared.consumer import ConsumerLoop, Projection
from shared.db import Database, Tx
from shared.envelope import Envelope, encode
from tests.audit.helpers import SourceWriter, new_id
from tests.faults.support import own_broker

ACTOR = {"id": "staff-1", "role": "coordinator"}


class Registrations(Projection):
    """Counts registrations (not idempotent: a double shows, a missing one too)."""

    name = "registrations"
    topics = ("participants.events",)

    def migrate(self, db: Database) -> None:
        db.migrate("CREATE TABLE IF NOT EXISTS registrations (n INTEGER NOT NULL)")

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        if envelope["payload"].get("bad"):
            raise ValueError("this projection cannot take it")
        tx.execute("INSERT INTO registrations (n) VALUES (?)", (envelope["payload"]["n"],))


def count(db: Database) -> int:
    with db.transaction() as tx:
        return int(tx.scalar("SELECT COUNT(*) AS n FROM registrations"))


def history_of(settings: Settings):  # type: ignore[no-untyped-def]
    report, history = verify_records(load_from_kafka(settings), load_signing_key(settings).public_key())
    assert report.ok
    return history


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_read_model_missing_events_after_broker_loss_fails_verify_until_it_catches_up(settings: Settings) -> None:
    with own_broker(settings) as (broker, settings):
        writer = SourceWriter(settings, "participants")
        sent = [writer.emit("UserRegistered", new_id(), {"n": i}, ACTOR, minute=i) for i in range(30)]
        db = Database(settings, "registrations_readmodel")
        loop = ConsumerLoop(settings, db, Registrations())
        loop.catch_up()
        loop.close()
        assert read_model_problems([("test", db)], history_of(settings), max_lag=0) == []

        # The broker loses everything; the history is republished (with relay duplicates) and new
        # registrations arrive. The read model's stored offsets now point into the new topic.
        writer.close()
        broker.lose_everything()
        writer = SourceWriter(settings, "participants")
        for env in sent + sent[:7]:
            writer.writer.producer.send(settings.topic("participants.events"), key=env["aggregate_id"].encode(),
                                        value=encode(env))
        writer.writer.heads["participants"] = sent[-1]["hash"]
        writer.writer.positions["participants"] = 30
        for i in range(30, 42):
            writer.emit("UserRegistered", new_id(), {"n": i}, ACTOR, minute=i)
        history = history_of(settings)
        problems = read_model_problems([("test", db)], history, max_lag=5)
        assert [(p.kind, p.source, p.position) for p in problems] == [("read-model-behind", "participants", 31)]
        assert "test/registrations has applied participants up to position 30" in problems[0].detail
        assert "12 event(s) not applied (allowed lag 5)" in problems[0].detail

        loop = ConsumerLoop(settings, db, Registrations())
        loop.catch_up()
        assert count(db) == 42  # none missing, none twice
        assert read_model_problems([("test", db)], history_of(settings), max_lag=0) == []
        loop.close()
        writer.close()


def test_dead_letters_and_a_read_model_that_never_ran_fail_verify(sqlite_settings: Settings) -> None:
    with own_broker(sqlite_settings) as (_broker, settings):
        writer = SourceWriter(settings, "participants")
        for i in range(5):
            writer.emit("UserRegistered", new_id(), {"n": i, "bad": i == 3}, ACTOR, minute=i)
        db = Database(settings, "registrations_readmodel")
        loop = ConsumerLoop(settings, db, Registrations())
        assert read_model_problems([("test", db)], history_of(settings), max_lag=0) == []  # only built
        assert loop.lag() == 5  # connected: registered, nothing applied yet
        problems = read_model_problems([("test", db)], history_of(settings), max_lag=0)
        assert [p.kind for p in problems] == ["read-model-behind"]
        assert "5 event(s) not applied" in problems[0].detail
        loop.catch_up()
        problems = read_model_problems([("test", db)], history_of(settings), max_lag=0)
        assert [p.kind for p in problems] == ["read-model-dead-letters"]
        assert "test/registrations: 1 event(s) of participants parked" in problems[0].detail
        loop.close()
        writer.close()
