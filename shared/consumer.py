"""The Kafka consumer loop for projections and cross-service reactions.

What a read model has applied is recorded by the events themselves, never by the broker.

**Applied positions.** Every envelope carries ``(source, position)`` (strictly increasing per
source) and the source's hash chain (``prev_hash`` → ``hash``). A topic has several partitions
(key = aggregate id) and the relay publishes in position order, so one partition holds a source's
events in increasing position while the positions of the partitions interleave: position 7 may be
read (partition 1) before position 6 (partition 0). A single high-water mark per source would drop
6; one per partition would silently depend on the key → partition mapping. So, per (consumer,
source), we keep:

* the *applied prefix* ``(head_position, head_hash)``: every event of the source's chain up to
  and including ``head_position`` has been applied (the chain proves there is none in between:
  an event extends the prefix only when its ``prev_hash`` is the head's hash);
* the *pending* events: applied, but above the prefix (read from one partition ahead of an event
  on another). Usually a handful; they fold into the prefix as soon as the missing link arrives.

An event is applied when its position is above the prefix and not pending; otherwise it is a
duplicate (relay re-sends, republished history, a re-read from offset zero) and skipped. Order per
aggregate is kept too: the last applied ``aggregate_version`` per (source, aggregate) is stored,
and an event that would jump over a version not applied yet is never applied out of order: the
broker handed us a partition that is not the one we read before (it forgot), so the batch is
rolled back and the topic read again from offset zero. This
check, the read-model change, the new prefix/pending rows and the Kafka offsets all commit in ONE
transaction of the projection's database (on PostgreSQL the prefix rows are locked first, so two
loops of the same consumer never apply one event twice): exactly once in effect. Envelopes without
a chain (no ``position``/``prev_hash``/``hash``) fall back to dedupe on ``event_id``
(``consumer_seen``).

**Kafka offsets are only a hint where to resume.** Stored per partition with the event id of the
last record read there, the topic id and the cluster id. A broker that forgot is detected and the
topic is read again from offset zero (duplicates skipped as above): a changed cluster id or topic
id (topic recreated), an end offset below the stored offset, a record at the stored offset that is
not the one we read there (history republished with another layout, relay duplicates shifting
offsets), or a gap that does not close (pending events whose missing link is not on the partitions
we read, while we are at their end). A topic whose partition count is not the configured one is
refused (``TopicLayoutError``): the loop stops its worker with a clear message.

**Transient is not permanent.** Database and broker errors (connection refused or reset, admin
shutdown, timeouts, ``database is locked``, retriable Kafka errors) roll the batch back and are
retried with backoff from the stored offsets, never dead-lettered. Only an event that fails on
its own for another reason is parked in ``dead_letters`` (with its envelope, so
``delaktig deadletters retry`` can apply it after a fix); it counts as handled for the prefix.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import random
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition

from shared.config import Settings
from shared.db import Database, Tx
from shared.envelope import GENESIS_HASH, Envelope, decode
from shared.kafka import TopicLayoutError, consumer, end_offsets, ensure_topics, partitions_of, topic_ids

log = logging.getLogger("delaktig.consumer")

CONSUMER_DDL = """
CREATE TABLE IF NOT EXISTS consumer_offsets (
    consumer TEXT NOT NULL,
    topic TEXT NOT NULL,
    partition_no INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,
    last_event_id TEXT,
    topic_id TEXT,
    cluster_id TEXT,
    PRIMARY KEY (consumer, topic, partition_no)
);
CREATE TABLE IF NOT EXISTS consumer_applied (
    consumer TEXT NOT NULL,
    source TEXT NOT NULL,
    head_position BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    applied BIGINT NOT NULL,
    PRIMARY KEY (consumer, source)
);
CREATE TABLE IF NOT EXISTS consumer_pending (
    consumer TEXT NOT NULL,
    source TEXT NOT NULL,
    position BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (consumer, source, position)
);
CREATE TABLE IF NOT EXISTS consumer_versions (
    consumer TEXT NOT NULL,
    source TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (consumer, source, aggregate_id)
);
CREATE TABLE IF NOT EXISTS consumer_seen (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    source TEXT NOT NULL,
    position BIGINT NOT NULL,
    topic TEXT NOT NULL,
    envelope TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    parked_at TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
)
"""

BOOKKEEPING_TABLES = frozenset({"consumer_offsets", "consumer_applied", "consumer_pending", "consumer_versions",
                                "consumer_seen",
                                "dead_letters", "consumer_positions", "consumer_dead_letters"})


# -- transient or permanent -----------------------------------------------------------------------
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o", "unable to open")


def is_transient(error: BaseException) -> bool:
    """Will the same work probably succeed later, unchanged? (database or broker unavailable)"""
    try:
        return _transient_chain(error)
    except Exception:  # classifying must never take a consumer down: then it is not transient
        log.exception("could not classify an error")
        return False


def _transient_chain(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient_here(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _transient_here(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return any(word in str(error).lower() for word in _SQLITE_TRANSIENT)
    module = type(error).__module__
    if module.startswith("psycopg"):
        import psycopg

        return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError) or type(error).__name__ in (
            "PoolTimeout", "TooManyRequests", "PoolClosed", "SerializationFailure", "DeadlockDetected")
    if module.startswith("eventsourcing"):
        from eventsourcing.persistence import InterfaceError, OperationalError

        return isinstance(error, OperationalError | InterfaceError)
    if module.startswith("kafka"):
        from kafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError

        if isinstance(error, KafkaConnectionError | KafkaTimeoutError) or type(error).__name__ == "NoBrokersAvailable":
            return True
        return isinstance(error, KafkaError) and bool(getattr(error, "retriable", False))
    return isinstance(error, OSError) and not isinstance(error, FileNotFoundError | PermissionError)


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

    def after_batch(self, tx: Tx, caught_up: bool) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Called once a batch's events are applied, in the same transaction, before it commits
        (derived rows that are cheaper to compute once per batch than once per event).
        ``caught_up``: the batch ended at the end of every partition it read (as far as the broker
        last said), so no backlog of these partitions follows at once; False while catching up."""


def source_of_topic(logical: str) -> str:
    """``participants.events`` → ``participants``."""
    return logical.split(".")[0]


def _chained(envelope: Envelope) -> bool:
    position = envelope.get("position")
    return (isinstance(position, int) and not isinstance(position, bool) and position > 0
            and isinstance(envelope.get("prev_hash"), str) and isinstance(envelope.get("hash"), str)
            and isinstance(envelope.get("source"), str))


class BrokerForgot(Exception):
    """What the broker hands us does not continue what we read: read the topic again from zero."""


class _Restarted(Exception):
    """The rest of a batch is dropped: its topic is read again from zero."""


@dataclass
class _Head:
    position: int = 0
    hash: str = GENESIS_HASH
    applied: int = 0
    stored: bool = False
    changed: bool = False


@dataclass
class AppliedState:
    """One consumer's applied prefix and pending events per source, loaded inside a transaction,
    changed in memory while a batch is applied and written back in the same transaction."""

    consumer: str
    heads: dict[str, _Head] = field(default_factory=dict)
    pending: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)
    stored_pending: set[tuple[str, int]] = field(default_factory=set)
    heaps: dict[str, list[int]] = field(default_factory=dict)  # pending positions, lowest first
    absent: set[tuple[str, str]] = field(default_factory=set)  # aggregates with no applied version yet
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    changed_versions: set[tuple[str, str]] = field(default_factory=set)

    def load_versions(self, tx: Tx, keys: set[tuple[str, str]]) -> None:
        """The last applied version of these (source, aggregate) pairs (one query per 500)."""
        missing = sorted(k for k in keys if k not in self.versions and k not in self.absent)
        self.absent.update(missing)
        by_source: dict[str, list[str]] = {}
        for source, aggregate_id in missing:
            by_source.setdefault(source, []).append(aggregate_id)
        for source, ids in by_source.items():
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                marks = ", ".join("?" for _ in chunk)
                for row in tx.all(f"SELECT aggregate_id, version FROM consumer_versions WHERE consumer = ? "
                                  f"AND source = ? AND aggregate_id IN ({marks})", (self.consumer, source, *chunk)):
                    self.versions[(source, row["aggregate_id"])] = int(row["version"])
                    self.absent.discard((source, row["aggregate_id"]))

    @classmethod
    def load(cls, tx: Tx, consumer_name: str, lock: bool, cached: AppliedState | None = None) -> AppliedState:
        """The state as stored. ``cached`` (the state this loop committed last) is reused when the
        stored prefixes and applied counts are still the ones it has: every change of pending
        events or versions comes with a change of an applied count, so nobody else changed them."""
        suffix = " FOR UPDATE" if lock else ""
        rows = tx.all("SELECT source, head_position, head_hash, applied FROM consumer_applied "
                      "WHERE consumer = ?" + suffix, (consumer_name,))
        stored = {r["source"]: (int(r["head_position"]), r["head_hash"], int(r["applied"])) for r in rows}
        if cached is not None and stored == {s: (h.position, h.hash, h.applied)
                                             for s, h in cached.heads.items() if h.stored}:
            return cached
        state = cls(consumer_name)
        for source, (position, hash_, applied) in stored.items():
            state.heads[source] = _Head(position, hash_, applied, stored=True)
        for row in tx.all("SELECT source, position, prev_hash, hash FROM consumer_pending WHERE consumer = ?",
                          (consumer_name,)):
            state.pending.setdefault(row["source"], {})[int(row["position"])] = (row["prev_hash"], row["hash"])
            state.stored_pending.add((row["source"], int(row["position"])))
        return state

    def committed(self) -> None:
        """After the transaction that saved this state committed: it is what is stored now."""
        for head in self.heads.values():
            head.stored, head.changed = True, False
        self.stored_pending = {(s, p) for s, waiting in self.pending.items() for p in waiting}
        if len(self.versions) > 200_000:  # bounded memory: what is dropped is loaded again when needed
            self.versions.clear()
            self.absent.clear()

    def head(self, source: str) -> _Head:
        head = self.heads.get(source)
        if head is None:
            head = self.heads[source] = _Head(changed=True)
        return head

    def is_new(self, envelope: Envelope, strict: bool = True) -> bool:
        """Not applied yet (chained envelopes only). Raises ``BrokerForgot`` for an event whose
        aggregate's previous version was never applied (it would be applied out of order), unless
        not ``strict`` (re-reading from zero: the topic has nothing before it to give)."""
        source, position = envelope["source"], envelope["position"]
        if position <= self.head(source).position or position in self.pending.get(source, {}):
            return False
        version = envelope.get("aggregate_version")
        last = self.versions.get((source, str(envelope.get("aggregate_id"))))
        if last is not None and isinstance(version, int):
            if version <= last:
                return False  # another copy of an applied event at another position: keep the first
            if version > last + 1:
                jump = (f"{source} aggregate {envelope.get('aggregate_id')} version {version} follows version "
                        f"{last}: versions in between were never read")
                if strict:
                    raise BrokerForgot(jump)
                log.warning("applying an event after a version gap the topic itself has: %s", jump,
                            extra={"consumer": self.consumer})
        return True

    def record(self, envelope: Envelope) -> None:
        """The event is applied (or parked): extend the prefix or remember it as pending."""
        source, position = envelope["source"], int(envelope["position"])
        version = envelope.get("aggregate_version")
        if isinstance(version, int):
            key = (source, str(envelope.get("aggregate_id")))
            self.versions[key] = max(version, self.versions.get(key, 0))
            self.changed_versions.add(key)
            self.absent.discard(key)
        head = self.head(source)
        head.applied += 1
        head.changed = True
        waiting = self.pending.setdefault(source, {})
        if envelope["prev_hash"] != head.hash:
            waiting[position] = (envelope["prev_hash"], envelope["hash"])
            heapq.heappush(self._heap(source), position)
            return  # the prefix did not move: nothing pending can link onto it now
        head.position, head.hash = position, envelope["hash"]
        heap = self._heap(source)
        while heap:  # fold pending events that now link onto the prefix, lowest position first
            lowest = heap[0]
            entry = waiting.get(lowest)
            if entry is None or lowest <= head.position:  # gone, or a copy inside the prefix
                heapq.heappop(heap)
                waiting.pop(lowest, None)
                continue
            if entry[0] != head.hash:
                break
            heapq.heappop(heap)
            del waiting[lowest]
            head.position, head.hash = lowest, entry[1]

    def _heap(self, source: str) -> list[int]:
        heap = self.heaps.get(source)
        if heap is None:
            heap = self.heaps[source] = list(self.pending.get(source, {}))
            heapq.heapify(heap)
        return heap

    def save(self, tx: Tx) -> None:
        for source, head in self.heads.items():
            if not head.changed:
                continue
            if head.stored:
                tx.execute("UPDATE consumer_applied SET head_position = ?, head_hash = ?, applied = ? "
                           "WHERE consumer = ? AND source = ?",
                           (head.position, head.hash, head.applied, self.consumer, source))
            else:
                tx.execute("INSERT INTO consumer_applied (consumer, source, head_position, head_hash, applied) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT (consumer, source) DO UPDATE SET "
                           "head_position = excluded.head_position, head_hash = excluded.head_hash, "
                           "applied = excluded.applied",
                           (self.consumer, source, head.position, head.hash, head.applied))
        if self.changed_versions:
            tx.executemany("INSERT INTO consumer_versions (consumer, source, aggregate_id, version) "
                           "VALUES (?, ?, ?, ?) ON CONFLICT (consumer, source, aggregate_id) "
                           "DO UPDATE SET version = excluded.version",
                           [(self.consumer, s, a, self.versions[(s, a)]) for s, a in sorted(self.changed_versions)])
            self.changed_versions.clear()
        now = {(s, p) for s, waiting in self.pending.items() for p in waiting}
        gone = self.stored_pending - now
        new = now - self.stored_pending
        if gone:
            tx.executemany("DELETE FROM consumer_pending WHERE consumer = ? AND source = ? AND position = ?",
                           [(self.consumer, s, p) for s, p in sorted(gone)])
        if new:
            tx.executemany("INSERT INTO consumer_pending (consumer, source, position, prev_hash, hash) "
                           "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           [(self.consumer, s, p, *self.pending[s][p]) for s, p in sorted(new)])


@dataclass(frozen=True)
class StoredOffset:
    next_offset: int
    last_event_id: str | None
    topic_id: str | None
    cluster_id: str | None


class ConsumerLoop:
    """Feeds one projection from Kafka into its database, exactly once in effect (see the module
    docstring for how positions, offsets and failures are handled)."""

    # Seconds a gap (pending events, prefix not moving) may last while we are at the end of every
    # partition before the topic is read again from zero, and how often that may happen.
    gap_grace = 5.0
    reread_every = 15.0
    recheck_every = 10.0  # seconds between checks, when idle, that the broker still holds our offsets

    def __init__(self, settings: Settings, db: Database, projection: Projection) -> None:
        self.settings = settings
        self.db = db
        self.projection = projection
        self.name = projection.name
        self.topics = tuple(settings.topic(t) for t in projection.topics)
        self.sources = tuple(source_of_topic(t) for t in projection.topics)
        self._source_topic = {source_of_topic(t): settings.topic(t) for t in projection.topics}
        self._client: Any = None
        self._probe: Any = None  # a second client that finds true end offsets
        self._assigned: list[TopicPartition] = []
        self._last_refresh = 0.0
        self._last_check = time.monotonic()
        self._gaps: dict[str, tuple[int, float]] = {}
        self._reread_at: dict[str, float] = {}
        # While a topic is read again from zero, up to the end it had then, an aggregate's version
        # jump is what the topic holds (nothing earlier to wait for): applied, with a warning.
        self._lenient_until: dict[TopicPartition, int] = {}
        self._cached: AppliedState | None = None  # the applied state this loop committed last
        self.rereads = 0  # topics read again from zero after the broker forgot (for tests/operators)
        db.migrate(CONSUMER_DDL)
        projection.migrate(db)

    def _register(self) -> None:
        """A row per source once the loop runs (not when merely built: ``audit verify`` builds the
        services), so ``audit verify`` sees a running read model that applied nothing as behind."""
        with self.db.transaction() as tx:
            for source in self.sources:
                tx.execute("INSERT INTO consumer_applied (consumer, source, head_position, head_hash, applied) "
                           "VALUES (?, ?, 0, ?, 0) ON CONFLICT DO NOTHING", (self.name, source, GENESIS_HASH))

    # -- positions -------------------------------------------------------------
    def offsets(self) -> dict[TopicPartition, StoredOffset]:
        """The stored Kafka offsets (hints where to resume), per partition."""
        with self.db.transaction() as tx:
            rows = tx.all("SELECT topic, partition_no, next_offset, last_event_id, topic_id, cluster_id "
                          "FROM consumer_offsets WHERE consumer = ?", (self.name,))
        return {TopicPartition(r["topic"], int(r["partition_no"])):
                StoredOffset(int(r["next_offset"]), r["last_event_id"], r["topic_id"], r["cluster_id"])
                for r in rows}

    def positions(self) -> dict[TopicPartition, int]:
        """The next Kafka offset to read per partition."""
        return {tp: o.next_offset for tp, o in self.offsets().items()}

    def applied(self) -> dict[str, tuple[int, int]]:
        """Per source: the applied prefix's position and how many events above it are applied."""
        with self.db.transaction() as tx:
            heads = tx.all("SELECT source, head_position FROM consumer_applied WHERE consumer = ?", (self.name,))
            pending = tx.all("SELECT source, COUNT(*) AS n FROM consumer_pending WHERE consumer = ? GROUP BY source",
                             (self.name,))
        counts = {r["source"]: int(r["n"]) for r in pending}
        return {r["source"]: (int(r["head_position"]), counts.get(r["source"], 0)) for r in heads}

    def _connect(self) -> None:
        if self._client is None:
            ensure_topics(self.settings, self.projection.topics)
            self._register()
            self._client = consumer(self.settings)
        self._refresh_assignment(force=True)

    def _probe_client(self) -> Any:
        if self._probe is None:
            self._probe = consumer(self.settings, max_poll_records=100000)
        return self._probe

    def _partitions(self) -> list[TopicPartition]:
        wanted: list[TopicPartition] = []
        for logical, topic in zip(self.projection.topics, self.topics, strict=True):
            parts = self._client.partitions_for_topic(topic) or set()
            if len(parts) != self.settings.topic_partitions:
                # Maybe a broker auto-created it empty after losing its data: provision (or refuse),
                # then look again with fresh metadata.
                ensure_topics(self.settings, (logical,))
                old, self._client = self._client, None
                old.close()
                self._assigned = []
                self._client = consumer(self.settings)
                parts = set(tp.partition for tp in partitions_of(self._client, topic, timeout=5.0))
                if parts and len(parts) != self.settings.topic_partitions:
                    raise TopicLayoutError(f"topic {topic} has {len(parts)} partitions, "
                                           f"{self.settings.topic_partitions} are configured")
            wanted.extend(TopicPartition(topic, p) for p in sorted(parts))
        return wanted

    def _refresh_assignment(self, force: bool = False, check: bool = False) -> None:
        if not force and time.monotonic() - self._last_refresh < 2.0:
            return
        self._last_refresh = time.monotonic()
        wanted = self._partitions()
        if set(wanted) == set(self._assigned) and not check:
            return
        if set(wanted) != set(self._assigned):
            self._client.assign(wanted)
            self._assigned = wanted
        self._place(wanted)

    def _place(self, parts: list[TopicPartition]) -> None:
        """Seek each partition to the stored offset, or to zero for a topic the broker forgot."""
        stored = self.offsets()
        ends = end_offsets(self.settings, parts, self._probe_client())
        ids = topic_ids(self.settings, list(self.topics))
        cluster = getattr(getattr(self._client, "_client", None), "cluster", None)
        cluster_id = getattr(cluster, "cluster_id", None)
        forgot: dict[str, str] = {}
        check_at: dict[TopicPartition, tuple[int, str]] = {}
        for tp in parts:
            row = stored.get(tp)
            if row is None or tp.topic in forgot:
                continue
            if row.topic_id and ids.get(tp.topic) and row.topic_id != ids[tp.topic]:
                forgot[tp.topic] = "the topic was created again (its topic id changed)"
            elif row.cluster_id and cluster_id and row.cluster_id != cluster_id:
                forgot[tp.topic] = f"the cluster id changed ({row.cluster_id} → {cluster_id})"
            elif row.next_offset > ends.get(tp, 0):
                forgot[tp.topic] = (f"partition {tp.partition} ends at {ends.get(tp, 0)}, below the stored "
                                    f"offset {row.next_offset}")
            elif row.next_offset > 0 and row.last_event_id:
                check_at[tp] = (row.next_offset - 1, row.last_event_id)
        if check_at:
            found = _event_ids_at(self._probe_client(), {tp: o for tp, (o, _e) in check_at.items()})
            for tp, (offset, event_id) in check_at.items():
                if tp.topic not in forgot and found.get(tp) != event_id:
                    forgot[tp.topic] = (f"partition {tp.partition} holds {found.get(tp) or 'nothing'} at offset "
                                        f"{offset}, not the event {event_id} read there")
        for topic, reason in forgot.items():
            self._reread(topic, reason)
        for tp in parts:
            row = stored.get(tp)
            self._client.seek(tp, 0 if row is None or tp.topic in forgot else row.next_offset)

    def _reread(self, topic: str, reason: str) -> None:
        """Read a topic again from offset zero: applied events are skipped by position."""
        log.warning("the broker forgot what we read; reading the topic again from offset zero",
                    extra={"consumer": self.name, "topic": topic, "reason": reason})
        with self.db.transaction() as tx:
            tx.execute("UPDATE consumer_offsets SET next_offset = 0, last_event_id = NULL, topic_id = NULL, "
                       "cluster_id = NULL WHERE consumer = ? AND topic = ?", (self.name, topic))
        self._reread_at[topic] = time.monotonic()
        self.rereads += 1
        parts = [tp for tp in self._assigned if tp.topic == topic]
        if parts:
            self._lenient_until.update(end_offsets(self.settings, parts, self._probe_client()))

    # -- processing ------------------------------------------------------------
    def _apply_records(self, tx: Tx, state: AppliedState, tp: TopicPartition, records: list[Any]) -> None:
        envelopes = [decode(record.value) for record in records]
        state.load_versions(tx, {(e["source"], str(e.get("aggregate_id"))) for e in envelopes if _chained(e)})
        lenient_until = self._lenient_until.get(tp, 0)
        for record, envelope in zip(records, envelopes, strict=True):
            if _chained(envelope):
                if state.is_new(envelope, strict=record.offset >= lenient_until):
                    self.projection.apply(tx, envelope)
                    state.record(envelope)
                continue
            tx.execute("INSERT INTO consumer_seen (consumer, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                       (self.name, str(envelope["event_id"])))
            if tx.rowcount == 1:
                self.projection.apply(tx, envelope)

    def _store_offset(self, tx: Tx, tp: TopicPartition, record: Any) -> None:
        try:
            event_id = str(json.loads(record.value).get("event_id"))
        except (ValueError, AttributeError):
            event_id = None
        cluster = getattr(getattr(self._client, "_client", None), "cluster", None)
        topic_id = cluster.topic_id(tp.topic) if cluster is not None and hasattr(cluster, "topic_id") else None
        tx.execute(
            "INSERT INTO consumer_offsets (consumer, topic, partition_no, next_offset, last_event_id, topic_id, "
            "cluster_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (consumer, topic, partition_no) DO UPDATE SET "
            "next_offset = excluded.next_offset, last_event_id = excluded.last_event_id, "
            "topic_id = excluded.topic_id, cluster_id = excluded.cluster_id",
            (self.name, tp.topic, tp.partition, record.offset + 1, event_id,
             str(topic_id) if topic_id else None, getattr(cluster, "cluster_id", None)),
        )

    def _state(self, tx: Tx) -> AppliedState:
        cached, self._cached = self._cached, None  # kept again only once this transaction commits
        return AppliedState.load(tx, self.name, lock=self.db.postgres, cached=cached)

    def _committed(self, state: AppliedState) -> None:
        state.committed()
        self._cached = state

    def poll_once(self, timeout_ms: int = 200) -> int:
        """Apply one batch from the broker; return how many records were read. Transient errors
        propagate (nothing was applied; the caller retries); a permanent one parks that record."""
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
                state = self._state(tx)
                for tp, records in batches.items():
                    self._apply_records(tx, state, tp, records)
                    self._store_offset(tx, tp, records[-1])
                self.projection.after_batch(tx, self._at_end(batches))
                state.save(tx)
            self._committed(state)
        except BrokerForgot as error:
            self._forgot(batches, str(error))
            return count
        except Exception as error:
            if is_transient(error):
                self._rewind()
                raise
            # One bad record must not block the others: retry one by one, park the failures.
            with contextlib.suppress(_Restarted):  # the topic is being read again from zero
                for tp, records in batches.items():
                    for record in records:
                        self._apply_single(tp, record)
        return count

    def _at_end(self, batches: dict[TopicPartition, list[Any]]) -> bool:
        """Did the batch end at the high-water mark of each partition it read (unknown: yes)?"""
        for tp, records in batches.items():
            high = self._client.highwater(tp)
            if high is not None and records[-1].offset + 1 < high:
                return False
        return True

    def _forgot(self, batches: dict[TopicPartition, list[Any]], reason: str) -> None:
        """Nothing of the batch was applied. Read its topics again from zero, unless we just did:
        then wait (the relay may not have republished everything yet) and retry from the stored
        offsets."""
        topics = {tp.topic for tp in batches}
        now = time.monotonic()
        if any(now - self._reread_at.get(t, -1e9) < self.reread_every for t in topics):
            self._rewind()
            raise BrokerForgot(reason)
        for topic in topics:
            self._reread(topic, reason)
            for tp in self._assigned:
                if tp.topic == topic:
                    self._client.seek(tp, 0)

    def _rewind(self) -> None:
        """After a rolled-back batch, read again from the stored offsets."""
        if self._client is not None and self._assigned:
            stored = self.positions()
            for tp in self._assigned:
                self._client.seek(tp, stored.get(tp, 0))

    def _apply_single(self, tp: TopicPartition, record: Any) -> None:
        try:
            with self.db.transaction() as tx:
                state = self._state(tx)
                self._apply_records(tx, state, tp, [record])
                self._store_offset(tx, tp, record)
                self.projection.after_batch(tx, True)
                state.save(tx)
            self._committed(state)
        except BrokerForgot as error:
            self._forgot({tp: [record]}, str(error))
            raise _Restarted() from error
        except Exception as error:
            if is_transient(error):
                self._rewind()
                raise
            self._park(tp, record, error)

    def _park(self, tp: TopicPartition, record: Any, error: Exception) -> None:
        log.exception("event parked as dead letter", extra={"consumer": self.name, "offset": record.offset})
        try:
            envelope = decode(record.value)
        except (ValueError, UnicodeDecodeError):
            envelope = {"event_id": f"{tp.topic}:{tp.partition}:{record.offset}",
                        "undecodable": record.value.decode("utf-8", "replace")}
        with self.db.transaction() as tx:
            state = self._state(tx)
            if _chained(envelope) and state.is_new(envelope, strict=False):
                state.record(envelope)  # handled: the prefix goes on; the dead letter keeps the event
            tx.execute(
                "INSERT INTO dead_letters (consumer, event_id, source, position, topic, envelope, error, attempts, "
                "parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT DO NOTHING",
                (self.name, str(envelope.get("event_id")), str(envelope.get("source") or ""),
                 int(envelope.get("position") or 0) if isinstance(envelope.get("position"), int) else 0,
                 tp.topic, json.dumps(envelope, sort_keys=True), f"{type(error).__name__}: {str(error)[:500]}",
                 datetime.now(UTC).isoformat()),
            )
            self._store_offset(tx, tp, record)
            state.save(tx)
        self._committed(state)

    # -- dead letters ------------------------------------------------------------
    def dead_letters(self) -> list[dict[str, Any]]:
        """This consumer's parked events, oldest first (without the envelopes)."""
        with self.db.transaction() as tx:
            return tx.all("SELECT consumer, event_id, source, position, topic, error, attempts, parked_at "
                          "FROM dead_letters WHERE consumer = ? ORDER BY parked_at, position", (self.name,))

    def retry_dead_letters(self) -> tuple[int, int]:
        """Apply each parked event again (after a fix); returns (applied, still failing)."""
        with self.db.transaction() as tx:
            rows = tx.all("SELECT event_id, envelope FROM dead_letters WHERE consumer = ? ORDER BY position",
                          (self.name,))
        done = failed = 0
        for row in rows:
            envelope = json.loads(row["envelope"])
            try:
                with self.db.transaction() as tx:
                    self.projection.apply(tx, envelope)
                    self.projection.after_batch(tx, True)
                    tx.execute("DELETE FROM dead_letters WHERE consumer = ? AND event_id = ?",
                               (self.name, row["event_id"]))
                done += 1
            except Exception as error:
                if is_transient(error):
                    raise
                failed += 1
                with self.db.transaction() as tx:
                    tx.execute("UPDATE dead_letters SET attempts = attempts + 1, error = ? "
                               "WHERE consumer = ? AND event_id = ?",
                               (f"{type(error).__name__}: {str(error)[:500]}", self.name, row["event_id"]))
        return done, failed

    # -- progress ------------------------------------------------------------------
    def lag(self) -> int:
        """Messages on the topics not yet read by this projection."""
        if self._client is None:
            self._connect()
        self._refresh_assignment(force=True)
        if not self._assigned:
            return 0
        ends = end_offsets(self.settings, self._assigned, self._probe_client())
        stored = self.positions()
        return int(sum(max(0, ends[tp] - stored.get(tp, 0)) for tp in self._assigned))

    def gaps(self) -> dict[str, tuple[int, int]]:
        """Sources with applied events above a prefix that does not reach them: (prefix, pending)."""
        return {s: a for s, a in self.applied().items() if a[1] > 0}

    def _check_gaps(self, grace: float) -> bool:
        """Read a source's topic again when its gap has lasted ``grace`` seconds while we were at
        the end of every partition. Returns True when a re-read started."""
        now = time.monotonic()
        started = False
        gaps = self.gaps()
        for source in list(self._gaps):
            if source not in gaps:
                del self._gaps[source]
        for source, (head, _pending) in gaps.items():
            first = self._gaps.get(source)
            if first is None or first[0] != head:
                self._gaps[source] = (head, now)
                if grace > 0:
                    continue
                first = self._gaps[source]
            topic = self._source_topic.get(source)
            if topic is None or now - first[1] < grace or now - self._reread_at.get(topic, -1e9) < self.reread_every:
                continue
            self._reread(topic, f"events of {source} after position {head} are missing from what we read")
            for tp in self._assigned:
                if tp.topic == topic:
                    self._client.seek(tp, 0)
            self._gaps.pop(source, None)
            started = True
        return started

    def status(self) -> dict[str, Any]:
        return {"consumer": self.name, "topics": list(self.topics), "lag": self.lag()}

    def catch_up(self, timeout: float = 30.0) -> None:
        """Apply until every assigned partition is at its end offset and no gap is left open (one
        re-read from zero if one is)."""
        deadline = time.monotonic() + timeout
        reread = False
        while time.monotonic() < deadline:
            try:
                self.poll_once(timeout_ms=100)
            except BrokerForgot:
                time.sleep(0.5)  # read again from zero a moment ago: let the relay republish
                continue
            if self.lag() == 0:
                if reread or not self.gaps():
                    return
                self._reread_at.clear()
                reread = self._check_gaps(grace=0.0)
                if not reread:
                    return
        raise TimeoutError(f"{self.name} did not catch up in {timeout}s (lag {self.lag()})")

    def run(self, stop: threading.Event) -> None:
        """Apply until ``stop``; transient failures are retried with backoff; a topic with another
        partition count stops the worker."""
        failures = 0
        while not stop.is_set():
            try:
                read = self.poll_once(timeout_ms=500)
                failures = 0
                if read == 0 and time.monotonic() - self._last_check > self.recheck_every:
                    self._last_check = time.monotonic()
                    self._refresh_assignment(force=True, check=True)
                    if self.lag() == 0:
                        self._check_gaps(self.gap_grace)
            except TopicLayoutError as error:
                log.critical("refusing to consume: %s", error, extra={"consumer": self.name})
                stop.set()
                break
            except BrokerForgot as error:
                # Read again from zero a moment ago and the topic is still being republished: not a
                # failure to back off from; try again from the stored offsets shortly.
                log.info("waiting for the topic to be complete: %s", error, extra={"consumer": self.name})
                stop.wait(1.0)
            except Exception as error:
                failures += 1
                delay = min(10.0, 0.5 * 2 ** min(failures, 5)) * (0.5 + random.random() / 2)
                log.warning("consumer error (%s: %s); retrying in %.1f s", type(error).__name__, error, delay,
                            exc_info=not is_transient(error), extra={"consumer": self.name})
                self.close()
                stop.wait(delay)
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


def _event_ids_at(probe: Any, wanted: dict[TopicPartition, int], timeout: float = 5.0) -> dict[TopicPartition, str]:
    """The ``event_id`` of the record at each given offset (missing where there is none)."""
    found: dict[TopicPartition, str] = {}
    probe.assign(list(wanted))
    try:
        for tp, offset in wanted.items():
            probe.seek(tp, offset)
        waiting = set(wanted)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            for tp, records in probe.poll(timeout_ms=200).items():
                if tp not in waiting:
                    continue
                for record in records:
                    if record.offset == wanted[tp]:
                        try:
                            found[tp] = str(json.loads(record.value).get("event_id"))
                        except (ValueError, AttributeError):
                            found[tp] = ""
                    if record.offset >= wanted[tp]:
                        waiting.discard(tp)
                        break
    finally:
        probe.unsubscribe()
    return found


def dead_letter_count(db: Database) -> int:
    """How many events are parked in this database (0 when it has no consumers)."""
    try:
        with db.transaction() as tx:
            return int(tx.scalar("SELECT COUNT(*) AS n FROM dead_letters") or 0)
    except Exception:
        return 0


def dumps(value: Any) -> str:
    """Compact JSON for read-model columns."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
