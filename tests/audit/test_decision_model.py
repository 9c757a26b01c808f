"""The decision record the audit API serves from its read model is the record the whole verified
history gives (``services.audit.decision.decision_record``, the reference), for every
recruitment and at every moment asked for; its proofs come from the stored perfect subtrees and
verify against the signed checkpoints; ``history_verified`` reports the checkpointer's alerts."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import merkle_nodes
from services.audit.decision import decision_record as reference_record
from services.audit.merkle import MerkleTree, leaf_hashes
from services.audit.replay import replay_one
from services.audit.service import Audit
from services.audit.verify import load_from_kafka, verify_records
from services.recruitments.service import Recruitments
from shared.auth import Principal
from shared.config import Settings
from shared.db import Database
from shared.envelope import encode
from shared.kafka import ensure_topics, producer
from tests.audit.helpers import BASE_TIME, SourceWriter, new_id
from tests.audit.test_time_travel import SCORECARD
from tests.recruitments.test_history_import import EXAMPLE

SOC = "socialforvaltningen"
INTEGRITY = ("history_verified", "first_problem", "verified_up_to")


# -- the stored perfect subtrees ----------------------------------------------------------------
def test_stored_nodes_give_the_same_proofs_as_the_whole_tree_with_few_reads(sqlite_settings: Settings) -> None:
    db = Database(sqlite_settings, "nodes")
    db.migrate(merkle_nodes.NODES_DDL)
    rng = random.Random(14)
    n = 77
    leaves = leaf_hashes(rng.randbytes(32) for _ in range(n))
    with db.transaction() as tx:
        for i, h in enumerate(leaves):
            merkle_nodes.append_leaf(tx, "recruitments", i, h)
        stored = int(tx.scalar("SELECT COUNT(*) AS n FROM audit_merkle_nodes"))
    # Every perfect aligned subtree once: n leaves plus one node per completed pair, 2n - popcount(n).
    assert stored == 2 * n - bin(n).count("1")
    tree = MerkleTree(leaves)
    with db.transaction() as tx:
        for size in range(1, n + 1):
            for index in range(size):
                needed = merkle_nodes.nodes_needed(index, size)
                assert len(needed) <= 2 * size.bit_length() + 1, (index, size, len(needed))
                nodes = merkle_nodes.fetch_nodes(tx, "recruitments", needed)
                assert set(nodes) == needed  # everything the proof reads is stored
                assert merkle_nodes.path(nodes.__getitem__, index, size) == tree.inclusion_proof(index, size)
    db.close()


# -- histories ------------------------------------------------------------------------------------
def _random_history(settings: Settings, seed: int, recruitments: int = 6, steps: int = 90) -> list[datetime]:
    """Recruitments and matching events of several recruitments interleaved at random times (not in
    position order across recruitments), with decisions, late inputs, overrides and noise
    (matching events naming no recruitment). Returns moments worth asking about."""
    rng = random.Random(seed)
    rec, match = SourceWriter(settings, "recruitments"), SourceWriter(settings, "matching")
    rids = [new_id() for _ in range(recruitments)]
    people = [{"id": f"part-{i}", "role": "participant"} for i in range(8)]
    staff = [{"id": "hm-1", "role": "hiring_manager"}, {"id": "co-1", "role": "coordinator"}]
    candidates = {rid: [new_id(), new_id()] for rid in rids}
    clock: dict[str, int] = {}
    moments = []
    for rid in rids:
        clock[rid] = rng.randrange(0, 600)
        rec.emit("RecruitmentOpened", rid, {"unit": "u", "position": "p", "scorecard": []}, staff[0],
                 minute=clock[rid], department=rng.choice((SOC, "arbetsmarknadsforvaltningen")))
    for _ in range(steps):
        rid = rng.choice(rids)
        clock[rid] += rng.randrange(1, 40)
        minute = clock[rid]
        who = rng.choice(people + staff)
        cand = rng.choice(candidates[rid])
        kind = rng.randrange(11)
        if kind == 0:
            rec.emit("JobDescriptionContributed", rid, {"contribution_id": new_id(), "text": "t",
                                                        "contributor_role": who["role"]}, who, minute=minute)
        elif kind == 1:
            rec.emit("ApplicationAssessed", rid, {"candidate_id": cand, "assessor": who, "shortlist": "yes",
                                                  "motivation": "m"}, who, minute=minute)
        elif kind == 2:
            rec.emit("InterviewScored", rid, {"candidate_id": cand, "member": who, "scores": {"e": 3},
                                              "recommendation": rng.choice(("hire", "no_hire")), "comment": None},
                     who, minute=minute)
        elif kind == 3:
            rec.emit("ScoreAmended", rid, {"candidate_id": cand, "member": who, "scores": {"e": 2},
                                           "recommendation": rng.choice(("hire", "no_hire")), "reason": "r"},
                     who, minute=minute)
        elif kind == 4:
            rec.emit("HiringDecisionMade", rid, {"candidate_id": cand, "motivation": "m",
                                                 "participants_recommendation": rng.choice(("hire", "no_hire")),
                                                 "against_participants": rng.random() < 0.3}, staff[0], minute=minute)
        elif kind == 5:
            rec.emit("ConflictDeclared", rid, {"candidate_id": cand, "member_id": who["id"], "has_conflict": True,
                                               "recused": True}, who, minute=minute)
        elif kind == 6:
            members = rng.sample([p["id"] for p in people], 3)
            overrides = [{"participant_id": members[0], "rule": "cooldown", "reason": "språk"}] \
                if rng.random() < 0.5 else []
            match.emit("PanelAssigned", new_id(), {"recruitment_id": rid, "members": members, "proposal_id": "p",
                                                   "overrides": overrides}, staff[1], minute=minute)
        elif kind == 7:
            match.emit("PanelProposed", new_id(), {"recruitment_id": rid, "proposal_id": new_id(), "members": [],
                                                   "covered_areas": [], "empty_reason": "none"}, staff[1],
                       minute=minute)
        elif kind == 8:
            match.emit("ParticipantAvailabilityChanged", new_id(), {"participant_id": who["id"]}, who,
                       minute=minute)  # names no recruitment
        elif kind == 9:
            rec.emit("ApplicationReceived", rid, {"candidate_id": cand, "personal": None,
                                                  "protected_identity": True}, {"id": "system", "role": "system"},
                     minute=minute)
        else:
            rec.emit("ParticipantFeedbackGiven", rid, {"participant_id": who["id"], "rating": 4, "text": "x"}, who,
                     minute=minute)
        if rng.random() < 0.08:
            moments.append(BASE_TIME + timedelta(minutes=minute, seconds=rng.choice((-30, 0, 30))))
    rec.close()
    match.close()
    return [BASE_TIME, BASE_TIME + timedelta(minutes=300), *moments]


def _real_services_history(settings: Settings) -> list[datetime]:
    """The recruitments service itself (in process): an imported history dated 2017 and live
    recruitments opened, contributed to, advertised and closed now; matching names them."""
    service = Recruitments.build(settings)
    coordinator = Principal("co-1", frozenset({"coordinator"}), frozenset({SOC}))
    moments = [datetime(2017, 3, 15, 12, tzinfo=UTC), datetime(2017, 12, 31, tzinfo=UTC)]
    try:
        service.app.import_history(EXAMPLE.read_text(encoding="utf-8"), {"id": "coord-eva", "role": "importer"},
                                   EXAMPLE.name)
        live = []
        for unit in ("ekonomiskt-bistand", "beroendeenheten"):
            rid = service.app.open_recruitment(
                coordinator, department=SOC, unit=unit, position="Socialsekreterare", hiring_manager="hm-1",
                interview_format="joint", planned={"advert_on": None, "interviews_from": "2030-01-10",
                                                   "interviews_to": "2030-01-12", "decision_by": None},
                scorecard=SCORECARD,
                needs={"experience_areas": [], "languages": ["sv"], "panel_size": 2})
            live.append(rid)
            service.app.contribute(coordinator, rid, "job_description", "Vi söker någon som lyssnar")
            moments.append(datetime.now(UTC))
        service.app.publish_advert(coordinator, live[0], "Vi söker en socialsekreterare")
        service.app.close_recruitment(coordinator, live[1], "cancelled", "indragen")
        service.relay().drain()
        match = SourceWriter(settings, "matching")
        for rid in live:
            match.emit("PanelAssigned", new_id(), {"recruitment_id": str(rid), "members": ["part-1", "part-2"],
                                                   "proposal_id": "p", "overrides": []},
                       {"id": "co-1", "role": "coordinator"}, minute=0)
        match.close()
        moments.append(datetime.now(UTC))
    finally:
        service.close()
    return moments


def _assert_read_model_equals_reference(settings: Settings, moments: list[datetime]) -> int:
    audit = Audit.build(settings)
    try:
        audit.catch_up()
        report, history = verify_records(load_from_kafka(settings), audit.app.key.public_key())
        assert report.ok, report.first
        compared = 0
        rids = {str(e["aggregate_id"]) for e in history.events["recruitments"]} | {
            str(e["payload"]["recruitment_id"]) for e in history.full("matching")
            if (e.get("payload") or {}).get("recruitment_id")}
        for rid in sorted(rids):
            for moment in (None, *moments):
                served = audit.app.decision_record(rid, None, moment)
                assert served["history_verified"] is True and served["first_problem"] is None
                expected = reference_record(history, rid, moment)
                assert {k: v for k, v in served.items() if k not in INTEGRITY} == expected, (rid, moment)
                assert all(i["proof"] is not None and i["proof"]["verified"] for i in served["inputs"])
                compared += 1
        return compared
    finally:
        audit.close()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_read_model_record_is_the_whole_history_record_for_random_histories(
        sqlite_settings: Settings, seed: int) -> None:
    settings = sqlite_settings.with_(checkpoint_every_events=7)
    moments = _random_history(settings, seed)
    assert _assert_read_model_equals_reference(settings, moments) >= 6 * 3


def test_the_read_model_record_is_the_whole_history_record_for_the_real_services(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.with_(checkpoint_every_events=5)
    moments = _real_services_history(settings)
    assert _assert_read_model_equals_reference(settings, moments) >= 5 * 4


@pytest.mark.postgres
@pytest.mark.parametrize("history", ["random", "real services"])
def test_the_read_model_record_is_the_whole_history_record_on_postgres(pg_settings: Settings, history: str) -> None:
    settings = pg_settings.with_(checkpoint_every_events=6)
    moments = _random_history(settings, 3, recruitments=4, steps=50) if history == "random" \
        else _real_services_history(settings)
    assert _assert_read_model_equals_reference(settings, moments) >= 4 * 3


# -- replay, time travel, alerts ----------------------------------------------------------------
def test_replay_rebuilds_the_decision_read_model_and_until_travels_in_time(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.with_(checkpoint_every_events=4)
    _random_history(settings, 5, recruitments=3, steps=30)
    audit = Audit.build(settings)
    try:
        audit.catch_up()
        factories = dict((f().name, (f, db)) for f, db in audit.projections())
        factory, db = factories["audit-decision-record"]
        result = replay_one(factory, db)
        assert result.identical and result.rows > 60, result.as_dict()
        moment = BASE_TIME + timedelta(minutes=400)
        then = replay_one(factory, db, until=moment)
        # Every event that had happened then, though some of them come after later ones in their
        # chain (the history's clocks run per recruitment, as imported history's do).
        stamp = moment.isoformat().replace("+00:00", "Z")
        with db.transaction() as tx:
            happened = {r["event_id"] for r in tx.all("SELECT event_id FROM decision_events WHERE occurred_at <= ?",
                                                      (stamp,))}
            later = int(tx.scalar("SELECT COUNT(*) AS n FROM decision_events WHERE occurred_at > ?", (stamp,)))
        assert later > 0 and happened
        assert {r["event_id"] for r in then.snapshot["decision_events"]} == happened
    finally:
        audit.close()


def test_the_record_reports_the_checkpointers_first_alert_and_how_far_it_checked(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.with_(checkpoint_every_events=3)
    rec = SourceWriter(settings, "recruitments")
    rid = new_id()
    manager = {"id": "hm-1", "role": "hiring_manager"}
    rec.emit("RecruitmentOpened", rid, {"unit": "u", "position": "p", "scorecard": []}, manager, minute=0)
    rec.emit("JobDescriptionContributed", rid, {"contribution_id": new_id(), "text": "t",
                                                "contributor_role": "participant"},
             {"id": "part-1", "role": "participant"}, minute=1)
    rec.emit("HiringDecisionMade", rid, {"candidate_id": new_id(), "motivation": "m"}, manager, minute=2)
    rec.close()
    audit = Audit.build(settings)
    try:
        audit.catch_up()
        good = audit.app.decision_record(rid)
        assert good["history_verified"] is True and good["first_problem"] is None
        assert good["verified_up_to"]["recruitments"] == 3 and good["proofs_verified"]

        # Someone produces a forged fourth event (its hash does not match its content).
        forged = SourceWriter(settings, "recruitments")
        forged.writer.heads["recruitments"], forged.writer.positions["recruitments"] = rec.head, 3
        forged.writer.versions[rid] = 3
        genuine = forged.emit("ManagerFeedbackGiven", rid, {"rating": 1, "text": "x"}, manager, minute=3)
        forged.close()
        audit.catch_up()  # the genuine fourth: verified up to 4
        assert audit.app.decision_record(rid)["verified_up_to"]["recruitments"] == 4
        ensure_topics(settings)
        raw = producer(settings)
        tampered = {**genuine, "position": 5, "prev_hash": genuine["hash"], "event_id": new_id(),
                    "aggregate_version": 5, "actor": {"id": "someone-else", "role": "hiring_manager"}}
        raw.send(settings.topic("recruitments.events"), key=rid.encode(), value=encode(tampered))
        raw.flush()
        raw.close(timeout=5)
        audit.catch_up()
        after = audit.app.decision_record(rid)
        assert after["history_verified"] is False
        assert after["first_problem"] == (f"recruitments position 5 event {tampered['event_id']}: alert: "
                                          "hash does not match the canonical envelope")
        assert after["verified_up_to"]["recruitments"] == 4
        assert tampered["event_id"] not in json.dumps(after["inputs"])  # not in the record either
    finally:
        audit.close()


def test_a_proof_under_a_checkpoint_signed_with_another_key_does_not_verify(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.with_(checkpoint_every_events=2)
    rec = SourceWriter(settings, "recruitments")
    rid = new_id()
    manager = {"id": "hm-1", "role": "hiring_manager"}
    for minute, kind in enumerate(("RecruitmentOpened", "AdvertPublished")):
        rec.emit(kind, rid, {"unit": "u"}, manager, minute=minute)
    rec.close()
    audit = Audit.build(settings)
    try:
        audit.catch_up()
        record = audit.app.decision_record(rid)
        (proof, _) = (i["proof"] for i in record["inputs"])
        assert proof["verified"] and proof["tree_size"] == 2
        # Swap the signing key the API checks with: the stored checkpoint no longer verifies.
        audit.app.key = Ed25519PrivateKey.generate()
        record = audit.app.decision_record(rid)
        assert not record["proofs_verified"] and not any(i["proof"]["verified"] for i in record["inputs"])
    finally:
        audit.close()
