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

import binascii
import gc
import hashlib
import json
import operator
import os
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import Any, NamedTuple, overload

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit.checkpoints import CHECKPOINT_TYPE, SOURCES, signature_valid
from services.audit.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    MerkleTree,
    leaf_hash,
    leaf_hashes,
    node_hash,
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
    """The verified history: per source, envelopes in chain order and their leaf hashes. A source
    verified on the fast path keeps them lazily (``LazyEvents``: envelopes built from the message
    bytes when asked; ``PackedLeaves``: 32 bytes per leaf); one with a problem keeps lists."""

    events: dict[str, Sequence[Envelope]] = field(default_factory=dict)
    leaf_hashes: dict[str, Sequence[bytes]] = field(default_factory=dict)
    checkpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def full(self, source: str) -> list[Envelope]:
        """The complete envelopes of a source in chain order (parsed on first use)."""
        events = self.events.get(source, [])
        if isinstance(events, LazyEvents):
            return events.full()
        return [full_envelope(e) for e in events]

    def index_of(self, source: str, event_id: str) -> int | None:
        events = self.events.get(source, [])
        if isinstance(events, LazyEvents):
            return events.index_of(event_id)
        for i, env in enumerate(events):
            if env["event_id"] == event_id:
                return i
        return None

    def positions(self, source: str) -> list[int]:
        """The positions of a source's events in chain order."""
        events = self.events.get(source, [])
        return events.positions() if isinstance(events, LazyEvents) else [_position(e) for e in events]


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


# -- the parallel path ---------------------------------------------------------------------------
# Every per-event step depends on one message and its neighbour in the same source, so the
# records are cut into ranges and each range is checked on its own (in forked workers that
# inherit the records: nothing is pickled to them): canonical structure, hash = chain hash,
# source = topic, positions strictly increasing and each prev_hash = the previous hash inside the
# range. A worker hands back only compact results per run of one topic (``_Run``): the first and
# last link, the Merkle leaf hashes packed in one bytes object and the event ids' hashes packed in
# an array. The parent checks continuity at the run boundaries; workers then check the event ids'
# uniqueness and the checkpoints' signatures, then hash each source's Merkle tree in aligned
# power-of-two chunks (the root of every checkpoint's prefix inside a chunk with it), and the
# parent folds the chunk roots. A source with any anomaly (or any checkpoint that does not match)
# goes through the step-by-step path above, which writes the problems exactly as it always has.
PARALLEL_FROM_EVENTS = 50_000  # below this, starting workers never repays
CHUNKS_PER_PROCESS = 4
MIN_MERKLE_CHUNK = 1 << 12
_LOW_LEVELS = 5  # tree levels below this (blocks of < 32 leaves) are not kept; hashed on demand
_CHECKPOINTS = "audit.checkpoints"
_shared_records: list[Record] = []  # inherited by forked workers (not pickled to them)
_shared_key: list[Ed25519PublicKey] = []


class _Run(NamedTuple):
    """A worker's result for records ``start:end``, all of one topic (clean or not)."""

    topic: str
    start: int
    end: int
    clean: bool
    first_position: int
    first_prev: bytes
    last_position: int
    last_hash: bytes
    leaves: bytes  # 32 bytes per event: the Merkle leaf hash of its chain hash
    ids: bytes  # array('q') of hash(event_id), for the uniqueness check


def _check_range(bounds: tuple[int, int]) -> tuple[list[_Run], list[int]]:
    """The runs of records ``bounds`` and the indices of the checkpoint records among them."""
    records = _shared_records
    runs: list[_Run] = []
    checkpoints: list[int] = []
    for topic, i, at in _topic_runs(records, *bounds):
        if topic == _CHECKPOINTS:
            checkpoints.extend(range(i, at))
        else:
            runs.append(_check_run(topic, i, at, list(map(_value_of, records[i:at]))))
    return runs, checkpoints


def _topic_runs(records: list[Record], start: int, end: int) -> list[tuple[str, int, int]]:
    """``(topic, first, end)`` of each run of one topic in ``records[start:end]``."""
    out: list[tuple[str, int, int]] = []
    at = start
    for topic, group in groupby(map(_topic_of, records[start:end])):  # all in C: one run per topic change
        size = len(list(group))
        out.append((topic, at, at + size))
        at += size
    return out


def _ranges(count: int, workers: int) -> list[tuple[int, int]]:
    """``range(count)`` cut into tasks: one for one process, else ``CHUNKS_PER_PROCESS`` per process
    (so that whoever is faster takes more)."""
    step = max(1, -(-count // (workers * CHUNKS_PER_PROCESS))) if workers > 1 else max(1, count)
    return [(i, min(i + step, count)) for i in range(0, count, step)]


_topic_of: Any = operator.attrgetter("topic")
_value_of: Any = operator.attrgetter("value")
_partition_of: Any = operator.attrgetter("partition")


def _check_run(topic: str, start: int, end: int, values: list[bytes]) -> _Run:
    """One run of a topic's messages: each canonical (or genuine by the reference definition),
    hash = chain hash, source = the topic's, positions strictly increasing, links unbroken."""
    source = topic.split(".")[0]
    expected = source.encode()
    unclean = _Run(topic, start, end, False, 0, b"", 0, b"", b"", b"")
    if source not in _SOURCE_ORDER:
        return unclean
    head_match, tail_match, sha256, hexlify = _HEAD.match, _TAIL.fullmatch, hashlib.sha256, binascii.hexlify
    cut, resume, position_key = _HASH_MEMBER_FROM_END, _OCCURRED_AT_LEN, _POSITION_KEY
    leaves = bytearray()
    ids = array("q")
    add_id = ids.append
    first_position = last_position = 0
    first_prev = last_hash = b""
    for raw in values:
        head = head_match(raw)
        e = head.end() if head is not None else 0
        tail = None
        if head is not None and raw.find(b"\\", 0, e + 2) < 0:
            q = raw.rfind(position_key, e)
            tail = tail_match(raw, q) if q > 0 else None
            if tail is not None and raw.find(b"\\", q) >= 0:
                tail = None
        if tail is None or head is None:  # not the fast reader's shape: the reference definition decides
            link = _parsed_link(raw, expected)
            if link is None or (last_hash and (link[2] != last_hash or link[0] <= last_position)):
                return unclean
            position, eid, prev, claimed, digest = link
            if not last_hash:
                first_position, first_prev = position, prev
            leaves += sha256(b"\x00" + digest).digest()
            add_id(hash(eid))
            last_hash, last_position = claimed, position
            continue
        position_text, prev, claimed_source = tail.groups()
        position = int(position_text)
        if claimed_source != expected:
            return unclean
        if last_hash:
            if prev != last_hash or position <= last_position:
                return unclean
        else:
            first_position, first_prev = position, prev
        h = sha256(prev)
        h.update(raw[:e - cut])
        h.update(raw[e - resume:])
        digest = h.digest()
        claimed = head.group(4)
        if hexlify(digest) != claimed:
            return unclean
        leaves += sha256(b"\x00" + digest).digest()
        add_id(hash(head.group(2)))
        last_hash, last_position = claimed, position
    return _Run(topic, start, end, True, first_position, first_prev, last_position, last_hash, bytes(leaves),
                ids.tobytes())


def _parsed_link(raw: bytes, source: bytes) -> tuple[int, bytes, bytes, bytes, bytes] | None:
    """``(position, event id, prev_hash, hash, digest)`` of a message that is not in the fast
    reader's shape but whose hash is right by the reference definition (parse and re-encode), with
    well-formed fields and the topic's source; else None (the source then goes step by step)."""
    try:
        env, valid = _read_parsed(raw)
        position, event_id = env.get("position"), env.get("event_id")
        prev, claimed = env.get("prev_hash"), env.get("hash")
        if not (valid and isinstance(position, int) and not isinstance(position, bool) and isinstance(event_id, str)
                and isinstance(prev, str) and isinstance(claimed, str) and env.get("source") == source.decode()):
            return None
        digest = _hash_bytes(claimed)
        if len(digest) != 32 or digest.hex() != claimed:
            return None
        return position, event_id.encode(), prev.encode(), claimed.encode(), digest
    except (UnicodeError, ValueError):
        return None


def _ids_unique(parts: list[bytes]) -> bool:
    """Whether the event ids (as hashes) of a source are distinct; a hash collision counts as a
    copy, which sends the source through the step-by-step check (exact, so never wrong)."""
    ids = array("q")
    for part in parts:
        ids.frombytes(part)
    return len(set(ids)) == len(ids)


def _read_checkpoints(indices: list[int]) -> list[tuple[int, dict[str, Any] | None]]:
    """For each checkpoint record: 0 unreadable, 1 not a checkpoint, 2 signature invalid, 3 good;
    with the parsed checkpoint."""
    out: list[tuple[int, dict[str, Any] | None]] = []
    key = _shared_key[0]
    for index in indices:
        try:
            data = json.loads(_shared_records[index].value)
        except (UnicodeDecodeError, ValueError):
            out.append((0, None))
            continue
        if data.get("type") != CHECKPOINT_TYPE or str(data.get("source")) not in SOURCES:
            out.append((1, data))
        elif not signature_valid(key, data):
            out.append((2, data))
        else:
            out.append((3, data))
    return out


def _merkle_chunk(task: tuple[bytes, list[int], list[tuple[int, Any, int]]]) -> tuple[list[bytes], list[bytes]]:
    """The tree levels (from ``_LOW_LEVELS`` up) of one aligned chunk of leaf hashes, packed, and
    for each checkpoint that ends in it (``r`` leaves into the chunk, the record of its last event,
    its chain head and position): the root of the chunk's first ``r`` leaves, or b"" when the
    chain head or the position is not that event's."""
    leaves, sizes, heads = task
    tree = MerkleTree([leaves[k:k + 32] for k in range(0, len(leaves), 32)])
    sha256 = hashlib.sha256
    tails = []
    for r, (index, head, position) in zip(sizes, heads, strict=True):
        try:
            good = (isinstance(head, str) and bytes.fromhex(head).hex() == head
                    and sha256(b"\x00" + bytes.fromhex(head)).digest() == leaves[32 * (r - 1):32 * r])
        except ValueError:
            good = False
        if good:
            raw = _shared_records[index].value
            tail = _TAIL.fullmatch(raw, max(0, raw.rfind(_POSITION_KEY)))
            good = (int(tail.group(1)) if tail else _position(_light(raw))) == position
        tails.append(tree.root(r) if good else b"")
    return [b"".join(level) for level in tree.levels[_LOW_LEVELS:]], tails


class PackedTree:
    """A source's Merkle tree from packed leaf hashes and the packed levels of its chunks: levels
    below ``_LOW_LEVELS`` are hashed from the leaves when a proof needs them."""

    def __init__(self, leaves: bytes, levels: dict[int, bytes]) -> None:
        self.leaves = leaves
        self.size = len(leaves) // 32
        self.levels = levels

    def block(self, level: int, index: int) -> bytes:
        """``MTH`` of the perfect block ``index`` of ``2**level`` leaves."""
        if level >= _LOW_LEVELS:
            at = 32 * index
            return self.levels[level][at:at + 32]
        n = 1 << level
        return MerkleTree([self.leaves[k:k + 32] for k in range(32 * n * index, 32 * n * (index + 1), 32)]).root()

    def prefix_blocks(self, size: int) -> list[bytes]:
        """The perfect blocks of ``D[0:size]``, largest first (RFC 6962 splits them off in turn)."""
        blocks = []
        at = 0
        for j in range(size.bit_length() - 1, -1, -1):
            if size >> j & 1:
                blocks.append(self.block(j, at >> j))
                at += 1 << j
        return blocks

    def subtree(self, start: int, end: int) -> bytes:
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        first = 1 << (n.bit_length() - 1)
        if start % first:
            k = 1 << ((n - 1).bit_length() - 1)
            return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))
        blocks: list[bytes] = []
        at = start
        for j in range(first.bit_length() - 1, -1, -1):
            if n >> j & 1:
                blocks.append(self.block(j, at >> j))
                at += 1 << j
        return _fold(blocks, blocks.pop())

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return MerkleTree.consistency_proof(self, old_size, new_size)  # type: ignore[arg-type]


def _fold(blocks: list[bytes], acc: bytes) -> bytes:
    """``H(b1, H(b2, … H(bn, acc)))``: the RFC 6962 node of perfect blocks followed by ``acc``."""
    sha256 = hashlib.sha256
    while blocks:
        acc = sha256(b"\x01" + blocks.pop() + acc).digest()
    return acc


class PackedLeaves(Sequence[bytes]):
    """A source's Merkle leaf hashes, packed 32 bytes each (a list-like view)."""

    def __init__(self, packed: bytes) -> None:
        self.packed = packed

    def __len__(self) -> int:
        return len(self.packed) // 32

    @overload
    def __getitem__(self, index: int) -> bytes: ...
    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...
    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        p = self.packed
        if isinstance(index, slice):
            return [p[32 * k:32 * k + 32] for k in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return p[32 * index:32 * index + 32]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedLeaves):
            return self.packed == other.packed
        return isinstance(other, Sequence) and len(other) == len(self) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def _light(raw: bytes) -> Envelope:
    """The light envelope of a verified canonical message (the fields the callers read; the rest
    is parsed on demand by ``full_envelope``)."""
    head = _HEAD.match(raw)
    e = head.end() if head else 0
    tail = _TAIL.fullmatch(raw, raw.rfind(_POSITION_KEY, e)) if head else None
    if head is None or tail is None:  # not from the fast path after all: parse it whole
        return json.loads(raw)  # type: ignore[no-any-return]
    aggregate_id, event_id, event_type, hx = head.groups()
    position, prev, source = tail.groups()
    return {"event_id": event_id.decode(), "event_type": event_type.decode(), "aggregate_id": aggregate_id.decode(),
            "position": int(position), "prev_hash": prev.decode(), "hash": hx.decode(), "source": source.decode(),
            "_raw": raw}


class LazyEvents(Sequence[Envelope]):
    """A source's verified events in chain order, kept as the record ranges they came from; each
    envelope is built from its bytes when asked (the verify path builds none)."""

    def __init__(self, records: list[Record], runs: list[tuple[int, int]]) -> None:
        self.records = records
        self.runs = runs
        self.offsets: list[int] = []
        total = 0
        for start, end in runs:
            self.offsets.append(total)
            total += end - start
        self.size = total
        self._ids: dict[str, int] | None = None
        self._positions: list[int] | None = None

    def __len__(self) -> int:
        return self.size

    def record_index(self, index: int) -> int:
        """Where event ``index`` is in the records."""
        if index < 0:
            index += self.size
        if not 0 <= index < self.size:
            raise IndexError(index)
        run = bisect_right(self.offsets, index) - 1
        return self.runs[run][0] + index - self.offsets[run]

    def raw(self, index: int) -> bytes:
        return self.records[self.record_index(index)].value

    def raws(self) -> Iterator[bytes]:
        records = self.records
        for start, end in self.runs:
            for k in range(start, end):
                yield records[k].value

    @overload
    def __getitem__(self, index: int) -> Envelope: ...
    @overload
    def __getitem__(self, index: slice) -> list[Envelope]: ...
    def __getitem__(self, index: int | slice) -> Envelope | list[Envelope]:
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(self.size))]
        return _light(self.raw(index))

    def __iter__(self) -> Iterator[Envelope]:
        return map(_light, self.raws())

    def full(self) -> list[Envelope]:
        return [json.loads(raw) for raw in self.raws()]

    def index_of(self, event_id: str) -> int | None:
        if self._ids is None:
            match = _HEAD.match
            self._ids = {}
            for k, raw in enumerate(self.raws()):
                head = match(raw)
                self._ids.setdefault(head.group(2).decode() if head else "", k)
        return self._ids.get(event_id)

    def positions(self) -> list[int]:
        if self._positions is None:
            self._positions = [_position(e) for e in self]
        return self._positions

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyEvents):
            return list(self.raws()) == list(other.raws())
        return isinstance(other, Sequence) and len(other) == self.size and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def default_processes(events: int) -> int:
    """VERIFY_PROCESSES, else every core, for a large history; always one for a small one."""
    if events < PARALLEL_FROM_EVENTS:
        return 1
    return max(1, int(os.environ.get("VERIFY_PROCESSES") or os.cpu_count() or 1))


@contextmanager
def _workers(records: list[Record], public_key: Ed25519PublicKey, processes: int) -> Iterator[Any]:
    """``map`` over this process and ``processes - 1`` forked helpers that inherit the records
    (in this process alone for 1): see ``shared_map``."""
    global _shared_records
    _shared_records, _shared_key[:] = records, [public_key]
    try:
        yield partial(shared_map, processes - 1) if processes > 1 else (lambda f, tasks: [f(t) for t in tasks])
    finally:
        _shared_records, _shared_key[:] = [], []


def shared_map(helpers: int, f: Any, tasks: list[Any]) -> list[Any]:
    """``[f(t) for t in tasks]`` shared by this process and ``helpers`` processes forked for it:
    each takes the next task from one shared counter until none is left, so whoever is faster
    takes more. The helpers inherit the tasks and the records (nothing is pickled to them) and
    send back only their results. This process works on its own objects: a forked helper copies
    every page whose reference counts it touches, so this process's share costs no copy."""
    import multiprocessing

    if len(tasks) <= 1:
        return [f(t) for t in tasks]
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    helpers_at: list[tuple[Any, Any]] = []
    for _ in range(min(helpers, len(tasks) - 1)):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_helper, args=(counter, f, tasks, send), name="verify-helper", daemon=True)
        process.start()
        send.close()
        helpers_at.append((process, receive))
    try:
        done = dict(_take_tasks(counter, f, tasks))
        for process, receive in helpers_at:
            try:
                ok, value = receive.recv()
            except EOFError:
                process.join()
                raise RuntimeError(f"a verify helper stopped (exit code {process.exitcode})") from None
            if not ok:
                raise RuntimeError(f"a verify helper failed: {value}")
            done.update(value)
    finally:
        for process, receive in helpers_at:
            receive.close()
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    return [done[i] for i in range(len(tasks))]


def _helper(counter: Any, f: Any, tasks: list[Any], send: Any) -> None:
    """A forked helper of ``shared_map``: its share of the tasks, then the results (or the error)."""
    try:
        result: tuple[bool, Any] = (True, _take_tasks(counter, f, tasks))
    except BaseException as error:  # reported to the parent, which raises it
        result = (False, f"{type(error).__name__}: {error}")
    send.send(result)
    send.close()


def _take_tasks(counter: Any, f: Any, tasks: list[Any]) -> list[tuple[int, Any]]:
    """Run the next untaken task of ``tasks`` until none is left; ``(index, result)`` of each."""
    out: list[tuple[int, Any]] = []
    while True:
        with counter.get_lock():
            i = counter.value
            counter.value = i + 1
        if i >= len(tasks):
            return out
        out.append((i, f(tasks[i])))


_UNREAD_POSITION = (1 << 62) - 1  # a message whose position the quick read cannot find: after the rest
_POSITION_AT = re.compile(rb'.*,"position":(0|[1-9][0-9]{0,17}),', re.DOTALL)


def _positions_of(bounds: tuple[int, int]) -> bytes:
    """The chain position of each record ``bounds``, as read where a canonical message has it
    (``_UNREAD_POSITION`` where it is not found), packed as array('q')."""
    start, end = bounds
    unread, out = _UNREAD_POSITION, array("q")
    for match in map(_POSITION_AT.match, map(_value_of, _shared_records[start:end])):
        out.append(int(match[1]) if match is not None else unread)
    return out.tobytes()


def _in_chain_order(records: list[Record], map_: Any, workers: int) -> list[Record]:
    """The records with each event topic's messages in chain order. A topic has several
    partitions and each holds its own part of the chain in order, so read partition by partition
    the chain is interleaved, while the fast path checks links between neighbours. Runs of one
    topic are sorted by position on their own (stable; a message without a readable position goes
    to its run's end: the fast path then refuses that source and the step-by-step check, which
    needs no order, decides). Checkpoints keep their order; nothing is read for a history whose
    topics have one partition each."""
    partitioned = [(a, b) for topic, a, b in _topic_runs(records, 0, len(records))
                   if topic != _CHECKPOINTS and len(set(map(_partition_of, records[a:b]))) > 1]
    if not partitioned:
        return records
    positions = array("q")
    for part in map_(_positions_of, _ranges(len(records), workers)):
        positions.frombytes(part)
    key = positions.__getitem__
    order: list[int] = []
    for a, b in partitioned:
        order.extend(range(len(order), a))
        order.extend(sorted(range(a, b), key=key))
    order.extend(range(len(order), len(records)))
    return [records[i] for i in order]


def verify_records(records: Iterable[Record], public_key: Ed25519PublicKey,
                   processes: int | None = None) -> tuple[Report, History]:
    """Verify chains and checkpoints of every source; return the report and verified history.
    ``processes``: how many share the per-event work (default: ``default_processes``)."""
    records = list(records)
    workers = default_processes(len(records)) if processes is None else max(1, processes)
    with _gc_paused(), _workers(records, public_key, workers) as map_:
        records[:] = _in_chain_order(records, map_, workers)  # the list the helpers inherit
        return _verify_records(records, public_key, workers, map_)


def _verify_records(records: list[Record], public_key: Ed25519PublicKey, workers: int,
                    map_: Any) -> tuple[Report, History]:
    problems: list[Problem] = []
    # 1. Every range of records, on its own.
    parts = map_(_check_range, _ranges(len(records), workers))
    runs: dict[str, list[_Run]] = {}
    checkpoint_indices: list[int] = []
    for part_runs, part_checkpoints in parts:
        for run in part_runs:
            runs.setdefault(run.topic, []).append(run)
        checkpoint_indices += part_checkpoints
    slow: set[str] = set()  # sources that take the step-by-step path
    for topic, topic_runs in runs.items():
        source = topic.split(".")[0]
        prev, position = GENESIS_HASH.encode(), 0
        for run in topic_runs:
            if not run.clean or run.first_prev != prev or run.first_position <= position:
                slow.add(source)
                break
            prev, position = run.last_hash, run.last_position
    fast = [t for t in runs if t.split(".")[0] not in slow]
    if len({t.split(".")[0] for t in runs}) != len(runs):  # two topics of one source (only in an export)
        slow.update(t.split(".")[0] for t in runs)
        fast = []
    # 2. Event ids and checkpoint signatures.
    share = max(1, -(-len(checkpoint_indices) // (workers * CHUNKS_PER_PROCESS)))
    batches = [checkpoint_indices[i:i + share] for i in range(0, len(checkpoint_indices), share)]
    tasks: list[tuple[str, Any]] = [("ids", [r.ids for r in runs[t]]) for t in fast]
    tasks += [("checkpoints", batch) for batch in batches]
    results = map_(_second_stage, tasks)
    for topic, unique in zip(fast, results, strict=False):
        if not unique:
            slow.add(topic.split(".")[0])
    checkpoints: dict[str, list[dict[str, Any]]] = {s: [] for s in SOURCES}
    read = [item for batch in results[len(fast):] for item in batch]
    for index, (status, data) in zip(checkpoint_indices, read, strict=True):
        record = records[index]
        if status == 0:
            problems.append(Problem("audit", 0, None, "unreadable", f"checkpoint at offset {record.offset}"))
            continue
        assert data is not None
        source = str(data.get("source"))
        if status == 1:
            problems.append(Problem(source, 0, None, "checkpoint", f"offset {record.offset}: not a checkpoint"))
        elif status == 2:
            problems.append(Problem(source, _int(data.get("position")), None, "checkpoint-signature",
                                    f"checkpoint of size {data.get('tree_size')} at "
                                    f"{record.topic}[{record.partition}]@{record.offset}: signature invalid"))
        else:
            checkpoints[source].append(data)
    # 3. Merkle trees of the clean sources, chunk by chunk, and their checkpoints.
    history = History()
    fast_sources: dict[str, tuple[LazyEvents, PackedLeaves]] = {}
    plans = []
    for topic in fast:
        source = topic.split(".")[0]
        if source in slow:
            continue
        leaves = b"".join(r.leaves for r in runs[topic])
        events = LazyEvents(records, [(r.start, r.end) for r in runs[topic]])
        plan = _merkle_plan(events, leaves, checkpoints[source], workers)
        if plan is None:
            slow.add(source)
            continue
        plans.append((source, events, leaves, plan))
    chunk_tasks = [(leaves[32 * a:32 * b], sizes, heads) for _s, _e, leaves, (_c, chunks, _cps) in plans
                   for a, b, sizes, heads in chunks]
    chunk_results = iter(map_(_merkle_chunk, chunk_tasks))
    for source, events, leaves, (chunk, chunks, cps) in plans:
        done = [next(chunk_results) for _ in chunks]
        if _checkpoints_hold(leaves, chunk, done, cps):
            fast_sources[source] = (events, PackedLeaves(leaves))
        else:
            slow.add(source)
    # 4. Anything else, step by step, as always.
    items: dict[str, list[ChainItem]] = {}
    count = sum(r.end - r.start for topic in fast for r in runs[topic] if topic.split(".")[0] not in slow)
    if slow:
        count += _read_slowly(records, slow, items, problems)
    for source in SOURCES:
        history.checkpoints[source] = checkpoints[source]
        if source in fast_sources:
            history.events[source], history.leaf_hashes[source] = fast_sources[source]
            continue
        events_list, leaf_list = _verify_chain(source, items.get(source, []), problems)
        history.events[source] = events_list
        history.leaf_hashes[source] = leaf_list
        _verify_checkpoints(source, checkpoints[source], events_list, leaf_list, problems)
    problems = _sort(problems)
    return Report(not problems, count, len(checkpoint_indices), problems), history


def _second_stage(task: tuple[str, Any]) -> Any:
    kind, arg = task
    return _ids_unique(arg) if kind == "ids" else _read_checkpoints(arg)


_Plan = tuple[int, list[tuple[int, int, list[int], list[tuple[int, Any, int]]]], list[tuple[int, int, dict[str, Any]]]]


def _merkle_plan(events: LazyEvents, leaves: bytes, checkpoints: list[dict[str, Any]], workers: int) -> _Plan | None:
    """The aligned chunks of a clean source's tree and, per chunk, the checkpoint prefixes that end
    in it; None when a checkpoint is not one the fast path can decide (the step-by-step check then
    decides and reports)."""
    n = len(leaves) // 32
    try:
        checkpoints.sort(key=lambda c: int(c["tree_size"]))
        sizes = [int(cp["tree_size"]) for cp in checkpoints]
        positions = [int(cp.get("position") or 0) for cp in checkpoints]
    except (KeyError, TypeError, ValueError):
        return None
    if any(not 0 < size <= n for size in sizes):
        return None
    share = -(-n // (workers * CHUNKS_PER_PROCESS))
    chunk = max(MIN_MERKLE_CHUNK, 1 << _LOW_LEVELS, 1 << max(0, (share - 1).bit_length()))
    bounds = [(a, min(a + chunk, n)) for a in range(0, n, chunk)]
    asked: list[list[int]] = [[] for _ in bounds]
    heads: list[list[tuple[int, Any, int]]] = [[] for _ in bounds]
    cps = []
    for cp, size, position in zip(checkpoints, sizes, positions, strict=True):
        c = (size - 1) // chunk
        cps.append((size, c, cp))
        asked[c].append(size - c * chunk)
        heads[c].append((events.record_index(size - 1), cp.get("chain_head"), position))
    return chunk, [(a, b, s, h) for (a, b), s, h in zip(bounds, asked, heads, strict=True)], cps


def _checkpoints_hold(leaves: bytes, chunk: int,
                      done: list[tuple[list[bytes], list[bytes]]], cps: list[tuple[int, int, dict[str, Any]]]) -> bool:
    """Every checkpoint's Merkle root (its chain head and position were checked with its chunk),
    and the consistency proof between the first and the last; False at the first that fails."""
    sha256 = hashlib.sha256
    top = chunk.bit_length() - 1
    levels: dict[int, bytes] = {}
    for j in range(_LOW_LEVELS, top + 1):
        levels[j] = b"".join(levels_of[j - _LOW_LEVELS] if j - _LOW_LEVELS < len(levels_of) else b""
                             for levels_of, _ in done)
    level = [levels[top][k:k + 32] for k in range(0, len(levels[top]), 32)] if top >= _LOW_LEVELS else []
    j = top
    while len(level) > 1:
        pairs = iter(level)
        level = [sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        j += 1
        levels[j] = b"".join(level)
    tree = PackedTree(leaves, levels)
    tails = [iter(tails_of) for _, tails_of in done]
    before: dict[int, list[bytes]] = {}  # the perfect blocks before each chunk, once per chunk
    for _size, c, cp in cps:
        tail = next(tails[c])
        if c not in before:
            before[c] = tree.prefix_blocks(c * chunk)
        if not tail or _fold(list(before[c]), tail).hex() != cp.get("root"):
            return False
    if len(cps) >= 2:
        (m, _, old), (n, _, new) = cps[0], cps[-1]
        proof = tree.consistency_proof(m, n)
        if not verify_consistency(m, n, bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), proof):
            return False
    return True


def _read_slowly(records: list[Record], slow: set[str], items: dict[str, list[ChainItem]],
                 problems: list[Problem]) -> int:
    """Every event message of the ``slow`` sources as a chain item (parsed whole where the fast
    reader does not take it), with the problems of unreadable messages and foreign sources."""
    source_of: dict[str, str] = {}  # topic -> source, split once per topic rather than per message
    count = 0
    for record in records:
        topic = record.topic
        if topic == _CHECKPOINTS:
            continue
        source = source_of.get(topic)
        if source is None:
            source = source_of[topic] = topic.split(".")[0]
        if source not in slow:
            continue
        raw = record.value
        try:
            item = _read_canonical(raw, record)
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
    return count


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


def _compare_sequences(source: str, store: list[Envelope], kafka: Sequence[Envelope]) -> list[Problem]:
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
            positions = history.positions(source)
            behind = len(positions) - bisect_right(positions, head) - above.get((consumer, source), 0)
            if behind > max_lag:
                last = positions[-1] if positions else 0
                problems.append(Problem(source, head + 1, None, "read-model-behind",
                                        f"{service}/{consumer} has applied {source} up to position {head} "
                                        f"(+{above.get((consumer, source), 0)} beyond) but the source's head is "
                                        f"position {last}: {behind} event(s) not applied (allowed lag {max_lag})"))
    return _sort(problems)
