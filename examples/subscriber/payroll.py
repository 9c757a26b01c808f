"""A payroll system subscribing to Delaktig: it books every ``HonorariumPaid`` into its own ledger.

A small, complete subscriber another municipal system can copy. It depends only on the public
contract (docs/asyncapi.json, docs/versioning.md), ``kafka-python`` and ``cryptography`` - not on
Delaktig's code. What it shows:

* **A consumer group** (``--group``): Kafka shares the partitions between the group's members and
  remembers how far the group got. That committed offset is only a hint: the program keeps its own
  position per partition in its database and seeks there on every assignment.
* **Exactly once, in its own database** (SQLite here). Delivery is at least once (a message can
  come again after a crash or a rebalance). Every event of the source's hash chain is *applied*
  in the same transaction that moves the program's verified chain head past it, together with the
  partition positions; a redelivered event is already behind the head and changes nothing.
* **Integrity.** Every envelope's ``hash`` is recomputed from its canonical bytes and must link to
  the previous event's hash (``prev_hash``), so nothing can be changed, dropped or inserted
  unnoticed. The audit service's signed checkpoints (``audit.checkpoints``) are checked with its
  Ed25519 public key: signature, and the RFC 6962 Merkle root and chain head the program computed
  itself at the same size. Any mismatch stops the program (exit code 3) before it books anything
  more: call Delaktig's operators (docs/runbook.md, "When audit verify fails").
* **Restarts.** Kill it at any moment (even ``kill -9``) and start it again: it goes on from its own
  database. A fresh database reads the topic from the beginning, whatever the group committed.
* **Versions.** ``HonorariumPaid`` v1 and v2 are both read (v2 adds ``payee_ref``); unknown fields
  are ignored and unknown event types only extend the chain (docs/versioning.md).

Run ``python examples/subscriber/payroll.py --help``; the README's "For subscribers" walks through it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

log = logging.getLogger("payroll")

GENESIS = "0" * 64
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()

DDL = """
CREATE TABLE IF NOT EXISTS chain (
    source TEXT PRIMARY KEY, size INTEGER NOT NULL, head TEXT NOT NULL, frontier TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending (
    source TEXT NOT NULL, prev_hash TEXT NOT NULL, envelope TEXT NOT NULL, PRIMARY KEY (source, prev_hash)
);
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, size INTEGER NOT NULL, event_id TEXT NOT NULL,
    event_type TEXT NOT NULL, schema_version INTEGER NOT NULL, position INTEGER NOT NULL, hash TEXT NOT NULL,
    root TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_event ON ledger (event_id);
CREATE TABLE IF NOT EXISTS payments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, participant_id TEXT NOT NULL,
    payee_ref TEXT, payroll_ref TEXT NOT NULL, amount_ore INTEGER NOT NULL, period TEXT NOT NULL,
    paid_on TEXT NOT NULL, department TEXT, schema_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    source TEXT NOT NULL, tree_size INTEGER NOT NULL, body TEXT NOT NULL, verified INTEGER NOT NULL,
    PRIMARY KEY (source, tree_size)
);
CREATE TABLE IF NOT EXISTS positions (
    topic TEXT NOT NULL, partition_no INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition_no)
);
"""


class IntegrityFailure(RuntimeError):
    """The stream does not verify: stop, book nothing more, alert Delaktig's operators."""


# -- the published rules (ARCHITECTURE.md "Audit"; services/audit/checkpoints.py) ----------------

def canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(envelope: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical(envelope without hash))``."""
    body = {k: v for k, v in envelope.items() if k != "hash"}
    return hashlib.sha256(str(envelope["prev_hash"]).encode("ascii") + canonical(body)).hexdigest()


def add_leaf(frontier: list[list[Any]], event_hash: str) -> None:
    """RFC 6962 Merkle tree, streamed: leaf = SHA-256(0x00 || 32 raw bytes of the event's hash);
    the frontier is a stack of [size, hash] of perfect subtrees."""
    node = hashlib.sha256(b"\x00" + bytes.fromhex(event_hash)).digest()
    size = 1
    while frontier and frontier[-1][0] == size:
        node = hashlib.sha256(b"\x01" + bytes.fromhex(frontier.pop()[1]) + node).digest()
        size *= 2
    frontier.append([size, node.hex()])


def merkle_root(frontier: list[list[Any]]) -> str:
    if not frontier:
        return EMPTY_ROOT
    acc = bytes.fromhex(frontier[-1][1])
    for _, h in reversed(frontier[:-1]):
        acc = hashlib.sha256(b"\x01" + bytes.fromhex(h) + acc).digest()
    return acc.hex()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_keys(paths: Iterable[str]) -> dict[str, Ed25519PublicKey]:
    """The audit service's public keys (PEM), by key id: old ones stay valid for old checkpoints."""
    keys = {}
    for path in paths:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise SystemExit(f"{path} is not an Ed25519 public key")
        keys[key_id(key)] = key
    return keys


def signature_valid(keys: dict[str, Ed25519PublicKey], checkpoint: dict[str, Any]) -> bool:
    key = keys.get(str(checkpoint.get("key_id")))
    if key is None:
        return False
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    try:
        key.verify(base64.b64decode(str(checkpoint.get("signature", ""))), canonical(body))
    except (InvalidSignature, ValueError):
        return False
    return True


# -- the subscriber's own database ----------------------------------------------------------------

class PayrollLedger:
    """The payroll system's state: verified chain, ledger of applied events, payments, positions."""

    def __init__(self, path: Path, keys: dict[str, Ed25519PublicKey], source: str = "participants") -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a booked payment survives a power cut
        self.db.executescript(DDL)
        self.keys = keys
        self.source = source

    def close(self) -> None:
        self.db.close()

    # one transaction per polled batch: effects and positions commit together or not at all
    def begin(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.db.execute("COMMIT")

    def rollback(self) -> None:
        self.db.execute("ROLLBACK")

    def position(self, topic: str, partition: int) -> int | None:
        """Where this program goes on reading a partition (None: from the beginning). Its own
        connection: kafka-python calls rebalance listeners from its network thread."""
        with sqlite3.connect(self.path, timeout=30) as conn:
            row = conn.execute("SELECT next_offset FROM positions WHERE topic = ? AND partition_no = ?",
                               (topic, partition)).fetchone()
        return None if row is None else int(row[0])

    def set_position(self, topic: str, partition: int, next_offset: int) -> None:
        self.db.execute("INSERT INTO positions (topic, partition_no, next_offset) VALUES (?, ?, ?) "
                        "ON CONFLICT (topic, partition_no) DO UPDATE SET next_offset = excluded.next_offset",
                        (topic, partition, next_offset))

    def state(self) -> tuple[int, str, list[list[Any]]]:
        row = self.db.execute("SELECT size, head, frontier FROM chain WHERE source = ?", (self.source,)).fetchone()
        if row is None:
            return 0, GENESIS, []
        return int(row["size"]), str(row["head"]), json.loads(row["frontier"])

    # -- events ------------------------------------------------------------------------------
    def receive_event(self, envelope: dict[str, Any]) -> None:
        """Park the envelope by the hash it links to, then apply whatever now continues the chain
        (partitions interleave, so an event can come before its predecessor)."""
        if envelope.get("source") != self.source:
            return
        if chain_hash(envelope) != envelope.get("hash"):
            raise IntegrityFailure(f"event {envelope.get('event_id')}: hash does not match its content")
        if self.db.execute("SELECT 1 FROM ledger WHERE event_id = ?", (envelope["event_id"],)).fetchone():
            return  # delivered again (after a crash or a rebalance): applied before
        self.db.execute("INSERT INTO pending (source, prev_hash, envelope) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        (self.source, envelope["prev_hash"], json.dumps(envelope)))
        self._advance()

    def _advance(self) -> None:
        size, head, frontier = self.state()
        moved = False
        while True:
            row = self.db.execute("SELECT envelope FROM pending WHERE source = ? AND prev_hash = ?",
                                  (self.source, head)).fetchone()
            if row is None:
                break
            envelope = json.loads(row["envelope"])
            self.db.execute("DELETE FROM pending WHERE source = ? AND prev_hash = ?", (self.source, head))
            add_leaf(frontier, envelope["hash"])
            size, head, moved = size + 1, envelope["hash"], True
            self.db.execute(
                "INSERT INTO ledger (source, size, event_id, event_type, schema_version, position, hash, root) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (self.source, size, envelope["event_id"], envelope["event_type"], envelope["schema_version"],
                 envelope["position"], envelope["hash"], merkle_root(frontier)))
            self.apply(envelope)
        if moved:
            self.db.execute("INSERT INTO chain (source, size, head, frontier) VALUES (?, ?, ?, ?) ON CONFLICT (source) "
                            "DO UPDATE SET size = excluded.size, head = excluded.head, frontier = excluded.frontier",
                            (self.source, size, head, json.dumps(frontier)))
            self._check_checkpoints()

    def apply(self, envelope: dict[str, Any]) -> None:
        """The payroll effect of one verified event (called exactly once per event)."""
        if envelope["event_type"] != "HonorariumPaid":
            return
        payload = envelope["payload"]
        # v1 has no payee_ref; v2 adds it (an additive change, docs/versioning.md)
        payee = payload.get("payee_ref") if envelope["schema_version"] >= 2 else None
        self.db.execute(
            "INSERT INTO payments (event_id, participant_id, payee_ref, payroll_ref, amount_ore, period, paid_on, "
            "department, schema_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (envelope["event_id"], envelope["aggregate_id"], payee, payload["payroll_ref"], int(payload["amount_ore"]),
             payload["period"], payload["paid_on"], envelope.get("department"), envelope["schema_version"]))

    # -- checkpoints -------------------------------------------------------------------------
    def receive_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if not signature_valid(self.keys, checkpoint):
            raise IntegrityFailure(f"checkpoint {checkpoint.get('source')}@{checkpoint.get('tree_size')}: "
                                   f"signature does not verify with the published key(s)")
        if checkpoint.get("source") != self.source:
            return  # signed and valid; it covers a chain this program does not follow
        self.db.execute("INSERT INTO checkpoints (source, tree_size, body, verified) VALUES (?, ?, ?, 0) "
                        "ON CONFLICT DO NOTHING", (self.source, int(checkpoint["tree_size"]), json.dumps(checkpoint)))
        self._check_checkpoints()

    def _check_checkpoints(self) -> None:
        """Compare each signed checkpoint with the root and head this program computed at its size."""
        size, _, _ = self.state()
        rows = self.db.execute("SELECT tree_size, body FROM checkpoints WHERE source = ? AND verified = 0 "
                               "AND tree_size <= ?", (self.source, size)).fetchall()
        for row in rows:
            checkpoint = json.loads(row["body"])
            mine = self.db.execute("SELECT root, hash FROM ledger WHERE source = ? AND size = ?",
                                   (self.source, int(row["tree_size"]))).fetchone()
            if mine is None or mine["root"] != checkpoint["root"] or mine["hash"] != checkpoint["chain_head"]:
                raise IntegrityFailure(f"checkpoint {self.source}@{row['tree_size']} does not match the events "
                                       f"received (history was rewritten)")
            self.db.execute("UPDATE checkpoints SET verified = 1 WHERE source = ? AND tree_size = ?",
                            (self.source, int(row["tree_size"])))

    def summary(self) -> dict[str, Any]:
        size, head, _ = self.state()
        verified = self.db.execute("SELECT COUNT(*), MAX(tree_size) FROM checkpoints WHERE verified = 1").fetchone()
        paid = self.db.execute("SELECT COUNT(*), COALESCE(SUM(amount_ore), 0) FROM payments").fetchone()
        return {"events": size, "head": head, "checkpoints_verified": verified[0],
                "verified_up_to": verified[1] or 0, "payments": paid[0], "paid_ore": paid[1]}


# -- Kafka ----------------------------------------------------------------------------------------

def security_kwargs(environ: dict[str, str]) -> dict[str, Any]:
    """TLS / SASL settings of the Kafka client from the same variables Delaktig uses."""
    protocol = environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    kwargs: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        kwargs["ssl_cafile"] = environ.get("KAFKA_SSL_CAFILE") or None
        kwargs["ssl_certfile"] = environ.get("KAFKA_SSL_CERTFILE") or None
        kwargs["ssl_keyfile"] = environ.get("KAFKA_SSL_KEYFILE") or None
    if protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        kwargs["sasl_plain_username"] = environ.get("KAFKA_SASL_USERNAME")
        kwargs["sasl_plain_password"] = environ.get("KAFKA_SASL_PASSWORD")
    return kwargs


def run(args: argparse.Namespace) -> int:
    from kafka import ConsumerRebalanceListener, KafkaConsumer

    keys = load_public_keys(args.public_key)
    ledger = PayrollLedger(Path(args.db), keys)
    events_topic = f"{args.topic_prefix}participants.events"
    checkpoints_topic = f"{args.topic_prefix}audit.checkpoints"
    client = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,  # our database holds the truth; the group offset is a hint
        auto_offset_reset="earliest",
        max_poll_records=args.batch,
        # short timeouts: a restarted member rejoins in seconds instead of waiting out the old one
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_interval_ms=60000,
        **security_kwargs(dict(os.environ)),
    )

    class SeekToOwnPosition(ConsumerRebalanceListener):  # type: ignore[misc]
        def on_partitions_revoked(self, revoked: Any) -> None:
            pass

        def on_partitions_assigned(self, assigned: Any) -> None:
            nonlocal idle_since
            idle_since = time.monotonic()  # idleness counts from the (re)assignment
            for tp in assigned:
                stored = ledger.position(tp.topic, tp.partition)
                if stored is None:
                    client.seek_to_beginning(tp)
                else:
                    client.seek(tp, stored)

    stopping = False
    idle_since = float("inf")  # not idle before the group assigned us partitions

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    client.subscribe([events_topic, checkpoints_topic], listener=SeekToOwnPosition())
    status = 0
    try:
        while not stopping:
            batch = client.poll(timeout_ms=500)
            if not batch:
                if args.exit_when_idle and time.monotonic() - idle_since > args.exit_when_idle:
                    break
                continue
            idle_since = time.monotonic()
            ledger.begin()
            try:
                for tp, records in batch.items():
                    for record in records:
                        value = json.loads(record.value)
                        if tp.topic == checkpoints_topic:
                            ledger.receive_checkpoint(value)
                        else:
                            ledger.receive_event(value)
                    ledger.set_position(tp.topic, tp.partition, records[-1].offset + 1)
                ledger.commit()
            except BaseException:
                ledger.rollback()
                raise
            try:
                client.commit()  # only a hint for monitoring (consumer lag); never trusted to skip
            except Exception as error:
                log.warning("offset commit failed (harmless): %s", error)
            if args.pause:
                time.sleep(args.pause)
    except IntegrityFailure as failure:
        log.error("STOPPED: %s", failure)
        status = 3
    finally:
        print(json.dumps(ledger.summary()), flush=True)
        client.close(autocommit=False)
        ledger.close()
    return status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    p.add_argument("--topic-prefix", default=os.environ.get("TOPIC_PREFIX", ""))
    p.add_argument("--group", default="payroll", help="Kafka consumer group (one per subscribing system)")
    p.add_argument("--db", default="payroll.sqlite", help="this program's own SQLite database")
    p.add_argument("--public-key", action="append", required=True,
                   help="the audit service's Ed25519 public key (PEM, from GET /public-key); repeat for old keys")
    p.add_argument("--batch", type=int, default=500, help="records per poll")
    p.add_argument("--pause", type=float, default=0.0, help="seconds to wait between batches")
    p.add_argument("--exit-when-idle", type=float, default=0.0, help="stop after this many idle seconds (0: never)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s payroll %(levelname)s %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
