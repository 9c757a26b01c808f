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
from shared.kafka import free_port, producer, read_all, start_local_broker
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
        deadline = time.monotonic() + 4.0
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
