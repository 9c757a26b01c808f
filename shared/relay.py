"""The outbox relay: follows a service's notification log in order and publishes each event
to ``<source>.events`` (key = aggregate id, ``acks=all``), sealing the per-source hash chain.

Its position is stored only after the broker acknowledged, so a crash re-sends (at least once,
same ``event_id`` and hash). On PostgreSQL, notification ids are taken from a sequence before
commit, so a later id can be visible before an earlier one commits: the relay publishes only up to
such a gap, until the gap fills or every transaction that could fill it has ended (``_gap_free``).
If the broker holds fewer messages than were published (a fresh memory broker), the relay starts
again from the beginning and republishes the history.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from eventsourcing.persistence import Notification

from shared.application import ServiceApplication
from shared.db import Database
from shared.envelope import GENESIS_HASH, envelope_headers, seal_encoded
from shared.kafka import ensure_topics, producer, total_messages

log = logging.getLogger("delaktig.relay")

# An insert takes its notification id a moment before its transaction id: a gap is only judged
# final after this long, so that moment cannot make a live insert look finished.
GAP_GRACE_SECONDS = 2.0

RELAY_DDL = """
CREATE TABLE IF NOT EXISTS relay_state (
    source TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    head TEXT NOT NULL,
    published BIGINT NOT NULL
)
"""


@dataclass
class RelayState:
    position: int = 0
    head: str = GENESIS_HASH
    published: int = 0


class OutboxRelay:
    """Publishes one service's events. Run one relay per source."""

    def __init__(self, app: ServiceApplication, db: Database, batch: int = 1000) -> None:
        self.app = app
        self.db = db
        self.batch = batch
        self.settings = app.settings
        self.topic = self.settings.topic(f"{app.source}.events")
        self._producer = None
        self._last_broker_check = 0.0
        # (first missing notification id, txid horizon, monotonic time when first seen) on PostgreSQL
        self._gap: tuple[int, int, float] | None = None
        db.migrate(RELAY_DDL)

    def state(self) -> RelayState:
        with self.db.transaction() as tx:
            row = tx.one("SELECT position, head, published FROM relay_state WHERE source = ?", (self.app.source,))
        return RelayState(int(row["position"]), row["head"], int(row["published"])) if row else RelayState()

    def _save(self, state: RelayState) -> None:
        with self.db.transaction() as tx:
            tx.execute(
                "INSERT INTO relay_state (source, position, head, published) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET position = excluded.position, head = excluded.head, "
                "published = excluded.published",
                (self.app.source, state.position, state.head, state.published),
            )

    def check_broker(self) -> bool:
        """Start over when the broker lost messages we published. Returns True on a reset."""
        state = self.state()
        self._last_broker_check = time.monotonic()
        if state.published == 0:
            return False
        held = total_messages(self.settings, self.topic)
        if held < state.published:
            log.warning(
                "broker holds fewer messages than published; republishing history",
                extra={"source": self.app.source, "held": held, "published": state.published},
            )
            self._save(RelayState())
            return True
        return False

    def connect(self) -> None:
        """Create the topic and the producer, and check the broker still has our history."""
        if self._producer is None:
            ensure_topics(self.settings, (f"{self.app.source}.events",))
            self._producer = producer(self.settings)
            self.check_broker()

    def publish_once(self) -> int:
        """Publish the next batch; return how many events went out."""
        self.connect()
        assert self._producer is not None
        state = self.state()
        final_gap = self._settled_gap()  # decided before reading: what could fill it is visible now
        notifications = self._gap_free(state.position, self.app.notifications(state.position, self.batch), final_gap)
        if not notifications:
            return 0
        futures = []
        head = state.head
        for notification in notifications:
            envelope, message = seal_encoded(self.app.envelope_of(notification), head)
            head = envelope["hash"]
            futures.append(self._producer.send(self.topic, key=envelope["aggregate_id"].encode(), value=message,
                                               headers=envelope_headers(envelope)))  # CloudEvents binding
        # Bounded: a producer the broker no longer knows (UnknownProducerId after a broker loss)
        # would otherwise retry for ever; a timeout makes run() start a new producer.
        self._producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)  # raises if the broker did not acknowledge
        self._save(RelayState(notifications[-1].id, head, state.published + len(notifications)))
        return len(notifications)

    def _settled_gap(self) -> int | None:
        """The first id of a gap that can no longer fill: every transaction that was running when
        it was seen has ended (a rolled-back or crashed insert left it)."""
        if self._gap is None or not self.db.postgres or time.monotonic() - self._gap[2] < GAP_GRACE_SECONDS:
            return None
        with self.db.transaction() as tx:
            horizon = int(tx.scalar("SELECT txid_snapshot_xmin(txid_current_snapshot())"))
        return self._gap[0] if horizon >= self._gap[1] else None

    def _gap_free(self, after: int, notifications: list[Notification], final_gap: int | None) -> list[Notification]:
        """The notifications that may go out now, in order: up to the first gap that may still fill
        (SQLite writers are serial, so there a gap is always final)."""
        if not self.db.postgres:
            return notifications
        expected = after + 1
        ready = []
        for notification in notifications:
            if notification.id != expected and expected != final_gap:
                if self._gap is None or self._gap[0] != expected:
                    with self.db.transaction() as tx:
                        xmax = int(tx.scalar("SELECT txid_snapshot_xmax(txid_current_snapshot())"))
                    self._gap = (expected, xmax, time.monotonic())
                break
            if notification.id != expected:
                log.info("notification ids never committed; passing over them",
                         extra={"source": self.app.source, "position": expected})
            ready.append(notification)
            expected = notification.id + 1
        if ready and self._gap is not None and self._gap[0] < expected:
            self._gap = None
        return ready

    def drain(self, timeout: float = 30.0) -> int:
        """Publish until the log is exhausted (tests, benchmarks, one-shot runs)."""
        total = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = self.publish_once()
            total += sent
            if sent == 0 and self.state().position >= self.app.max_position():
                return total
        raise TimeoutError(f"relay for {self.app.source} did not drain in {timeout}s")

    def run(self, stop: threading.Event, check_every: float = 5.0) -> None:
        """Poll and publish until ``stop`` is set; survives broker outages by retrying."""
        while not stop.is_set():
            try:
                if self._producer is not None and time.monotonic() - self._last_broker_check > check_every:
                    self.check_broker()
                if self.publish_once() == 0:
                    stop.wait(self.settings.relay_poll_interval)
            except Exception:
                log.exception("relay error; retrying", extra={"source": self.app.source})
                self.close()
                stop.wait(1.0)
        self.close()

    def close(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:  # noqa: S110 - closing a broken producer is best effort
                pass
            self._producer = None
