"""The checkpointer, as an auditor relies on it: every N events of a source (in chain order,
whatever order they arrive in) it signs the chain head, the position and the Merkle root of the
chain so far; an event whose hash does not match its content raises an alert and is not taken
into the chain; a source with events newer than its last checkpoint gets one when it is due."""

from __future__ import annotations

import base64
import json
import random
import time
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka import KafkaAdminClient

from services.audit.checkpoints import (
    CHECKPOINT_TYPE,
    CheckpointProjection,
    CheckpointPublisher,
    checkpoints_page,
    sign_checkpoint,
    signature_valid,
    stored_checkpoints,
)
from services.audit.keys import key_id
from services.audit.merkle import MerkleTree, leaf_hashes
from services.audit.verify import Record, verify_records
from shared.config import Settings
from shared.db import Database
from shared.envelope import GENESIS_HASH, Envelope, checkpoint_headers, encode, event_id_for, headers_dict, seal
from shared.kafka import read_all, total_messages


def chain(source: str, n: int) -> list[Envelope]:
    head, out = GENESIS_HASH, []
    for i in range(1, n + 1):
        env = seal({"event_id": event_id_for(source, f"a{i}", 1), "event_type": "Something", "schema_version": 1,
                    "source": source, "aggregate_id": f"a{i}", "aggregate_version": 1, "position": i,
                    "occurred_at": f"2026-03-02T09:00:{i:02d}Z", "department": "socialforvaltningen",
                    "actor": {"id": "u1", "role": "coordinator"}, "payload": {"n": i}}, head)
        head = env["hash"]
        out.append(env)
    return out


def test_checkpoints_sign_head_position_and_root_in_chain_order(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.with_(checkpoint_every_events=4, checkpoint_every_seconds=3600.0)
    key = Ed25519PrivateKey.generate()
    db = Database(settings, "audit")
    projection = CheckpointProjection(settings, key)
    projection.migrate(db)
    events = chain("recruitments", 10)
    arrival = list(events)
    random.Random(3).shuffle(arrival)  # partitions interleave: the checkpointer follows prev_hash links
    for env in arrival:
        with db.transaction() as tx:
            projection.apply(tx, env)
    with db.transaction() as tx:
        projection.apply(tx, {**events[0], "source": "elsewhere"})  # not a source it checkpoints

    checkpoints = stored_checkpoints(db, "recruitments")
    assert [c["tree_size"] for c in checkpoints] == [4, 8]
    tree = MerkleTree(leaf_hashes(bytes.fromhex(e["hash"]) for e in events))
    for cp in checkpoints:
        size = cp["tree_size"]
        assert (cp["type"], cp["version"], cp["source"]) == (CHECKPOINT_TYPE, 1, "recruitments")
        assert (cp["position"], cp["chain_head"]) == (events[size - 1]["position"], events[size - 1]["hash"])
        assert cp["root"] == tree.root(size).hex()
        assert cp["key_id"] == key_id(key) and signature_valid(key.public_key(), cp)
        assert not signature_valid(Ed25519PrivateKey.generate().public_key(), cp)
        assert not signature_valid(key.public_key(), {**cp, "tree_size": size + 1})
    assert stored_checkpoints(db) == checkpoints

    # Not due yet (an hour between time-based checkpoints), unless forced; then the last two events
    # are covered too, and nothing more is cut while nothing new arrives.
    assert projection.cut_due(db) == 0
    assert projection.cut_due(db, force=True) == 1
    assert projection.cut_due(db, force=True) == 0
    last = stored_checkpoints(db, "recruitments")[-1]
    assert (last["tree_size"], last["chain_head"], last["root"]) == (10, events[-1]["hash"], tree.root(10).hex())

    # What verify makes of it: the history and the checkpoints agree.
    records = [Record("recruitments.events", 0, i, None, encode(e)) for i, e in enumerate(events)]
    records += [Record("audit.checkpoints", 0, i, None, encode(c))
                for i, c in enumerate(stored_checkpoints(db, "recruitments"))]
    report, _ = verify_records(records, key.public_key())
    assert report.ok and report.checkpoints_checked == 3, report.first


def test_an_event_that_does_not_match_its_hash_raises_an_alert_and_stays_out(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.with_(checkpoint_every_events=2)
    db = Database(settings, "audit")
    projection = CheckpointProjection(settings, Ed25519PrivateKey.generate())
    projection.migrate(db)
    events = chain("participants", 3)
    forged = {**events[1], "actor": {"id": "someone-else", "role": "coordinator"}}
    for env in (events[0], forged, events[2]):
        with db.transaction() as tx:
            projection.apply(tx, env)
    with db.transaction() as tx:
        alerts = tx.all("SELECT event_id, source, position, detail FROM audit_alerts")
        chain_row = tx.one("SELECT tree_size, position, head FROM audit_chain WHERE source = ?", ("participants",))
    assert [(a["event_id"], a["source"], a["position"], a["detail"]) for a in alerts] == [
        (events[1]["event_id"], "participants", 2, "hash does not match the canonical envelope")]
    assert chain_row is not None
    # The chain stops before the forged event: the third cannot link without the genuine second.
    assert (chain_row["tree_size"], chain_row["position"], chain_row["head"]) == (1, 1, events[0]["hash"])
    assert stored_checkpoints(db, "participants") == []
    with db.transaction() as tx:
        projection.apply(tx, events[1])  # the genuine second arrives: both follow, a checkpoint is cut
    assert [c["tree_size"] for c in stored_checkpoints(db, "participants")] == [2]
    with db.transaction() as tx:
        assert tx.scalar("SELECT tree_size FROM audit_chain WHERE source = 'participants'") == 3


def _apply_all(projection: CheckpointProjection, db: Database, events: list[Envelope]) -> None:
    for env in events:
        with db.transaction() as tx:
            projection.apply(tx, env)


def test_a_source_with_news_gets_a_checkpoint_when_one_is_due_and_only_then(sqlite_settings: Settings) -> None:
    """Time-based checkpoints: every source with events newer than its last checkpoint gets one
    once ``checkpoint_every_seconds`` have passed; a source with no news gets none."""
    settings = sqlite_settings.with_(checkpoint_every_events=100, checkpoint_every_seconds=0.0)
    db = Database(settings, "audit")
    projection = CheckpointProjection(settings, Ed25519PrivateKey.generate())
    projection.migrate(db)
    people, matching = chain("participants", 4), chain("matching", 2)
    _apply_all(projection, db, people[:3] + matching)
    assert stored_checkpoints(db) == []  # far from 100 events
    assert projection.cut_due(db) == 2
    assert [(c["source"], c["tree_size"]) for c in stored_checkpoints(db)] == [("matching", 2), ("participants", 3)]
    assert [c["chain_head"] for c in stored_checkpoints(db, "matching")] == [matching[-1]["hash"]]
    assert projection.cut_due(db) == 0  # nothing new since
    _apply_all(projection, db, people[3:])
    assert projection.cut_due(db) == 1
    assert [c["tree_size"] for c in stored_checkpoints(db, "participants")] == [3, 4]
    slow = CheckpointProjection(settings.with_(checkpoint_every_seconds=3600.0), projection.key)
    _apply_all(slow, db, chain("recruitments", 1))
    assert slow.cut_due(db) == 0  # news, but the last checkpoint is not an hour old
    db.close()


def test_a_signature_that_is_missing_or_garbled_is_simply_not_valid() -> None:
    key = Ed25519PrivateKey.generate()
    from services.audit.checkpoints import sign_checkpoint

    cp = sign_checkpoint(key, "participants", 3, 3, "ab" * 32, "cd" * 32, time="2026-03-02T09:00:00Z")
    assert cp["time"] == "2026-03-02T09:00:00Z" and signature_valid(key.public_key(), cp)
    for broken in ({**cp, "signature": "not base64 !"}, {k: v for k, v in cp.items() if k != "signature"},
                   {**cp, "signature": ""}, {**cp, "root": "ef" * 32}):
        assert signature_valid(key.public_key(), broken) is False


def test_a_broker_that_lost_its_checkpoints_gets_them_all_again(sqlite_settings: Settings) -> None:
    """The publisher sends each stored checkpoint once; when the topic holds fewer than were
    published (the broker lost its data), every stored checkpoint goes out again, still signed."""
    from services.audit.checkpoints import CheckpointPublisher
    from shared.kafka import total_messages

    settings = sqlite_settings.with_(checkpoint_every_events=2, checkpoint_every_seconds=3600.0)
    db = Database(settings, "audit")
    key = Ed25519PrivateKey.generate()
    projection = CheckpointProjection(settings, key)
    projection.migrate(db)
    _apply_all(projection, db, chain("participants", 6))
    publisher = CheckpointPublisher(settings, db)
    try:
        assert publisher.publish() == 3
        assert publisher.publish() == 0  # nothing pending
        assert total_messages(settings, settings.topic("audit.checkpoints")) == 3
    finally:
        publisher.close()
    # The same audit database against a broker that lost everything (here: a fresh topic).
    fresh = settings.with_(topic_prefix=settings.topic_prefix + "lost.")
    again = CheckpointPublisher(fresh, db)
    try:
        assert again.publish() == 3 and again.republished == 3
        assert total_messages(fresh, fresh.topic("audit.checkpoints")) == 3
        assert again.publish() == 0
    finally:
        again.close()
    db.close()


def test_an_auditor_checks_the_signature_over_compact_sorted_json_with_their_own_tools() -> None:
    """The module's contract: Ed25519 over the compact, key-sorted UTF-8 JSON of the checkpoint
    without ``signature`` (base64), so any JSON library and Ed25519 tool can check it; the time is
    UTC in ISO 8601 with ``Z`` when none is given."""
    key = Ed25519PrivateKey.generate()
    before = datetime.now(UTC)
    cp = sign_checkpoint(key, "matching", 7, 12, "ab" * 32, "cd" * 32)
    body = {k: v for k, v in cp.items() if k != "signature"}
    assert set(body) == {"type", "version", "source", "tree_size", "position", "chain_head", "root", "time",
                         "key_id"}
    signed = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
    key.public_key().verify(base64.b64decode(cp["signature"]), signed)  # raises if not these bytes
    assert cp["time"].endswith("Z") and "+" not in cp["time"]
    stamped = datetime.fromisoformat(cp["time"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_redelivered_event_is_taken_into_the_chain_once_and_a_forgery_alerts_once(
        sqlite_settings: Settings) -> None:
    """Brokers deliver at least once: the same event twice (in any order) is one leaf, and the
    same forged event twice is one alert."""
    settings = sqlite_settings.with_(checkpoint_every_events=3, checkpoint_every_seconds=3600.0)
    db = Database(settings, "audit")
    projection = CheckpointProjection(settings, Ed25519PrivateKey.generate())
    projection.migrate(db)
    events = chain("matching", 6)
    forged = {**events[2], "payload": {"n": 99}}
    twice = events + events[3:] + [forged, forged]
    random.Random(5).shuffle(twice)
    _apply_all(projection, db, [events[1], events[1], *twice])
    assert [c["tree_size"] for c in stored_checkpoints(db, "matching")] == [3, 6]
    tree = MerkleTree(leaf_hashes(bytes.fromhex(e["hash"]) for e in events))
    assert stored_checkpoints(db, "matching")[-1]["root"] == tree.root(6).hex()
    with db.transaction() as tx:
        assert tx.scalar("SELECT COUNT(*) FROM audit_alerts") == 1
        leaves = tx.all("SELECT leaf_index, position, event_id, hash FROM audit_leaves WHERE source = 'matching' "
                        "ORDER BY leaf_index")
    # Leaf i is the i-th event of the chain (the module's definition), whatever the arrival order.
    assert [(r["leaf_index"], r["position"], r["event_id"], r["hash"]) for r in leaves] == [
        (i, e["position"], e["event_id"], e["hash"]) for i, e in enumerate(events)]
    # A garbled copy without a position is alerted too, at position 0 (none known).
    _apply_all(projection, db, [{k: v for k, v in forged.items() if k != "position"}])
    with db.transaction() as tx:
        assert [a["position"] for a in tx.all("SELECT position FROM audit_alerts ORDER BY position")] == [0, 3]
    db.close()


def test_published_checkpoints_are_the_signed_bytes_keyed_by_source_oldest_first(
        sqlite_settings: Settings) -> None:
    """What lands on ``audit.checkpoints``: per source, oldest first, keyed by the source, the
    stored checkpoint's exact signed JSON with its CloudEvents headers. A publisher started again
    against a broker that kept everything sends nothing twice; a closed one starts afresh. It
    provisions only ``audit.checkpoints`` on the broker."""
    settings = sqlite_settings.with_(checkpoint_every_events=2, checkpoint_every_seconds=3600.0)
    db = Database(settings, "audit")
    key = Ed25519PrivateKey.generate()
    projection = CheckpointProjection(settings, key)
    projection.migrate(db)
    _apply_all(projection, db, chain("recruitments", 6) + chain("participants", 2))
    publisher = CheckpointPublisher(settings, db)
    try:
        assert publisher.publish() == 4
        topic = settings.topic("audit.checkpoints")
        records = sorted(read_all(settings, topic), key=lambda r: (r.partition, r.offset))
        stored = {(c["source"], c["tree_size"]): c for c in stored_checkpoints(db)}
        by_source: dict[str, list[int]] = {}
        for record in records:
            cp = json.loads(record.value)
            assert record.key == cp["source"].encode()
            original = stored[(cp["source"], cp["tree_size"])]
            assert record.value == json.dumps(original, sort_keys=True, separators=(",", ":")).encode()
            assert signature_valid(key.public_key(), cp)
            assert headers_dict(record.headers) == headers_dict(checkpoint_headers(original))
            by_source.setdefault(cp["source"], []).append(cp["tree_size"])
        assert by_source == {"recruitments": [2, 4, 6], "participants": [2]}
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        try:  # it provisions the one topic it writes, and no other
            assert {t for t in admin.list_topics() if t.startswith(settings.topic_prefix)} == {topic}
        finally:
            admin.close()
        publisher.close()
        _apply_all(projection, db, chain("matching", 2))
        assert publisher.publish() == 1  # a new producer after close
    finally:
        publisher.close()
    restarted = CheckpointPublisher(settings, db)
    try:
        assert restarted.publish() == 0 and restarted.republished == 0  # the broker kept all five
    finally:
        restarted.close()
    assert total_messages(settings, settings.topic("audit.checkpoints")) == 5
    db.close()


def test_a_quiet_source_does_not_keep_the_others_from_their_checkpoint(sqlite_settings: Settings) -> None:
    """Time-based checkpoints are decided per source: one without news (met first) is passed
    over and the ones after it still get theirs."""
    settings = sqlite_settings.with_(checkpoint_every_events=100, checkpoint_every_seconds=0.0)
    db = Database(settings, "audit")
    projection = CheckpointProjection(settings, Ed25519PrivateKey.generate())
    projection.migrate(db)
    matching, people = chain("matching", 2), chain("participants", 3)
    _apply_all(projection, db, matching + people[:1])
    assert projection.cut_due(db) == 2
    _apply_all(projection, db, people[1:])  # news for participants only
    assert projection.cut_due(db) == 1
    assert [(c["source"], c["tree_size"]) for c in stored_checkpoints(db)] == [
        ("matching", 2), ("participants", 1), ("participants", 3)]
    db.close()


def test_the_checkpoints_page_serves_the_signed_checkpoints_themselves(sqlite_settings: Settings) -> None:
    """``GET /checkpoints`` pages the stored checkpoints as they were signed (each one verifies),
    oldest first per source, for one source or all."""
    settings = sqlite_settings.with_(checkpoint_every_events=2, checkpoint_every_seconds=3600.0)
    db = Database(settings, "audit")
    key = Ed25519PrivateKey.generate()
    projection = CheckpointProjection(settings, key)
    projection.migrate(db)
    _apply_all(projection, db, chain("recruitments", 4) + chain("participants", 2))
    first = checkpoints_page(db, None, 2)
    assert first["items"] == stored_checkpoints(db)[:2] and first["next_cursor"]
    rest = checkpoints_page(db, None, 2, first["next_cursor"])
    assert rest["items"] == stored_checkpoints(db)[2:] and rest["next_cursor"] is None
    assert all(signature_valid(key.public_key(), cp) for cp in first["items"] + rest["items"])
    assert checkpoints_page(db, "recruitments", 50)["items"] == stored_checkpoints(db, "recruitments")
    db.close()


def test_a_count_based_checkpoint_restarts_the_clock_of_the_time_based_one(sqlite_settings: Settings) -> None:
    """Right after a checkpoint cut every N events, the next time-based one is
    ``checkpoint_every_seconds`` away, however old the source is."""
    settings = sqlite_settings.with_(checkpoint_every_events=2, checkpoint_every_seconds=1.0)
    db = Database(settings, "audit")
    projection = CheckpointProjection(settings, Ed25519PrivateKey.generate())
    projection.migrate(db)
    events = chain("recruitments", 3)
    _apply_all(projection, db, events[:1])
    time.sleep(1.2)  # the source is now older than checkpoint_every_seconds
    _apply_all(projection, db, events[1:])  # a checkpoint at 2 events, then news
    assert [c["tree_size"] for c in stored_checkpoints(db)] == [2]
    assert projection.cut_due(db) == 0  # the last checkpoint is fresh
    time.sleep(1.2)
    assert projection.cut_due(db) == 1
    db.close()
