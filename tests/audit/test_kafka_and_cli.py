"""Verify from Kafka or an export: an edited message, a re-sealed one and a conflicting copy are
pinpointed; checkpoints are signed and published; the CLI exits 0 only when all holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import main
from services.audit.checkpoints import signature_valid
from services.audit.service import Audit
from services.audit.verify import Record, load_export, load_from_kafka, verify_records, write_export
from shared.config import Settings
from shared.envelope import encode, seal
from shared.kafka import ensure_topics, producer
from tests.audit.helpers import SourceWriter, new_id


def _history(settings: Settings, n: int = 25) -> list[dict]:
    writer = SourceWriter(settings, "recruitments")
    rid = new_id()
    for i in range(n):
        writer.emit("JobDescriptionContributed", rid, {"contribution_id": new_id(), "text": f"del {i}",
                                                       "contributor_role": "participant"},
                    {"id": f"p{i % 3}", "role": "participant"}, minute=i)
    writer.close()
    return writer.sent


def _edit(records: list[Record], event_id: str, change) -> list[Record]:
    out = []
    for r in records:
        data = json.loads(r.value)
        if data.get("event_id") == event_id:
            r = Record(r.topic, r.partition, r.offset, r.key, change(data))
        out.append(r)
    return out


def test_kafka_tampering_is_pinpointed(sqlite_settings: Settings) -> None:
    settings = sqlite_settings
    sent = _history(settings)
    audit = Audit.build(settings)
    audit.catch_up()
    public = audit.app.key.public_key()
    records = load_from_kafka(settings)
    report, history = verify_records(records, public)
    assert report.ok, report.first
    assert report.events_checked == 25
    cps = history.checkpoints["recruitments"]
    assert [c["tree_size"] for c in cps] == [10, 20, 25]  # every 10 events, and the forced tail
    assert all(signature_valid(public, c) for c in cps)
    target = sent[12]

    def edit_payload(data: dict) -> bytes:
        data["payload"]["contributor_role"] = "coordinator"
        return encode(data)

    report, _ = verify_records(_edit(records, target["event_id"], edit_payload), public)
    first = report.first
    assert first is not None and (first.source, first.position, first.event_id, first.kind) == (
        "recruitments", 13, target["event_id"], "hash")

    def reseal(data: dict) -> bytes:
        data["payload"]["contributor_role"] = "coordinator"
        return encode(seal(data, data["prev_hash"]))

    report, _ = verify_records(_edit(records, target["event_id"], reseal), public)
    kinds = [(p.position, p.kind) for p in report.problems]
    assert kinds[0] == (14, "chain-link") and report.first.event_id == sent[13]["event_id"]
    assert (20, "checkpoint") in kinds

    # A message removed from the topic: the next link breaks; the tail removed: the checkpoint says so.
    without = [r for r in records if sent[7]["event_id"].encode() not in r.value]
    report, _ = verify_records(without, public)
    assert (report.first.position, report.first.kind, report.first.event_id) == (9, "chain-link", sent[8]["event_id"])
    without_tail = [r for r in records if sent[24]["event_id"].encode() not in r.value]
    report, _ = verify_records(without_tail, public)
    assert report.first.kind == "checkpoint" and "removed" in report.first.detail

    def move_hash_into_actor(data: dict) -> bytes:
        data["actor"]["hash"] = data.pop("hash")  # same bytes hashed, but no longer a top-level hash
        return encode(data)

    report, _ = verify_records(_edit(records, target["event_id"], move_hash_into_actor), public)
    assert (report.first.position, report.first.kind) == (13, "hash")

    bad_cp = [Record(r.topic, r.partition, r.offset, r.key,
                     r.value.replace(b'"tree_size":20', b'"tree_size":19')) for r in records]
    report, _ = verify_records(bad_cp, public)
    assert report.first.kind == "checkpoint-signature" and report.first.position == 20

    # A modified duplicate on a real topic (a copy of the topics with one forged message added).
    copy = settings.with_(topic_prefix=settings.topic_prefix + "copy.")
    ensure_topics(copy)
    prod = producer(copy)
    for r in records:
        prod.send(copy.topic(r.topic), key=r.key, value=r.value, partition=r.partition)
    prod.send(copy.topic("recruitments.events"), key=target["aggregate_id"].encode(),
              value=edit_payload(json.loads(encode(target))))
    prod.flush()
    prod.close()
    report, _ = verify_records(load_from_kafka(copy), public)
    assert (report.first.kind, report.first.position, report.first.event_id) == (
        "conflicting-copy", 13, target["event_id"])
    assert "payload.contributor_role" in report.first.detail
    audit.close()


def test_cli_export_and_verify(sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    settings = sqlite_settings
    sent = _history(settings, 12)
    audit = Audit.build(settings)
    audit.catch_up()
    pem = tmp_path / "audit-public.pem"
    audit.close()
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", settings.topic_prefix)
    capsys.readouterr()
    assert main(["audit", "public-key"]) == 0
    pem.write_text(capsys.readouterr().out)
    assert pem.read_text() == audit.app.public_key_pem()
    export = tmp_path / "export.jsonl"
    assert main(["audit", "export", str(export)]) == 0
    assert len(load_export(export)) == 12 + 2
    assert main(["audit", "verify", "--export", str(export), "--public-key", str(pem)]) == 0
    assert main(["audit", "verify", "--no-stores"]) == 0
    capsys.readouterr()
    lines = export.read_text().splitlines()
    edited = [line.replace("del 5", "del 6") if sent[5]["event_id"] in line else line for line in lines]
    export.write_text("\n".join(edited) + "\n")
    assert main(["audit", "verify", "--export", str(export), "--public-key", str(pem)]) == 1
    out = capsys.readouterr().out
    assert f"recruitments position 6 event {sent[5]['event_id']}: hash" in out
    # Another key does not verify the checkpoints.
    other = Settings(data_dir=tmp_path / "other")
    from services.audit.keys import load_signing_key, public_pem

    pem.write_text(public_pem(load_signing_key(other)))
    write_export(load_from_kafka(settings), export)
    assert main(["audit", "verify", "--export", str(export), "--public-key", str(pem)]) == 1
    assert "checkpoint-signature" in capsys.readouterr().out
