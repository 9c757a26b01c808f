"""The relay stores its position only after the broker acknowledged.

A dedicated tansu broker is frozen (SIGSTOP): it keeps its TCP connections open but never answers,
the way a hung broker does. While it is frozen the relay's stored position must not move; once it
answers again, every event is on the topic. The producer keeps its real settings except shorter
timeouts, so a lost acknowledgement shows in a second rather than in thirty."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from typing import Any

import pytest
from kafka import KafkaProducer

import shared.relay
from shared.config import Settings
from shared.db import Database
from shared.envelope import envelope_headers
from shared.kafka import free_port, producer, read_all, start_local_broker, total_messages
from shared.relay import OutboxRelay, RelayState
from tests.platform.counter_app import Counter, CounterApp

SYSTEM = {"id": "system", "role": "system"}


def _quick_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    return producer(settings, **{"request_timeout_ms": 800, "retries": 0, **overrides})


def _add_events(app: CounterApp, counters: int) -> None:
    for _ in range(counters):
        counter = Counter(id=uuid.uuid4(), actor=SYSTEM, department=None)
        counter.increment(by=1, actor=SYSTEM, department="socialforvaltningen")
        app.save(counter)


def test_position_stays_put_while_the_broker_does_not_acknowledge(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared.relay, "producer", _quick_producer)
    port = free_port()
    broker = start_local_broker("127.0.0.1", port)
    settings = sqlite_settings.with_(kafka_bootstrap=f"127.0.0.1:{port}")
    app = CounterApp(settings)
    relay = OutboxRelay(app, Database(settings, "counters"))
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop,), kwargs={"check_every": 3600.0}, daemon=True)
    try:
        _add_events(app, 3)
        relay.drain()
        acknowledged = relay.state()
        assert acknowledged.position == app.max_position() == 6
        worker.start()

        os.kill(broker.pid, signal.SIGSTOP)  # the broker hangs: connected, silent
        _add_events(app, 4)
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            assert relay.state() == acknowledged, "position stored without an acknowledgement"
            time.sleep(0.05)

        os.kill(broker.pid, signal.SIGCONT)
        deadline = time.monotonic() + 60
        while relay.state().position < app.max_position():
            assert time.monotonic() < deadline, f"relay did not catch up: {relay.state()}"
            time.sleep(0.1)
        stop.set()
        worker.join(timeout=30)
        state = relay.state()
        assert state.position == app.max_position() == 14
        assert state != RelayState()
        on_topic = {json.loads(r.value)["event_id"] for r in read_all(settings, settings.topic("counters.events"))}
        assert on_topic == {e["event_id"] for e in app.envelopes()}  # every event, at least once
    finally:
        stop.set()
        os.kill(broker.pid, signal.SIGCONT)
        worker.join(timeout=30)
        relay.close()
        app.close()
        broker.kill()
        broker.wait()


def test_a_restarted_relay_publishes_each_event_once_keyed_by_its_aggregate(sqlite_settings: Settings) -> None:
    settings = sqlite_settings
    app = CounterApp(settings)
    assert OutboxRelay(app, Database(settings, "counters")).check_broker() is False  # nothing published: no reset
    _add_events(app, 3)
    first = OutboxRelay(app, Database(settings, "counters"), batch=4)
    assert first.drain() == 6  # how many went out, over two batches
    assert first.drain() == 0
    first.close()
    # A restart against a broker that still holds everything: no reset, nothing sent twice.
    again = OutboxRelay(app, Database(settings, "counters"))
    again.connect()
    assert again.check_broker() is False
    assert again.state() == RelayState(6, again.state().head, 6)
    _add_events(app, 1)
    assert again.drain() == 2
    again.close()
    records = read_all(settings, settings.topic("counters.events"))
    envelopes = [json.loads(r.value) for r in records]
    assert sorted(e["position"] for e in envelopes) == list(range(1, 9))  # each once
    # Keyed by aggregate, so one aggregate's events share a partition and keep their order.
    assert all(r.key == json.loads(r.value)["aggregate_id"].encode() for r in records)
    # Each message carries its CloudEvents attributes as headers, for tooling that does not read
    # the envelope: the same as the envelope says.
    for record in records:
        envelope = json.loads(record.value)
        assert dict(record.headers) == dict(envelope_headers(envelope))
        assert dict(record.headers)["ce_id"] == envelope["event_id"].encode()
    app.close()



def test_a_running_relay_gives_a_broker_that_lost_everything_the_history_again(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing new is written after the loss, so no send fails: only the running relay's periodic
    # look at the broker can find out that the history is gone.
    monkeypatch.setattr(shared.relay, "producer",
                        lambda settings: _quick_producer(settings, max_block_ms=2000))
    port = free_port()
    broker = start_local_broker("127.0.0.1", port)
    settings = sqlite_settings.with_(kafka_bootstrap=f"127.0.0.1:{port}")
    topic = settings.topic("counters.events")
    app = CounterApp(settings)
    relay = OutboxRelay(app, Database(settings, "counters"))
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop,), kwargs={"check_every": 0.5}, daemon=True)
    try:
        _add_events(app, 2)
        worker.start()
        deadline = time.monotonic() + 30
        while relay.state().position < 4:
            assert time.monotonic() < deadline, f"relay did not publish: {relay.state()}"
            time.sleep(0.05)
        broker.kill()
        broker.wait()
        broker = start_local_broker("127.0.0.1", port)  # a memory broker: empty after its restart
        deadline = time.monotonic() + 60
        while total_messages(settings, topic) < 4:
            assert time.monotonic() < deadline, "the running relay never gave the fresh broker the history"
            time.sleep(0.2)
        on_topic = sorted(json.loads(r.value)["position"] for r in read_all(settings, topic))
        assert on_topic[:4] == [1, 2, 3, 4]
    finally:
        stop.set()
        worker.join(timeout=30)
        relay.close()
        app.close()
        broker.kill()
        broker.wait()


def test_an_idle_relay_polls_its_store_at_its_interval_and_asks_the_broker_only_when_a_check_is_due(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RELAY_POLL_INTERVAL is how often an idle relay reads its store; the broker is asked how much
    # it holds once per check interval, not on every poll.
    settings = sqlite_settings.with_(relay_poll_interval=0.2)
    app = CounterApp(settings)
    _add_events(app, 1)
    relay = OutboxRelay(app, Database(settings, "counters"))
    relay.drain()
    reads: list[int] = []
    read_store = app.notifications

    def reading(after: int, limit: int) -> Any:
        reads.append(after)
        return read_store(after, limit)

    asked: list[str] = []
    count_on_broker = shared.relay.total_messages

    def asking(s: Settings, topic: str) -> int:
        asked.append(topic)
        return count_on_broker(s, topic)

    monkeypatch.setattr(app, "notifications", reading)
    monkeypatch.setattr(shared.relay, "total_messages", asking)
    stop = threading.Event()
    worker = threading.Thread(target=relay.run, args=(stop,), kwargs={"check_every": 60.0}, daemon=True)
    try:
        worker.start()
        time.sleep(1.5)
    finally:
        stop.set()
        worker.join(timeout=30)
        relay.close()
        app.close()
    assert 1 <= len(reads) <= 1.5 / 0.2 + 2, f"{len(reads)} reads of the store in 1.5 s"
    assert asked == [], "asked the broker before a check was due"


def test_a_broker_that_lost_even_a_one_event_history_is_found_out(sqlite_settings: Settings) -> None:
    port = free_port()
    broker = start_local_broker("127.0.0.1", port)
    settings = sqlite_settings.with_(kafka_bootstrap=f"127.0.0.1:{port}")
    app = CounterApp(settings)
    relay = OutboxRelay(app, Database(settings, "counters"))
    try:
        app.save(Counter(id=uuid.uuid4(), actor=SYSTEM, department=None))
        assert relay.drain() == 1
        relay.close()
        broker.kill()
        broker.wait()
        broker = start_local_broker("127.0.0.1", port)  # empty
        assert relay.check_broker() is True, "a reset must say so"
        assert relay.state() == RelayState()  # the whole history goes out again
        assert relay.check_broker() is False  # nothing published since: nothing to miss
    finally:
        relay.close()
        app.close()
        broker.kill()
        broker.wait()
