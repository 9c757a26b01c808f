"""Decision and influence data rebuilt from recruitments.events alone; the 2:4 extract; retention."""

from __future__ import annotations

import json
from datetime import date

import pytest

from infra.cli import main as delaktig
from services.recruitments.projections import DecisionInfluence
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from tests.recruitments.conftest import Rig


def decided_recruitment(rig: Rig) -> tuple[str, list[str]]:
    """A recruitment with three candidates, one recusal, an amendment and a decision against
    the participants (Alva hired, participants preferred Omar); Kim was never interviewed."""
    rid = rig.open("split")
    base = f"/recruitments/{rid}"
    rig.assign_panel(rid)
    rig.post(f"{base}/job-description/contributions", {"text": "Möt oss i ögonhöjd"}, rig.p(0), 201)
    rig.publish(rid)
    alva = rig.apply(rid, "r-1", "Alva Berg")
    omar = rig.apply(rid, "r-2", "Omar Haddad")
    kim = rig.apply(rid, "r-3", "Kim Lund")
    rig.post(
        f"{base}/candidates/{kim}/assessments",
        {"shortlist": "no", "motivation": "Saknar examen"},
        rig.p(1),
        200,
    )
    rig.post(f"{base}/candidates/{alva}/conflicts", {"has_conflict": True}, rig.p(2), 200)
    rig.score(rid, alva, rig.hm, (5, 5, 4), "hire")
    rig.score(rid, alva, rig.p(0), (2, 3, 3), "no_hire")
    rig.score(rid, alva, rig.p(1), (3, 3, 3), "hire")
    rig.post(
        f"{base}/candidates/{alva}/scores/amendments",
        {
            "scores": {"motivation_user_participation": 2, "empathy": 2, "collaboration": 3},
            "recommendation": "no_hire",
            "reason": "Jag hade missförstått en fråga",
        },
        rig.p(1),
        201,
    )
    rig.score(rid, omar, rig.hm, (3, 3, 3), "maybe")
    rig.score(rid, omar, rig.p(0), (5, 4, 5), "hire")
    rig.post(
        f"{base}/decision",
        {
            "candidate_id": alva,
            "motivation": "Erfarenhet",
            "deviation_reason": "Deltagarnas oro tas upp i introduktionen",
        },
        rig.hm,
        201,
    )
    rig.post(f"{base}/outcome/share", None, rig.coord, 200)
    return rid, [alva, omar, kim]


def test_who_said_what_is_reproducible_from_the_topic(settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(settings)
    rid, candidates = decided_recruitment(rig)
    live = {cid: rig.get(f"/recruitments/{rid}/candidates/{cid}/summary", rig.hm) for cid in candidates}
    assert live[candidates[0]]["participants_recommendation"] == "no_hire"
    assert live[candidates[0]]["recused"] == [rig.participants[2]]
    assert live[candidates[0]]["interview_format"] == "split"
    recused = rig.http.get(
        f"{rig.url}/recruitments/{rid}/candidates/{candidates[0]}/summary", headers=rig.p(2)
    )
    assert recused.status_code == 403 and "recused" in recused.json()["detail"]
    rig.service.relay().drain()

    # The worker's own read model, and a fresh database fed from offset zero, agree with the live view.
    rig.service.decision_influence().catch_up()
    fresh = Database(settings, "recruitments_replay")
    try:
        ConsumerLoop(settings, fresh, DecisionInfluence()).catch_up()
        for db in (rig.service.db, fresh):
            for cid in candidates:
                assert DecisionInfluence.summary(db, rid, cid) == live[cid]
            decision = DecisionInfluence.decision(db, rid)
            assert decision is not None
            assert decision["candidate_id"] == candidates[0] and decision["against_participants"] is True
            assert decision["deviation_reason"] == "Deltagarnas oro tas upp i introduktionen"
        influence = DecisionInfluence.influence(fresh, rid)
        assert influence == DecisionInfluence.influence(rig.service.db, rid)
        who = {(i["event_type"], i["actor_id"]) for i in influence}
        assert ("JobDescriptionContributed", rig.participants[0]) in who
        assert ("ApplicationAssessed", rig.participants[1]) in who
        assert ("ConflictDeclared", rig.participants[2]) in who
        assert ("ScoreAmended", rig.participants[1]) in who
        assert ("HiringDecisionMade", rig.manager) in who
        assert all(len(i["hash"]) == 64 and i["event_id"] for i in influence)
        auditor = rig.tok("auditor", "auditor-1")
        assert rig.get(f"/recruitments/{rid}/influence", auditor)["items"] == influence
        elsewhere = rig.tok("auditor", "auditor-2", ("arbetsmarknadsforvaltningen",))
        rig.get(f"/recruitments/{rid}/influence", elsewhere, 404)
        rig.get(f"/recruitments/{rid}/influence", rig.p(0), 403)
    finally:
        fresh.close()


def test_discrimination_act_extract_holds_no_other_applicants_data(
    sqlite_settings: Settings, make_rig
) -> None:
    rig: Rig = make_rig(sqlite_settings)
    rid, (alva, omar, kim) = decided_recruitment(rig)
    r = rig.http.get(
        f"{rig.url}/recruitments/{rid}/merits-extract", params={"candidate_id": kim}, headers=rig.coord
    )
    assert r.status_code == 200, r.text
    extract = r.json()
    for other in (alva, omar, "Alva", "Omar", "r-1", "r-2", "example.se"):
        assert other not in r.text
    assert extract["legal_basis"].startswith("diskrimineringslagen")
    rows = {row["applicant"]: row for row in extract["interviewed_or_hired"]}
    assert set(rows) == {"applicant 1", "applicant 2"}  # Kim was not interviewed
    hired = [row for row in rows.values() if row["hired"]]
    assert len(hired) == 1 and hired[0]["merits"]["staff"]["recommendation"] == "hire"
    assert extract["scorecard"]["attributes"]["motivation_user_participation"]
    refused = rig.http.get(
        f"{rig.url}/recruitments/{rid}/merits-extract", params={"candidate_id": alva}, headers=rig.coord
    )
    assert refused.status_code == 409 and "was hired" in refused.json()["detail"]
    assert (
        rig.http.get(
            f"{rig.url}/recruitments/{rid}/merits-extract", params={"candidate_id": kim}, headers=rig.p(0)
        ).status_code
        == 403
    )


def test_retention_shreds_non_hired_candidates_unless_held(
    sqlite_settings: Settings, make_rig, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    rig: Rig = make_rig(sqlite_settings)
    rid, (alva, omar, kim) = decided_recruitment(rig)
    base = f"/recruitments/{rid}"
    rig.post(
        f"{base}/legal-holds", {"candidate_id": kim, "reason": "Diskrimineringsanmälan pågår"}, rig.coord, 201
    )
    decided = date.fromisoformat(rig.get(f"{base}/outcome", rig.coord)["decided_on"])
    app = rig.service.app
    just_before = date(decided.year + 2, decided.month, decided.day).toordinal() - 1
    rig.settle()
    assert rig.service.run_retention(date.fromordinal(just_before)) == []

    # The CLI, as an operator runs it, two years after the decision.
    monkeypatch.setenv("DATA_DIR", str(sqlite_settings.data_dir))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", sqlite_settings.kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", sqlite_settings.topic_prefix)
    on = date(decided.year + 2, decided.month, decided.day).isoformat()
    assert delaktig(["recruitments-retention", "--on", on]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == {"shredded": [omar], "count": 1}

    names = {c["id"]: c for c in rig.get(f"{base}/candidates", rig.coord)["items"]}
    assert names[omar]["name"] is None and names[omar]["erased"] is True
    assert names[alva]["name"] == "Alva Berg"  # hired: kept
    assert names[kim]["name"] == "Kim Lund"  # legal hold
    assert rig.service.vault.is_destroyed(omar)
    # Scores and the decision stay, pseudonymous; the comment under the shredded key is gone.
    assert rig.get(f"{base}/candidates/{omar}/summary", rig.hm)["by_role"]["participant"]["count"] == 1
    shredded = [e for e in app.envelopes() if e["event_type"] == "CandidateDataShredded"]
    assert [e["payload"]["candidate_id"] for e in shredded] == [omar]
    assert "Archives Act" in shredded[0]["payload"]["legal_basis"]
    assert rig.service.run_retention(date(decided.year + 3, 1, 1)) == []  # nothing twice, the hold still holds
