"""Producing properly sealed public envelopes onto the test's topics (the producing services
are separate; the dashboards only ever see Kafka)."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from shared.config import Settings
from shared.envelope import GENESIS_HASH, encode, event_id_for, iso_utc, seal
from shared.kafka import ensure_topics, producer, read_all

SOURCES = {
    "participants": "participants.events",
    "recruitments": "recruitments.events",
    "matching": "matching.events",
}
STAFF = {"id": "staff-test", "role": "coordinator"}


class EventWriter:
    """Seals envelopes per source (hash chain, positions, versions) and sends them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        ensure_topics(settings)
        self.producer = producer(settings)
        self.prev: dict[str, str] = defaultdict(lambda: GENESIS_HASH)
        self.position: Counter[str] = Counter()
        self.versions: Counter[str] = Counter()

    def emit(
        self,
        source: str,
        event_type: str,
        aggregate_id: str,
        payload: dict[str, Any],
        *,
        department: str | None,
        at: datetime | str | None = None,
        actor: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        self.versions[aggregate_id] += 1
        self.position[source] += 1
        version = self.versions[aggregate_id]
        occurred = at if isinstance(at, str) else iso_utc(at or datetime.now(UTC))
        envelope = seal(
            {
                "event_id": event_id_for(source, aggregate_id, version),
                "event_type": event_type,
                "schema_version": 1,
                "source": source,
                "aggregate_id": aggregate_id,
                "aggregate_version": version,
                "position": self.position[source],
                "occurred_at": occurred,
                "department": department,
                "actor": actor or STAFF,
                "payload": payload,
            },
            self.prev[source],
        )
        self.prev[source] = envelope["hash"]
        self.producer.send(self.settings.topic(SOURCES[source]), key=aggregate_id.encode(), value=encode(envelope))
        return envelope

    def flush(self) -> None:
        self.producer.flush()

    def close(self) -> None:
        self.producer.close()


def new_id() -> str:
    return str(uuid.uuid4())


def raw_events(settings: Settings) -> list[dict[str, Any]]:
    """Every envelope on the three public topics (the independent recount's input)."""
    out: list[dict[str, Any]] = []
    for topic in SOURCES.values():
        out.extend(json.loads(r.value) for r in read_all(settings, settings.topic(topic)))
    return out
