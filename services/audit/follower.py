"""The public topics as the audit service's HTTP API sees them: read from offset zero once, then
only what is new on each call, so a decision-influence record does not re-read the whole history
from the broker every time it is asked for.

The cache never answers for longer than ``FULL_REREAD_SECONDS`` without reading everything again
from offset zero, and a topic the broker forgot is read again from zero at once: one whose topic
id changed (created again, e.g. by a broker that lost its data and got the history republished,
possibly with more messages than before) or with a partition holding fewer messages than were
read. ``delaktig audit verify`` never uses it: it always
reads every message afresh.
"""

from __future__ import annotations

import threading
import time

from services.audit.verify import TOPICS, Record
from shared.config import Settings
from shared.kafka import consumer, end_offsets, partitions_of, topic_ids

FULL_REREAD_SECONDS = 600.0


class TopicFollower:
    """Every message of the public topics, in partition order, read incrementally."""

    def __init__(self, settings: Settings, full_reread_seconds: float = FULL_REREAD_SECONDS) -> None:
        self.settings = settings
        self.full_reread_seconds = full_reread_seconds
        self._records: dict[tuple[str, int], list[Record]] = {}
        self._next: dict[tuple[str, int], int] = {}  # next offset to read, per partition
        self._topic_ids: dict[str, str | None] = {}  # the broker's id of each topic we read
        self._read_at = 0.0
        self._lock = threading.Lock()
        self.fetched = 0  # messages read from the broker so far (for operators and tests)

    def records(self, timeout: float = 30.0) -> list[Record]:
        """Every message now on the topics (all partitions, from offset zero)."""
        with self._lock:
            if time.monotonic() - self._read_at > self.full_reread_seconds:
                self._records.clear()
                self._next.clear()
                self._read_at = time.monotonic()
            self._catch_up(timeout)
            return [r for key in sorted(self._records) for r in self._records[key]]

    def _forget_recreated_topics(self) -> None:
        ids = topic_ids(self.settings, [self.settings.topic(t) for t in TOPICS])
        for topic in TOPICS:
            now = ids.get(self.settings.topic(topic))
            if self._topic_ids.get(topic) and now and now != self._topic_ids[topic]:
                for key in [k for k in self._records if k[0] == topic]:
                    self._records[key].clear()
                    self._next[key] = 0
            self._topic_ids[topic] = now

    def _catch_up(self, timeout: float) -> None:
        self._forget_recreated_topics()
        client = consumer(self.settings)
        try:
            starts = {}
            for topic in TOPICS:
                parts = partitions_of(client, self.settings.topic(topic), timeout=min(timeout, 5.0))
                for tp, end in end_offsets(self.settings, parts).items():
                    key = (topic, tp.partition)
                    held = self._records.setdefault(key, [])
                    self._next.setdefault(key, 0)
                    if end < self._next[key]:  # the broker lost messages: read this partition again
                        held.clear()
                        self._next[key] = 0
                    if end > self._next[key]:
                        starts[tp] = (key, end)
            if not starts:
                return
            client.assign(list(starts))
            for tp, (key, _end) in starts.items():
                client.seek(tp, self._next[key])
            deadline = time.monotonic() + timeout
            waiting = set(starts)
            while waiting and time.monotonic() < deadline:
                for tp, batch in client.poll(timeout_ms=200).items():
                    key, end = starts[tp]
                    held = self._records[key]
                    for m in batch:
                        if self._next[key] <= m.offset < end:
                            held.append(Record(key[0], m.partition, m.offset, m.key, m.value))
                            self._next[key] = m.offset + 1
                            self.fetched += 1
                    if self._next[key] >= end:
                        waiting.discard(tp)
        finally:
            client.close()
