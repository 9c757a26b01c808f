"""A consumer applies each event once, even when the broker hands it the same message again.

The read model here is NOT idempotent (it adds each increment to a running total and counts
applications), so a second application of any copy would show."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from typing import Any

import eventsourcing.persistence
import psycopg
import psycopg_pool
import pytest
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartitionError, UnsupportedVersionError

import shared.consumer
from shared.config import Settings
from shared.consumer import (
    CONSUMER_DDL,
    AppliedState,
    BrokerForgot,
    ConsumerLoop,
    dumps,
    is_transient,
    source_of_topic,
)
from shared.db import Database
from shared.envelope import GENESIS_HASH
from shared.kafka import ensure_topics, free_port, producer, read_all, start_local_broker
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
    assert loop.applied() == {"counters": (4, 0)}  # the applied prefix reaches the source's last position

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


def test_a_restarted_loop_skips_a_copy_of_an_applied_event_at_another_position(sqlite_settings: Settings) -> None:
    # History republished with another layout can carry an applied event at a new position; a loop
    # that restarts (nothing in memory) knows it by the aggregate's stored version.
    settings = sqlite_settings
    app = CounterApp(settings)
    counter = Counter(id=uuid.uuid4(), actor=SYSTEM, department=None)
    counter.increment(by=5, actor=SYSTEM, department="socialforvaltningen")
    app.save(counter)
    OutboxRelay(app, Database(settings, "counters")).drain()
    db = Database(settings, "counter_readmodel")
    first = ConsumerLoop(settings, db, CounterTotals())
    first.catch_up()
    first.close()
    assert _totals(db) == (5, 2)
    topic = settings.topic("counters.events")
    last = json.loads(max(read_all(settings, topic), key=lambda r: json.loads(r.value)["position"]).value)
    moved = {**last, "position": last["position"] + 5, "prev_hash": "elsewhere", "hash": "moved"}
    send = producer(settings)
    try:
        send.send(topic, key=str(last["aggregate_id"]).encode(), value=json.dumps(moved).encode())
        send.flush()
    finally:
        send.close(timeout=5)
    again = ConsumerLoop(settings, db, CounterTotals())
    try:
        again.catch_up()
        assert _totals(db) == (5, 2)
    finally:
        again.close()
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


class BatchNotes(CounterTotals):
    """Notes, once per batch, how many events the batch applied, what its own transaction shows
    of them, and whether the loop said it is caught up."""

    name = "batch-notes"

    def __init__(self) -> None:
        self.in_batch = 0
        self.batches: list[tuple[int, int, bool]] = []

    def apply(self, tx: Any, envelope: dict[str, Any]) -> None:
        super().apply(tx, envelope)
        self.in_batch += 1

    def after_batch(self, tx: Any, caught_up: bool) -> None:
        seen = int(tx.scalar("SELECT COALESCE(SUM(applied), 0) FROM counter_totals"))
        self.batches.append((self.in_batch, seen, caught_up))
        self.in_batch = 0


def test_a_projection_hears_once_per_batch_whether_the_loop_is_still_catching_up(
        sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Derived rows that are costly to compute (the dashboards' figures) are computed once the loop
    # has caught up, not after every batch of a long backlog: the hook says which batch that is.
    settings = sqlite_settings
    real_consumer = shared.consumer.consumer
    monkeypatch.setattr(shared.consumer, "consumer",
                        lambda s, **kw: real_consumer(s, **{"max_poll_records": 4, **kw}))  # small batches
    app = CounterApp(settings)
    counter = Counter(id=uuid.uuid4(), actor=SYSTEM, department=None)  # one aggregate: one partition
    for _ in range(8):  # 9 events: a batch of 4 after the first ends one short of the end
        counter.increment(by=2, actor=SYSTEM, department="socialforvaltningen")
    app.save(counter)
    OutboxRelay(app, Database(settings, "counters")).drain()
    db = Database(settings, "counter_readmodel")
    notes = BatchNotes()
    loop = ConsumerLoop(settings, db, notes)
    try:
        loop.catch_up()
    finally:
        loop.close()
        app.close()
    assert sum(n for n, _seen, _caught_up in notes.batches) == 9
    assert len(notes.batches) >= 3 and all(n <= 4 for n, _seen, _caught_up in notes.batches)
    # In the batch's own transaction, before it commits: its events are there already.
    applied = 0
    for n, seen, _caught_up in notes.batches:
        applied += n
        assert seen == applied
    flags = [caught_up for _n, _seen, caught_up in notes.batches]
    assert flags == [False] * (len(flags) - 1) + [True], f"caught up said {flags}"
    assert _totals(db) == (16, 9)


def test_read_model_json_is_compact_sorted_and_keeps_letters() -> None:
    assert dumps({"b": [1, 2], "a": "Åsa"}) == '{"a":"Åsa","b":[1,2]}'


def test_a_projection_without_topics_has_no_lag(sqlite_settings: Settings) -> None:
    class Idle(CounterTotals):
        name = "idle"
        topics = ()

    loop = ConsumerLoop(sqlite_settings, Database(sqlite_settings, "idle_readmodel"), Idle())
    assert loop.lag() == 0 and loop.poll_once() == 0
    loop.close()



# -- what counts as applied: the chain, in process (no broker) --------------------------------------
# A source's events arrive from several partitions, so a later position can come before an earlier
# one. These state the rules of the applied prefix on ``AppliedState``, the record a consumer keeps
# and commits with its read model, directly (a broker cannot be made to hand out a chosen order).

def test_messages_without_a_chain_are_applied_once_by_their_event_id(sqlite_settings: Settings) -> None:
    # Older producers, or hand-made messages: without a whole chain (a positive position, prev_hash,
    # hash, source) a message is deduplicated by its event_id and not counted in the prefix.
    settings = sqlite_settings
    topic = settings.topic("counters.events")
    ensure_topics(settings, ("counters.events",))
    chain = {"source": "counters", "position": 9, "prev_hash": "p", "hash": "h"}
    broken: list[dict[str, Any]] = [
        {"source": "counters"},
        {**chain, "position": 0},
        {**chain, "position": True},
        {k: v for k, v in chain.items() if k != "hash"},
        {k: v for k, v in chain.items() if k != "prev_hash"},
        {k: v for k, v in chain.items() if k != "source"},
    ]
    send = producer(settings)
    try:
        for _copy in range(2):  # each message twice
            for i, fields in enumerate(broken):
                envelope = {**fields, "event_id": f"unchained-{i}", "aggregate_id": f"agg-{i}",
                            "aggregate_version": 1, "payload": {"by": 10 ** i}}
                send.send(topic, key=f"agg-{i}".encode(), value=json.dumps(envelope).encode())
        once = {"source": "counters", "event_id": "unchained-once", "aggregate_id": "agg-once",
                "aggregate_version": 1, "payload": {"by": 1000000}}  # a single copy counts too
        send.send(topic, key=b"agg-once", value=json.dumps(once).encode())
        send.flush()
    finally:
        send.close(timeout=5)
    db = Database(settings, "counter_readmodel")
    loop = ConsumerLoop(settings, db, CounterTotals())
    try:
        loop.catch_up()
        assert _totals(db) == (1111111, 7)
        assert loop.applied() == {"counters": (0, 0)}
        assert loop.dead_letters() == []
    finally:
        loop.close()


def _event(position: int, prev: str, hash_: str, aggregate: str = "a", version: int | None = None,
           source: str = "counters") -> dict[str, Any]:
    envelope: dict[str, Any] = {"source": source, "position": position, "prev_hash": prev, "hash": hash_,
                                "aggregate_id": aggregate, "event_id": f"{source}-{position}"}
    if version is not None:
        envelope["aggregate_version"] = version
    return envelope


def _apply(state: AppliedState, envelope: dict[str, Any], strict: bool = True) -> bool:
    """What a loop does with one envelope: apply it when new. Returns whether it applied it."""
    if state.is_new(envelope, strict=strict):
        state.record(envelope)
        return True
    return False


def _prefix(state: AppliedState, source: str = "counters") -> tuple[int, str, int]:
    head = state.head(source)
    return head.position, head.hash, head.applied


CHAIN = [_event(1, GENESIS_HASH, "h1", "a", 1), _event(2, "h1", "h2", "a", 2),
         _event(3, "h2", "h3", "b", 1), _event(4, "h3", "h4", "b", 2), _event(5, "h4", "h5", "c", 1)]


def test_the_applied_prefix_follows_the_chain_and_takes_in_what_was_applied_ahead() -> None:
    state = AppliedState("totals")
    e1, e2, e3, e4, e5 = CHAIN
    assert _apply(state, e1)
    assert _prefix(state) == (1, "h1", 1)
    # 5, 3 and 4 come from other partitions before 2: applied once, the prefix cannot reach them yet.
    assert [_apply(state, e) for e in (e5, e3, e4)] == [True, True, True]
    assert _prefix(state) == (1, "h1", 4)
    assert state.pending["counters"] == {3: ("h2", "h3"), 4: ("h3", "h4"), 5: ("h4", "h5")}
    assert [_apply(state, e) for e in (e3, e4, e5, e1)] == [False] * 4  # copies: nothing twice
    # The missing link arrives: the prefix takes in everything that now links onto it, in order.
    assert _apply(state, e2)
    assert _prefix(state) == (5, "h5", 5)
    assert state.pending["counters"] == {}
    assert [_apply(state, e) for e in CHAIN] == [False] * 5


def test_the_prefix_stops_at_the_first_link_still_missing() -> None:
    state = AppliedState("totals")
    e1, e2, e3, e4, e5 = CHAIN
    for envelope in (e5, e3, e1):
        assert _apply(state, envelope)
    assert _prefix(state) == (1, "h1", 3)
    assert _apply(state, e2)
    assert _prefix(state) == (3, "h3", 4)  # 4 is missing: 5 stays pending
    assert state.pending["counters"] == {5: ("h4", "h5")}
    assert _apply(state, e4)
    assert _prefix(state) == (5, "h5", 5)


def test_each_source_has_its_own_prefix() -> None:
    state = AppliedState("totals")
    assert _apply(state, _event(1, GENESIS_HASH, "p1", source="participants"))
    assert _apply(state, _event(1, GENESIS_HASH, "m1", source="matching"))
    assert _prefix(state, "participants") == (1, "p1", 1)
    assert _prefix(state, "matching") == (1, "m1", 1)
    assert _prefix(state, "recruitments") == (0, GENESIS_HASH, 0)


def test_an_aggregates_versions_are_applied_in_order_and_once() -> None:
    state = AppliedState("totals")
    assert _apply(state, _event(1, GENESIS_HASH, "h1", "a", 1))
    assert _apply(state, _event(2, "h1", "h2", "a", 2))
    # The same event again at another position (history republished with another layout): kept once.
    assert _apply(state, _event(7, "h6", "h7", "a", 2)) is False
    assert _apply(state, _event(8, "h7", "h8", "a", 1)) is False
    # A version that jumps over one never applied: the broker handed us what does not continue what
    # we read, so the batch must not apply it out of order...
    with pytest.raises(BrokerForgot, match="counters aggregate a version 4 follows version 2"):
        state.is_new(_event(9, "h8", "h9", "a", 4))
    # ... unless the topic is being read again from zero and itself has nothing in between.
    assert _apply(state, _event(9, "h8", "h9", "a", 4), strict=False)
    assert _apply(state, _event(10, "h9", "h10", "a", 5))
    assert state.versions[("counters", "a")] == 5
    # Events without a version are not ordered by one.
    assert _apply(state, _event(11, "h10", "h11", "z"))
    assert _apply(state, _event(12, "h11", "h12", "z"))


def test_what_a_consumer_applied_is_stored_and_read_back_as_it_was(sqlite_settings: Settings) -> None:
    db = Database(sqlite_settings, "applied_state")
    db.migrate(CONSUMER_DDL)
    e1, e2, e3, e4, e5 = CHAIN
    with db.transaction() as tx:
        state = AppliedState.load(tx, "totals", lock=False)
        for envelope in (e1, e2, e4, e5):
            _apply(state, envelope)
        _apply(state, _event(1, GENESIS_HASH, "m1", "x", 3, source="matching"))
        state.save(tx)
    state.committed()
    with db.transaction() as tx:
        # Another loop (or the same after a restart) reads the same prefixes, pending events and
        # versions: it neither applies them again nor skips what is still missing.
        again = AppliedState.load(tx, "totals", lock=False)
        again.load_versions(tx, {("counters", "a"), ("counters", "c"), ("counters", "never"), ("matching", "x")})
        assert _prefix(again) == (2, "h2", 4)
        assert _prefix(again, "matching") == (1, "m1", 1)
        assert again.pending == {"counters": {4: ("h3", "h4"), 5: ("h4", "h5")}}
        assert again.versions == {("counters", "a"): 2, ("counters", "c"): 1, ("matching", "x"): 3}
        assert [_apply(again, e) for e in (e1, e2, e4, e5)] == [False] * 4
        assert _apply(again, e3)
        assert _prefix(again) == (5, "h5", 5)
        again.save(tx)
    again.committed()
    with db.transaction() as tx:
        assert tx.all("SELECT position FROM consumer_pending WHERE consumer = 'totals'") == []
        assert tx.all("SELECT source, head_position, head_hash, applied FROM consumer_applied "
                      "WHERE consumer = 'totals' ORDER BY source") == [
            {"source": "counters", "head_position": 5, "head_hash": "h5", "applied": 5},
            {"source": "matching", "head_position": 1, "head_hash": "m1", "applied": 1}]
        assert tx.scalar("SELECT version FROM consumer_versions WHERE consumer = 'totals' "
                         "AND aggregate_id = 'b'") == 1
        # Another consumer's record is its own.
        assert _prefix(AppliedState.load(tx, "other", lock=False)) == (0, GENESIS_HASH, 0)
    # A batch that moves one source's prefix stores it, whichever source it is.
    for source, envelope in (("matching", _event(2, "m1", "m2", "x", 4, source="matching")),
                             ("counters", _event(6, "h5", "h6", "c", 2))):
        with db.transaction() as tx:
            batch = AppliedState.load(tx, "totals", lock=False)
            assert _apply(batch, envelope)
            batch.save(tx)
        with db.transaction() as tx:
            stored = AppliedState.load(tx, "totals", lock=False)
        assert _prefix(stored, source) == (envelope["position"], envelope["hash"], envelope["position"])


def test_a_loop_reuses_its_own_record_only_while_nobody_else_changed_it(sqlite_settings: Settings) -> None:
    db = Database(sqlite_settings, "applied_state")
    db.migrate(CONSUMER_DDL)
    with db.transaction() as tx:
        mine = AppliedState.load(tx, "totals", lock=False)
        _apply(mine, CHAIN[0])
        mine.save(tx)
    mine.committed()
    with db.transaction() as tx:
        assert AppliedState.load(tx, "totals", lock=False, cached=mine) is mine
    # A second loop of the same consumer applies an event meanwhile.
    with db.transaction() as tx:
        other = AppliedState.load(tx, "totals", lock=False)
        _apply(other, CHAIN[1])
        other.save(tx)
    other.committed()
    with db.transaction() as tx:
        fresh = AppliedState.load(tx, "totals", lock=False, cached=mine)
    assert fresh is not mine
    assert _prefix(fresh) == (2, "h2", 2)
    assert _apply(fresh, CHAIN[1]) is False


def test_the_versions_of_many_aggregates_are_all_read_back(sqlite_settings: Settings) -> None:
    # A batch can touch more aggregates than one query reads (1,201 here: past two full chunks).
    db = Database(sqlite_settings, "applied_state")
    db.migrate(CONSUMER_DDL)
    ids = [f"agg-{n:04d}" for n in range(1201)]
    with db.transaction() as tx:
        state = AppliedState.load(tx, "totals", lock=False)
        for n, aggregate in enumerate(ids):
            state.record(_event(n + 1, f"h{n}", f"h{n + 1}", aggregate, 3))
        state.save(tx)
    with db.transaction() as tx:
        again = AppliedState.load(tx, "totals", lock=False)
        again.load_versions(tx, {("counters", a) for a in ids})
    assert again.versions == {("counters", a): 3 for a in ids}


def test_a_version_applied_in_this_batch_is_not_forgotten_by_the_next_partition(sqlite_settings: Settings) -> None:
    # One batch holds records of several partitions; each partition's read of stored versions must
    # not replace what the batch itself applied a moment before (not stored yet).
    db = Database(sqlite_settings, "applied_state")
    db.migrate(CONSUMER_DDL)
    with db.transaction() as tx:
        state = AppliedState.load(tx, "totals", lock=False)
        _apply(state, CHAIN[0])  # a version 1
        state.save(tx)
    state.committed()
    with db.transaction() as tx:
        batch = AppliedState.load(tx, "totals", lock=False)
        batch.load_versions(tx, {("counters", "a")})
        assert _apply(batch, CHAIN[1])  # a version 2, read from partition 0
        batch.load_versions(tx, {("counters", "a"), ("counters", "b")})  # partition 1's records
        assert batch.versions[("counters", "a")] == 2
        assert _apply(batch, _event(9, "h8", "h9", "a", 2)) is False  # a copy at another position


def test_two_loops_of_one_consumer_take_turns_on_its_record(pg_settings: Settings) -> None:
    # On PostgreSQL a loop locks its consumer's record when it reads it: a second loop of the same
    # consumer waits for the first one's commit and then sees what it applied (never applies it again).
    db = Database(pg_settings, "applied_state")
    db.migrate(CONSUMER_DDL)
    with db.transaction() as tx:
        state = AppliedState.load(tx, "totals", lock=True)
        _apply(state, CHAIN[0])
        state.save(tx)
    seen: list[tuple[int, str, int, int]] = []
    first_committed = threading.Event()

    def second_loop() -> None:
        with db.transaction() as tx:
            other = AppliedState.load(tx, "totals", lock=True)
            seen.append((*_prefix(other), int(first_committed.is_set())))

    with db.transaction() as tx:
        first = AppliedState.load(tx, "totals", lock=True)
        worker = threading.Thread(target=second_loop, daemon=True)
        worker.start()
        time.sleep(1.0)
        assert seen == [], "the second loop read the record while the first one held it"
        _apply(first, CHAIN[1])
        first.save(tx)
        first_committed.set()
    worker.join(timeout=30)
    assert seen == [(2, "h2", 2, 1)]


@pytest.mark.parametrize(("error", "transient"), [
    (ConnectionResetError("reset by peer"), True),
    (TimeoutError("timed out"), True),
    (sqlite3.OperationalError("database is locked"), True),
    (sqlite3.OperationalError("Database Is Busy"), True),
    (sqlite3.OperationalError("disk I/O error"), True),
    (sqlite3.OperationalError("unable to open database file"), True),
    (sqlite3.OperationalError("no such table: counter_totals"), False),
    (psycopg.OperationalError("server closed the connection unexpectedly"), True),
    (psycopg.errors.SerializationFailure("could not serialize access"), True),
    (psycopg.errors.DeadlockDetected("deadlock detected"), True),
    (psycopg.errors.UndefinedTable("relation does not exist"), False),
    (KafkaConnectionError("no broker"), True),
    (KafkaTimeoutError("no answer"), True),
    (NotLeaderForPartitionError(), True),
    (UnsupportedVersionError(), False),
    (eventsourcing.persistence.OperationalError("connection lost"), True),
    (eventsourcing.persistence.InterfaceError("connection closed"), True),
    (eventsourcing.persistence.IntegrityError("duplicate key"), False),
    (psycopg_pool.PoolTimeout("no connection in 30 s"), True),
    (OSError("network unreachable"), True),
    (FileNotFoundError("gone"), False),
    (PermissionError("denied"), False),
    (ValueError("cannot apply 13"), False),
    (KeyError("payload"), False),
])
def test_only_an_unavailable_database_or_broker_is_worth_retrying(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def test_the_cause_of_an_error_decides_whether_it_is_transient() -> None:
    try:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as locked:
            raise RuntimeError("projection failed") from locked
    except RuntimeError as wrapped:
        assert is_transient(wrapped)
    try:
        try:
            raise ValueError("bad payload")
        except ValueError:
            raise RuntimeError("projection failed")  # the implicit context (no "from") is the point
    except RuntimeError as wrapped:
        assert not is_transient(wrapped)


def test_a_transient_error_behind_another_is_found_however_it_was_raised() -> None:
    locked = sqlite3.OperationalError("database is locked")
    try:
        try:
            raise locked
        except sqlite3.OperationalError:
            raise RuntimeError("projection failed")  # the implicit context only
    except RuntimeError as wrapped:
        assert wrapped.__cause__ is None and is_transient(wrapped)
    explicit = RuntimeError("projection failed")
    explicit.__cause__ = locked  # a cause outside any handler: no context
    assert explicit.__context__ is None and is_transient(explicit)


def test_an_error_that_cannot_even_be_classified_is_not_transient() -> None:
    class Unprintable(sqlite3.OperationalError):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    assert is_transient(Unprintable()) is False  # and classifying it did not raise
    first, second = ValueError("first"), ValueError("second")
    first.__context__, second.__context__ = second, first  # a cycle of contexts ends too
    assert is_transient(first) is False


def test_a_topic_names_its_source() -> None:
    assert source_of_topic("participants.events") == "participants"
    assert source_of_topic("audit.checkpoints.v1") == "audit"
