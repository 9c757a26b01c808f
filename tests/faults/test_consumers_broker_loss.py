"""Item 2 of issue 11: a read model never skips an event and never applies one twice, whatever the
broker did: lost its data while relay duplicates were on the topic, stored offsets past the end,
a topic recreated. The read model is a counter (not idempotent): a doubled event shows in its
totals, a lost one too."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.kafka import producer, read_all
from shared.relay import OutboxRelay
from tests.faults.support import own_broker
from tests.platform.counter_app import Counter, CounterApp, CounterTotals

SYSTEM = {"id": "system", "role": "system"}


def add_events(app: CounterApp, counters: list[Counter], rounds: int, start: int = 1) -> int:
    """``rounds`` increments of each counter; returns what they add up to."""
    added = 0
    for step in range(start, start + rounds):
        for counter in counters:
            counter.increment(by=step, actor=SYSTEM, department=None)
            added += step
        app.save(*counters)
    return added


def duplicate_records(settings: Settings, topic: str, how_many: int) -> int:
    """Send the first ``how_many`` records of the topic again, as a relay that crashed before
    storing its position does (same key, same bytes)."""
    records = read_all(settings, topic, timeout=30)[:how_many]
    p = producer(settings)
    try:
        for r in records:
            p.send(topic, key=r.key, value=r.value)
        p.flush()
    finally:
        p.close(timeout=5)
    return len(records)


def totals(db: Database) -> tuple[int, int, int]:
    with db.transaction() as tx:
        row = tx.one("SELECT COALESCE(SUM(total), 0) AS total, COALESCE(SUM(applied), 0) AS applied, "
                     "COALESCE(SUM(out_of_order), 0) AS late FROM counter_totals")
    assert row is not None
    return int(row["total"]), int(row["applied"]), int(row["late"])


class OtherCounterTotals(CounterTotals):
    name = "counter-totals-restarted"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_broker_loss_with_duplicates_applies_every_event_exactly_once(settings: Settings) -> None:
    with own_broker(settings) as (broker, settings):
        topic = settings.topic("counters.events")
        app = CounterApp(settings)
        counters = [Counter(id=uuid.uuid4(), actor=SYSTEM, department=None) for _ in range(24)]
        app.save(*counters)
        expected = add_events(app, counters, rounds=6)
        relay = OutboxRelay(app, Database(settings, "counters"))
        relay.drain()
        duplicate_records(settings, topic, 60)  # relay duplicates on the old topic shift its offsets

        # A running worker (loop A) and one that is restarted after the loss (loop B).
        db_a, db_b = Database(settings, "counter_a"), Database(settings, "counter_b")
        loop_a = ConsumerLoop(settings, db_a, CounterTotals())
        loop_a.recheck_every, loop_a.gap_grace, loop_a.reread_every = 1.0, 1.0, 3.0
        loop_b = ConsumerLoop(settings, db_b, OtherCounterTotals())
        loop_b.catch_up()
        loop_b.close()
        stop = threading.Event()
        worker = threading.Thread(target=loop_a.run, args=(stop,), daemon=True)
        worker.start()
        n_before = len(list(app.envelopes()))
        deadline = time.monotonic() + 30
        while totals(db_a)[1] < n_before:
            assert time.monotonic() < deadline, "loop A did not apply the first history"
            time.sleep(0.1)
        assert totals(db_a) == totals(db_b) == (expected, n_before, 0)

        relay.close()
        broker.lose_everything()
        # New events after the loss, more than the duplicates, so that the new partitions reach
        # past the stored offsets (the end-offset check alone would not see the loss).
        expected += add_events(app, counters, rounds=8, start=100)
        n_events = len(list(app.envelopes()))
        relay = OutboxRelay(app, Database(settings, "counters"))  # a restarted relay republishes
        relay.drain()
        duplicate_records(settings, topic, 40)  # and duplicates on the new topic too
        ends = sum(1 for _ in read_all(settings, topic, timeout=30))
        assert ends == n_events + 40

        # Loop B restarts with offsets that point into the republished history. Its stored topic
        # ids are cleared, as on a broker that does not report them: the record at the stored
        # offset still tells that the broker forgot.
        with db_b.transaction() as tx:
            tx.execute("UPDATE consumer_offsets SET topic_id = NULL, cluster_id = NULL")
        loop_b = ConsumerLoop(settings, db_b, OtherCounterTotals())
        loop_b.catch_up(timeout=60)
        assert loop_b.rereads >= 1
        assert totals(db_b) == (expected, n_events, 0)
        loop_b.close()

        deadline = time.monotonic() + 45
        while totals(db_a)[1] < n_events and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        worker.join(timeout=15)
        assert totals(db_a) == (expected, n_events, 0)
        assert loop_a.applied()["counters"][1] == 0  # no gap left open
        relay.close()
        app.close()


def test_stored_offsets_past_the_end_are_detected_and_read_again(sqlite_settings: Settings) -> None:
    with own_broker(sqlite_settings) as (_broker, settings):
        app = CounterApp(settings)
        counters = [Counter(id=uuid.uuid4(), actor=SYSTEM, department=None) for _ in range(5)]
        app.save(*counters)
        expected = add_events(app, counters, rounds=3)
        relay = OutboxRelay(app, Database(settings, "counters"))
        relay.drain()
        db = Database(settings, "counter_readmodel")
        loop = ConsumerLoop(settings, db, CounterTotals())
        loop.catch_up()
        loop.close()
        with db.transaction() as tx:  # offsets from another life of the broker
            tx.execute("UPDATE consumer_offsets SET next_offset = next_offset + 1000")
        expected += add_events(app, counters, rounds=2, start=10)
        relay.drain()
        loop = ConsumerLoop(settings, db, CounterTotals())
        loop.catch_up()
        assert loop.rereads >= 1
        assert totals(db) == (expected, len(list(app.envelopes())), 0)
        loop.close()
        relay.close()
        app.close()


def test_offsets_that_skip_events_leave_a_gap_that_is_read_again(sqlite_settings: Settings) -> None:
    """Offsets moved forward inside the partitions (the broker's answers all look plausible):
    the chain shows the missing events and the topic is read again."""
    with own_broker(sqlite_settings) as (_broker, settings):
        app = CounterApp(settings)
        counters = [Counter(id=uuid.uuid4(), actor=SYSTEM, department=None) for _ in range(6)]
        app.save(*counters)
        expected = add_events(app, counters, rounds=2)
        relay = OutboxRelay(app, Database(settings, "counters"))
        relay.drain()
        db = Database(settings, "counter_readmodel")
        loop = ConsumerLoop(settings, db, CounterTotals())
        loop.catch_up()
        loop.close()
        expected += add_events(app, counters, rounds=4, start=10)
        relay.drain()
        # Skip three records of every partition, and make the stored fingerprints match what is
        # there now, as a broker that kept nothing we could compare would.
        records = read_all(settings, settings.topic("counters.events"))
        by_offset = {(r.partition, r.offset): r for r in records}
        with db.transaction() as tx:
            for row in tx.all("SELECT topic, partition_no, next_offset FROM consumer_offsets"):
                moved = int(row["next_offset"]) + 3
                import json

                event_id = json.loads(by_offset[(int(row["partition_no"]), moved - 1)].value)["event_id"]
                tx.execute("UPDATE consumer_offsets SET next_offset = ?, last_event_id = ? "
                           "WHERE topic = ? AND partition_no = ?",
                           (moved, event_id, row["topic"], row["partition_no"]))
        loop = ConsumerLoop(settings, db, CounterTotals())
        loop.catch_up()
        assert loop.rereads == 1
        assert totals(db) == (expected, len(list(app.envelopes())), 0)
        assert loop.gaps() == {}
        loop.close()
        relay.close()
        app.close()
