"""A tiny event-sourced application used to test the shared relay and consumer loop on their
own, independent of any service's domain. ``tests/platform/run_counter_relay.py`` runs its relay
as a separate process that a test kills and restarts."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from marshmallow import Schema, fields

from shared.application import ServiceApplication
from shared.config import Settings
from shared.consumer import Projection
from shared.db import Database, Tx
from shared.envelope import Envelope
from shared.events import EventCatalogue

catalogue = EventCatalogue("counters")


class Counter(Aggregate):
    @event("Started")
    def __init__(self, id: UUID, actor: dict[str, str], department: str | None) -> None:
        self._id = id
        self.value = 0

    @event("Incremented")
    def increment(self, by: int, actor: dict[str, str], department: str | None) -> None:
        self.value += by


class StartedV1(Schema):
    pass


class IncrementedV1(Schema):
    by = fields.Integer(required=True)


catalogue.register(Counter.Started, "CounterStarted", StartedV1)
catalogue.register(Counter.Incremented, "CounterIncremented", IncrementedV1)


class CounterApp(ServiceApplication):
    source = "counters"
    catalogue = catalogue


class CounterTotals(Projection):
    """Adds up increments per counter and counts applications of each event."""

    name = "counter-totals"
    topics = ("counters.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(
            "CREATE TABLE IF NOT EXISTS counter_totals (counter_id TEXT PRIMARY KEY, total BIGINT NOT NULL, "
            "last_version BIGINT NOT NULL, applied BIGINT NOT NULL, out_of_order BIGINT NOT NULL)"
        )

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        by = envelope["payload"].get("by", 0)
        row = tx.one("SELECT last_version FROM counter_totals WHERE counter_id = ?", (envelope["aggregate_id"],))
        late = 1 if row is not None and envelope["aggregate_version"] <= row["last_version"] else 0
        tx.execute(
            "INSERT INTO counter_totals (counter_id, total, last_version, applied, out_of_order) "
            "VALUES (?, ?, ?, 1, ?) ON CONFLICT (counter_id) DO UPDATE SET total = counter_totals.total + ?, "
            "last_version = ?, applied = counter_totals.applied + 1, "
            "out_of_order = counter_totals.out_of_order + ?",
            (envelope["aggregate_id"], by, envelope["aggregate_version"], late, by,
             envelope["aggregate_version"], late),
        )


def settings_to_file(settings: Settings, path: Path) -> None:
    data = asdict(settings)
    data["data_dir"] = str(settings.data_dir)
    path.write_text(json.dumps({k: v for k, v in data.items() if not isinstance(v, Path)}, default=str))


def settings_from_file(path: Path) -> Settings:
    data = json.loads(path.read_text())
    data["data_dir"] = Path(data["data_dir"])
    data["jwt_public_keys"] = tuple(data["jwt_public_keys"])
    for key in ("dev_jwt_private_key", "audit_signing_key"):
        data[key] = Path(data[key]) if data.get(key) else None
    return Settings(**data)
