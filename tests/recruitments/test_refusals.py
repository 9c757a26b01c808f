"""Every state change that does not fit the stage is refused, saying why."""

from __future__ import annotations

from shared.config import Settings
from tests.recruitments.conftest import SCORECARD, Rig

SCORES = {a["key"]: 3 for a in SCORECARD}


def test_scorecard_rules(sqlite_settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(sqlite_settings)
    body = {
        "department": "socialforvaltningen",
        "unit": "u",
        "position": "Socialsekreterare",
        "hiring_manager": rig.manager,
        "interview_format": "joint",
    }
    without = [
        {"key": "empathy", "label": "Empathy"},
        {"key": "collaboration", "label": "Collaboration"},
        {"key": "judgement", "label": "Judgement"},
    ]
    problem = rig.refused(
        "/recruitments", {**body, "scorecard": without}, rig.coord, 422, "motivation_user_participation"
    )
    assert problem["field"] == "scorecard"
    rig.refused("/recruitments", {**body, "scorecard": SCORECARD[:2]}, rig.coord, 422, "3 to 6")
    rig.refused("/recruitments", {**body, "scorecard": SCORECARD * 3}, rig.coord, 422, "3 to 6")
    rig.refused(
        "/recruitments",
        {**body, "scorecard": SCORECARD, "needs": {"panel_size": 4}},
        rig.coord,
        422,
        "panel_size",
    )
    rig.refused("/recruitments", {**body, "scorecard": SCORECARD, "salary": 1}, rig.coord, 422, "salary")
    rig.refused(
        "/recruitments",
        {**body, "scorecard": SCORECARD, "department": "arbetsmarknadsforvaltningen"},
        rig.coord,
        403,
        "department",
    )
    rig.refused("/recruitments", {**body, "scorecard": SCORECARD}, rig.p(0), 403, "roles")


def test_stage_refusals(sqlite_settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(sqlite_settings)
    rid = rig.open()
    base = f"/recruitments/{rid}"
    rig.refused(
        f"{base}/applications",
        {"ats_ref": "a-1", "name": "Kim"},
        rig.coord,
        409,
        "after the advert is published",
    )
    rig.publish(rid)
    cid = rig.apply(rid, "a-1", "Kim Lund")
    rig.refused(f"{base}/applications", {"ats_ref": "a-2"}, rig.coord, 422, "protected identity")
    rig.refused(f"{base}/applications", {"ats_ref": "a-1", "name": "Kim"}, rig.coord, 409, "already received")
    rig.refused(
        f"{base}/job-description/contributions", {"text": "late"}, rig.coord, 409, "advert is published"
    )
    # Scoring before the panel exists.
    rig.refused(
        f"{base}/candidates/{cid}/conflicts", {"has_conflict": False}, rig.hm, 409, "panel is not assigned"
    )
    rig.refused(
        f"{base}/candidates/{cid}/scores",
        {"scores": SCORES, "recommendation": "hire"},
        rig.hm,
        409,
        "panel is not assigned",
    )
    # A decision before scores.
    rig.refused(
        f"{base}/decision", {"candidate_id": cid, "motivation": "Bra"}, rig.hm, 409, "no interview scores"
    )
    rig.assign_panel(rid)
    # Scoring before declaring conflicts; a recused member scoring.
    rig.refused(
        f"{base}/candidates/{cid}/scores",
        {"scores": SCORES, "recommendation": "hire"},
        rig.p(0),
        409,
        "declare any conflict",
    )
    rig.post(f"{base}/candidates/{cid}/conflicts", {"has_conflict": True}, rig.p(0), 200)
    rig.refused(
        f"{base}/candidates/{cid}/conflicts", {"has_conflict": False}, rig.p(0), 409, "already declared"
    )
    rig.refused(
        f"{base}/candidates/{cid}/scores",
        {"scores": SCORES, "recommendation": "hire"},
        rig.p(0),
        409,
        "recused",
    )
    # Scores must fit the scorecard; amendments need an own score and a reason.
    rig.post(f"{base}/candidates/{cid}/conflicts", {"has_conflict": False}, rig.p(1), 200)
    rig.refused(
        f"{base}/candidates/{cid}/scores",
        {"scores": {"empathy": 3}, "recommendation": "hire"},
        rig.p(1),
        422,
        "focus attributes",
    )
    rig.refused(
        f"{base}/candidates/{cid}/scores",
        {"scores": {**SCORES, "empathy": 6}, "recommendation": "hire"},
        rig.p(1),
        422,
        "scores",
    )
    rig.refused(
        f"{base}/candidates/{cid}/scores/amendments",
        {"scores": SCORES, "recommendation": "hire", "reason": "changed my mind"},
        rig.p(1),
        409,
        "no score of yours",
    )
    rig.score(rid, cid, rig.p(1), (4, 4, 4), "hire", declare=False)
    rig.refused(
        f"{base}/candidates/{cid}/scores",
        {"scores": SCORES, "recommendation": "hire"},
        rig.p(1),
        409,
        "amend the score",
    )
    rig.refused(
        f"{base}/candidates/{cid}/scores/amendments",
        {"scores": SCORES, "recommendation": "hire"},
        rig.p(1),
        422,
        "reason",
    )
    # Outcome, closing and feedback in the wrong order.
    rig.refused(f"{base}/outcome/share", None, rig.coord, 409, "needs the hiring decision")
    rig.refused(f"{base}/close", {"outcome": "filled"}, rig.coord, 409, "needs the hiring decision")
    rig.refused(
        f"{base}/feedback/manager", {"rating": 3, "text": "ok"}, rig.hm, 409, "needs the hiring decision"
    )
    rig.refused(
        f"{base}/follow-ups", {"months": 6, "still_employed": True}, rig.coord, 409, "hiring decision"
    )
    other_manager = rig.tok("hiring_manager", "manager-someone-else")
    rig.refused(
        f"{base}/decision",
        {"candidate_id": cid, "motivation": "Bra"},
        other_manager,
        403,
        "this recruitment's hiring manager",
    )
    rig.post(f"{base}/decision", {"candidate_id": cid, "motivation": "Panelen var enig"}, rig.hm, 201)
    rig.refused(f"{base}/decision", {"candidate_id": cid, "motivation": "igen"}, rig.hm, 409, "already made")
    rig.refused(
        f"{base}/candidates/{cid}/scores/amendments",
        {"scores": SCORES, "recommendation": "no_hire", "reason": "too late now"},
        rig.p(1),
        409,
        "decision is made",
    )
    rig.refused(
        f"{base}/feedback/participant", {"rating": 5, "text": "bra"}, rig.p(1), 409, "outcome is shared"
    )
    rig.refused(f"{base}/close", {"outcome": "filled"}, rig.coord, 409, "share the outcome")
    rig.refused(f"{base}/follow-ups", {"months": 12, "still_employed": True}, rig.coord, 409, "6-month")
    rig.post(f"{base}/outcome/share", None, rig.coord, 200)
    rig.refused(f"{base}/outcome/share", None, rig.coord, 409, "already shared")
    rig.post(f"{base}/feedback/participant", {"rating": 5, "text": "bra"}, rig.p(1), 201)
    rig.refused(f"{base}/feedback/participant", {"rating": 5, "text": "igen"}, rig.p(1), 409, "already given")
    rig.post(f"{base}/close", {"outcome": "filled"}, rig.coord, 200)
    rig.refused(f"{base}/close", {"outcome": "cancelled", "reason": "x"}, rig.coord, 409, "closed")
    rig.refused(f"{base}/advert/publish", {"text": "ny"}, rig.coord, 409, "closed")


def test_closed_recruitment_is_not_edited(sqlite_settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(sqlite_settings)
    rid = rig.open("split")
    base = f"/recruitments/{rid}"
    rig.refused(f"{base}/close", {"outcome": "cancelled"}, rig.coord, 422, "reason")
    rig.post(f"{base}/close", {"outcome": "cancelled", "reason": "Tjänsten drogs in"}, rig.coord, 200)
    assert rig.get(base, rig.coord)["stage"] == "closed"
    rig.refused(f"{base}/advert/contributions", {"text": "x"}, rig.coord, 409, "closed")
    rig.refused(f"{base}/advert/publish", {"text": "x"}, rig.coord, 409, "closed")
    rig.refused(f"{base}/applications", {"ats_ref": "z", "name": "Zed"}, rig.coord, 409, "closed")
    # matching still publishing a panel for it changes nothing
    rig.assign_panel(rid)
    assert rig.get(base, rig.coord)["panel"] == []
