"""What an auditor running ``delaktig audit verify`` relies on, stated rule by rule: every event
is covered by a signed checkpoint in time, a removed or inserted event is named where the chain
breaks, a checkpoint signs exactly one head, position and root, and verification split over
worker processes reaches the same verdict as one process. No broker or database needed."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.checkpoints import sign_checkpoint
from services.audit.merkle import MerkleAccumulator, leaf_hash
from services.audit.verify import History, Problem, Record, missing_checkpoints, verify_records
from shared.envelope import GENESIS_HASH, Envelope, encode, event_id_for, seal

KEY = Ed25519PrivateKey.generate()


def chain(source: str, n: int) -> list[Envelope]:
    head, out = GENESIS_HASH, []
    for i in range(1, n + 1):
        env = seal({"event_id": event_id_for(source, f"a{i}", 1), "event_type": "Something", "schema_version": 1,
                    "source": source, "aggregate_id": f"a{i}", "aggregate_version": 1, "position": i,
                    "occurred_at": f"2026-03-02T09:00:{i % 60:02d}Z", "department": "socialforvaltningen",
                    "actor": {"id": "u1", "role": "coordinator"}, "payload": {"n": i}}, head)
        head = env["hash"]
        out.append(env)
    return out


def checkpoint(source: str, envs: list[Envelope], size: int) -> dict[str, object]:
    """The checkpoint the audit service signs over the first ``size`` events."""
    acc = MerkleAccumulator()
    for env in envs[:size]:
        acc.add_leaf_hash(leaf_hash(bytes.fromhex(env["hash"])))
    last = envs[size - 1]
    return sign_checkpoint(KEY, source, size, last["position"], last["hash"], acc.root().hex())


def records(chains: dict[str, list[Envelope]], checkpoints: list[dict[str, object]]) -> list[Record]:
    out = [Record(f"{s}.events", 0, i, None, encode(e)) for s, envs in chains.items() for i, e in enumerate(envs)]
    out += [Record("audit.checkpoints", 0, i, None, encode(cp)) for i, cp in enumerate(checkpoints)]
    return out


def verified(chains: dict[str, list[Envelope]], checkpoints: list[dict[str, object]],
             processes: int = 1) -> History:
    report, history = verify_records(records(chains, checkpoints), KEY.public_key(), processes=processes)
    assert report.ok, report.first
    return history


# -- coverage: a stretch of events that no checkpoint signs is a problem --------------------------
def test_more_events_than_the_checkpoint_interval_without_a_checkpoint_is_a_problem() -> None:
    envs = chain("participants", 12)
    history = verified({"participants": envs}, [checkpoint("participants", envs, 5)])
    # 7 events after the last checkpoint: due every 6, so one is missing; the first uncovered is named.
    assert missing_checkpoints(history, 6) == [Problem(
        "participants", 6, envs[5]["event_id"], "checkpoint-missing",
        "7 events from position 6 on are covered by no signed checkpoint (one is due every 6 events; "
        "the last covers 5)")]
    # Exactly the interval uncovered is not yet overdue.
    assert missing_checkpoints(history, 7) == []


def test_a_source_never_checkpointed_is_uncovered_from_its_first_event() -> None:
    envs = chain("matching", 4)
    history = verified({"matching": envs}, [])
    problems = missing_checkpoints(history, 3)
    assert [(p.source, p.position, p.event_id, p.kind) for p in problems] == [
        ("matching", 1, envs[0]["event_id"], "checkpoint-missing")]
    assert "4 events from position 1 on" in problems[0].detail and "the last covers 0" in problems[0].detail
    assert missing_checkpoints(history, 4) == []


def test_the_newest_checkpoint_counts_whatever_order_they_arrive_in() -> None:
    envs = chain("recruitments", 9)
    cps = [checkpoint("recruitments", envs, 8), checkpoint("recruitments", envs, 2)]
    history = verified({"recruitments": envs}, cps)
    assert missing_checkpoints(history, 1) == []  # one uncovered event, one allowed
    assert [p.position for p in missing_checkpoints(history, 0)] == [9]
