"""Audit benchmark: verification rate beside raw SHA-256 over the same bytes and beside the
minimal pure-Python loop doing only the unavoidable hashes (the ceiling for any CPython verifier),
and replay rate beside a raw kafka-python consumer, on a broker started here.

Run: ``.venv/bin/python -m bench.audit_bench`` (or ``python bench/audit_bench.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.audit.checkpoints import sign_checkpoint, signature_valid
from services.audit.keys import load_signing_key
from services.audit.merkle import MerkleAccumulator, leaf_hash
from services.audit.projections import AccessLogProjection
from services.audit.replay import replay_one
from services.audit.verify import Record, load_from_kafka, verify_records
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.envelope import GENESIS_HASH, encode, event_id_for, seal
from shared.kafka import consumer, ensure_topics, free_port, partitions_of, producer, start_local_broker

EVENTS = int(os.environ.get("AUDIT_BENCH_EVENTS", "20000"))
CHECKPOINT_EVERY = 100


def make_history(settings: Settings, n: int) -> tuple[list[bytes], list[bytes]]:
    """``n`` PersonalDataAccessed envelopes on participants.events and checkpoints every 100."""
    key = load_signing_key(settings)
    head = GENESIS_HASH
    acc = MerkleAccumulator()
    values, checkpoints = [], []
    for i in range(1, n + 1):
        agg = str(uuid.uuid4())
        env = seal({
            "event_id": event_id_for("participants", agg, 1), "event_type": "PersonalDataAccessed",
            "schema_version": 1, "source": "participants", "aggregate_id": agg, "aggregate_version": 1,
            "position": i, "occurred_at": f"2026-03-02T09:{i // 60 % 60:02d}:{i % 60:02d}.000000Z",
            "department": "socialforvaltningen", "actor": {"id": f"co-{i % 17}", "role": "coordinator"},
            "payload": {"subject_id": str(uuid.uuid4()), "purpose": "matching", "categories": ["name", "email"]},
        }, head)
        head = env["hash"]
        acc.add_leaf_hash(leaf_hash(bytes.fromhex(head)))
        values.append(encode(env))
        if i % CHECKPOINT_EVERY == 0 or i == n:
            cp = sign_checkpoint(key, "participants", i, i, head, acc.root().hex())
            checkpoints.append(encode(cp))
    return values, checkpoints


def ceiling_loop(values: list[bytes]) -> str:
    """What any pure-Python verifier has to do per event at the least, and nothing more: the chain
    hash over the message without its ``"hash":"…",`` member (chained from the previous one), the
    Merkle leaf hash, then the Merkle node hashes. No parsing, structure check, comparison or
    signature. Returns the last chain hash so the caller can check that the work was real."""
    sha256 = hashlib.sha256
    prev = GENESIS_HASH.encode()
    leaves: list[bytes] = []
    for v in values:
        at = v.find(b'"hash":"')
        h = sha256(prev)
        h.update(v[:at])
        h.update(v[at + 74:])  # '"hash":"' + 64 hex digits + '",'
        digest = h.digest()
        prev = digest.hex().encode()
        leaves.append(sha256(b"\x00" + digest).digest())
    level = leaves
    while len(level) > 1:
        pairs = iter(level)
        level = [sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
    return prev.decode()


def main() -> None:
    """Print the figures."""
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="audit-bench-"))
    broker = start_local_broker("127.0.0.1", port, tmp / "tansu.log")
    try:
        settings = Settings(data_dir=tmp, kafka_bootstrap=f"127.0.0.1:{port}", topic_prefix="bench.")
        ensure_topics(settings)
        values, checkpoints = make_history(settings, EVENTS)
        public = load_signing_key(settings).public_key()
        records = [Record("participants.events", 0, i, None, v) for i, v in enumerate(values)]
        records += [Record("audit.checkpoints", 0, i, None, v) for i, v in enumerate(checkpoints)]

        # Verification (in memory: chains, every checkpoint signature and root) vs raw SHA-256.
        t = time.perf_counter()
        for v in values:
            hashlib.sha256(v).digest()
        raw_hash = len(values) / (time.perf_counter() - t)
        t = time.perf_counter()
        report, history = verify_records(records, public)
        verify_rate = len(values) / (time.perf_counter() - t)
        assert report.ok, report.first
        # What is reachable at all in CPython: the unavoidable hashes alone, same bytes, same run.
        t = time.perf_counter()
        head = ceiling_loop(values)
        loop_seconds = time.perf_counter() - t
        ceiling = len(values) / loop_seconds
        assert head == history.events["participants"][-1]["hash"]
        # ... plus the Ed25519 check of every checkpoint, which verification may not skip.
        parsed = [json.loads(c) for c in checkpoints]
        t = time.perf_counter()
        signed = sum(signature_valid(public, c) for c in parsed)
        with_signatures = len(values) / (loop_seconds + time.perf_counter() - t)
        assert signed == len(checkpoints)
        print(f"events: {EVENTS} ({sum(map(len, values)) // EVENTS} bytes each), checkpoints: {len(checkpoints)}")
        print(f"raw sha256 of the message bytes : {raw_hash:12,.0f} events/s")
        print(f"audit verify (chain+merkle+sig) : {verify_rate:12,.0f} events/s "
              f"({100 * verify_rate / raw_hash:.0f}% of raw hashing; target >= 25%)")
        print(f"ceiling: minimal Python loop (chain hash + leaf hash + Merkle nodes, no checks): "
              f"{ceiling:,.0f} events/s ({100 * ceiling / raw_hash:.0f}% of raw hashing)")
        print(f"ceiling with the {len(checkpoints)} checkpoint signatures checked too: "
              f"{with_signatures:,.0f} events/s ({100 * with_signatures / raw_hash:.0f}% of raw hashing)")

        prod = producer(settings)
        topic = settings.topic("participants.events")
        for i, v in enumerate(values):
            prod.send(topic, key=str(i).encode(), value=v)
        for v in checkpoints:
            prod.send(settings.topic("audit.checkpoints"), key=b"participants", value=v)
        prod.flush()
        prod.close()

        # Verify end to end from Kafka.
        t = time.perf_counter()
        report, _ = verify_records(load_from_kafka(settings), public)
        kafka_verify = EVENTS / (time.perf_counter() - t)
        assert report.ok, report.first
        print(f"audit verify from Kafka         : {kafka_verify:12,.0f} events/s (includes reading the topics)")

        # Raw consumer floor.
        t = time.perf_counter()
        client = consumer(settings)
        parts = partitions_of(client, topic)
        client.assign(parts)
        client.seek_to_beginning(*parts)
        seen = 0
        deadline = time.monotonic() + 120
        while seen < EVENTS and time.monotonic() < deadline:
            for batch in client.poll(timeout_ms=200).values():
                seen += len(batch)
        client.close()
        raw_consume = seen / (time.perf_counter() - t)
        print(f"raw kafka-python consumer       : {raw_consume:12,.0f} events/s")

        # Replay: live read model first, then a replay into a fresh database, compared row by row.
        live = Database(settings, "audit")
        ConsumerLoop(settings, live, AccessLogProjection()).catch_up(timeout=300)
        t = time.perf_counter()
        result = replay_one(AccessLogProjection, live, timeout=300)
        replay_rate = EVENTS / (time.perf_counter() - t)
        assert result.identical and result.rows == EVENTS, result.as_dict()
        print(f"audit replay (SQLite + compare) : {replay_rate:12,.0f} events/s "
              f"({100 * replay_rate / raw_consume:.0f}% of the raw consumer)")
        live.close()
    finally:
        broker.terminate()
        broker.wait(timeout=10)


if __name__ == "__main__":
    main()
