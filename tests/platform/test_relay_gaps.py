"""The relay never passes over an event on PostgreSQL, and never waits for ever at an id that
never commits (fast, in process, on the real database and broker: no HTTP, no mocks).

Notification ids come from a sequence before commit, so a later id can be visible while an
earlier one's transaction is still open. Here a second connection takes the next id the way an
insert in flight does (a transaction id, then ``nextval``) and either rolls back, as a crashed
or refused insert would, or commits a real event under that id, as a slow insert would. What a
subscriber sees on the topic is checked: which positions, in which order, chain intact.
``tests/faults/test_kills_relay_gaps.py`` (slow) tells the same through the participants service.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from shared.config import Settings
from shared.db import Database
from shared.envelope import GENESIS_HASH, chain_hash
from shared.kafka import read_all
from shared.relay import GAP_GRACE_SECONDS, OutboxRelay, RelayState
from tests.platform.counter_app import Counter, CounterApp

SYSTEM = {"id": "system", "role": "system"}
Counters = tuple[CounterApp, OutboxRelay]


@pytest.fixture
def counters(pg_settings: Settings) -> Iterator[Counters]:
    """A counter application on PostgreSQL and its relay to the real broker, closed afterwards."""
    app = CounterApp(pg_settings)
    relay = OutboxRelay(app, Database(pg_settings, "counters"))
    try:
        yield app, relay
    finally:
        relay.close()
        app.close()


def _start_counters(app: CounterApp, how_many: int) -> list[str]:
    """Each new counter is one event (one notification id)."""
    ids = []
    for _ in range(how_many):
        counter = Counter(id=uuid.uuid4(), actor=SYSTEM, department=None)
        app.save(counter)
        ids.append(str(counter.id))
    return ids


class InsertInFlight:
    """A transaction that has taken the next notification id and not committed yet."""

    def __init__(self, conn: psycopg.Connection[Any], table: str, held: int) -> None:
        self.conn, self.table, self.held = conn, table, held

    def write_event_like(self, notification_id: int) -> str:
        """Store, under the held id, a copy of the event at ``notification_id`` for a new
        aggregate (what the slow insert was writing); returns that aggregate's id."""
        originator = uuid.uuid4()
        self.conn.execute(f"INSERT INTO {self.table} (originator_id, originator_version, topic, state, "
                          f"notification_id) SELECT %s, originator_version, topic, state, %s FROM {self.table} "
                          "WHERE notification_id = %s", (originator, self.held, notification_id))
        return str(originator)


@contextmanager
def insert_in_flight(settings: Settings) -> Iterator[InsertInFlight]:
    schema = settings.schema("counters")
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        row = conn.execute("SELECT table_name FROM information_schema.columns WHERE table_schema = %s "
                           "AND column_name = 'notification_id'", (schema,)).fetchone()
        assert row is not None
        table = f'"{schema}"."{row[0]}"'
        sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'notification_id')", (table,)).fetchone()
        assert sequence is not None and sequence[0]
        conn.execute("BEGIN")
        conn.execute("SELECT txid_current()")  # an insert has its transaction id before its notification id
        held = conn.execute("SELECT nextval(%s)", (sequence[0],)).fetchone()
        assert held is not None
        try:
            yield InsertInFlight(conn, table, int(held[0]))
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")


def _published(settings: Settings) -> list[dict[str, Any]]:
    """What a subscriber reads, in position order, after checking the chain links each event
    to the one before it."""
    envelopes = sorted((json.loads(r.value) for r in read_all(settings, settings.topic("counters.events"))),
                       key=lambda e: e["position"])
    prev = GENESIS_HASH
    for envelope in envelopes:
        assert envelope["prev_hash"] == prev and envelope["hash"] == chain_hash(prev, envelope), "chain broken"
        prev = envelope["hash"]
    return envelopes


def _publish_until(relay: OutboxRelay, position: int, timeout: float = 30.0) -> None:
    """Publish until the relay's position reaches ``position`` (a gap may need a moment, and on a
    shared database server another session's open transaction holds the horizon back)."""
    deadline = time.monotonic() + timeout
    while relay.state().position < position:
        assert time.monotonic() < deadline, f"relay stuck at {relay.state()}"
        relay.publish_once()
        time.sleep(0.05)


def test_an_open_insert_holds_back_what_follows_it_and_a_rolled_back_one_is_passed_over(
        pg_settings: Settings, counters: Counters) -> None:
    app, relay = counters
    before = _start_counters(app, 2)
    with insert_in_flight(pg_settings) as in_flight:
        assert in_flight.held == 3
        after = _start_counters(app, 2)
        assert app.max_position() == 5
        # What precedes the gap goes out; nothing after it, for as long as the insert may commit
        # (here well past the grace: its transaction is still open).
        assert relay.publish_once() == 2
        assert relay.state().position == 2
        deadline = time.monotonic() + GAP_GRACE_SECONDS + 1.0
        while time.monotonic() < deadline:
            assert relay.publish_once() == 0, "published past a gap that may still fill"
            time.sleep(0.1)
        assert relay.state().position == 2
        in_flight.conn.execute("ROLLBACK")
    # The id can never commit now (and the grace has passed since the gap was first seen).
    _publish_until(relay, 5)
    state = relay.state()
    assert (state.position, state.published) == (5, 4)
    envelopes = _published(pg_settings)
    assert [e["position"] for e in envelopes] == [1, 2, 4, 5]
    assert [e["aggregate_id"] for e in envelopes] == before + after
    assert state.head == envelopes[-1]["hash"]
    # Later events go on from there.
    more = _start_counters(app, 1)
    assert relay.publish_once() == 1
    assert [e["aggregate_id"] for e in _published(pg_settings)][-1:] == more
    assert relay.publish_once() == 0


def test_a_gap_is_not_judged_final_before_the_grace_even_once_its_transaction_ended(
        pg_settings: Settings, counters: Counters) -> None:
    app, relay = counters
    _start_counters(app, 1)
    with insert_in_flight(pg_settings) as in_flight:
        _start_counters(app, 1)
        seen = time.monotonic()
        assert relay.publish_once() == 1
        in_flight.conn.execute("ROLLBACK")
    # An insert takes its notification id a moment before its transaction id: only the grace
    # tells "finished" from "not started yet", so the relay still waits.
    checks = 0
    while time.monotonic() - seen < GAP_GRACE_SECONDS * 0.5:
        assert relay.publish_once() == 0, "gap judged final before the grace"
        checks += 1
        time.sleep(0.1)
    assert checks > 0, "the machine stalled past the grace before the relay could be asked"
    assert relay.state() == RelayState(1, relay.state().head, 1)
    _publish_until(relay, 3)
    assert [e["position"] for e in _published(pg_settings)] == [1, 3]


def test_a_gap_that_fills_is_published_in_its_place(pg_settings: Settings, counters: Counters) -> None:
    app, relay = counters
    first = _start_counters(app, 1)
    with insert_in_flight(pg_settings) as in_flight:
        later = _start_counters(app, 1)
        slow = in_flight.write_event_like(3)
        assert relay.publish_once() == 1
        assert relay.publish_once() == 0
        in_flight.conn.execute("COMMIT")
    assert relay.publish_once() == 2  # the filled gap, then what followed it, in one batch
    envelopes = _published(pg_settings)
    assert [e["position"] for e in envelopes] == [1, 2, 3]
    assert [e["aggregate_id"] for e in envelopes] == [*first, slow, *later]
    assert relay.state() == RelayState(3, envelopes[-1]["hash"], 3)



def test_drain_waits_out_a_gap_until_it_is_final(pg_settings: Settings, counters: Counters) -> None:
    # ``drain`` (one-shot runs, benchmarks, tests) returns only once the whole log is out: a gap
    # left by an insert that rolled back is waited out, not taken for the end of the log.
    app, relay = counters
    _start_counters(app, 1)
    with insert_in_flight(pg_settings) as in_flight:
        _start_counters(app, 1)
        in_flight.conn.execute("ROLLBACK")
    assert relay.drain() == 2
    assert relay.state().position == app.max_position() == 3
    assert [e["position"] for e in _published(pg_settings)] == [1, 3]


def test_without_a_gap_every_stored_event_goes_out_at_once(pg_settings: Settings, counters: Counters) -> None:
    app, relay = counters
    ids = _start_counters(app, 3)
    assert relay.publish_once() == 3
    assert [e["aggregate_id"] for e in _published(pg_settings)] == ids
    more = _start_counters(app, 2)
    assert relay.publish_once() == 2
    assert relay.state().position == 5
    assert [e["aggregate_id"] for e in _published(pg_settings)] == ids + more
