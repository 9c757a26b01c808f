"""The Kafka consumer loop for projections and cross-service reactions.

Partitions are assigned by hand (no group join). For each batch, in ONE transaction of the
projection's database: skip events already seen (dedupe on ``event_id``), apply the rest, and
store the next offset per (topic, partition). A restart resumes exactly there. If the broker
holds less than our stored offset (it lost its data and the relays republish), we start the
partition from zero and the dedupe keeps the effect exactly-once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from kafka import TopicPartition

from shared.config import Settings
from shared.db import Database, Tx
from shared.envelope import Envelope, decode
from shared.kafka import consumer, end_offsets, ensure_topics

log = logging.getLogger("delaktig.consumer")

CONSUMER_DDL = """
CREATE TABLE IF NOT EXISTS consumer_positions (
    consumer TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition_no INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    PRIMARY KEY (consumer, topic, partition_no)
);
CREATE TABLE IF NOT EXISTS consumer_seen (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS consumer_dead_letters (
    consumer TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition_no INTEGER NOT NULL,
    record_offset BIGINT NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (consumer, topic, partition_no, record_offset)
)
"""


class Projection(ABC):
    """Subclass: set ``name`` and ``topics`` (logical, e.g. ``participants.events``),
    create tables in ``migrate`` and change them in ``apply``."""

    name: str = ""
    topics: tuple[str, ...] = ()

    def migrate(self, db: Database) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Create the read-model tables (idempotent)."""

    @abstractmethod
    def apply(self, tx: Tx, envelope: Envelope) -> None:
        """Change the read model for one (new, not yet seen) event."""


class ConsumerLoop:
    """Feeds one projection from Kafka into its database, exactly once in effect."""

    def __init__(self, settings: Settings, db: Database, projection: Projection) -> None:
        self.settings = settings
        self.db = db
        self.projection = projection
        self.name = projection.name
        self.topics = tuple(settings.topic(t) for t in projection.topics)
        self._client: Any = None
        self._probe: Any = None  # a second client that finds true end offsets
        self._assigned: list[TopicPartition] = []
        self._last_refresh = 0.0
        db.migrate(CONSUMER_DDL)
        projection.migrate(db)

    # -- positions -------------------------------------------------------------
    def positions(self) -> dict[TopicPartition, int]:
        with self.db.transaction() as tx:
            rows = tx.all(
                "SELECT topic, partition_no, next_offset FROM consumer_positions WHERE consumer = ?", (self.name,)
            )
        return {TopicPartition(r["topic"], int(r["partition_no"])): int(r["next_offset"]) for r in rows}

    def _connect(self) -> None:
        if self._client is None:
            ensure_topics(self.settings, self.projection.topics)
            self._client = consumer(self.settings)
        self._refresh_assignment(force=True)

    def _probe_client(self) -> Any:
        if self._probe is None:
            self._probe = consumer(self.settings, max_poll_records=100000)
        return self._probe

    def _refresh_assignment(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_refresh < 2.0:
            return
        self._last_refresh = time.monotonic()
        wanted: list[TopicPartition] = []
        for topic in self.topics:
            parts = self._client.partitions_for_topic(topic) or set()
            wanted.extend(TopicPartition(topic, p) for p in sorted(parts))
        if set(wanted) == set(self._assigned):
            return
        self._client.assign(wanted)
        self._assigned = wanted
        stored = self.positions()
        ends = end_offsets(self.settings, wanted, self._probe_client())
        for tp in wanted:
            offset = stored.get(tp, 0)
            if offset > ends.get(tp, 0):
                log.warning("broker lost data; replaying partition from zero", extra={"consumer": self.name})
                offset = 0
            self._client.seek(tp, offset)

    # -- processing ------------------------------------------------------------
    def _apply_records(self, tx: Tx, records: list[Any]) -> None:
        for record in records:
            envelope = decode(record.value)
            event_id = str(envelope["event_id"])
            tx.execute(
                "INSERT INTO consumer_seen (consumer, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (self.name, event_id),
            )
            if tx.rowcount == 1:
                self.projection.apply(tx, envelope)

    def _store_position(self, tx: Tx, tp: TopicPartition, next_offset: int) -> None:
        tx.execute(
            "INSERT INTO consumer_positions (consumer, topic, partition_no, next_offset) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (consumer, topic, partition_no) DO UPDATE SET next_offset = excluded.next_offset",
            (self.name, tp.topic, tp.partition, next_offset),
        )

    def poll_once(self, timeout_ms: int = 200) -> int:
        """Apply one batch from the broker; return how many records were read."""
        if self._client is None:
            self._connect()
        else:
            self._refresh_assignment()
        batches = self._client.poll(timeout_ms=timeout_ms)
        count = sum(len(r) for r in batches.values())
        if not count:
            return 0
        try:
            with self.db.transaction() as tx:
                for tp, records in batches.items():
                    self._apply_records(tx, records)
                    self._store_position(tx, tp, records[-1].offset + 1)
        except Exception:
            # One bad record must not block the others: retry one by one, park the failures.
            for tp, records in batches.items():
                for record in records:
                    self._apply_single(tp, record)
        return count

    def _apply_single(self, tp: TopicPartition, record: Any) -> None:
        try:
            with self.db.transaction() as tx:
                self._apply_records(tx, [record])
                self._store_position(tx, tp, record.offset + 1)
        except Exception as error:
            log.exception("record parked as dead letter", extra={"consumer": self.name, "offset": record.offset})
            with self.db.transaction() as tx:
                tx.execute(
                    "INSERT INTO consumer_dead_letters (consumer, topic, partition_no, record_offset, error) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (self.name, tp.topic, tp.partition, record.offset, f"{type(error).__name__}"),
                )
                self._store_position(tx, tp, record.offset + 1)

    def lag(self) -> int:
        """Messages on the topics not yet applied by this projection."""
        if self._client is None:
            self._connect()
        self._refresh_assignment(force=True)
        if not self._assigned:
            return 0
        ends = end_offsets(self.settings, self._assigned, self._probe_client())
        stored = self.positions()
        return int(sum(max(0, ends[tp] - stored.get(tp, 0)) for tp in self._assigned))

    def status(self) -> dict[str, Any]:
        return {"consumer": self.name, "topics": list(self.topics), "lag": self.lag()}

    def catch_up(self, timeout: float = 30.0) -> None:
        """Apply until every assigned partition is at its end offset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll_once(timeout_ms=100)
            if self.lag() == 0:
                return
        raise TimeoutError(f"{self.name} did not catch up in {timeout}s (lag {self.lag()})")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once(timeout_ms=500)
            except Exception:
                log.exception("consumer error; reconnecting", extra={"consumer": self.name})
                self.close()
                stop.wait(1.0)
        self.close()

    def close(self) -> None:
        for client in (self._client, self._probe):
            if client is not None:
                try:
                    client.close()
                except Exception:  # noqa: S110 - closing a broken client is best effort
                    pass
        self._client = None
        self._probe = None
        self._assigned = []


def dumps(value: Any) -> str:
    """Compact JSON for read-model columns."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
