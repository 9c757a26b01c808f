"""The decision-record read model: per recruitment, the events that inform its record, each with
its source, position and leaf index in its source's chain, and the perfect subtrees of each
source's Merkle tree (``services/audit/merkle_nodes.py``), so that
``GET /recruitments/{id}/decision-record`` reads one recruitment's rows and O(log n) nodes per
proof, never the event log.

The projection follows each source's hash chain by ``prev_hash`` links from 64 zeros (events
may arrive out of position order across partitions; those ahead of the missing link wait in
``decision_pending``), so leaf ``i`` is the ``i``-th event of the chain exactly as the
checkpointer counts it (``services/audit/checkpoints.py``). An event whose hash does not match
its content is left out, as the checkpointer does (which raises the alert). An event is in
``decision_events`` as soon as it is applied and gets its leaf index when the chain reaches it
(until then its input has no proof), so a time-travelled rebuild (``audit replay --until``) holds
every event that had happened then, even one that follows a later one in its chain (imported
history keeps its original dates).

Envelopes are stored as they are on the topic (sealed; personal data only encrypted or as
pseudonymous ids). On a request each input's proof is checked against the signed checkpoint's
root with the service's public key, and the record says how far the checkpointer has checked each
source's chain and whether it raised an alert (``audit_alerts``), instead of re-verifying the
whole history.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit import merkle_nodes
from services.audit.checkpoints import signature_valid
from services.audit.decision import INPUT_KINDS, informs, record_of, sort_key
from services.audit.merkle import leaf_hash, verify_inclusion
from shared.consumer import Projection
from shared.db import Database, Tx
from shared.envelope import GENESIS_HASH, Envelope, chain_hash, encode

DECISION_SOURCES = ("recruitments", "matching")

DECISION_DDL = """
CREATE TABLE IF NOT EXISTS decision_chain (
    source TEXT PRIMARY KEY,
    tree_size BIGINT NOT NULL,
    position BIGINT NOT NULL,
    head TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS decision_pending (
    source TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    envelope TEXT NOT NULL,
    PRIMARY KEY (source, prev_hash)
);
CREATE TABLE IF NOT EXISTS decision_events (
    recruitment_id TEXT NOT NULL,
    source TEXT NOT NULL,
    position BIGINT NOT NULL,
    leaf_index BIGINT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    envelope TEXT NOT NULL,
    PRIMARY KEY (recruitment_id, source, position)
)
"""


class DecisionRecordProjection(Projection):
    """Feeds ``decision_events`` and the Merkle nodes of the decision sources."""

    name = "audit-decision-record"
    topics = tuple(f"{s}.events" for s in DECISION_SOURCES)

    def migrate(self, db: Database) -> None:
        db.migrate(DECISION_DDL)
        db.migrate(merkle_nodes.NODES_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        source = str(envelope.get("source"))
        if source not in DECISION_SOURCES or not isinstance(envelope.get("prev_hash"), str):
            return
        if envelope.get("hash") != chain_hash(str(envelope.get("prev_hash")), envelope):
            return  # not part of the chain; the checkpointer raises the alert
        stored = encode(envelope).decode("utf-8")  # the message value, as on the topic
        tx.execute("INSERT INTO decision_pending (source, prev_hash, envelope) VALUES (?, ?, ?) "
                   "ON CONFLICT DO NOTHING", (source, envelope["prev_hash"], stored))
        rid = informs(envelope)
        if rid:  # in the record at once; its leaf index once the chain reaches it
            tx.execute(
                "INSERT INTO decision_events (recruitment_id, source, position, leaf_index, event_id, event_type, "
                "occurred_at, envelope) VALUES (?, ?, ?, NULL, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (rid, source, int(envelope["position"]), str(envelope["event_id"]), str(envelope["event_type"]),
                 str(envelope["occurred_at"]), stored),
            )
        self._advance(tx, source)

    def _advance(self, tx: Tx, source: str) -> None:
        state = tx.one("SELECT tree_size, position, head FROM decision_chain WHERE source = ?", (source,))
        size, position, head = (int(state["tree_size"]), int(state["position"]), str(state["head"])) if state \
            else (0, 0, GENESIS_HASH)
        moved = False
        while True:
            row = tx.one("SELECT envelope FROM decision_pending WHERE source = ? AND prev_hash = ?", (source, head))
            if row is None:
                break
            tx.execute("DELETE FROM decision_pending WHERE source = ? AND prev_hash = ?", (source, head))
            env = json.loads(row["envelope"])
            merkle_nodes.append_leaf(tx, source, size, leaf_hash(bytes.fromhex(env["hash"])))
            rid = informs(env)
            if rid:
                tx.execute("UPDATE decision_events SET leaf_index = ? WHERE recruitment_id = ? AND source = ? "
                           "AND position = ? AND event_id = ?",
                           (size, rid, source, int(env["position"]), str(env["event_id"])))
            size, position, head, moved = size + 1, int(env["position"]), str(env["hash"]), True
        if moved:
            tx.execute("INSERT INTO decision_chain (source, tree_size, position, head) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (source) DO UPDATE SET tree_size = excluded.tree_size, "
                       "position = excluded.position, head = excluded.head", (source, size, position, head))


def _checkpoint_covering(tx: Tx, source: str, index: int, size: int) -> dict[str, Any] | None:
    """The first stored checkpoint that covers leaf ``index`` within the ``size`` leaves we hold."""
    row = tx.one("SELECT body FROM audit_checkpoints WHERE source = ? AND tree_size > ? AND tree_size <= ? "
                 "ORDER BY tree_size LIMIT 1", (source, index, size))
    return json.loads(row["body"]) if row else None


def _proofs(tx: Tx, public: Ed25519PublicKey, rows: list[dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
    """Inclusion proofs (keyed ``source|position``) of the inputs among ``rows``, each verified
    against its checkpoint's signed root."""
    sizes = {str(r["source"]): int(r["tree_size"]) for r in tx.all("SELECT source, tree_size FROM decision_chain")}
    plans: dict[str, tuple[dict[str, Any], int, int, dict[str, Any]]] = {}
    needed: dict[str, set[merkle_nodes.Node]] = {}
    out: dict[str, dict[str, Any] | None] = {}
    for r in rows:
        if r["event_type"] not in INPUT_KINDS:
            continue
        key, source = f"{r['source']}|{r['position']}", str(r["source"])
        out[key] = None
        if r["leaf_index"] is None:  # not yet linked into its chain: no proof yet
            continue
        index = int(r["leaf_index"])
        cp = _checkpoint_covering(tx, source, index, sizes.get(source, 0))
        if cp is not None:
            plans[key] = (r, index, int(cp["tree_size"]), cp)
            needed.setdefault(source, set()).update(merkle_nodes.nodes_needed(index, int(cp["tree_size"])))
    stored = {source: merkle_nodes.fetch_nodes(tx, source, nodes) for source, nodes in needed.items()}
    signed: dict[tuple[str, int], bool] = {}  # inputs share checkpoints: check each signature once
    for key, (r, index, size, cp) in plans.items():
        nodes = stored[str(r["source"])]
        leaf = leaf_hash(bytes.fromhex(str(r["hash"])))
        try:
            audit_path = merkle_nodes.path(nodes.__getitem__, index, size)
        except KeyError:  # a node we should hold is missing: no proof rather than a wrong one
            continue
        seal = (str(cp["source"]), size)
        if seal not in signed:
            signed[seal] = signature_valid(public, cp)
        ok = (signed[seal] and nodes.get((0, index)) == leaf
              and verify_inclusion(leaf, index, size, audit_path, bytes.fromhex(str(cp["root"]))))
        out[key] = {
            "leaf_index": index,
            "tree_size": size,
            "leaf_data": "chain hash (32 bytes)",
            "audit_path": [h.hex() for h in audit_path],
            "checkpoint": cp,
            "verified": ok,
        }
    return out


def integrity(tx: Tx) -> dict[str, Any]:
    """What the checkpointer knows continuously: how far it has followed and checked each
    source's chain, and the first alert it raised (if any)."""
    verified_up_to = {str(r["source"]): int(r["position"])
                      for r in tx.all("SELECT source, position FROM audit_chain ORDER BY source")}
    alert = tx.one("SELECT event_id, source, position, detail FROM audit_alerts "
                   "ORDER BY position, source, event_id LIMIT 1")
    first = (f"{alert['source']} position {alert['position']} event {alert['event_id']}: alert: {alert['detail']}"
             if alert else None)
    return {"history_verified": alert is None, "first_problem": first, "verified_up_to": verified_up_to}


def decision_record(db: Database, public: Ed25519PublicKey, recruitment_id: str,
                    as_of: datetime | None = None) -> dict[str, Any]:
    """The record of one recruitment from the read model (the same as
    ``services.audit.decision.decision_record`` computes from the whole verified history), plus
    ``history_verified``, ``first_problem`` and ``verified_up_to`` (see ``integrity``)."""
    with db.transaction() as tx:
        rows = tx.all("SELECT source, position, leaf_index, event_type, envelope FROM decision_events "
                      "WHERE recruitment_id = ?", (recruitment_id,))
        envelopes = [json.loads(r["envelope"]) for r in rows]
        for r, env in zip(rows, envelopes, strict=True):
            r["hash"] = env["hash"]
        proofs = _proofs(tx, public, rows)
        checked = integrity(tx)
    envelopes.sort(key=sort_key)
    record = record_of(envelopes, recruitment_id, as_of, lambda env: proofs.get(f"{env['source']}|{env['position']}"))
    record.update(checked)
    return record
