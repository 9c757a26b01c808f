"""The outbox relay and the consumer loop against the real broker and real databases."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.envelope import GENESIS_HASH, chain_hash
from shared.kafka import free_port, read_all, start_local_broker, total_messages
from shared.relay import OutboxRelay
from tests.platform.counter_app import Counter, CounterApp, CounterTotals, settings_to_file

SYSTEM = {"id": "system", "role": "system"}


def make_events(app: CounterApp, counters: int, increments: int) -> int:
    """Create ``counters`` aggregates with ``increments`` increments each; return the expected total."""
    aggregates = [Counter(id=uuid.uuid4(), actor=SYSTEM, department=None) for _ in range(counters)]
    expected = 0
    for step in range(increments):
        for agg in aggregates:
            agg.increment(by=step + 1, actor=SYSTEM, department="socialforvaltningen")
            expected += step + 1
        if step % 5 == 4:
            app.save(*aggregates)
    app.save(*aggregates)
    return expected


def envelopes_on(settings: Settings) -> list[dict]:
    return [json.loads(r.value) for r in read_all(settings, settings.topic("counters.events"), timeout=30)]


def test_killed_relay_resumes_and_projection_applies_each_event_once(settings: Settings, tmp_path: Path) -> None:
    app = CounterApp(settings)
    expected_total = make_events(app, counters=100, increments=30)  # 3,100 events
    n_events = app.max_position() if not settings.uses_postgres else len(list(app.envelopes()))
    config = tmp_path / "settings.json"
    settings_to_file(settings, config)
    topic = settings.topic("counters.events")

    def start_relay() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "tests.platform.run_counter_relay", str(config), "100"])

    relay = start_relay()
    deadline = time.monotonic() + 60
    while total_messages(settings, topic) < 600 and time.monotonic() < deadline:
        time.sleep(0.02)
    relay.send_signal(signal.SIGKILL)  # mid-stream, no chance to clean up
    relay.wait()
    published_before_restart = total_messages(settings, topic)
    assert 0 < published_before_restart < n_events

    # Consume part of the stream, then "crash" the consumer too and resume with a new loop.
    db = Database(settings, "counter_readmodel")
    loop = ConsumerLoop(settings, db, CounterTotals())
    for _ in range(3):
        loop.poll_once()
    loop.close()

    relay = start_relay()
    deadline = time.monotonic() + 90
    try:
        while OutboxRelay(app, Database(settings, "counters")).state().published < n_events:
            assert time.monotonic() < deadline, "relay did not finish after restart"
            time.sleep(0.1)
    finally:
        relay.terminate()
        relay.wait()

    envelopes = envelopes_on(settings)
    ids = {e["event_id"] for e in envelopes}
    assert len(ids) == n_events  # every event at least once
    per_aggregate: dict[str, list[int]] = defaultdict(list)
    for e in envelopes:  # read_all returns partition order: a key's events are in one partition
        if e["aggregate_version"] not in per_aggregate[e["aggregate_id"]]:
            per_aggregate[e["aggregate_id"]].append(e["aggregate_version"])
    assert all(v == sorted(v) == list(range(1, len(v) + 1)) for v in per_aggregate.values())

    # The chain over the source's envelopes, in position order, is intact.
    by_position = {e["position"]: e for e in envelopes}
    prev = GENESIS_HASH
    for position in sorted(by_position):
        env = by_position[position]
        assert env["prev_hash"] == prev and env["hash"] == chain_hash(prev, env)
        prev = env["hash"]

    loop = ConsumerLoop(settings, db, CounterTotals())
    loop.catch_up(timeout=60)
    with db.transaction() as tx:
        rows = tx.all("SELECT total, applied, out_of_order FROM counter_totals")
    assert sum(r["total"] for r in rows) == expected_total
    assert sum(r["applied"] for r in rows) == n_events  # exactly once in effect
    assert all(r["out_of_order"] == 0 for r in rows)
    loop.close()
    app.close()


def test_fresh_broker_gets_the_history_again(sqlite_settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    broker = start_local_broker("127.0.0.1", port)
    settings = sqlite_settings.with_(kafka_bootstrap=f"127.0.0.1:{port}")
    try:
        app = CounterApp(settings)
        total = make_events(app, counters=5, increments=4)
        relay = OutboxRelay(app, Database(settings, "counters"))
        relay.drain()
        db = Database(settings, "counter_readmodel")
        loop = ConsumerLoop(settings, db, CounterTotals())
        loop.catch_up()
        loop.close()
        relay.close()
    finally:
        broker.kill()
        broker.wait()
    # The memory broker lost everything; a new one starts empty on the same port.
    broker = start_local_broker("127.0.0.1", port)
    try:
        relay = OutboxRelay(app, Database(settings, "counters"))
        relay.drain()
        assert total_messages(settings, settings.topic("counters.events")) == 25
        loop = ConsumerLoop(settings, db, CounterTotals())
        loop.catch_up()
        with db.transaction() as tx:
            assert tx.scalar("SELECT SUM(total) FROM counter_totals") == total
            assert tx.scalar("SELECT SUM(applied) FROM counter_totals") == 25
        # New events after the loss still flow, once.
        agg = app.repository.get(uuid.UUID(next(iter(app.envelopes()))["aggregate_id"]))
        agg.increment(by=1000, actor=SYSTEM, department=None)
        app.save(agg)
        relay.drain()
        loop.catch_up()
        with db.transaction() as tx:
            assert tx.scalar("SELECT SUM(total) FROM counter_totals") == total + 1000
        loop.close()
        relay.close()
    finally:
        broker.kill()
        broker.wait()
