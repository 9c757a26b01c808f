"""Playing another service's relay in a test: public envelopes sealed per source (hash chain,
positions, aggregate versions) and produced onto the test's topics with kafka-python.

Each service is tested on its own, so the events of the services it listens to come from here
(contract in docs/events-contract.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.config import Settings
from shared.envelope import GENESIS_HASH, Envelope, encode, event_id_for, iso_utc, seal
from shared.kafka import ensure_topics, producer


class EventWriter:
    """Seals envelopes in chain order per source and sends them to ``<source>.events``."""

    def __init__(self, settings: Settings, default_actor: dict[str, str] | None = None,
                 **producer_overrides: Any) -> None:
        self.settings = settings
        self.default_actor = default_actor or {"id": "staff-test", "role": "coordinator"}
        ensure_topics(settings)
        self.producer = producer(settings, **producer_overrides)
        self.heads: dict[str, str] = {}
        self.positions: dict[str, int] = {}
        self.versions: dict[str, int] = {}

    def emit(self, source: str, event_type: str, aggregate_id: str, payload: dict[str, Any],
             department: str | None = None, actor: dict[str, str] | None = None, *,
             at: datetime | str | None = None) -> Envelope:
        """Seal the next event of ``source`` and send it (call ``flush`` to wait for the broker)."""
        version = self.versions.get(aggregate_id, 0) + 1
        self.versions[aggregate_id] = version
        position = self.positions.get(source, 0) + 1
        self.positions[source] = position
        envelope = seal({
            "event_id": event_id_for(source, aggregate_id, version),
            "event_type": event_type,
            "schema_version": 1,
            "source": source,
            "aggregate_id": aggregate_id,
            "aggregate_version": version,
            "position": position,
            "occurred_at": at if isinstance(at, str) else iso_utc(at or datetime.now(UTC)),
            "department": department,
            "actor": actor or self.default_actor,
            "payload": payload,
        }, self.heads.get(source, GENESIS_HASH))
        self.heads[source] = envelope["hash"]
        self.producer.send(self.settings.topic(f"{source}.events"), key=aggregate_id.encode(),
                           value=encode(envelope))
        return envelope

    def flush(self) -> None:
        self.producer.flush()

    def close(self) -> None:
        self.producer.close(timeout=5)
