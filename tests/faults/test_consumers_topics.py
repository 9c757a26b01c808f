"""Item 7 of issue 11: topics as provisioned. One configured partition count; a topic the broker
auto-created with another count is replaced while empty, never written into; a topic with another
count that holds messages is refused, with a clear message, by consumers, workers and
``delaktig topics``."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.kafka import TopicLayoutError, ensure_topics, producer, topic_layout
from tests.faults.support import own_broker
from tests.platform.counter_app import CounterTotals


def test_producer_never_writes_into_an_auto_created_topic_and_provisioning_replaces_it(
        sqlite_settings: Settings) -> None:
    with own_broker(sqlite_settings) as (_broker, settings):
        p = producer(settings)
        try:
            # The broker lost its data: the topic is gone; tansu auto-creates it on the producer's
            # metadata request, with its own default count (4), whatever the client asks.
            with pytest.raises(TopicLayoutError, match="4 partitions, 3 are configured"):
                p.send(settings.topic("participants.events"), key=b"k", value=b"{}").get(timeout=10)
        finally:
            p.close(timeout=5)
        assert topic_layout(settings, ("participants.events",)) == {settings.topic("participants.events"): 4}
        found = ensure_topics(settings, ("participants.events",))
        assert found == {settings.topic("participants.events"): "replaced (had 4 partitions, empty)"}
        assert topic_layout(settings, ("participants.events",)) == {settings.topic("participants.events"): 3}
        p = producer(settings)
        p.send(settings.topic("participants.events"), key=b"k", value=b"{}").get(timeout=10)
        p.close(timeout=5)


def _wrong_topic_with_a_message(settings: Settings, logical: str, partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    admin.create_topics([NewTopic(settings.topic(logical), num_partitions=partitions, replication_factor=1)])
    admin.close()
    raw = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    raw.send(settings.topic(logical), key=b"k", value=b"{}").get(timeout=10)
    raw.close(timeout=5)


def test_consumer_refuses_a_topic_with_another_partition_count(sqlite_settings: Settings,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    with own_broker(sqlite_settings) as (_broker, settings):
        _wrong_topic_with_a_message(settings, "counters.events", 5)
        db = Database(settings, "counter_readmodel")
        loop = ConsumerLoop(settings, db, CounterTotals())
        with pytest.raises(TopicLayoutError, match="has 5 partitions but 3 are configured"):
            loop.catch_up(timeout=10)
        loop.close()
        stop = threading.Event()
        with caplog.at_level(logging.CRITICAL, logger="delaktig.consumer"):
            loop.run(stop)  # returns: the worker is stopped, not left retrying
        assert stop.is_set()
        assert any("refusing to consume" in r.getMessage() and "5 partitions" in r.getMessage()
                   for r in caplog.records)
        assert topic_layout(settings, ("counters.events",)) == {settings.topic("counters.events"): 5}  # untouched


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap, "TOPIC_PREFIX": settings.topic_prefix,
           "DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "infra.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


@pytest.mark.slow
def test_topics_command_provisions_checks_and_workers_refuse(sqlite_settings: Settings) -> None:
    with own_broker(sqlite_settings) as (_broker, settings):
        first = _cli(settings, "topics")
        assert first.returncode == 0, first.stderr
        assert f"{settings.topic('participants.events')}\t3 partitions (configured 3)\tcreated" in first.stdout
        again = _cli(settings, "topics", "--check")
        assert again.returncode == 0 and again.stdout.count("\tok") == 4
        other = settings.with_(topic_prefix=settings.topic_prefix + "x.")
        _wrong_topic_with_a_message(other, "matching.events", 2)
        wrong = _cli(other, "topics")
        assert wrong.returncode == 1
        assert f"{other.topic('matching.events')}\t2 partitions (configured 3)\tWRONG PARTITION COUNT" in wrong.stdout
        assert "refusing to run on it" in wrong.stderr
        worker = _cli(other, "worker", "matching")
        assert worker.returncode == 78
        assert "worker matching not started" in worker.stderr and "has 2 partitions" in worker.stderr
