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

import gc
import hashlib
import json
import operator
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit.checkpoints import CHECKPOINT_TYPE, SOURCES, signature_valid
from services.audit.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    MerkleTree,
    leaf_hash,
    leaf_hashes,
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
def content_hash(env: Envelope) -> str:
    """The chain hash the envelope's content gives, by the reference definition (re-encoding the
    parsed envelope canonically). Messages that are not byte-for-byte canonical come here, so a
    hash computed over some other encoding of the same content does not verify."""
    try:
        return chain_hash(str(env.get("prev_hash")), env)
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


# The fast path reads a canonical message without parsing it. The head (up to the top-level
# ``occurred_at`` key) and the tail (from the top-level ``position`` key) are pinned by these
# patterns; string values are quote-free and both stretches are checked to hold no backslash
# (a one-byte search is much cheaper than a per-character class in the pattern), so every quote
# is a real string delimiter, every fixed key is a top-level key in canonical (sorted) order, the
# ``hash`` member cannot be nested, and the message ends with the top-level object's ``}``.
_HEAD = re.compile(
    rb'\{"actor":\{"id":"[^"]*","role":"[^"]*"\},"aggregate_id":"([^"]*)",'
    rb'"aggregate_version":(?:0|[1-9][0-9]*),"department":(?:null|"[^"]*"),"event_id":"([^"]*)",'
    rb'"event_type":"([^"]*)","hash":"(.{64})","occurred_at":"', re.DOTALL)
_TAIL = re.compile(
    rb',"position":(0|[1-9][0-9]*),"prev_hash":"([^"]{64})","schema_version":(?:0|[1-9][0-9]*),'
    rb'"source":"([^"]*)"\}')

# Where the pinned head ends, and the member the chain hash leaves out: the head match ends just
# after ``"occurred_at":"``, right behind the ``"hash":"<64 hex>",`` member, so that member is
# ``raw[e - _HASH_MEMBER_FROM_END:e - _OCCURRED_AT_LEN]``.
_OCCURRED_AT_LEN = len(b'"occurred_at":"')
_HASH_MEMBER_FROM_END = _OCCURRED_AT_LEN + len(b'"hash":"') + 64 + len(b'",')
_POSITION_KEY = b',"position":'  # where the pinned tail starts


class ChainItem(NamedTuple):
    """One event as the chain check needs it."""

    position: int
    event_id: str
    prev_hash: Any
    hash: str
    digest: bytes  # the Merkle leaf data: the 32 raw bytes of the hash
    valid: bool  # the hash is the chain hash of the content
    envelope: Envelope
    record: Record | None  # the message it came from


# Built from a tuple display in C (a NamedTuple's ``__new__`` is a Python call per event).
_chain_item: Any = partial(tuple.__new__, ChainItem)


class _Copy(NamedTuple):
    """One copy of an event (the step-by-step check compares copies of one event id)."""

    record: Record | None
    envelope: Envelope
    valid: bool


class Link(NamedTuple):
    """What the fast path reads from one canonical message whose hash is the chain hash of its
    content: the fields the chain check needs. Small and picklable, so worker processes can check
    links on their own (``check_links``) and hand back only these."""

    aggregate_id: str
    event_id: str
    event_type: str
    hash: str
    position: int
    prev_hash: str
    source: str


_link_of: Any = partial(tuple.__new__, Link)  # built in C, as ``_chain_item``


def _canonical_link(raw: bytes, _head: Any = _HEAD.match, _tail: Any = _TAIL.fullmatch,
                    _sha256: Any = hashlib.sha256, _link: Any = _link_of) -> Link | None:
    """The link of a message that has the canonical structure and whose hash is the chain hash of
    the message without its ``hash`` member (the canonical bytes); else None, and the caller
    parses it (which decides and reports). The defaults bind per-event lookups once."""
    head = _head(raw)
    if head is None:
        return None
    e = head.end()
    if raw.find(b"\\", 0, e + 2) >= 0:
        return None
    q = raw.rfind(_POSITION_KEY, e)
    tail = _tail(raw, q) if q > 0 else None
    if tail is None or raw.find(b"\\", q) >= 0:
        return None
    aggregate_id, event_id, event_type, claimed = head.groups()
    position, prev, source = tail.groups()
    if not prev.isascii():  # the reference cannot encode it (chain_hash fails): let it decide
        return None
    # The canonical bytes are the message without its hash member; update() in place avoids one
    # more copy of the message.
    h = _sha256(prev)
    h.update(raw[:e - _HASH_MEMBER_FROM_END])
    h.update(raw[e - _OCCURRED_AT_LEN:])
    hx = h.hexdigest()
    if hx.encode() != claimed:
        return None
    return _link((aggregate_id.decode(), event_id.decode(), event_type.decode(), hx, int(position), prev.decode(),
                  source.decode()))


def check_links(values: list[bytes]) -> list[Link | None]:
    """``_canonical_link`` of each message: the part of verification that needs no other event,
    run in worker processes by ``verify_records(..., processes=N)``."""
    link = _canonical_link
    return [link(v) for v in values]


def _item_of(link: Link, raw: bytes, record: Record | None, _item: Any = _chain_item,
             _fromhex: Any = bytes.fromhex) -> ChainItem:
    """The chain item of a checked link; the envelope is light (parsed on demand)."""
    aggregate_id, eid, event_type, hx, pos, prev_hash, source = link
    return _item((pos, eid, prev_hash, hx, _fromhex(hx), True, {
        "event_id": eid, "event_type": event_type, "aggregate_id": aggregate_id, "position": pos,
        "prev_hash": prev_hash, "hash": hx, "source": source, "_raw": raw}, record))


def _read_canonical(raw: bytes, record: Record | None = None) -> ChainItem | None:
    """The chain item of a canonical message with a valid hash (``_canonical_link``), else None."""
    link = _canonical_link(raw)
    return None if link is None else _item_of(link, raw, record)


def _read_parsed(raw: bytes) -> tuple[Envelope, bool]:
    """Full parse and re-canonicalisation, the reference definition: ``(envelope, hash valid)``;
    raises ``ValueError`` (or ``UnicodeDecodeError``) when the message is not a JSON object."""
    env = json.loads(raw)
    if not isinstance(env, dict):
        raise ValueError("not a JSON object")
    return env, content_hash(env) == env.get("hash")


def _parsed_item(env: Envelope, valid: bool, record: Record | None) -> ChainItem:
    claimed = env.get("hash")
    return ChainItem(_position(env), str(env.get("event_id")), env.get("prev_hash"), str(claimed),
                     _hash_bytes(claimed), valid, env, record)


def full_envelope(env: Envelope) -> Envelope:
    """A light envelope (fast path) parsed into the complete one; complete ones as they are."""
    raw = env.get("_raw")
    return json.loads(raw) if raw is not None else env


def read_event(raw: bytes) -> tuple[Envelope, bool]:
    """``(envelope, hash valid)``. Fast path for canonical messages: a strict structural check pins
    the top-level ``hash`` member and the members around it, so the canonical bytes are the message
    without that member (no JSON parse; the envelope is light and parsed on demand). Anything
    else, or a hash that does not match, goes through a full parse and re-canonicalisation."""
    item = _read_canonical(raw)
    return (item.envelope, True) if item is not None else _read_parsed(raw)


def _int(value: Any) -> int:
    """An integer field of a message that may have been tampered with: 0 when it is not one (a
    position 0 is then reported as out of order, never crashing the verification)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _position(env: Envelope) -> int:
    return _int(env.get("position"))


def _verify_chain(source: str, items: list[ChainItem], problems: list[Problem]) -> tuple[list[Envelope], list[bytes]]:
    """The source's events in chain order and their Merkle leaf hashes; problems appended."""
    if not items:
        return [], []
    positions, event_ids, prevs, hashes, digests, valids, envs, _ = zip(*items, strict=True)
    # The common case, decided by whole-sequence comparisons in C: no duplicate, positions strictly
    # increasing from at least 1 (so already in chain order), every link and every hash good. When
    # it holds, the step-by-step check would find nothing and keep this order; anything else
    # (copies, another order, any break) goes through that check, which writes the problems.
    if (positions[0] > 0 and all(map(operator.lt, positions, positions[1:]))
            and len(set(event_ids)) == len(event_ids)
            and prevs[0] == GENESIS_HASH and prevs[1:] == hashes[:-1] and all(valids)):
        return list(envs), leaf_hashes(digests)
    chosen = _chain_problems(source, [_Copy(i.record, i.envelope, i.valid) for i in items], problems)
    return chosen, leaf_hashes(_hash_bytes(e.get("hash")) for e in chosen)


def _chain_problems(source: str, copies: list[_Copy], problems: list[Problem]) -> list[Envelope]:
    """The step-by-step check: copies of one event, then position, link and hash of each event in
    position order. Returns the chosen copy of each event in chain order."""
    by_id: dict[str, list[_Copy]] = {}
    for copy in copies:
        by_id.setdefault(str(copy.envelope.get("event_id")), []).append(copy)
    chosen: list[Envelope] = []
    valid_of: dict[str, bool] = {}
    for event_id, group in by_id.items():
        genuine = group[0]
        if len(group) > 1:
            genuine = next((g for g in group if g.valid), group[0])
            reference = full_envelope(genuine.envelope)
            for record, env, _valid in group:
                other = full_envelope(env)
                if other != reference:
                    fields = diff_fields(reference, other) or ["hash"]
                    where = f"{record.topic}[{record.partition}]@{record.offset}" if record else "a message"
                    problems.append(Problem(source, _position(other), event_id, "conflicting-copy",
                                            f"message at {where} "
                                            f"differs from another copy of the same event in: {', '.join(fields)}"))
        chosen.append(genuine.envelope)
        valid_of[event_id] = any(g.valid for g in group)
    chosen.sort(key=_position)
    prev_hash = GENESIS_HASH
    last_position = 0
    for env in chosen:
        position = _position(env)
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
    covered = [int(cp["tree_size"]) for cp in checkpoints if int(cp["tree_size"]) <= len(leaves)]
    # Hash the tree once, in batch, up to the largest checkpoint; each checkpoint root and the
    # consistency proof then reuse its perfect subtrees.
    tree = MerkleTree(leaves[:max(covered)] if covered else [])
    roots: dict[int, bytes] = {}
    for cp in checkpoints:
        size = int(cp["tree_size"])
        position = int(cp.get("position") or 0)
        if size > len(leaves):
            problems.append(Problem(source, position, None, "checkpoint",
                                    f"signed checkpoint covers {size} events but the topic holds "
                                    f"{len(leaves)}: events were removed"))
            continue
        last = events[size - 1]
        roots[size] = tree.root(size) if size > 0 else EMPTY_ROOT
        if last.get("hash") != cp.get("chain_head") or _position(last) != position:
            problems.append(Problem(source, _position(last), str(last.get("event_id")),
                                    "checkpoint", f"event {size} of the chain is not the signed chain head "
                                    f"{str(cp.get('chain_head'))[:16]}… at position {position}"))
        elif roots[size].hex() != cp.get("root"):
            problems.append(Problem(source, position, str(last.get("event_id")), "checkpoint",
                                    f"Merkle root over the first {size} events differs from the signed root"))
    valid = [cp for cp in checkpoints if int(cp["tree_size"]) in roots]
    if len(valid) >= 2:
        old, new = valid[0], valid[-1]
        m, n = int(old["tree_size"]), int(new["tree_size"])
        proof = tree.consistency_proof(m, n)
        if not verify_consistency(m, n, bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), proof):
            problems.append(Problem(source, _int(new.get("position")), None, "consistency",
                                    f"checkpoint of size {n} is not an extension of the one of size {m}"))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Verification allocates a tuple and a dict per event, none of them in a cycle; left on, the
    cyclic collector would run every few hundred events and re-traverse the growing history
    (about a sixth of the run). Restored afterwards, and only if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# Each link's hash depends on its own bytes only, so it can be checked in worker processes
# (``processes`` > 1, or VERIFY_PROCESSES); continuity, copies and checkpoints follow here. One
# process is the default: on this 2-core machine, shared, handing the links back to the parent
# measured slower than checking them in it (bench/scale_bench.py prints both).
PARALLEL_FROM_EVENTS = 50_000  # below this, starting workers never repays
CHUNKS_PER_PROCESS = 4
_shared_values: list[bytes] = []  # the messages, inherited by forked workers (not pickled to them)


def _links_of_range(bounds: tuple[int, int]) -> list[tuple[Any, ...] | None]:
    # Plain tuples back to the parent: unpickling a NamedTuple calls its Python ``__new__`` per
    # event, which cost more than the check saved.
    return [None if link is None else tuple(link) for link in check_links(_shared_values[bounds[0]:bounds[1]])]


def parallel_links(values: list[bytes], processes: int) -> list[Any]:
    """``check_links`` of every message, split over ``processes`` forked workers."""
    import multiprocessing

    global _shared_values
    step = max(1, -(-len(values) // (processes * CHUNKS_PER_PROCESS)))
    bounds = [(i, min(i + step, len(values))) for i in range(0, len(values), step)]
    _shared_values = values
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            parts = pool.map(_links_of_range, bounds, chunksize=1)
    finally:
        _shared_values = []
    return [link for part in parts for link in part]


def default_processes(events: int) -> int:
    """VERIFY_PROCESSES for a large history (default 1); always one for a small one."""
    return 1 if events < PARALLEL_FROM_EVENTS else max(1, int(os.environ.get("VERIFY_PROCESSES", "1")))


def verify_records(records: Iterable[Record], public_key: Ed25519PublicKey,
                   processes: int | None = None) -> tuple[Report, History]:
    """Verify chains and checkpoints of every source; return the report and verified history.
    ``processes``: how many check the links' hashes (default: ``default_processes``)."""
    records = list(records)
    workers = default_processes(len(records)) if processes is None else processes
    with _gc_paused():
        links = parallel_links([r.value for r in records], workers) if workers > 1 else None
        return _verify_records(records, public_key, links)


def _verify_records(records: list[Record], public_key: Ed25519PublicKey,
                    links: list[Any] | None) -> tuple[Report, History]:
    problems: list[Problem] = []
    items: dict[str, list[ChainItem]] = {s: [] for s in SOURCES}
    checkpoints: dict[str, list[dict[str, Any]]] = {s: [] for s in SOURCES}
    source_of: dict[str, str] = {}  # topic -> source, split once per topic rather than per message
    count = checked = 0
    for index, record in enumerate(records):
        topic = record.topic
        if topic != "audit.checkpoints":
            source = source_of.get(topic)
            if source is None:
                source = source_of[topic] = topic.split(".")[0]
            raw = record.value
            try:
                if links is None:
                    item = _read_canonical(raw, record)
                else:  # checked in a worker: a link that did not pass is parsed here, as below
                    link = links[index]
                    item = None if link is None else _item_of(link, raw, record)
                if item is None:
                    env, valid = _read_parsed(raw)
            except (UnicodeDecodeError, ValueError):
                problems.append(Problem(source, 0, None, "unreadable",
                                        f"{topic}[{record.partition}]@{record.offset} is not a JSON object"))
                continue
            if item is None:  # outside the try: a malformed position is not "not a JSON object"
                item = _parsed_item(env, valid, record)
            count += 1
            env = item.envelope
            if env.get("source") != source:
                problems.append(Problem(source, item.position, env.get("event_id"), "source",
                                        f"event claims source {env.get('source')!r} on {topic}"))
            bucket = items.get(source)
            if bucket is None:  # not setdefault: that would build a throwaway list per event
                bucket = items[source] = []
            bucket.append(item)
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
            problems.append(Problem(source, _int(data.get("position")), None, "checkpoint-signature",
                                    f"checkpoint of size {data.get('tree_size')} at "
                                    f"{record.topic}[{record.partition}]@{record.offset}: signature invalid"))
        else:
            checkpoints[source].append(data)
    history = History()
    for source in SOURCES:
        events, leaves = _verify_chain(source, items[source], problems)
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



# -- coverage: checkpoints and read models ------------------------------------------------------
def missing_checkpoints(history: History, every: int) -> list[Problem]:
    """Sources with more than ``every`` (``CHECKPOINT_EVERY_EVENTS``) events that no signed
    checkpoint covers: the checkpointer or its publisher is not doing its work (or the broker lost
    the checkpoints), and an outside holder could not detect a rewrite of those events."""
    problems: list[Problem] = []
    for source in SOURCES:
        events = history.events.get(source, [])
        sizes = [int(cp["tree_size"]) for cp in history.checkpoints.get(source, [])
                 if _int(cp.get("tree_size")) <= len(events)]
        covered = max(sizes, default=0)
        uncovered = len(events) - covered
        if uncovered > every:
            first = events[covered]
            problems.append(Problem(source, _position(first), str(first.get("event_id")), "checkpoint-missing",
                                    f"{uncovered} events from position {_position(first)} on are covered by no "
                                    f"signed checkpoint (one is due every {every} events; the last covers "
                                    f"{covered})"))
    return problems


def read_model_problems(read_models: Iterable[tuple[str, Any]], history: History, max_lag: int) -> list[Problem]:
    """Compare every read model's applied positions (``consumer_applied``/``consumer_pending`` in
    each given ``(service, Database)``) with the sources' heads in the verified history. A read
    model more than ``max_lag`` events behind a source, or with events parked as dead letters, is
    a problem naming the read model and the gap: events missing from a read model do not pass."""
    from bisect import bisect_right

    problems: list[Problem] = []
    for service, db in read_models:
        try:
            with db.transaction() as tx:
                heads = tx.all("SELECT consumer, source, head_position FROM consumer_applied")
                pending = tx.all("SELECT consumer, source, COUNT(*) AS n FROM consumer_pending "
                                 "GROUP BY consumer, source")
                parked = tx.all("SELECT consumer, source, COUNT(*) AS n FROM dead_letters GROUP BY consumer, source")
        except Exception:  # noqa: S112 - a store without consumers has no such tables
            continue
        above = {(r["consumer"], r["source"]): int(r["n"]) for r in pending}
        for row in parked:
            problems.append(Problem(str(row["source"]), 0, None, "read-model-dead-letters",
                                    f"{service}/{row['consumer']}: {row['n']} event(s) of {row['source'] or '?'} "
                                    f"parked as dead letters (see `delaktig deadletters list`)"))
        for row in heads:
            source, consumer, head = str(row["source"]), str(row["consumer"]), int(row["head_position"])
            if source not in history.events:
                continue
            positions = [_position(e) for e in history.events[source]]
            behind = len(positions) - bisect_right(positions, head) - above.get((consumer, source), 0)
            if behind > max_lag:
                last = positions[-1] if positions else 0
                problems.append(Problem(source, head + 1, None, "read-model-behind",
                                        f"{service}/{consumer} has applied {source} up to position {head} "
                                        f"(+{above.get((consumer, source), 0)} beyond) but the source's head is "
                                        f"position {last}: {behind} event(s) not applied (allowed lag {max_lag})"))
    return _sort(problems)
