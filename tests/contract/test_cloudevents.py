"""CloudEvents Kafka protocol binding (binary content mode): every message the relay and the
checkpoint publisher produce carries ``ce_*`` headers and ``content-type`` mapped from its envelope.
(tests/contract/test_demo_run.py checks the same on every topic of a full demo run.)"""

from __future__ import annotations

import json
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.checkpoints import CheckpointPublisher, sign_checkpoint
from shared.config import Settings
from shared.db import Database
from shared.envelope import CE_HEADERS, checkpoint_headers, envelope_headers, headers_dict
from shared.kafka import read_all
from shared.relay import OutboxRelay
from tests.contract.contract import cloudevents_mismatches
from tests.platform.counter_app import Counter, CounterApp

ACTOR = {"id": "c-1", "role": "coordinator"}


def test_headers_are_mapped_from_the_envelope() -> None:
    envelope = {"event_id": "0b6e7d3e-3f5e-5a7c-9a0e-1f2d3c4b5a69", "event_type": "HonorariumPaid", "schema_version": 2,
                "source": "participants", "aggregate_id": "p-42", "occurred_at": "2026-03-01T10:00:00Z"}
    headers = headers_dict(envelope_headers(envelope))
    assert tuple(headers) == CE_HEADERS
    assert headers == {
        "ce_specversion": "1.0",
        "ce_id": envelope["event_id"],
        "ce_source": "urn:delaktig:participants",
        "ce_type": "se.delaktig.participants.HonorariumPaid.v2",
        "ce_time": "2026-03-01T10:00:00Z",
        "ce_subject": "p-42",
        "content-type": "application/json",
    }
    wrong = dict(headers, ce_subject="p-43")
    assert cloudevents_mismatches(dict(envelope, schema_version=2), wrong, b"p-42")


def test_relayed_messages_carry_consistent_headers(sqlite_settings: Settings) -> None:
    app = CounterApp(sqlite_settings)
    counters = [Counter(uuid.uuid4(), actor=ACTOR, department=None) for _ in range(3)]
    for counter in counters:
        counter.increment(by=2, actor=ACTOR, department="socialforvaltningen")
    app.save(*counters)
    relay = OutboxRelay(app, Database(sqlite_settings, "counters"))
    try:
        assert relay.drain() == 6
    finally:
        relay.close()
    records = read_all(sqlite_settings, sqlite_settings.topic("counters.events"))
    assert len(records) == 6
    ids = set()
    for record in records:
        value = json.loads(record.value)
        headers = headers_dict(record.headers)
        assert [name for name, _ in record.headers] == list(CE_HEADERS)
        assert cloudevents_mismatches(value, headers, record.key) == []
        ids.add(headers["ce_id"])
    assert len(ids) == 6  # ce_id is the event_id: unique per source


def test_published_checkpoints_carry_headers(sqlite_settings: Settings) -> None:
    from services.audit.checkpoints import CHECKPOINT_DDL

    db = Database(sqlite_settings, "audit")
    db.migrate(CHECKPOINT_DDL)
    checkpoint = sign_checkpoint(Ed25519PrivateKey.generate(), "participants", 10, 12, "a" * 64, "b" * 64)
    with db.transaction() as tx:
        tx.execute("INSERT INTO audit_checkpoints (source, tree_size, body, published) VALUES (?, ?, ?, 0)",
                   ("participants", 10, json.dumps(checkpoint)))
    publisher = CheckpointPublisher(sqlite_settings, db)
    try:
        assert publisher.publish() == 1
    finally:
        publisher.close()
    [record] = read_all(sqlite_settings, sqlite_settings.topic("audit.checkpoints"))
    headers = headers_dict(record.headers)
    assert cloudevents_mismatches(json.loads(record.value), headers, record.key) == []
    assert headers == headers_dict(checkpoint_headers(checkpoint))
    assert headers["ce_subject"] == "participants" and headers["ce_type"] == "se.delaktig.audit.Checkpoint.v1"
