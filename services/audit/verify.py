"""Verification of the whole history from Kafka (or an export) and a public key, and of the
services' event stores against it.

``verify_records`` checks, per source: no conflicting copies of an event, strictly increasing
positions, every chain link (``prev_hash``) and every chain hash over the canonical envelope,
then every checkpoint's Ed25519 signature, chain head, position and Merkle root (RFC 6962), and
an RFC 9162 consistency proof between a source's first and last checkpoints. ``verify_store``
recomputes a service's envelopes from its event store, seals them, and compares them with the
verified Kafka history and the checkpoints, so an edited, deleted, reordered or inserted stored
event is pinpointed. Problems are sorted so that ``Report.first`` is the earliest broken place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit.checkpoints import CHECKPOINT_TYPE, SOURCES, signature_valid
from services.audit.merkle import (
    MerkleAccumulator,
    consistency_proof_hashes,
    leaf_hash,
    verify_consistency,
)
from shared.config import Settings
from shared.envelope import GENESIS_HASH, Envelope, chain_hash, event_id_for, seal

TOPICS = (*tuple(f"{s}.events" for s in SOURCES), "audit.checkpoints")
_SOURCE_ORDER = {s: i for i, s in enumerate(SOURCES)}


@dataclass(frozen=True)
class Record:
    """One Kafka message: the logical topic (``participants.events``), where it was, its bytes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class Problem:
    """One broken place: which source, position and event, what kind and what differs."""

    source: str
    position: int
    event_id: str | None
    kind: str
    detail: str

    def describe(self) -> str:
        return f"{self.source} position {self.position} event {self.event_id}: {self.kind}: {self.detail}"


@dataclass
class History:
    """The verified history: per source, envelopes in chain order and their leaf hashes."""

    events: dict[str, list[Envelope]] = field(default_factory=dict)
    leaf_hashes: dict[str, list[bytes]] = field(default_factory=dict)
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def full(self, source: str) -> list[Envelope]:
        """The complete envelopes of a source in chain order (parsed on first use)."""
        events = self.events.get(source, [])
        return [full_envelope(e) for e in events]

    def index_of(self, source: str, event_id: str) -> int | None:
        for i, env in enumerate(self.events.get(source, [])):
            if env["event_id"] == event_id:
                return i
        return None


@dataclass
class Report:
    ok: bool
    events_checked: int
    checkpoints_checked: int
    problems: list[Problem]

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "first_problem": asdict(self.first) if self.first else None,
            "problems": [asdict(p) for p in self.problems],
        }


def _sort(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.position, _SOURCE_ORDER.get(p.source, 99), p.kind))


# -- reading -----------------------------------------------------------------------------------
def load_from_kafka(settings: Settings, timeout: float = 30.0) -> list[Record]:
    """Every message of the public topics (all partitions, from offset zero)."""
    from shared.kafka import read_all

    records: list[Record] = []
    for topic in TOPICS:
        for r in read_all(settings, settings.topic(topic), timeout=timeout):
            records.append(Record(topic, r.partition, r.offset, r.key, r.value))
    return records


def write_export(records: Iterable[Record], path: Path) -> int:
    """JSON lines, one message each; ``value`` is the message text exactly as on Kafka."""
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({"topic": r.topic, "partition": r.partition, "offset": r.offset,
                                "key": r.key.decode("utf-8") if r.key is not None else None,
                                "value": r.value.decode("utf-8")}, ensure_ascii=False) + "\n")
            count += 1
    return count


def load_export(path: Path) -> list[Record]:
    records = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                key = d.get("key")
                records.append(Record(d["topic"], int(d["partition"]), int(d["offset"]),
                                      key.encode("utf-8") if key is not None else None, d["value"].encode("utf-8")))
    return records


# -- chains ------------------------------------------------------------------------------------
def content_hash(raw: bytes, env: Envelope) -> str:
    """The chain hash the envelope's content gives. Fast path: when the message is the canonical
    encoding, the canonical bytes are the message without its ``"hash":"…",`` member (which a
    matching hash proves, since the canonical bytes cannot contain their own hash)."""
    claimed = env.get("hash")
    prev = env.get("prev_hash")
    if isinstance(claimed, str) and isinstance(prev, str) and prev.isascii():
        member = b'"hash":"' + claimed.encode("utf-8") + b'",'
        at = raw.find(member)
        if at > 0:
            digest = hashlib.sha256(prev.encode("ascii") + raw[:at] + raw[at + len(member):]).hexdigest()
            if digest == claimed:
                return digest
    try:
        return chain_hash(str(prev), env)
    except (UnicodeEncodeError, TypeError, ValueError):
        return ""


def diff_fields(a: Any, b: Any, path: str = "") -> list[str]:
    """The dotted names of the fields that differ between two envelopes (no values)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            if k in ("hash", "prev_hash") and not path:
                continue
            name = f"{path}.{k}" if path else k
            if k not in a or k not in b:
                out.append(name)
            else:
                out.extend(diff_fields(a[k], b[k], name))
        return out
    return [] if a == b else [path or "value"]


_HASH_MEMBER = b'","hash":"'
_OCCURRED = b'","occurred_at":"'


def _canonical_head(raw: bytes) -> tuple[bytes, bytes, bytes, int] | None:
    """``(aggregate_id, event_id, event_type, h)`` when the message starts exactly like a canonical
    envelope up to its top-level ``hash`` member (``h`` is where ``","hash":"`` starts); else None.
    Without backslashes in that stretch every quote is a real string delimiter, so each fixed key
    below is a top-level key in canonical order and the ``hash`` member cannot be nested."""
    if not raw.startswith(b'{"actor":{"id":"'):
        return None
    h = raw.find(_HASH_MEMBER, 16)
    if h < 0 or raw.find(b"\\", 0, h + 93) >= 0 or raw[h + 74:h + 91] != _OCCURRED:
        return None
    i = raw.find(b'"', 16)
    if raw[i:i + 10] != b'","role":"':
        return None
    i = raw.find(b'"', i + 10)
    if raw[i:i + 19] != b'"},"aggregate_id":"':
        return None
    j = raw.find(b'"', i + 19)
    if raw[j:j + 22] != b'","aggregate_version":':
        return None
    k = raw.find(b",", j + 22)
    if not raw[j + 22:k].isdigit() or raw[k:k + 14] != b',"department":':
        return None
    if raw[k + 14:k + 18] == b"null":
        m = k + 18
    elif raw[k + 14:k + 15] == b'"':
        m = raw.find(b'"', k + 15) + 1
    else:
        return None
    if raw[m:m + 13] != b',"event_id":"':
        return None
    n = raw.find(b'"', m + 13)
    if raw[n:n + 16] != b'","event_type":"' or raw.find(b'"', n + 16) != h:
        return None
    return raw[i + 19:j], raw[m + 13:n], raw[n + 16:h], h


def full_envelope(env: Envelope) -> Envelope:
    """A light envelope (fast path) parsed into the complete one; complete ones as they are."""
    raw = env.get("_raw")
    return json.loads(raw) if raw is not None else env


def read_event(raw: bytes) -> tuple[Envelope, bool]:
    """``(envelope, hash valid)``. Fast path for canonical messages: a strict structural check pins
    the top-level ``hash`` member and the trailing members, so the canonical bytes are the message
    without that member (no JSON parse; the envelope is light and parsed on demand). Anything
    else, or a hash that does not match, goes through a full parse and re-canonicalisation."""
    head = _canonical_head(raw)
    if head is not None:
        aggregate_id, event_id, event_type, h = head
        p = raw.rfind(b',"prev_hash":"')
        q = raw.rfind(b',"position":', h, p)
        if p > 0 and q > 0 and raw[p + 78:p + 97] == b'","schema_version":' and raw[q + 12:p].isdigit():
            claimed = raw[h + 10:h + 74].decode()
            prev = raw[p + 14:p + 78]
            if hashlib.sha256(prev + raw[:h + 2] + raw[h + 76:]).hexdigest() == claimed:
                source = raw[raw.rfind(b',"source":"') + 11:-2].decode()
                return {"event_id": event_id.decode(), "event_type": event_type.decode(),
                        "aggregate_id": aggregate_id.decode(), "position": int(raw[q + 12:p]),
                        "prev_hash": prev.decode(), "hash": claimed, "source": source, "_raw": raw}, True
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data, content_hash(raw, data) == data.get("hash")


def _verify_chain(source: str, copies: list[tuple[Record, Envelope, bool]], problems: list[Problem]) -> list[Envelope]:
    by_id: dict[str, list[tuple[Record, Envelope, bool]]] = {}
    for item in copies:
        by_id.setdefault(str(item[1].get("event_id")), []).append(item)
    chosen: list[Envelope] = []
    valid_of: dict[str, bool] = {}
    for event_id, group in by_id.items():
        genuine = group[0]
        if len(group) > 1:
            genuine = next((g for g in group if g[2]), group[0])
            reference = full_envelope(genuine[1])
            for record, env, _valid in group:
                other = full_envelope(env)
                if other != reference:
                    fields = diff_fields(reference, other) or ["hash"]
                    problems.append(Problem(source, int(other.get("position") or 0), event_id, "conflicting-copy",
                                            f"message at {record.topic}[{record.partition}]@{record.offset} "
                                            f"differs from another copy of the same event in: {', '.join(fields)}"))
        chosen.append(genuine[1])
        valid_of[event_id] = any(g[2] for g in group)
    chosen.sort(key=lambda e: int(e.get("position") or 0))
    prev_hash = GENESIS_HASH
    last_position = 0
    for env in chosen:
        position = int(env.get("position") or 0)
        event_id = str(env.get("event_id"))
        if position <= last_position:
            problems.append(Problem(source, position, event_id, "position",
                                    f"position {position} is not after the previous {last_position}"))
        if env.get("prev_hash") != prev_hash:
            problems.append(Problem(source, position, event_id, "chain-link",
                                    f"prev_hash is {str(env.get('prev_hash'))[:16]}… but the previous event's "
                                    f"hash is {prev_hash[:16]}… (an event before it was altered, removed or "
                                    f"inserted)"))
        if not valid_of[event_id]:
            problems.append(Problem(source, position, event_id, "hash",
                                    "the hash does not match the canonical envelope: its content was altered "
                                    "after sealing"))
        prev_hash = str(env.get("hash"))
        last_position = position
    return chosen


def _verify_checkpoints(source: str, checkpoints: list[dict[str, Any]], events: list[Envelope],
                        leaves: list[bytes], problems: list[Problem]) -> None:
    checkpoints.sort(key=lambda c: int(c["tree_size"]))
    acc = MerkleAccumulator()
    roots: dict[int, bytes] = {}
    for cp in checkpoints:
        size = int(cp["tree_size"])
        position = int(cp.get("position") or 0)
        if size > len(leaves):
            problems.append(Problem(source, position, None, "checkpoint",
                                    f"signed checkpoint covers {size} events but the topic holds "
                                    f"{len(leaves)}: events were removed"))
            continue
        while acc.size < size:
            acc.add_leaf_hash(leaves[acc.size])
        last = events[size - 1]
        roots[size] = acc.root()
        if last.get("hash") != cp.get("chain_head") or int(last.get("position") or 0) != position:
            problems.append(Problem(source, int(last.get("position") or 0), str(last.get("event_id")),
                                    "checkpoint", f"event {size} of the chain is not the signed chain head "
                                    f"{str(cp.get('chain_head'))[:16]}… at position {position}"))
        elif roots[size].hex() != cp.get("root"):
            problems.append(Problem(source, position, str(last.get("event_id")), "checkpoint",
                                    f"Merkle root over the first {size} events differs from the signed root"))
    valid = [cp for cp in checkpoints if int(cp["tree_size"]) in roots]
    if len(valid) >= 2:
        old, new = valid[0], valid[-1]
        m, n = int(old["tree_size"]), int(new["tree_size"])
        proof = consistency_proof_hashes(leaves[:n], m)
        if not verify_consistency(m, n, bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), proof):
            problems.append(Problem(source, int(new.get("position") or 0), None, "consistency",
                                    f"checkpoint of size {n} is not an extension of the one of size {m}"))


def verify_records(records: Iterable[Record], public_key: Ed25519PublicKey) -> tuple[Report, History]:
    """Verify chains and checkpoints of every source; return the report and verified history."""
    problems: list[Problem] = []
    copies: dict[str, list[tuple[Record, Envelope, bool]]] = {s: [] for s in SOURCES}
    checkpoints: dict[str, list[dict[str, Any]]] = {s: [] for s in SOURCES}
    count = checked = 0
    for record in records:
        if record.topic != "audit.checkpoints":
            source = record.topic.split(".")[0]
            try:
                env, valid = read_event(record.value)
            except (UnicodeDecodeError, ValueError):
                problems.append(Problem(source, 0, None, "unreadable",
                                        f"{record.topic}[{record.partition}]@{record.offset} is not a JSON object"))
                continue
            count += 1
            if env.get("source") != source:
                problems.append(Problem(source, int(env.get("position") or 0), env.get("event_id"), "source",
                                        f"event claims source {env.get('source')!r} on {record.topic}"))
            copies.setdefault(source, []).append((record, env, valid))
            continue
        checked += 1
        try:
            data = json.loads(record.value)
        except (UnicodeDecodeError, ValueError):
            problems.append(Problem("audit", 0, None, "unreadable", f"checkpoint at offset {record.offset}"))
            continue
        source = str(data.get("source"))
        if data.get("type") != CHECKPOINT_TYPE or source not in SOURCES:
            problems.append(Problem(source, 0, None, "checkpoint", f"offset {record.offset}: not a checkpoint"))
        elif not signature_valid(public_key, data):
            problems.append(Problem(source, int(data.get("position") or 0), None, "checkpoint-signature",
                                    f"checkpoint of size {data.get('tree_size')} at "
                                    f"{record.topic}[{record.partition}]@{record.offset}: signature invalid"))
        else:
            checkpoints[source].append(data)
    history = History()
    for source in SOURCES:
        events = _verify_chain(source, copies.get(source, []), problems)
        leaves = [leaf_hash(_hash_bytes(e.get("hash"))) for e in events]
        history.events[source] = events
        history.leaf_hashes[source] = leaves
        history.checkpoints[source] = checkpoints[source]
        _verify_checkpoints(source, checkpoints[source], events, leaves, problems)
    problems = _sort(problems)
    return Report(not problems, count, checked, problems), history


def _hash_bytes(value: Any) -> bytes:
    """The 32 raw bytes of a chain hash (empty for a malformed one, which then cannot match)."""
    try:
        return bytes.fromhex(value) if isinstance(value, str) and len(value) == 64 else b""
    except ValueError:
        return b""


# -- event stores --------------------------------------------------------------------------------
def sealed_store(app: Any, batch: int = 500) -> Iterator[tuple[int, Envelope | None, str]]:
    """``(position, sealed envelope or None, error)`` for every stored event, in log order."""
    after = 0
    head = GENESIS_HASH
    while True:
        page = app.notifications(after, batch)
        if not page:
            return
        for notification in page:
            try:
                env = seal(app.envelope_of(notification), head)
            except Exception as error:  # a corrupted stored event must be reported, not crash verify
                yield notification.id, None, f"{type(error).__name__}: {str(error)[:200]}"
                after = notification.id
                continue
            head = env["hash"]
            yield notification.id, env, ""
        after = page[-1].id


def verify_store(app: Any, history: History) -> list[Problem]:
    """Compare a service's event store (``ServiceApplication``) with the verified Kafka history
    and the signed checkpoints. Returns the problems, earliest first."""
    source = app.source
    problems: list[Problem] = []
    kafka = history.events.get(source, [])
    store: list[Envelope] = []
    for position, env, error in sealed_store(app):
        if env is None:
            notification = app.notifications(position - 1, 1)
            event_id = None
            if notification and notification[0].id == position:
                n = notification[0]
                event_id = event_id_for(source, str(n.originator_id), int(n.originator_version))
            problems.append(Problem(source, position, event_id, "store-unreadable",
                                    f"the stored event cannot be decoded: {error}"))
            continue
        store.append(env)
    problems.extend(_compare_sequences(source, store, kafka))
    # Against the signed checkpoints (holds even if Kafka were rewritten too).
    acc = MerkleAccumulator()
    for cp in sorted(history.checkpoints.get(source, []), key=lambda c: int(c["tree_size"])):
        size = int(cp["tree_size"])
        if size > len(store):
            problems.append(Problem(source, int(cp["position"]), None, "store-checkpoint",
                                    f"signed checkpoint covers {size} events but the store yields {len(store)}"))
            break
        while acc.size < size:
            acc.add_leaf_hash(leaf_hash(bytes.fromhex(store[acc.size]["hash"])))
        last = store[size - 1]
        if last["hash"] != cp["chain_head"] or acc.root().hex() != cp["root"]:
            problems.append(Problem(source, int(last["position"]), last["event_id"], "store-checkpoint",
                                    f"the store's first {size} events do not give the signed chain head and "
                                    f"Merkle root of the checkpoint at position {cp['position']}"))
            break
    return _sort(problems)


def _compare_sequences(source: str, store: list[Envelope], kafka: list[Envelope]) -> list[Problem]:
    store_ids = {e["event_id"]: i for i, e in enumerate(store)}
    kafka_ids = {e["event_id"]: i for i, e in enumerate(kafka)}
    for i in range(min(len(store), len(kafka))):
        s, k = store[i], kafka[i]
        if s["event_id"] == k["event_id"] and s["hash"] == k["hash"]:
            continue
        k = full_envelope(k)
        if s["event_id"] == k["event_id"]:
            if s["hash"] == k["hash"]:
                continue
            fields = diff_fields(full_envelope(k), s)
            what = ", ".join(fields) if fields else "prev_hash"
            return [Problem(source, int(s["position"]), s["event_id"], "store-edited",
                            f"the stored event differs from the published, checkpointed one in: {what}")]
        s_on_kafka = s["event_id"] in kafka_ids
        k_in_store = k["event_id"] in store_ids
        if not s_on_kafka and k_in_store:
            return [Problem(source, int(s["position"]), s["event_id"], "store-inserted",
                            f"the store has an event ({s['event_type']}) at position {s['position']} that was "
                            f"never published; the published history has {k['event_id']} next")]
        if s_on_kafka and not k_in_store:
            return [Problem(source, int(k["position"]), k["event_id"], "store-deleted",
                            f"the published event {k['event_type']} at position {k['position']} is missing "
                            f"from the store")]
        if s_on_kafka and k_in_store:
            return [Problem(source, int(s["position"]), s["event_id"], "store-reordered",
                            f"the store has {s['event_id']} ({s['event_type']}) at position {s['position']} "
                            f"where the published history has {k['event_id']} ({k['event_type']}) at "
                            f"{k['position']}")]
        return [Problem(source, int(s["position"]), s["event_id"], "store-replaced",
                        f"the store has an unpublished event where the published history has "
                        f"{k['event_id']} (deleted and replaced)")]
    if len(kafka) > len(store):
        k = full_envelope(kafka[len(store)])
        return [Problem(source, int(k["position"]), k["event_id"], "store-deleted",
                        f"the published event {k['event_type']} at position {k['position']} is missing from "
                        f"the store")]
    return []


def public_key_from(pem: str | bytes) -> Ed25519PublicKey:
    from services.audit.keys import load_public_key

    return load_public_key(pem)

