"""A consumer applies each event once, even when the broker hands it the same message again.

The read model here is NOT idempotent (it adds each increment to a running total and counts
applications), so a second application of any copy would show."""

from __future__ import annotations

import uuid

from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.kafka import producer, read_all
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
