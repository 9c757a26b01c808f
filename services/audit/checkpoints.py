"""Signed checkpoints over each source's hash chain.

Leaf data (precisely): leaf ``i`` of source ``S`` is the 32 raw bytes of ``bytes.fromhex(hash)`` of
the ``i``-th event (0-based) in ``S``'s hash chain, where the chain is ordered by following
``prev_hash`` links from 64 zeros (equivalently by ``position``). The chain hash already commits
to the canonical envelope bytes and to every earlier event, so the Merkle tree over chain hashes
commits to the exact canonical bytes of every event.

A checkpoint is the JSON object ``{"type", "version", "source", "tree_size", "position",
"chain_head", "root", "time", "key_id"}`` plus ``"signature"``: Ed25519 over the compact,
key-sorted UTF-8 JSON of the object without ``signature`` (base64). It is published to
``audit.checkpoints`` (key = source) and stored in the audit database.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.audit.keys import key_id
from services.audit.merkle import MerkleAccumulator, leaf_hash
from shared.config import Settings
from shared.consumer import Projection
from shared.db import Database, Tx
from shared.envelope import GENESIS_HASH, Envelope, chain_hash, checkpoint_headers
from shared.pagination import after_cursor_sql, page_of

log = logging.getLogger("delaktig.audit")

SOURCES = ("participants", "recruitments", "matching")
CHECKPOINT_TYPE = "delaktig.audit.checkpoint"

CHECKPOINT_DDL = """
CREATE TABLE IF NOT EXISTS audit_chain (
    source TEXT PRIMARY KEY,
    tree_size BIGINT NOT NULL,
    position BIGINT NOT NULL,
    head TEXT NOT NULL,
    frontier TEXT NOT NULL,
    last_checkpoint_size BIGINT NOT NULL,
    last_checkpoint_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_leaves (
    source TEXT NOT NULL,
    leaf_index BIGINT NOT NULL,
    position BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (source, leaf_index)
);
CREATE TABLE IF NOT EXISTS audit_pending (
    source TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    envelope TEXT NOT NULL,
    PRIMARY KEY (source, prev_hash)
);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    source TEXT NOT NULL,
    tree_size BIGINT NOT NULL,
    body TEXT NOT NULL,
    published INTEGER NOT NULL,
    PRIMARY KEY (source, tree_size)
);
CREATE TABLE IF NOT EXISTS audit_alerts (
    event_id TEXT NOT NULL,
    source TEXT NOT NULL,
    position BIGINT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (event_id, source, position)
)
"""


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def sign_checkpoint(key: Ed25519PrivateKey, source: str, tree_size: int, position: int, chain_head: str,
                    root_hex: str, time: str | None = None) -> dict[str, Any]:
    """A signed checkpoint object (see the module docstring for the exact signed bytes)."""
    body: dict[str, Any] = {
        "type": CHECKPOINT_TYPE,
        "version": 1,
        "source": source,
        "tree_size": tree_size,
        "position": position,
        "chain_head": chain_head,
        "root": root_hex,
        "time": time or now_iso(),
        "key_id": key_id(key),
    }
    body["signature"] = base64.b64encode(key.sign(_canonical(body))).decode("ascii")
    return body


def signature_valid(public: Ed25519PublicKey, checkpoint: dict[str, Any]) -> bool:
    """Is the checkpoint's Ed25519 signature good for this public key?"""
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    try:
        public.verify(base64.b64decode(str(checkpoint.get("signature", ""))), _canonical(body))
    except (InvalidSignature, ValueError):
        return False
    return True


class CheckpointProjection(Projection):
    """Follows every source's chain (by ``prev_hash`` links, whatever the partition order) and
    cuts a signed checkpoint every ``checkpoint_every_events`` events."""

    name = "audit-checkpointer"
    topics = tuple(f"{s}.events" for s in SOURCES)

    def __init__(self, settings: Settings, key: Ed25519PrivateKey) -> None:
        self.settings = settings
        self.key = key

    def migrate(self, db: Database) -> None:
        db.migrate(CHECKPOINT_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        source = str(envelope.get("source"))
        if source not in SOURCES:
            return
        if envelope.get("hash") != chain_hash(str(envelope.get("prev_hash")), envelope):
            log.warning("event hash does not match its content", extra={"event_id": envelope.get("event_id")})
            tx.execute(
                "INSERT INTO audit_alerts (event_id, source, position, detail) VALUES (?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (str(envelope.get("event_id")), source, int(envelope.get("position") or 0),
                 "hash does not match the canonical envelope"),
            )
            return
        tx.execute(
            "INSERT INTO audit_pending (source, prev_hash, envelope) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (source, envelope["prev_hash"], json.dumps(envelope, sort_keys=True)),
        )
        self._advance(tx, source)

    def _state(self, tx: Tx, source: str) -> dict[str, Any]:
        row = tx.one("SELECT * FROM audit_chain WHERE source = ?", (source,))
        if row is None:
            return {"source": source, "tree_size": 0, "position": 0, "head": GENESIS_HASH, "frontier": "[]",
                    "last_checkpoint_size": 0, "last_checkpoint_at": now_iso()}
        return dict(row)

    def _advance(self, tx: Tx, source: str) -> None:
        state = self._state(tx, source)
        acc = MerkleAccumulator((int(s), bytes.fromhex(h)) for s, h in json.loads(state["frontier"]))
        moved = False
        while True:
            row = tx.one("SELECT envelope FROM audit_pending WHERE source = ? AND prev_hash = ?",
                         (source, state["head"]))
            if row is None:
                break
            env = json.loads(row["envelope"])
            tx.execute("DELETE FROM audit_pending WHERE source = ? AND prev_hash = ?", (source, state["head"]))
            acc.add_leaf_hash(leaf_hash(bytes.fromhex(env["hash"])))
            tx.execute(
                "INSERT INTO audit_leaves (source, leaf_index, position, event_id, hash) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (source, acc.size - 1, int(env["position"]), str(env["event_id"]), env["hash"]),
            )
            state.update(tree_size=acc.size, position=int(env["position"]), head=env["hash"])
            moved = True
            if acc.size - int(state["last_checkpoint_size"]) >= self.settings.checkpoint_every_events:
                self._cut(tx, state, acc)
        if moved:
            state["frontier"] = json.dumps([[s, h.hex()] for s, h in acc.frontier])
            self._save(tx, state)

    def _cut(self, tx: Tx, state: dict[str, Any], acc: MerkleAccumulator) -> dict[str, Any]:
        checkpoint = sign_checkpoint(self.key, state["source"], acc.size, int(state["position"]), state["head"],
                                     acc.root().hex())
        tx.execute(
            "INSERT INTO audit_checkpoints (source, tree_size, body, published) VALUES (?, ?, ?, 0) "
            "ON CONFLICT DO NOTHING",
            (state["source"], acc.size, json.dumps(checkpoint, sort_keys=True)),
        )
        state.update(last_checkpoint_size=acc.size, last_checkpoint_at=checkpoint["time"])
        return checkpoint

    def _save(self, tx: Tx, state: dict[str, Any]) -> None:
        tx.execute(
            "INSERT INTO audit_chain (source, tree_size, position, head, frontier, last_checkpoint_size, "
            "last_checkpoint_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
            "tree_size = excluded.tree_size, position = excluded.position, head = excluded.head, "
            "frontier = excluded.frontier, last_checkpoint_size = excluded.last_checkpoint_size, "
            "last_checkpoint_at = excluded.last_checkpoint_at",
            (state["source"], state["tree_size"], state["position"], state["head"], state["frontier"],
             state["last_checkpoint_size"], state["last_checkpoint_at"]),
        )

    def cut_due(self, db: Database, force: bool = False) -> int:
        """Checkpoint every source with events newer than its last checkpoint that is older than
        ``checkpoint_every_seconds`` (or every such source when ``force``). Returns how many."""
        cut = 0
        with db.transaction() as tx:
            for state in tx.all("SELECT * FROM audit_chain"):
                if int(state["tree_size"]) <= int(state["last_checkpoint_size"]):
                    continue
                last = datetime.fromisoformat(str(state["last_checkpoint_at"]).replace("Z", "+00:00"))
                age = (datetime.now(UTC) - last).total_seconds()
                if force or age >= self.settings.checkpoint_every_seconds:
                    acc = MerkleAccumulator((int(s), bytes.fromhex(h)) for s, h in json.loads(state["frontier"]))
                    self._cut(tx, state, acc)
                    self._save(tx, state)
                    cut += 1
        return cut


class CheckpointPublisher:
    """Publishes stored, not yet published checkpoints to ``audit.checkpoints`` (key = source).

    Survives the broker: any producer error closes the producer, so the next call starts a new
    one (a new connection and producer id, e.g. after ``UnknownProducerIdError`` once the broker
    lost its state); and when the topic holds fewer checkpoints than were published (a broker that
    lost its data), every stored checkpoint is published again. The stored bodies are signed, so
    republished checkpoints verify as the originals did."""

    check_every = 30.0  # seconds between checks that the broker still holds what we published

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._producer: Any = None
        self._checked_at = -1e9
        self.republished = 0  # checkpoints published again after a broker lost them

    def publish(self) -> int:
        """Publish what is pending (and what the broker lost); returns how many went out."""
        try:
            self._republish_if_lost()
            return self._publish_pending()
        except Exception:
            self.close()  # a new producer next time
            raise

    def _republish_if_lost(self, force: bool = False) -> None:
        import time

        if not force and time.monotonic() - self._checked_at < self.check_every:
            return
        from shared.kafka import ensure_topics, total_messages

        ensure_topics(self.settings, ("audit.checkpoints",))
        with self.db.transaction() as tx:
            published = int(tx.scalar("SELECT COUNT(*) AS n FROM audit_checkpoints WHERE published = 1") or 0)
        self._checked_at = time.monotonic()
        if not published:
            return
        held = total_messages(self.settings, self.settings.topic("audit.checkpoints"))
        if held < published:
            log.warning("the broker holds fewer checkpoints than were published; publishing them again",
                        extra={"held": held, "published": published})
            with self.db.transaction() as tx:
                tx.execute("UPDATE audit_checkpoints SET published = 0")
            self.republished += published

    def _publish_pending(self) -> int:
        with self.db.transaction() as tx:
            rows = tx.all("SELECT source, tree_size, body FROM audit_checkpoints WHERE published = 0 "
                          "ORDER BY source, tree_size")
        if not rows:
            return 0
        if self._producer is None:
            from shared.kafka import ensure_topics, producer

            ensure_topics(self.settings, ("audit.checkpoints",))
            self._producer = producer(self.settings)
        topic = self.settings.topic("audit.checkpoints")
        futures = [self._producer.send(topic, key=r["source"].encode(), value=_canonical(body := json.loads(r["body"])),
                                       headers=checkpoint_headers(body))  # CloudEvents binding
                   for r in rows]
        self._producer.flush()
        for future in futures:
            future.get(timeout=30)
        with self.db.transaction() as tx:
            for r in rows:
                tx.execute("UPDATE audit_checkpoints SET published = 1 WHERE source = ? AND tree_size = ?",
                           (r["source"], r["tree_size"]))
        return len(rows)

    def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                producer.close(timeout=5)
            except Exception:  # noqa: S110 - closing a broken producer is best effort
                pass


def checkpoints_page(db: Database, source: str | None, limit: int, cursor: str | None = None) -> dict[str, Any]:
    """A page of the stored checkpoints, oldest first per source (source, tree size)."""
    where = ["1 = 1"]
    params: list[Any] = []
    if source:
        where.append("source = ?")
        params.append(source)
    condition, after = after_cursor_sql(cursor, "source", "tree_size")
    where.append(condition)
    params.extend(after)
    with db.transaction() as tx:
        rows = tx.all(f"SELECT source, tree_size, body FROM audit_checkpoints WHERE {' AND '.join(where)} "
                      "ORDER BY source, tree_size LIMIT ?", (*params, limit + 1))
    page = page_of(rows, limit, lambda r: (str(r["source"]), int(r["tree_size"])))
    page["items"] = [json.loads(r["body"]) for r in page["items"]]
    return page


def stored_checkpoints(db: Database, source: str | None = None) -> list[dict[str, Any]]:
    """Checkpoints from the audit database, oldest first per source."""
    with db.transaction() as tx:
        if source:
            rows = tx.all("SELECT body FROM audit_checkpoints WHERE source = ? ORDER BY tree_size", (source,))
        else:
            rows = tx.all("SELECT body FROM audit_checkpoints ORDER BY source, tree_size")
    return [json.loads(r["body"]) for r in rows]
