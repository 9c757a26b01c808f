"""Item 3 of issue 11: transient is not permanent. A database that drops the consumer's
connection mid-apply is retried (with backoff), never dead-lettered; an event that can never apply
is parked, visible, and applied by a retry after the fix."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.config import Settings
from shared.consumer import ConsumerLoop, dead_letter_count, is_transient
from shared.db import Database, Tx
from shared.envelope import Envelope
from shared.relay import OutboxRelay
from tests.faults.support import own_broker
from tests.faults.test_consumers_broker_loss import SYSTEM, add_events, totals
from tests.platform.counter_app import Counter, CounterApp, CounterTotals


class TerminatedMidApply(CounterTotals):
    """Has PostgreSQL terminate its own connection (``pg_terminate_backend``, as an administrator
    or a restart would) while applying the chosen events, once each."""

    name = "counter-totals-terminated"

    def __init__(self, settings: Settings, positions: set[int]) -> None:
        self.settings = settings
        self.positions = set(positions)
        self.terminated: list[int] = []

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        position = int(envelope["position"])
        if position in self.positions:
            self.positions.discard(position)
            pid = tx.scalar("SELECT pg_backend_pid() AS pid")
            conninfo = psycopg.conninfo.make_conninfo(**self.settings.postgres_params())
            with psycopg.connect(conninfo, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            self.terminated.append(position)
        super().apply(tx, envelope)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_terminated_database_connection_is_retried_not_dead_lettered(pg_settings: Settings) -> None:
    with own_broker(pg_settings) as (_broker, settings):
        app = CounterApp(settings)
        counters = [Counter(id=uuid.uuid4(), actor=SYSTEM, department=None) for _ in range(10)]
        app.save(*counters)
        expected = add_events(app, counters, rounds=5)
        OutboxRelay(app, Database(settings, "counters")).drain()
        n_events = len(list(app.envelopes()))
        db = Database(settings, "counter_readmodel")
        projection = TerminatedMidApply(settings, {5, 23, n_events})
        loop = ConsumerLoop(settings, db, projection)
        stop = threading.Event()
        worker = threading.Thread(target=loop.run, args=(stop,), daemon=True)
        worker.start()
        deadline = time.monotonic() + 60
        while totals(db)[1] < n_events and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        worker.join(timeout=15)
        assert sorted(projection.terminated) == [5, 23, n_events]
        assert totals(db) == (expected, n_events, 0)
        assert dead_letter_count(db) == 0
        app.close()


def test_locked_sqlite_and_dropped_connections_are_transient(tmp_path: Path, pg_settings: Settings) -> None:
    path = tmp_path / "locked.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("INSERT INTO t VALUES (1)")
    assert is_transient(locked.value)
    holder.execute("ROLLBACK")

    conninfo = psycopg.conninfo.make_conninfo(**pg_settings.postgres_params())
    with psycopg.connect(conninfo, autocommit=True) as victim, psycopg.connect(conninfo, autocommit=True) as admin:
        pid = victim.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError) as shut:
            victim.execute("SELECT 1")
    assert is_transient(shut.value)
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(conninfo.replace("5432", "1"), connect_timeout=2)
    assert is_transient(refused.value)
    assert not is_transient(ValueError("a payload this projection cannot take"))
    assert not is_transient(KeyError("payload"))


class BrokenForSomeEvents(CounterTotals):
    """A projection with a bug: it cannot take increments of 13 until ``fixed``."""

    name = "counter-totals-buggy"
    fixed = False

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        if not self.fixed and envelope["payload"].get("by") == 13:
            raise ValueError("increments of 13 are not supported")
        super().apply(tx, envelope)


def test_event_that_cannot_apply_is_parked_visible_and_retried_after_the_fix(settings: Settings) -> None:
    with own_broker(settings) as (_broker, settings):
        app = CounterApp(settings)
        counters = [Counter(id=uuid.uuid4(), actor=SYSTEM, department=None) for _ in range(4)]
        app.save(*counters)
        expected = add_events(app, counters, rounds=3, start=12)  # 12, 13, 14
        OutboxRelay(app, Database(settings, "counters")).drain()
        n_events = len(list(app.envelopes()))
        db = Database(settings, "counter_readmodel")
        loop = ConsumerLoop(settings, db, BrokenForSomeEvents())
        loop.catch_up()
        parked: list[dict[str, Any]] = loop.dead_letters()
        assert len(parked) == 4 and dead_letter_count(db) == 4
        assert all("ValueError" in p["error"] for p in parked)
        assert totals(db) == (expected - 4 * 13, n_events - 4, 0)
        assert loop.gaps() == {}  # parked events count as handled: the prefix goes on
        assert loop.retry_dead_letters() == (0, 4)  # not fixed yet: still parked
        loop.projection.fixed = True  # type: ignore[attr-defined]
        assert loop.retry_dead_letters() == (4, 0)
        assert dead_letter_count(db) == 0
        total, applied, _late = totals(db)
        assert (total, applied) == (expected, n_events)
        loop.close()
        app.close()
