"""The verifier's fast paths agree with the reference definitions: the canonical reader with a full
parse and re-canonicalisation, the batch chain check with the step-by-step one, and the batch-built
Merkle tree with RFC 6962 computed naively. No broker or database needed."""

from __future__ import annotations

import gc
import hashlib
import json
import random
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import services.audit.verify as verify
from services.audit.checkpoints import sign_checkpoint
from services.audit.merkle import MerkleAccumulator, MerkleTree, leaf_hash, leaf_hashes, verify_consistency
from services.audit.verify import Problem, Record, full_envelope, read_event, verify_records
from shared.envelope import GENESIS_HASH, Envelope, encode, event_id_for, seal

LIGHT_KEYS = ("event_id", "event_type", "aggregate_id", "position", "prev_hash", "hash", "source")


# -- naive RFC 6962 over leaf hashes -------------------------------------------------------------
def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return hashlib.sha256(b"\x01" + mth(hashes[:k]) + mth(hashes[k:])).digest()


def path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _k(len(hashes))
    if m < k:
        return [*path(m, hashes[:k]), mth(hashes[k:])]
    return [*path(m - k, hashes[k:]), mth(hashes[:k])]


def subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    if m == len(hashes):
        return [] if complete else [mth(hashes)]
    k = _k(len(hashes))
    if m <= k:
        return [*subproof(m, hashes[:k], complete), mth(hashes[k:])]
    return [*subproof(m - k, hashes[k:], False), mth(hashes[:k])]


def test_merkle_tree_matches_rfc6962() -> None:
    hashes = leaf_hashes(i.to_bytes(2, "big") for i in range(41))
    tree = MerkleTree(hashes)
    for end in range(len(hashes) + 1):
        assert tree.root(end) == mth(hashes[:end])
        for start in range(end + 1):  # unaligned ranges too (the definition's fallback)
            assert tree.subtree(start, end) == mth(hashes[start:end]), (start, end)
        for index in range(end):
            assert tree.inclusion_proof(index, end) == path(index, hashes[:end])
        for m in range(1, end):
            proof = tree.consistency_proof(m, end)
            assert proof == subproof(m, hashes[:end], True)
            assert verify_consistency(m, end, mth(hashes[:m]), mth(hashes[:end]), proof)
    with pytest.raises(ValueError):
        tree.subtree(0, len(hashes) + 1)
    acc = MerkleAccumulator()
    for h in hashes:
        acc.add_leaf_hash(h)
        assert acc.root() == tree.root(acc.size)


# -- envelopes -----------------------------------------------------------------------------------
def _chain(source: str, n: int, first: int = 1) -> list[Envelope]:
    """``n`` sealed envelopes with the awkward content real ones have: non-ASCII, quotes and
    backslashes in free text and in head fields, a missing department."""
    head, out = GENESIS_HASH, []
    for i in range(1, n + 1):
        agg = f"agg-{source}-{i}"
        env = seal({
            "event_id": event_id_for(source, agg, 1), "event_type": "JobDescriptionContributed",
            "schema_version": 1, "source": source, "aggregate_id": agg, "aggregate_version": 1,
            "position": first + i - 1, "occurred_at": f"2026-03-02T09:00:{i % 60:02d}.000000Z",
            "department": [None, "socialförvaltningen", "kultur"][i % 3],
            "actor": {"id": ["p1", "Åsa", 'q"uote', "back\\slash"][i % 4], "role": "participant"},
            "payload": {"text": ['plain', 'say "hi"', "C:\\temp", "smörgås ✓", "line\nbreak"][i % 5], "n": i},
        }, head)
        head = env["hash"]
        out.append(env)
    return out


def _variants(env: Envelope) -> dict[str, bytes]:
    """Messages that are not the canonical encoding of a correctly sealed envelope."""
    raw = encode(env)

    def rehash(data: bytes, prev: bytes = env["prev_hash"].encode()) -> bytes:
        """The hash member set to the hash of the message's own bytes without it (as a forger would)."""
        member = f'"hash":"{env["hash"]}",'.encode()
        body = data.replace(member, b"")
        return data.replace(env["hash"].encode(), hashlib.sha256(prev + body).hexdigest().encode())

    moved = dict(env)
    moved["actor"] = {**env["actor"], "hash": moved.pop("hash")}
    edited = json.loads(raw)
    edited["payload"]["n"] = -1
    return {
        "edited": encode(edited),
        "hash moved into actor": encode(moved),
        "leading zero position": rehash(raw.replace(f'"position":{env["position"]},'.encode(),
                                                    f'"position":0{env["position"]},'.encode())),
        "member after source": rehash(raw[:-1] + b',"zz":1}'),
        "space in head": rehash(raw.replace(b'"aggregate_id":', b'"aggregate_id": ')),
        "uppercase hash": raw.replace(env["hash"].encode(), env["hash"].upper().encode()),
        "not ascii prev_hash": rehash(raw.replace(env["prev_hash"].encode(), "é".encode() * 32), "é".encode() * 32),
        "backslash in source": rehash(raw[:-2] + b'\\\\"}'),
    }


def test_canonical_reader_agrees_with_full_parse() -> None:
    taken = 0
    for env in _chain("recruitments", 24):
        raw = encode(env)
        item = verify._read_canonical(raw)
        parsed, valid = verify._read_parsed(raw)
        assert valid and parsed == env
        if item is not None:
            taken += 1
            light = item.envelope
            assert {k: light[k] for k in LIGHT_KEYS} == {k: env[k] for k in LIGHT_KEYS}
            assert full_envelope(light) == env
            assert item[:6] == (env["position"], env["event_id"], env["prev_hash"], env["hash"],
                                bytes.fromhex(env["hash"]), True)
        # Exactly a backslash (an escaped quote or backslash) in the head keeps it off the fast path.
        assert (item is None) == (b"\\" in raw[:raw.index(b'"occurred_at"')])
        assert read_event(raw) == ((item[6], True) if item else (env, True))
    assert taken >= 12
    for env in _chain("matching", 6):
        for name, raw in _variants(env).items():
            assert verify._read_canonical(raw) is None, name
            try:
                _, valid = read_event(raw)
            except ValueError:  # the leading zero is not JSON: reported as unreadable
                assert name == "leading zero position"
                continue
            # A forger's hash over non-canonical bytes does not verify: the hash is defined over
            # the canonical encoding of the content, whatever bytes carried it. (A member added
            # after "source", or an escaped backslash in it, leaves the message canonical and its
            # hash right for its forged content; the next event's link is what catches those.)
            assert not valid or name in ("member after source", "backslash in source"), name


# -- whole histories -----------------------------------------------------------------------------
def _records(key: Ed25519PrivateKey) -> tuple[list[Record], dict[str, list[Envelope]]]:
    chains = {"recruitments": _chain("recruitments", 25), "matching": _chain("matching", 7)}
    records = [Record(f"{s}.events", 0, i, None, encode(e)) for s, envs in chains.items() for i, e in enumerate(envs)]
    offset = 0
    for source, envs in chains.items():
        acc = MerkleAccumulator()
        for i, env in enumerate(envs, start=1):
            acc.add_leaf_hash(leaf_hash(bytes.fromhex(env["hash"])))
            if i % 10 == 0 or i == len(envs):
                cp = sign_checkpoint(key, source, i, env["position"], env["hash"], acc.root().hex())
                records.append(Record("audit.checkpoints", 0, offset, None, encode(cp)))
                offset += 1
    return records, chains


def _problems(records: list[Record], key: Ed25519PrivateKey, processes: int = 1) -> list[tuple[Any, ...]]:
    report, _ = verify_records(records, key.public_key(), processes=processes)
    return [(p.source, p.position, p.event_id, p.kind, p.detail) for p in report.problems]


@pytest.mark.parametrize("gc_on", [True, False])
def test_any_message_order_and_exact_copies_verify(gc_on: bool) -> None:
    key = Ed25519PrivateKey.generate()
    records, chains = _records(key)
    shuffled = list(records)
    random.Random(7).shuffle(shuffled)  # partitions interleave; positions still order the chain
    shuffled.append(shuffled[3])  # an exact copy of a message (a redelivery)
    (gc.enable if gc_on else gc.disable)()
    try:
        report, history = verify_records(shuffled, key.public_key())
        assert gc.isenabled() == gc_on  # the collector is left as it was found
    finally:
        gc.enable()
    assert report.ok, report.first
    assert (report.events_checked, report.checkpoints_checked) == (33, 4)
    for source, envs in chains.items():
        assert [e["event_id"] for e in history.events[source]] == [e["event_id"] for e in envs]
        assert history.full(source) == envs
        assert history.leaf_hashes[source] == [leaf_hash(bytes.fromhex(e["hash"])) for e in envs]
    parallel, in_workers = verify_records(shuffled, key.public_key(), processes=2)
    assert parallel == report and in_workers.events == history.events


def test_fast_and_reference_paths_report_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Ed25519PrivateKey.generate()
    records, chains = _records(key)
    target = chains["recruitments"][12]
    events = [r for r in records if r.topic != "audit.checkpoints"]
    checkpoints = [r for r in records if r.topic == "audit.checkpoints"]

    def replaced(raw: bytes) -> list[Record]:
        return [Record(r.topic, r.partition, r.offset, r.key, raw) if target["event_id"].encode() in r.value
                and r.topic == "recruitments.events" else r for r in records]

    moved_position = dict(target, position=30)
    last = chains["recruitments"][-1]
    # The same event id again, re-sealed as the next event: positions and links look fine.
    appended = seal({**target, "position": last["position"] + 1}, last["hash"])
    cases: dict[str, list[Record]] = {
        "intact": records,
        "reversed": [*reversed(events), *checkpoints],
        "removed": [r for r in records if target["event_id"].encode() not in r.value],
        "resealed": replaced(encode(seal({**target, "payload": {"text": "x", "n": 0}}, target["prev_hash"]))),
        "moved position": replaced(encode(seal(moved_position, target["prev_hash"]))),
        "conflicting copy": [*records, Record("recruitments.events", 1, 0, None,
                                              encode({**target, "event_type": "AdvertContributed"}))],
        "from position zero": [Record("matching.events", 0, i, None, encode(e))
                               for i, e in enumerate(_chain("matching", 3, first=0))],
        "copy appended": [*records, Record("recruitments.events", 0, 99, None, encode(appended))],
        "wrong topic": [*records, Record("matching.events", 1, 0, None, encode(target))],
        "unreadable": [*records, Record("matching.events", 1, 1, None, b"[1, 2]")],
        **{name: replaced(raw) for name, raw in _variants(target).items()},
    }
    fast = {name: _problems(recs, key) for name, recs in cases.items()}
    # Links checked in worker processes name exactly the same broken places.
    assert {name: _problems(recs, key, processes=2) for name, recs in cases.items()} == fast

    def step_by_step(source: str, items: list[Any], problems: list[Problem]) -> tuple[list[Envelope], list[bytes]]:
        copies = [verify._Copy(item.record, item.envelope, item.valid) for item in items]
        chosen = verify._chain_problems(source, copies, problems)
        return chosen, [leaf_hash(verify._hash_bytes(e.get("hash"))) for e in chosen]

    # The reference: every message parsed and re-canonicalised, every chain checked step by step.
    monkeypatch.setattr(verify, "_read_canonical", lambda raw, record=None: None)
    monkeypatch.setattr(verify, "default_processes", lambda events: 1)
    monkeypatch.setattr(verify, "_verify_chain", step_by_step)
    reference = {name: _problems(recs, key) for name, recs in cases.items()}
    assert fast == reference
    assert fast["intact"] == fast["reversed"] == []
    assert all(fast[name] for name in cases if name not in ("intact", "reversed")), fast
    after = chains["recruitments"][13]["event_id"]
    assert ("recruitments", 14, after, "chain-link") in [p[:4] for p in fast["removed"]]
    assert [p[3] for p in fast["copy appended"]] == ["conflicting-copy"]
    assert [p[1:4:2] for p in fast["from position zero"]] == [(0, "position")]


def test_batch_chain_check_matches_step_by_step() -> None:
    items = [verify._read_canonical(encode(e)) or verify._parsed_item(e, True, None)
             for e in _chain("participants", 15)]
    problems: list[Problem] = []
    events, leaves = verify._verify_chain("participants", items, problems)
    copies = [verify._Copy(item.record, item.envelope, item.valid) for item in items]
    assert problems == [] and events == verify._chain_problems("participants", copies, problems) and problems == []
    assert leaves == [leaf_hash(bytes.fromhex(e["hash"])) for e in events]


def test_a_position_that_is_not_a_number_is_reported_not_a_crash() -> None:
    key = Ed25519PrivateKey.generate()
    records, chains = _records(key)
    target = chains["matching"][2]
    odd = {**target, "position": "3"}
    tampered = [Record(r.topic, r.partition, r.offset, r.key, encode(odd))
                if r.topic == "matching.events" and target["event_id"].encode() in r.value else r for r in records]
    report, _ = verify_records(tampered, key.public_key())
    kinds = {(p.event_id, p.kind) for p in report.problems}
    assert not report.ok
    assert (target["event_id"], "position") in kinds and (target["event_id"], "hash") in kinds
