"""A consumer applies each event once, even when the broker hands it the same message again.

The read model here is NOT idempotent (it adds each increment to a running total and counts
applications), so a second application of any copy would show."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from shared.config import Settings
from shared.consumer import ConsumerLoop, dumps
from shared.db import Database
from shared.kafka import free_port, producer, read_all, start_local_broker
from shared.relay import OutboxRelay
from tests.platform.counter_app import Counter, CounterApp, CounterTotals

SYSTEM = {"id": "system", "role": "system"}


def _totals(db: Database) -> tuple[int, int]:
    with db.transaction() as tx:
        row = tx.one("SELECT SUM(total) AS total, SUM(applied) AS applied FROM counter_totals")
    assert row is not None
    return int(row["total"] or 0), int(row["applied"] or 0)


def test_a_copy_of_an_applied_message_changes_a_counter_once(settings: Settings) -> None:
    app = CounterApp(settings)
    counter = Counter(id=uuid.uuid4(), actor=SYSTEM, department=None)
    for by in (1, 10, 100):
        counter.increment(by=by, actor=SYSTEM, department="socialforvaltningen")
    app.save(counter)
    relay = OutboxRelay(app, Database(settings, "counters"))
    relay.drain()
    db = Database(settings, "counter_readmodel")
    loop = ConsumerLoop(settings, db, CounterTotals())
    loop.catch_up()
    assert _totals(db) == (111, 4)  # started + three increments

    # The same messages again, byte for byte (a relay re-sending after a crash does exactly this):
    # one copy of everything, and two more copies of the +100 in one batch.
    topic = settings.topic("counters.events")
    records = read_all(settings, topic)
    assert len(records) == 4
    last = max(records, key=lambda r: r.offset)
    again = producer(settings)
    try:
        for record in [*records, last, last]:
            again.send(topic, key=record.key, value=record.value, partition=record.partition)
        again.flush()
    finally:
        again.close(timeout=5)
    loop.catch_up()
    assert loop.lag() == 0
    assert _totals(db) == (111, 4)

    # A genuinely new event still counts.
    counter.increment(by=1000, actor=SYSTEM, department="socialforvaltningen")
    app.save(counter)
    relay.drain()
    loop.catch_up()
    assert _totals(db) == (1111, 5)

    # A new loop resuming from the stored positions sees nothing new and applies nothing twice.
    loop.close()
    resumed = ConsumerLoop(settings, db, CounterTotals())
    resumed.catch_up()
    assert _totals(db) == (1111, 5)
    resumed.close()
    relay.close()
    app.close()


class FussyTotals(CounterTotals):
    """Refuses one particular increment (a record the projection cannot apply)."""

    name = "fussy-totals"

    def apply(self, tx: Any, envelope: dict[str, Any]) -> None:
        if envelope["payload"].get("by") == 13:
            raise ValueError("cannot apply 13")
        super().apply(tx, envelope)


def test_lag_counts_what_is_not_applied_and_a_bad_record_is_parked_not_blocking(sqlite_settings: Settings) -> None:
    settings = sqlite_settings
    app = CounterApp(settings)
    counters = [Counter(id=uuid.uuid4(), actor=SYSTEM, department=None) for _ in range(3)]
    for i, counter in enumerate(counters):
        counter.increment(by=13 if i == 2 else 2, actor=SYSTEM, department="socialforvaltningen")
    app.save(*counters[:2])
    app.save(counters[2])  # the refused increment is the last record of its partition
    OutboxRelay(app, Database(settings, "counters")).drain()
    db = Database(settings, "counter_readmodel")
    loop = ConsumerLoop(settings, db, FussyTotals())
    assert loop.lag() == 6  # nothing applied yet: every message on the topic counts
    assert loop.positions() == {}
    loop.catch_up()
    assert loop.lag() == 0
    assert _totals(db) == (4, 5)  # the two good increments and three starts; the 13 is not applied
    with db.transaction() as tx:
        parked = tx.all("SELECT consumer, topic, error FROM dead_letters")
    assert [(r["consumer"], r["topic"], str(r["error"]).split(":")[0]) for r in parked] == [
        ("fussy-totals", settings.topic("counters.events"), "ValueError")]
    assert sum(loop.positions().values()) == 6  # past the parked record too
    assert loop.status() == {"consumer": "fussy-totals", "topics": [settings.topic("counters.events")], "lag": 0}
    loop.close()
    app.close()


def test_the_running_loop_applies_new_events_until_stopped(sqlite_settings: Settings) -> None:
    settings = sqlite_settings
    app = CounterApp(settings)
    relay = OutboxRelay(app, Database(settings, "counters"))
    db = Database(settings, "counter_readmodel")
    loop = ConsumerLoop(settings, db, CounterTotals())
    stop = threading.Event()
    worker = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    worker.start()
    try:
        counter = Counter(id=uuid.uuid4(), actor=SYSTEM, department=None)
        counter.increment(by=7, actor=SYSTEM, department="socialforvaltningen")
        app.save(counter)
        relay.drain()
        deadline = time.monotonic() + 30
        while _totals(db) != (7, 2):
            assert time.monotonic() < deadline, _totals(db)
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    relay.close()
    app.close()


def test_a_consumer_ahead_of_a_fresh_broker_replays_it_and_applies_new_events_once(sqlite_settings: Settings) -> None:
    port = free_port()
    broker = start_local_broker("127.0.0.1", port)
    settings = sqlite_settings.with_(kafka_bootstrap=f"127.0.0.1:{port}")
    app = CounterApp(settings)
    db = Database(settings, "counter_readmodel")
    try:
        counters = [Counter(id=uuid.uuid4(), actor=SYSTEM, department=None) for _ in range(4)]
        for counter in counters:
            counter.increment(by=5, actor=SYSTEM, department="socialforvaltningen")
        app.save(*counters)
        relay = OutboxRelay(app, Database(settings, "counters"))
        relay.drain()
        relay.close()
        loop = ConsumerLoop(settings, db, CounterTotals())
        loop.catch_up()
        loop.close()
        assert _totals(db) == (20, 8)
        broker.kill()
        broker.wait()
        broker = start_local_broker("127.0.0.1", port)  # empty: the consumer's positions are ahead of it
        loop = ConsumerLoop(settings, db, CounterTotals())
        assert loop.lag() == 0
        fresh = Counter(id=uuid.uuid4(), actor=SYSTEM, department=None)
        fresh.increment(by=100, actor=SYSTEM, department="socialforvaltningen")
        app.save(fresh)
        relay = OutboxRelay(app, Database(settings, "counters"))
        relay.drain()  # finds the broker emptier than its count: republishes everything, new event included
        relay.close()
        loop.catch_up()
        assert _totals(db) == (120, 10)
        loop.close()
    finally:
        app.close()
        broker.kill()
        broker.wait()


def test_read_model_json_is_compact_sorted_and_keeps_letters() -> None:
    assert dumps({"b": [1, 2], "a": "Åsa"}) == '{"a":"Åsa","b":[1,2]}'


def test_a_projection_without_topics_has_no_lag(sqlite_settings: Settings) -> None:
    class Idle(CounterTotals):
        name = "idle"
        topics = ()

    loop = ConsumerLoop(sqlite_settings, Database(sqlite_settings, "idle_readmodel"), Idle())
    assert loop.lag() == 0 and loop.poll_once() == 0
    loop.close()
