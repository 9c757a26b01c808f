"""A whole recruitment, joint and split format, over real HTTP and the real broker."""

from __future__ import annotations

import json

import pytest

from shared.config import Settings
from shared.envelope import GENESIS_HASH, chain_hash
from shared.kafka import read_all
from tests.recruitments.conftest import SCORECARD, Rig


@pytest.mark.parametrize("interview_format", ["joint", "split"])
def test_full_recruitment(settings: Settings, make_rig, interview_format: str) -> None:
    rig: Rig = make_rig(settings)
    rid = rig.open(interview_format)
    base = f"/recruitments/{rid}"

    # The panel comes from matching.events; until then participants cannot see the recruitment.
    rig.get(base, rig.p(0), 404)
    rig.assign_panel(rid)
    assert rig.get(base, rig.p(0))["panel"] == rig.participants

    # Job description and advert: who wrote what.
    rig.post(f"{base}/job-description/contributions", {"text": "Lyssna utan att döma."}, rig.p(0), 201)
    rig.post(f"{base}/job-description/contributions", {"text": "Handläggning av bistånd."}, rig.coord, 201)
    rig.post(f"{base}/advert/contributions", {"text": "Du möter människor i utsatta lägen."}, rig.p(1), 201)
    rig.publish(rid)
    view = rig.get(base, rig.coord)
    assert [c["by"]["role"] for c in view["job_description"]] == ["participant", "coordinator"]
    assert view["advert"][0]["by"] == {"id": rig.participants[1], "role": "participant"}
    assert view["advert_version"] == 1 and view["stage"] == "interviewing"
    assert view["published_advert"]["text"] == "Vi söker en socialsekreterare"

    # Applications from the ATS; one with protected identity.
    alva = rig.apply(rid, "varbi-1", "Alva Berg")
    omar = rig.apply(rid, "varbi-2", "Omar Haddad")
    hidden = rig.apply(rid, "varbi-3", protected=True)
    staff_view = {c["id"]: c for c in rig.get(f"{base}/candidates", rig.coord)["items"]}
    assert staff_view[alva]["email"] == "varbi-1@example.se"
    assert staff_view[hidden]["name"] is None and staff_view[hidden]["protected_identity"] is True
    panel_view = {c["id"]: c for c in rig.get(f"{base}/candidates", rig.p(0))["items"]}
    assert panel_view[alva]["name"] == "Alva Berg"
    assert "email" not in panel_view[alva] and "phone" not in panel_view[alva]

    for cid in (alva, omar):
        rig.post(
            f"{base}/candidates/{cid}/assessments",
            {"shortlist": "yes", "motivation": "Stark erfarenhet"},
            rig.p(2),
            200,
        )
    rig.post(
        f"{base}/candidates/{hidden}/assessments",
        {"shortlist": "no", "motivation": "Saknar examen"},
        rig.coord,
        200,
    )

    # Conflicts: participant 2 knows Omar and steps aside for him.
    rig.post(f"{base}/candidates/{omar}/conflicts", {"has_conflict": True}, rig.p(2), 200)
    rig.refused(
        f"{base}/candidates/{omar}/scores",
        {"scores": {a["key"]: 3 for a in SCORECARD}, "recommendation": "hire"},
        rig.p(2),
        409,
        "recused",
    )

    # Interviews. The manager scores Alva first; participant 0 sees only their own until they submit.
    rig.score(rid, alva, rig.hm, (5, 4, 5), "hire", "Tydlig och varm")
    before = rig.get(f"{base}/candidates/{alva}/scores", rig.p(0))
    assert before["others_hidden"] is True and before["scores"] == []
    rig.get(f"{base}/candidates/{alva}/summary", rig.p(0), 403)
    rig.score(rid, alva, rig.p(0), (3, 2, 2), "no_hire", "Pratade över huvudet på mig")
    after = rig.get(f"{base}/candidates/{alva}/scores", rig.p(0))
    assert after["others_hidden"] is False and len(after["scores"]) == 2
    assert {s["comment"] for s in after["scores"]} == {"Tydlig och varm", "Pratade över huvudet på mig"}
    rig.score(rid, alva, rig.p(1), (2, 3, 2), "maybe")
    rig.score(rid, alva, rig.p(2), (2, 2, 3), "no_hire")
    # An amended score, with its reason.
    rig.post(
        f"{base}/candidates/{alva}/scores/amendments",
        {
            "scores": {"motivation_user_participation": 2, "empathy": 2, "collaboration": 2},
            "recommendation": "no_hire",
            "reason": "Efter samtalet i gruppen ändrade jag mig",
        },
        rig.p(1),
        201,
    )
    rig.score(rid, omar, rig.hm, (4, 4, 4), "hire")
    rig.score(rid, omar, rig.p(0), (5, 5, 4), "hire")

    summary = rig.get(f"{base}/candidates/{alva}/summary", rig.hm)
    assert summary["participants_recommendation"] == "no_hire"
    assert summary["staff_recommendation"] == "hire"
    assert summary["recommendations_agree"] is False
    assert summary["by_role"]["participant"]["count"] == 3 and summary["by_role"]["staff"]["count"] == 1
    assert summary["by_role"]["participant"]["averages"]["motivation_user_participation"] == pytest.approx(
        2.33
    )
    assert {d["attribute"] for d in summary["disagreements"]} == {a["key"] for a in SCORECARD}
    assert [m["amended"] for m in summary["members"] if m["member_id"] == rig.participants[1]] == [True]
    omar_summary = rig.get(f"{base}/candidates/{omar}/summary", rig.coord)
    assert omar_summary["recused"] == [rig.participants[2]]

    # The decision goes against the participants: refused until the motivation says why.
    decision = {"candidate_id": alva, "motivation": "Bäst meriter för tjänsten"}
    problem = rig.refused(f"{base}/decision", decision, rig.hm, 422, "recommended 'no_hire'")
    assert problem["field"] == "deviation_reason"
    rig.refused(f"{base}/decision", {**decision, "deviation_reason": "x"}, rig.coord, 403, "hiring_manager")
    made = rig.post(
        f"{base}/decision",
        {
            **decision,
            "deviation_reason": "Lång erfarenhet av bistånd; vi följer upp delaktigheten vid 6 månader",
        },
        rig.hm,
        201,
    )
    assert made["against_participants"] is True and made["participants_recommendation"] == "no_hire"

    # The outcome goes back to every participant of the panel.
    assert rig.http.get(f"{rig.url}{base}/outcome", headers=rig.p(0)).status_code == 409
    shared = rig.post(f"{base}/outcome/share", None, rig.coord, 200)
    assert sorted(shared["shared_with"]) == sorted(rig.participants)
    told = rig.get(f"{base}/outcome", rig.p(2))
    assert told["candidate_id"] == alva and told["against_participants"] is True

    # Effect-goal feedback and follow-up.
    rig.post(f"{base}/feedback/manager", {"rating": 4, "text": "Nya perspektiv på motivationen"}, rig.hm, 201)
    for i in range(3):
        rig.post(
            f"{base}/feedback/participant",
            {"rating": 3 + (i % 2), "text": "Vi blev lyssnade på"},
            rig.p(i),
            201,
        )
    rig.post(f"{base}/close", {"outcome": "filled"}, rig.coord, 200)
    rig.post(
        f"{base}/follow-ups", {"months": 6, "still_employed": True, "motivation_rating": 4}, rig.coord, 201
    )
    rig.post(
        f"{base}/follow-ups", {"months": 12, "still_employed": True, "motivation_rating": 5}, rig.hm, 201
    )
    feedback = rig.get(f"{base}/feedback", rig.hm)
    assert feedback["manager"]["rating"] == 4 and len(feedback["participants"]) == 3
    assert feedback["follow_ups"]["12"] == {"still_employed": True, "motivation_rating": 5}

    # A closed recruitment cannot be edited.
    rig.refused(f"{base}/advert/contributions", {"text": "sent"}, rig.coord, 409, "closed")

    # Everything reached recruitments.events, chained, with no candidate data in clear.
    rig.service.relay().drain()
    records = read_all(settings, settings.topic("recruitments.events"))
    raw = b"".join(r.value for r in records)
    for secret in (b"Alva", b"Omar", b"varbi-1@example.se", b"Tydlig och varm", b"Stark erfarenhet"):
        assert secret not in raw
    envelopes = sorted((json.loads(r.value) for r in records), key=lambda e: e["position"])
    prev = GENESIS_HASH
    for env in envelopes:
        assert env["prev_hash"] == prev and env["hash"] == chain_hash(prev, env)
        assert env["department"] == "socialforvaltningen" and env["actor"]["id"]
        prev = env["hash"]
    kinds = [e["event_type"] for e in envelopes]
    for kind in (
        "RecruitmentOpened",
        "PanelLearned",
        "JobDescriptionContributed",
        "AdvertContributed",
        "AdvertPublished",
        "ApplicationReceived",
        "ApplicationAssessed",
        "ConflictDeclared",
        "InterviewScored",
        "ScoreAmended",
        "HiringDecisionMade",
        "OutcomeShared",
        "ManagerFeedbackGiven",
        "ParticipantFeedbackGiven",
        "RecruitmentClosed",
        "HireFollowedUp",
    ):
        assert kind in kinds, kind
    opened = envelopes[0]["payload"]
    assert opened["interview_format"] == interview_format
    assert opened["needs"] == {
        "experience_areas": ["economic_assistance"],
        "languages": ["sv", "ar"],
        "panel_size": 3,
    }
    assert opened["planned"]["decision_by"] == "2027-02-01"
    protected = [
        e
        for e in envelopes
        if e["event_type"] == "ApplicationReceived" and e["payload"]["protected_identity"]
    ]
    assert protected[0]["payload"]["personal"] is None
    scored = [e for e in envelopes if e["event_type"] == "InterviewScored" and e["payload"]["comment"]]
    assert all(e["payload"]["comment"].startswith("enc:v1:") for e in scored)
    recused = [
        e["payload"] for e in envelopes if e["event_type"] == "ConflictDeclared" and e["payload"]["recused"]
    ]
    assert recused == [
        {
            "candidate_id": omar,
            "member_id": rig.participants[2],
            "member_role": "participant",
            "has_conflict": True,
            "recused": True,
        }
    ]
