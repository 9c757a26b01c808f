"""The decision-influence record of a complete recruitment lists exactly the people who took part,
with a verified inclusion proof per input, and flags what an auditor must look at; served over
HTTP to auditors (JSON and HTML) and by ``delaktig audit decision``."""

from __future__ import annotations

import pytest

from infra.cli import main
from services.audit.merkle import leaf_hash, verify_inclusion
from services.audit.service import Audit
from shared.config import Settings
from tests.audit.helpers import SourceWriter, new_id
from tests.conftest import bearer


def _recruitment(settings: Settings) -> dict:
    rec = SourceWriter(settings, "recruitments")
    match = SourceWriter(settings, "matching")
    rid, other = new_id(), new_id()
    panel = new_id()
    manager = {"id": "hm-1", "role": "hiring_manager"}
    coordinator = {"id": "co-1", "role": "coordinator"}
    p1, p2, p3, p4, p5 = ({"id": f"part-{i}", "role": "participant"} for i in range(1, 6))
    cand_a, cand_b = new_id(), new_id()
    scorecard = [{"key": "empathy", "label": "Bemötande"}]
    # Noise: another recruitment whose people must not appear.
    rec.emit("RecruitmentOpened", other, {"unit": "u2", "position": "x", "scorecard": scorecard},
             {"id": "hm-9", "role": "hiring_manager"}, minute=0)
    rec.emit("RecruitmentOpened", rid, {"unit": "u1", "position": "Boendestödjare", "scorecard": scorecard},
             manager, minute=1)
    rec.emit("JobDescriptionContributed", rid, {"contribution_id": new_id(), "text": "t",
                                                "contributor_role": "participant"}, p1, minute=2)
    rec.emit("AdvertContributed", rid, {"contribution_id": new_id(), "text": "t",
                                        "contributor_role": "coordinator"}, coordinator, minute=3)
    rec.emit("ApplicationReceived", rid, {"candidate_id": cand_a, "personal": None, "protected_identity": True},
             {"id": "system", "role": "system"}, minute=4)
    rec.emit("ApplicationAssessed", rid, {"candidate_id": cand_a, "assessor": p2, "shortlist": "yes",
                                          "motivation": "m"}, p2, minute=5)
    match.emit("PanelProposed", panel, {"recruitment_id": rid, "proposal_id": "prop-1",
                                        "members": [{"participant_id": "part-1", "score": 9, "explanation": "e"},
                                                    {"participant_id": "part-9", "score": 5, "explanation": "e"}],
                                        "covered_areas": [], "empty_reason": None}, coordinator, minute=6)
    match.emit("PanelAssigned", panel, {"recruitment_id": rid, "members": ["part-1", "part-3", "part-4"],
                                        "proposal_id": "prop-1",
                                        "overrides": [{"participant_id": "part-4", "rule": "cooldown",
                                                       "reason": "only Somali speaker"}]}, coordinator, minute=7)
    rec.emit("PanelLearned", rid, {"members": [{"participant_id": m} for m in ("part-1", "part-3", "part-4")]},
             {"id": "system", "role": "system"}, minute=8)
    rec.emit("ConflictDeclared", rid, {"candidate_id": cand_a, "member_id": "part-4", "has_conflict": True,
                                       "recused": True}, p4, minute=9)
    for member, recommendation in ((p1, "no_hire"), (p3, "no_hire"), (manager, "hire")):
        rec.emit("InterviewScored", rid, {"candidate_id": cand_a, "member": member, "scores": {"empathy": 3},
                                          "recommendation": recommendation, "comment": None}, member, minute=10)
    rec.emit("ScoreAmended", rid, {"candidate_id": cand_a, "member": p3, "scores": {"empathy": 2},
                                   "recommendation": "no_hire", "reason": "typo"}, p3, minute=11)
    decision = rec.emit("HiringDecisionMade", rid, {"candidate_id": cand_a, "motivation": "experience",
                                                    "participants_recommendation": "no_hire",
                                                    "against_participants": True}, manager, minute=12)
    late = rec.emit("ApplicationAssessed", rid, {"candidate_id": cand_b, "assessor": p5, "shortlist": "no",
                                                 "motivation": "late"}, p5, minute=13)
    rec.emit("OutcomeShared", rid, {"candidate_id": cand_a, "shared_with": ["part-1", "part-3"]}, coordinator,
             minute=14)
    rec.emit("ParticipantFeedbackGiven", rid, {"participant_id": "part-1", "rating": 4, "text": "ok"}, p1, minute=15)
    rec.emit("RecruitmentClosed", rid, {"outcome": "filled", "reason": "hired"}, manager, minute=16)
    rec.close()
    match.close()
    hashes = {e["event_id"]: e["hash"] for e in rec.sent + match.sent}
    return {"id": rid, "decision": decision, "late": late, "hashes": hashes, "sent": rec.sent}


EXPECTED_PEOPLE = {("co-1", "coordinator"), ("hm-1", "hiring_manager"), ("part-1", "participant"),
                   ("part-2", "participant"), ("part-3", "participant"), ("part-4", "participant"),
                   ("part-5", "participant")}


def test_decision_record_over_http(sqlite_settings: Settings, serve, token, http,
                                   capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    settings = sqlite_settings
    case = _recruitment(settings)
    audit = Audit.build(settings)
    audit.catch_up()
    url = serve(audit.http())
    auditor = bearer(token(role="auditor", departments=("socialforvaltningen",)))
    # Auditors are scoped by department like staff (issue 17, finding 8).
    for elsewhere in (("arbetsmarknadsforvaltningen",), ()):
        r = http.get(f"{url}/recruitments/{case['id']}/decision-record",
                     headers=bearer(token(role="auditor", departments=elsewhere)))
        assert r.status_code == 404, r.text
    r = http.get(f"{url}/recruitments/{case['id']}/decision-record", headers=auditor)
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["history_verified"] is True
    assert {(p["id"], p["role"]) for p in record["people"]} == EXPECTED_PEOPLE
    assert "hm-9" not in r.text  # another recruitment's people stay out
    proposal = next(i for i in record["inputs"] if i["event_type"] == "PanelProposed")
    assert {m["participant_id"] for m in proposal["details"]["members"]} == {"part-1", "part-9"}
    assert record["decision"][0]["event_id"] == case["decision"]["event_id"]
    flags = {(f["flag"], f["event_id"]) for f in record["flags"]}
    assert ("input_after_decision", case["late"]["event_id"]) in flags
    assert ("decision_against_participants", case["decision"]["event_id"]) in flags
    assert any(f["flag"] == "matching_rule_overridden" and "only Somali speaker" in f["detail"]
               for f in record["flags"])
    assert record["proofs_verified"] and not record["unproven"]
    kinds = {i["event_type"] for i in record["inputs"]}
    assert {"PanelProposed", "PanelAssigned", "ConflictDeclared", "ScoreAmended", "OutcomeShared",
            "ParticipantFeedbackGiven", "JobDescriptionContributed", "AdvertContributed"} <= kinds
    for item in record["inputs"]:  # re-check every proof independently of the service
        proof = item["proof"]
        assert verify_inclusion(leaf_hash(bytes.fromhex(case["hashes"][item["event_id"]])), proof["leaf_index"],
                                proof["tree_size"], [bytes.fromhex(h) for h in proof["audit_path"]],
                                bytes.fromhex(proof["checkpoint"]["root"]))
    page = http.get(f"{url}/recruitments/{case['id']}/decision-record",
                    headers={**auditor, "Accept": "text/html"})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "part-4" in page.text and "matching_rule_overridden" in page.text
    assert http.get(f"{url}/recruitments/{case['id']}/decision-record",
                    headers=bearer(token(role="coordinator"))).status_code == 403
    assert http.get(f"{url}/recruitments/{new_id()}/decision-record", headers=auditor).status_code == 404
    cps = http.get(f"{url}/checkpoints?source=recruitments", headers=auditor).json()["items"]
    assert cps and cps[-1]["tree_size"] == 17
    assert "BEGIN PUBLIC KEY" in http.get(f"{url}/public-key", headers=auditor).text
    assert http.get(f"{url}/access-log?subject_id=x", headers=auditor).json() == {"items": [], "next_cursor": None}
    audit.close()

    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", settings.topic_prefix)
    capsys.readouterr()
    assert main(["audit", "decision", case["id"]]) == 0
    assert case["decision"]["event_id"] in capsys.readouterr().out


def test_the_record_answers_from_the_read_model_and_sees_new_events(sqlite_settings: Settings) -> None:
    settings = sqlite_settings
    case = _recruitment(settings)
    audit = Audit.build(settings)
    audit.catch_up()
    first = audit.app.decision_record(case["id"])
    assert first["history_verified"] and first["verified_up_to"] == {"recruitments": 17, "matching": 2}
    assert audit.app.decision_record(case["id"]) == first
    rec = SourceWriter(settings, "recruitments")  # the relay carries on where it was
    last = case["sent"][-1]
    rec.writer.heads["recruitments"], rec.writer.positions["recruitments"] = last["hash"], last["position"]
    rec.writer.versions[case["id"]] = max(e["aggregate_version"] for e in case["sent"]
                                          if e["aggregate_id"] == case["id"])
    feedback = rec.emit("ParticipantFeedbackGiven", case["id"], {"participant_id": "part-3", "rating": 5,
                                                                 "text": "good"},
                        {"id": "part-3", "role": "participant"}, minute=20)
    rec.close()
    # Answered from the read model: what its consumer has not applied yet is not in the record.
    assert audit.app.decision_record(case["id"]) == first
    audit.catch_up()
    later = audit.app.decision_record(case["id"])
    added = next(i for i in later["inputs"] if i["event_id"] == feedback["event_id"])
    assert added["proof"]["verified"] and added["proof"]["tree_size"] == 18
    assert later["history_verified"] is True and later["verified_up_to"]["recruitments"] == 18
    audit.close()
