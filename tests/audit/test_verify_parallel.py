"""Verification split over worker processes finds exactly what one process finds: the same report
(every problem named with its place) and the same verified history, on a clean history and on
histories tampered in the middle of a worker's range, exactly at a boundary between two ranges,
and in a Merkle chunk other than the first. No broker or database needed (the store comparison
on SQLite is in ``test_parallel_history_pinpoints_a_store_edit_the_same``)."""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import services.audit.verify as verify
from services.audit.checkpoints import sign_checkpoint
from services.audit.merkle import MerkleAccumulator, leaf_hash
from services.audit.verify import History, Record, Report, verify_records
from shared.envelope import GENESIS_HASH, Envelope, encode, event_id_for, seal

SIZES = {"participants": 300, "recruitments": 170, "matching": 90}
EVERY = 10


def _chain(source: str, n: int) -> list[Envelope]:
    head, out = GENESIS_HASH, []
    for i in range(1, n + 1):
        agg = f"agg-{source}-{i}"
        env = seal({
            "event_id": event_id_for(source, agg, 1), "event_type": "InterviewScored", "schema_version": 1,
            "source": source, "aggregate_id": agg, "aggregate_version": 1, "position": i,
            "occurred_at": f"2026-03-02T09:{i // 60 % 60:02d}:{i % 60:02d}.000000Z",
            "department": "socialförvaltningen" if i % 2 else None,
            # Every seventh event has a quote in the head: not the fast reader's shape, still genuine.
            "actor": {"id": 'co "7"' if i % 7 == 0 else f"co-{i % 5}", "role": "coordinator"},
            "payload": {"text": ["plain", 'say "hi"', "smörgås ✓"][i % 3], "n": i},
        }, head)
        head = env["hash"]
        out.append(env)
    return out


def _history(key: Ed25519PrivateKey) -> tuple[list[Record], dict[str, list[Envelope]]]:
    """Records as ``load_from_kafka`` returns them: topic by topic, then the checkpoints."""
    chains = {source: _chain(source, n) for source, n in SIZES.items()}
    records = [Record(f"{s}.events", 0, i, None, encode(e)) for s, envs in chains.items() for i, e in enumerate(envs)]
    offset = 0
    for source, envs in chains.items():
        acc = MerkleAccumulator()
        for i, env in enumerate(envs, start=1):
            acc.add_leaf_hash(leaf_hash(bytes.fromhex(env["hash"])))
            if i % EVERY == 0 or i == len(envs):
                cp = sign_checkpoint(key, source, i, env["position"], env["hash"], acc.root().hex())
                records.append(Record("audit.checkpoints", 0, offset, None, encode(cp)))
                offset += 1
    return records, chains


def _step(count: int, processes: int = 2) -> int:
    """Records per worker range when ``verify_records`` cuts ``count`` records."""
    return -(-count // (processes * verify.CHUNKS_PER_PROCESS))


def _replace(records: list[Record], index: int, env: Envelope) -> list[Record]:
    r = records[index]
    return [*records[:index], Record(r.topic, r.partition, r.offset, r.key, encode(env)), *records[index + 1:]]


def _as_lists(history: History) -> dict[str, Any]:
    return {source: (history.full(source), list(history.leaf_hashes[source]), history.checkpoints[source])
            for source in history.events}


def _both(records: list[Record], key: Ed25519PrivateKey) -> tuple[Report, History, Report, History]:
    one, one_history = verify_records(records, key.public_key(), processes=1)
    two, two_history = verify_records(records, key.public_key(), processes=2)
    return one, one_history, two, two_history


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def history(key: Ed25519PrivateKey) -> tuple[list[Record], dict[str, list[Envelope]]]:
    return _history(key)


def test_clean_history_is_the_same_in_one_and_in_two_processes(key, history, monkeypatch) -> None:
    records, chains = history
    monkeypatch.setattr(verify, "MIN_MERKLE_CHUNK", 32)  # several Merkle chunks per source
    one, one_history, two, two_history = _both(records, key)
    assert one.ok and two.ok, (one.first, two.first)
    assert one == two
    assert (two.events_checked, two.checkpoints_checked) == (sum(SIZES.values()), sum(-(-n // EVERY) for n in
                                                                                       SIZES.values()))
    assert _as_lists(one_history) == _as_lists(two_history)
    for source, envs in chains.items():
        assert two_history.full(source) == envs
        assert [e["event_id"] for e in two_history.events[source]] == [e["event_id"] for e in envs]
        assert list(two_history.leaf_hashes[source]) == [leaf_hash(bytes.fromhex(e["hash"])) for e in envs]
        middle = envs[len(envs) // 2]
        assert two_history.index_of(source, middle["event_id"]) == len(envs) // 2
        assert two_history.positions(source) == [e["position"] for e in envs]
    # Partitions interleaved: the sources' runs are cut into many short ones, still the same.
    shuffled = list(records)
    random.Random(3).shuffle(shuffled)
    assert verify_records(shuffled, key.public_key(), processes=2)[0] == verify_records(shuffled, key.public_key(),
                                                                                        processes=1)[0]


@pytest.mark.parametrize("checkpointed", [True, False], ids=["checkpointed", "links only"])
@pytest.mark.parametrize("where", ["middle of a range", "last of a range", "first of a range"])
@pytest.mark.parametrize("how", ["edited", "resealed", "removed", "copied"])
def test_tampering_is_reported_the_same_by_a_worker(key, history, where: str, how: str, checkpointed: bool) -> None:
    records, _chains = history
    if not checkpointed:  # nothing but the chain links shows where it broke
        records = [r for r in records if r.topic != "audit.checkpoints" or b'"source":"participants"' not in r.value]
    # The ranges are cut on the tampered list's length: put the change where the cut falls.
    step = _step(len(records) + {"removed": -1, "copied": 1}.get(how, 0))
    index = {"middle of a range": step // 2, "last of a range": 2 * step - 1, "first of a range": 2 * step}[where]
    assert records[index].topic == "participants.events" and 2 * step + 1 < SIZES["participants"]
    target = verify.json.loads(records[index].value)
    if how == "edited":  # the content changed, the hash left as it was
        tampered = _replace(records, index, {**target, "payload": {"text": "changed", "n": -1}})
    elif how == "resealed":  # the content changed and the hash recomputed: the next link breaks
        tampered = _replace(records, index, seal({**target, "payload": {"text": "changed", "n": -1}},
                                                 target["prev_hash"]))
    elif how == "removed":
        tampered = [*records[:index], *records[index + 1:]]
    else:  # the same event id again at the end of its source, re-sealed so that the links hold
        last = verify.json.loads(records[SIZES["participants"] - 1].value)
        copy = seal({**target, "position": last["position"] + 1}, last["hash"])
        tampered = [*records[:SIZES["participants"]], Record("participants.events", 0, 999, None, encode(copy)),
                    *records[SIZES["participants"]:]]
    one, one_history, two, two_history = _both(tampered, key)
    assert not two.ok
    assert two == one
    assert _as_lists(one_history) == _as_lists(two_history)
    expected = {"edited": ("hash", target["position"], target["event_id"]),
                "resealed": ("chain-link", target["position"] + 1, None),
                "removed": ("chain-link", target["position"] + 1, None),
                "copied": ("conflicting-copy", None, target["event_id"])}[how]
    kind, position, event_id = expected
    assert any(p.source == "participants" and p.kind == kind and (position is None or p.position == position)
               and (event_id is None or p.event_id == event_id) for p in two.problems), two.problems
    # The other sources were not touched and are verified on the fast path, unchanged.
    assert not [p for p in two.problems if p.source != "participants"]


def test_a_checkpoint_in_a_later_merkle_chunk_with_a_wrong_root_is_named(key, history, monkeypatch) -> None:
    records, chains = history
    monkeypatch.setattr(verify, "MIN_MERKLE_CHUNK", 32)
    envs = chains["recruitments"]
    size = 150  # in the fifth chunk of 32 leaves
    wrong = sign_checkpoint(key, "recruitments", size, envs[size - 1]["position"], envs[size - 1]["hash"], "00" * 32)
    bad_signature = {**verify.json.loads(encode(sign_checkpoint(key, "matching", 20, 20, chains["matching"][19]["hash"],
                                                                "11" * 32))), "tree_size": 21}
    tampered = [*records, Record("audit.checkpoints", 0, 500, None, encode(wrong)),
                Record("audit.checkpoints", 0, 501, None, encode(bad_signature))]
    one, one_history, two, two_history = _both(tampered, key)
    assert two == one and _as_lists(one_history) == _as_lists(two_history)
    kinds = {(p.source, p.kind, p.position) for p in two.problems}
    assert ("recruitments", "checkpoint", size) in kinds
    assert ("matching", "checkpoint-signature", 20) in kinds
    assert not [p for p in two.problems if p.source == "participants"]


def test_parallel_history_pinpoints_a_store_edit_the_same(sqlite_settings, serve, token, http) -> None:
    """On the services' own stores (SQLite here): the history verified in two processes gives
    ``verify_store`` exactly what the one verified in one process gives, clean and tampered."""
    import sqlite3

    from services.audit.service import Audit
    from services.audit.verify import load_from_kafka, verify_store
    from services.participants.service import Participants
    from tests.conftest import bearer

    settings = sqlite_settings
    service = Participants.build(settings)
    url = serve(service.http())
    for name in ("Astrid Lindqvist", "Bo Ek", "Cecilia Holm"):
        r = http.post(f"{url}/participants", headers=bearer(token()),
                      json={"name": name, "email": "x@example.se", "phone": "+46700000000",
                            "preferred_language": "sv", "departments": ["socialforvaltningen"]})
        assert r.status_code == 201, r.text
    service.relay().drain()
    audit = Audit.build(settings)
    assert audit.catch_up() >= 1
    records = load_from_kafka(settings)
    public = audit.app.key.public_key()
    histories = [verify_records(records, public, processes=p) for p in (1, 2)]
    assert all(report.ok for report, _ in histories), [report.first for report, _ in histories]
    assert [verify_store(service.app, h) for _, h in histories] == [[], []]
    dept = next(e for e in service.app.envelopes() if e["payload"].get("code") == "arbetsmarknadsforvaltningen")
    path = settings.data_dir / f"{settings.schema('participants')}-events.sqlite"
    with sqlite3.connect(path) as c:
        (state,) = c.execute("SELECT state FROM stored_events WHERE rowid = ?", (dept["position"],)).fetchone()
        c.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                  (bytes(state).replace(b"Arbetsmarknadsf", b"Arbetsmarknadsg"), dept["position"]))
    found = [verify_store(service.app, h) for _, h in histories]
    assert found[0] == found[1] and found[0], found
    assert (found[0][0].kind, found[0][0].position, found[0][0].event_id) == ("store-edited", dept["position"],
                                                                              dept["event_id"])


@pytest.mark.parametrize("wrong", ["chain head", "position"])
def test_a_signed_checkpoint_naming_another_head_or_position_is_named(key, history, monkeypatch, wrong: str) -> None:
    records, chains = history
    monkeypatch.setattr(verify, "MIN_MERKLE_CHUNK", 32)
    envs = chains["participants"]
    size = 200
    acc = MerkleAccumulator()
    for env in envs[:size]:
        acc.add_leaf_hash(leaf_hash(bytes.fromhex(env["hash"])))
    head = envs[size - 2]["hash"] if wrong == "chain head" else envs[size - 1]["hash"]
    position = envs[size - 1]["position"] + (1 if wrong == "position" else 0)
    forged = sign_checkpoint(key, "participants", size, position, head, acc.root().hex())  # the root is right
    one, one_history, two, two_history = _both([*records, Record("audit.checkpoints", 0, 600, None, encode(forged))],
                                               key)
    assert two == one and _as_lists(one_history) == _as_lists(two_history)
    assert [(p.source, p.kind, p.position, p.event_id) for p in two.problems] == [
        ("participants", "checkpoint", envs[size - 1]["position"], envs[size - 1]["event_id"])]


def _fails_in_a_helper(task: int) -> int:
    if task == 3 and os.getpid() != PARENT:
        raise ValueError("broken record")
    time.sleep(0.2)  # leave the helper time to take a task
    return task * 2


def _dies_in_a_helper(task: int) -> int:
    if os.getpid() != PARENT:
        os._exit(7)
    time.sleep(0.2)  # leave the helper time to take a task
    return task


PARENT = os.getpid()


def test_the_work_is_shared_and_a_helper_that_fails_or_dies_fails_verification() -> None:
    """The parent and its helpers take the tasks between them and the results come back in task
    order; a helper's error, or a helper that dies, is an error of the verification (never a
    result with a part missing)."""
    assert verify.shared_map(1, _double, list(range(40))) == [2 * t for t in range(40)]
    with pytest.raises(RuntimeError, match="ValueError: broken record"):
        verify.shared_map(1, _fails_in_a_helper, [3, 3, 3, 3, 3, 3, 3, 3])
    with pytest.raises(RuntimeError, match="exit code 7"):
        verify.shared_map(1, _dies_in_a_helper, list(range(8)))


def _double(task: int) -> int:
    time.sleep(0.002)
    return 2 * task


def _partitioned(records: list[Record], partitions: int = 3) -> list[Record]:
    """As ``load_from_kafka`` reads real topics: each source's chain spread over ``partitions``
    (each in chain order), read partition after partition; checkpoints as they were."""
    pick = random.Random(5)
    out: list[Record] = []
    for topic in dict.fromkeys(r.topic for r in records):
        mine = [r for r in records if r.topic == topic]
        if topic == "audit.checkpoints":
            out += mine
            continue
        parts: list[list[Record]] = [[] for _ in range(partitions)]
        for r in mine:
            parts[pick.randrange(partitions)].append(r)
        out += [Record(r.topic, n, i, r.key, r.value) for n, part in enumerate(parts) for i, r in enumerate(part)]
    return out


@pytest.mark.parametrize(("processes", "partitions"), [(1, 3), (2, 3), (2, 2)])
def test_a_history_read_partition_by_partition_is_verified_in_chain_order(key, history, monkeypatch,
                                                                          processes: int, partitions: int) -> None:
    """Real topics have three partitions: read one after the other, each source's chain comes
    interleaved. Verification puts it in chain order first, so a clean history takes the fast path
    (it never falls back to the step-by-step check), and a change is still named exactly."""
    records, chains = history
    partitioned = _partitioned(records, partitions)
    assert {r.partition for r in partitioned} == set(range(partitions))
    assert [r.value for r in partitioned] != [r.value for r in records]
    monkeypatch.setattr(verify, "PARALLEL_FROM_EVENTS", 0)

    def no_slow_path(*args: Any) -> int:
        raise AssertionError("a clean history went the step-by-step way")

    with monkeypatch.context() as patched:
        patched.setattr(verify, "_read_slowly", no_slow_path)
        report, verified = verify_records(partitioned, key.public_key(), processes=processes)
    assert report.ok and report.events_checked == sum(SIZES.values()), report.first
    for source, envs in chains.items():
        assert verified.full(source) == envs
    # One event's payload changed on the topic: named by source and position, as before.
    at = next(i for i, r in enumerate(partitioned) if r.topic == "recruitments.events" and b'"position":77,' in r.value)
    tampered_env = json.loads(partitioned[at].value)
    tampered_env["payload"]["n"] = -1
    tampered = _replace(partitioned, at, tampered_env)
    found, _ = verify_records(tampered, key.public_key(), processes=processes)
    expected, _ = verify_records(_replace(records, next(i for i, r in enumerate(records) if r.topic ==
                                                          "recruitments.events" and b'"position":77,' in r.value),
                                          tampered_env), key.public_key(), processes=1)
    assert not found.ok
    assert [(p.source, p.position, p.kind) for p in found.problems] == [
        (p.source, p.position, p.kind) for p in expected.problems]
    assert ("recruitments", 77) in {(p.source, p.position) for p in found.problems}


def _broken(task: int) -> int:
    raise ValueError("broken record")


def test_a_helper_sends_its_results_or_its_error() -> None:
    """What a helper hands back, here in this process: every task it took with its index, or the
    error that stopped it (which the verifying process raises)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    for f, tasks, expected in ((_double, [1, 2, 3], (True, [(0, 2), (1, 4), (2, 6)])),
                               (_broken, [1], (False, "ValueError: broken record"))):
        receive, send = context.Pipe(duplex=False)
        verify._helper(context.Value("q", 0), f, tasks, send)
        assert receive.recv() == expected
        with pytest.raises(EOFError):  # and it closed its end
            receive.recv()
