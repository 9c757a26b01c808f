"""What an auditor running ``delaktig audit verify`` relies on, stated rule by rule: every event
is covered by a signed checkpoint in time, a removed or inserted event is named where the chain
breaks, a checkpoint signs exactly one head, position and root, and verification split over
worker processes reaches the same verdict as one process. No broker or database needed."""

from __future__ import annotations

from typing import Any

import pytest
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


def checkpoint(source: str, envs: list[Envelope], size: int) -> dict[str, Any]:
    """The checkpoint the audit service signs over the first ``size`` events."""
    acc = MerkleAccumulator()
    for env in envs[:size]:
        acc.add_leaf_hash(leaf_hash(bytes.fromhex(env["hash"])))
    last = envs[size - 1]
    return sign_checkpoint(KEY, source, size, last["position"], last["hash"], acc.root().hex())


def records(chains: dict[str, list[Envelope]], checkpoints: list[dict[str, Any]]) -> list[Record]:
    out = [Record(f"{s}.events", 0, i, None, encode(e)) for s, envs in chains.items() for i, e in enumerate(envs)]
    out += [Record("audit.checkpoints", 0, i, None, encode(cp)) for i, cp in enumerate(checkpoints)]
    return out


def verified(chains: dict[str, list[Envelope]], checkpoints: list[dict[str, Any]],
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
    history = verified({"recruitments": envs}, [*cps, checkpoint("recruitments", envs, 9)])
    assert missing_checkpoints(history, 0) == []  # a checkpoint over the whole history covers all of it


def test_a_checkpoint_over_more_events_than_exist_covers_none_of_them() -> None:
    envs = chain("participants", 12)
    cps = [checkpoint("participants", envs, 5), checkpoint("participants", envs, 12)]
    report, history = verify_records(records({"participants": envs[:11]}, cps), KEY.public_key())
    assert [p.kind for p in report.problems] == ["checkpoint"]  # "events were removed"
    # The signed 12 cannot vouch for the 11 that are there: only the 5 are covered.
    assert [(p.position, p.detail) for p in missing_checkpoints(history, 5)] == [
        (6, "6 events from position 6 on are covered by no signed checkpoint (one is due every 5 events; "
            "the last covers 5)")]


def test_sources_without_events_or_checkpoints_need_none() -> None:
    assert missing_checkpoints(History(), 0) == []
    envs = chain("matching", 3)
    only_events = History(events={"matching": envs})  # no checkpoint seen for any source
    assert [(p.source, p.position) for p in missing_checkpoints(only_events, 2)] == [("matching", 1)]


# -- the chain: every break is named where it shows, in one process and split over two ----------
def problems_of(recs: list[Record], processes: int) -> list[Problem]:
    report, _ = verify_records(recs, KEY.public_key(), processes=processes)
    assert report.ok == (not report.problems)
    return report.problems


def link_detail(claimed: str, previous: str) -> str:
    return (f"prev_hash is {claimed[:16]}… but the previous event's hash is {previous[:16]}… (an event before "
            f"it was altered, removed or inserted)")


@pytest.mark.parametrize("processes", [1, 2])
def test_a_removed_event_is_named_at_the_next_event(processes: int) -> None:
    envs = chain("participants", 8)
    recs = records({"participants": envs[:4] + envs[5:]}, [])
    assert problems_of(recs, processes) == [Problem("participants", 6, envs[5]["event_id"], "chain-link",
                                                    link_detail(envs[4]["hash"], envs[3]["hash"]))]


@pytest.mark.parametrize("processes", [1, 2])
def test_the_first_event_must_follow_the_genesis_hash(processes: int) -> None:
    envs = chain("matching", 5)
    recs = records({"matching": envs[1:]}, [])  # the first event gone: the chain starts mid-air
    assert problems_of(recs, processes) == [Problem("matching", 2, envs[1]["event_id"], "chain-link",
                                                    link_detail(envs[0]["hash"], GENESIS_HASH))]


@pytest.mark.parametrize("processes", [1, 2])
def test_an_edited_event_is_named_by_its_own_hash(processes: int) -> None:
    envs = chain("recruitments", 6)
    edited = [*envs[:2], {**envs[2], "payload": {"n": 99}}, *envs[3:]]
    assert problems_of(records({"recruitments": edited}, []), processes) == [Problem(
        "recruitments", 3, envs[2]["event_id"], "hash",
        "the hash does not match the canonical envelope: its content was altered after sealing")]


@pytest.mark.parametrize("processes", [1, 2])
def test_an_event_inserted_at_a_taken_position_is_out_of_order(processes: int) -> None:
    envs = chain("participants", 4)
    # Sealed on top of the third, but claiming the third's position: links hold, positions do not.
    extra = seal({**envs[3], "event_id": event_id_for("participants", "x", 1), "position": 3}, envs[2]["hash"])
    later = seal(envs[3], extra["hash"])
    recs = records({"participants": [*envs[:3], extra, later]}, [])
    assert problems_of(recs, processes) == [Problem("participants", 3, extra["event_id"], "position",
                                                    "position 3 is not after the previous 3")]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_conflicting_copy_names_where_it_is_and_what_differs_and_the_genuine_one_is_kept(processes: int) -> None:
    envs = chain("participants", 5)
    forged = {**envs[2], "event_type": "SomethingElse", "payload": {"n": -1}}  # hash left as sealed
    recs = [Record("participants.events", 1, 7, None, encode(forged)), *records({"participants": envs}, [])]
    report, history = verify_records(recs, KEY.public_key(), processes=processes)
    assert report.problems == [Problem(
        "participants", 3, envs[2]["event_id"], "conflicting-copy",
        "message at participants.events[1]@7 differs from another copy of the same event in: event_type, payload.n")]
    assert history.full("participants") == envs  # the copy whose hash verifies, whichever came first
    assert report.events_checked == 6 and not report.ok


@pytest.mark.parametrize("processes", [1, 2])
def test_unreadable_messages_and_foreign_sources_are_named(processes: int) -> None:
    envs = chain("matching", 3)
    stray = chain("participants", 1)[0]
    recs = [*records({"matching": envs}, []), Record("matching.events", 2, 5, None, b"not json"),
            Record("matching.events", 2, 6, None, encode({**stray, "position": 4, "prev_hash": envs[2]["hash"]}))]
    got = [(p.source, p.position, p.kind, p.detail) for p in problems_of(recs, processes)]
    assert ("matching", 0, "unreadable", "matching.events[2]@5 is not a JSON object") in got
    assert ("matching", 4, "source", "event claims source 'participants' on matching.events") in got


# -- checkpoints: each signs one head, position and root; a forged or stale one is named ---------
@pytest.mark.parametrize("processes", [1, 2])
def test_good_checkpoints_in_any_order_verify_and_are_counted(processes: int) -> None:
    envs = chain("participants", 9)
    cps = [checkpoint("participants", envs, size) for size in (9, 1, 4)]
    report, history = verify_records(records({"participants": envs}, cps), KEY.public_key(), processes=processes)
    assert (report.ok, report.events_checked, report.checkpoints_checked) == (True, 9, 3), report.first
    assert sorted(cp["tree_size"] for cp in history.checkpoints["participants"]) == [1, 4, 9]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_checkpoint_over_more_events_than_the_topic_holds_means_events_were_removed(processes: int) -> None:
    envs = chain("recruitments", 6)
    recs = records({"recruitments": envs[:4]}, [checkpoint("recruitments", envs, size) for size in (2, 6)])
    assert problems_of(recs, processes) == [Problem(
        "recruitments", 6, None, "checkpoint",
        "signed checkpoint covers 6 events but the topic holds 4: events were removed")]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_checkpoint_with_another_root_is_named_and_breaks_consistency(processes: int) -> None:
    envs = chain("matching", 6)
    good = checkpoint("matching", envs, 3)
    wrong = sign_checkpoint(KEY, "matching", 6, 6, envs[5]["hash"], "ab" * 32)
    assert problems_of(records({"matching": envs}, [good, wrong]), processes) == [
        Problem("matching", 6, envs[5]["event_id"], "checkpoint",
                "Merkle root over the first 6 events differs from the signed root"),
        Problem("matching", 6, None, "consistency", "checkpoint of size 6 is not an extension of the one of size 3")]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_checkpoint_naming_another_head_or_position_is_named(processes: int) -> None:
    envs = chain("participants", 5)
    right = checkpoint("participants", envs, 4)
    for forged in ({**right, "chain_head": envs[2]["hash"]}, {**right, "position": 5}):
        signed = sign_checkpoint(KEY, "participants", 4, forged["position"], forged["chain_head"], forged["root"])
        assert problems_of(records({"participants": envs}, [signed]), processes) == [Problem(
            "participants", 4, envs[3]["event_id"], "checkpoint",
            f"event 4 of the chain is not the signed chain head {forged['chain_head'][:16]}… at position "
            f"{forged['position']}")]


@pytest.mark.parametrize("processes", [1, 2])
def test_checkpoints_that_are_unsigned_unreadable_or_not_checkpoints_are_named(processes: int) -> None:
    envs = chain("participants", 4)
    good = checkpoint("participants", envs, 4)
    other_key = sign_checkpoint(Ed25519PrivateKey.generate(), "participants", 4, 4, envs[3]["hash"], good["root"])
    recs = [*records({"participants": envs}, [good]),
            Record("audit.checkpoints", 0, 1, None, encode(other_key)),
            Record("audit.checkpoints", 0, 2, None, b"{broken"),
            Record("audit.checkpoints", 0, 3, None, encode({**good, "type": "something else"})),
            Record("audit.checkpoints", 0, 4, None, encode({**good, "source": "elsewhere"}))]
    report, history = verify_records(recs, KEY.public_key(), processes=processes)
    assert report.problems == [  # earliest first; at one position the sources in their order, then others
        Problem("participants", 0, None, "checkpoint", "offset 3: not a checkpoint"),
        Problem("elsewhere", 0, None, "checkpoint", "offset 4: not a checkpoint"),
        Problem("audit", 0, None, "unreadable", "checkpoint at offset 2"),
        Problem("participants", 4, None, "checkpoint-signature",
                "checkpoint of size 4 at audit.checkpoints[0]@1: signature invalid")]
    assert report.checkpoints_checked == 5
    assert history.checkpoints["participants"] == [good]  # only the good one is taken as signed


@pytest.mark.parametrize("processes", [1, 2])
def test_a_copy_that_differs_only_in_its_links_is_named_as_differing_in_its_hash(processes: int) -> None:
    envs = chain("recruitments", 3)
    relinked = seal(envs[1], "ab" * 32)  # the same content sealed onto another chain
    recs = [*records({"recruitments": envs}, []), Record("recruitments.events", 3, 0, None, encode(relinked))]
    assert problems_of(recs, processes) == [Problem(
        "recruitments", 2, envs[1]["event_id"], "conflicting-copy",
        "message at recruitments.events[3]@0 differs from another copy of the same event in: hash")]


@pytest.mark.parametrize("processes", [1, 2])
def test_when_no_copy_verifies_the_first_one_read_is_kept_and_the_later_one_named(processes: int) -> None:
    envs = chain("participants", 3)
    first, later = ({**envs[1], "payload": {"n": n}} for n in (-1, -2))  # both edited, hash left as sealed
    recs = [*records({"participants": [envs[0], first, envs[2]]}, []),
            Record("participants.events", 1, 4, None, encode(later))]
    report, history = verify_records(recs, KEY.public_key(), processes=processes)
    assert [(p.position, p.kind, p.detail) for p in report.problems] == [
        (2, "conflicting-copy", "message at participants.events[1]@4 differs from another copy of the same event "
                                "in: payload.n"),
        (2, "hash", "the hash does not match the canonical envelope: its content was altered after sealing")]
    assert history.full("participants")[1] == first
