"""Test helpers: produce properly sealed envelopes of a source straight onto its topic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import Settings
from shared.envelope import GENESIS_HASH, Envelope, encode, event_id_for, iso_utc, seal
from shared.kafka import ensure_topics, producer

BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class SourceWriter:
    """Plays the part of a service's relay: seals and publishes envelopes in chain order."""

    def __init__(self, settings: Settings, source: str) -> None:
        ensure_topics(settings)
        self.source = source
        self.topic = settings.topic(f"{source}.events")
        self.producer = producer(settings)
        self.head = GENESIS_HASH
        self.position = 0
        self.versions: dict[str, int] = {}
        self.sent: list[Envelope] = []

    def emit(self, event_type: str, aggregate_id: str, payload: dict[str, Any], actor: dict[str, str],
             minute: int, department: str | None = "socialforvaltningen") -> Envelope:
        self.position += 1
        version = self.versions.get(aggregate_id, 0) + 1
        self.versions[aggregate_id] = version
        env = seal({
            "event_id": event_id_for(self.source, aggregate_id, version),
            "event_type": event_type,
            "schema_version": 1,
            "source": self.source,
            "aggregate_id": aggregate_id,
            "aggregate_version": version,
            "position": self.position,
            "occurred_at": iso_utc(BASE_TIME + timedelta(minutes=minute)),
            "department": department,
            "actor": actor,
            "payload": payload,
        }, self.head)
        self.head = env["hash"]
        self.producer.send(self.topic, key=aggregate_id.encode(), value=encode(env)).get(timeout=30)
        self.sent.append(env)
        return env

    def close(self) -> None:
        self.producer.close(timeout=5)


def new_id() -> str:
    return str(uuid.uuid4())
