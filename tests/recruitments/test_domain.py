"""The Recruitment aggregate's rules, in process (no servers, no store): construct it, call
commands, assert its state and the commands it refuses, as the eventsourcing examples test an
aggregate. A refused command records no event; the recorded ones replay to the same state."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.recruitments.domain import Recruitment, RecruitmentClosedError
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.aggregates import refused, replayed

DEPT = "socialforvaltningen"
SCORECARD = [
    {"key": "motivation_user_participation", "label": "Motivation for user participation"},
    {"key": "empathy", "label": "Empathy and respect"},
    {"key": "collaboration", "label": "Collaboration"},
]
COORDINATOR = {"id": "co-1", "role": "coordinator"}
MANAGER = {"id": "hm-1", "role": "hiring_manager"}
PARTICIPANT = {"id": "p-1", "role": "participant"}
STAFF = {"id": "st-1", "role": "staff"}
ATS = {"id": "ats", "role": "system"}


def opened() -> Recruitment:
    return Recruitment(id=uuid4(), unit="Unit", position="Socialsekreterare", hiring_manager=MANAGER["id"],
                       coordinator=COORDINATOR["id"], interview_format="joint", planned={}, scorecard=SCORECARD,
                       needs={}, actor=COORDINATOR, department=DEPT)


def scores(value: int) -> dict[str, int]:
    return {a["key"]: value for a in SCORECARD}


def interviewing() -> Recruitment:
    """Advert published, candidate c1 received, panel of a participant and a staff member."""
    rec = opened()
    rec.contribute_job_description("jd-1", "We need", "participant", PARTICIPANT)
    rec.publish_advert("Advert", "hash-1", COORDINATOR)
    rec.receive_application("c1", "ats-1", "vault:token", False, ATS)
    rec.learn_panel([PARTICIPANT["id"], STAFF["id"]], "matching-event-1", {"id": "matching", "role": "system"})
    return rec


def test_a_scorecard_needs_three_to_six_unique_attributes_with_motivation() -> None:
    Recruitment.check_scorecard(SCORECARD)
    for bad in (SCORECARD[:2], [*SCORECARD, SCORECARD[1]], [{"key": k, "label": k} for k in ("a", "b", "c")]):
        with pytest.raises(InvalidInput) as caught:
            Recruitment.check_scorecard(bad)
        assert caught.value.field == "scorecard"


def test_stages_follow_the_commands() -> None:
    rec = opened()
    assert rec.stage == "drafting"
    refused(rec, Conflict, lambda: rec.receive_application("c1", "ats-1", None, False, ATS))  # no advert yet
    assert rec.publish_advert("Advert", "hash-1", COORDINATOR) == 1
    assert rec.stage == "advertised"
    refused(rec, Conflict, lambda: rec.contribute_job_description("jd-2", "late", "staff", STAFF))
    rec.receive_application("c1", "ats-1", None, False, ATS)
    refused(rec, Conflict, lambda: rec.receive_application("c2", "ats-1", None, False, ATS))  # same ATS ref
    assert rec.learn_panel(["p-1"], "ev-1", ATS) is True
    assert rec.learn_panel(["p-1"], "ev-1", ATS) is False  # the same matching event again: nothing
    assert rec.stage == "interviewing"


def test_scoring_needs_a_declaration_and_a_recused_member_does_not_score() -> None:
    rec = interviewing()
    refused(rec, Conflict, lambda: rec.score_interview("c1", PARTICIPANT, scores(4), "hire", None, PARTICIPANT))
    rec.declare_conflict("c1", STAFF, True, STAFF)
    assert rec.recused("c1") == [STAFF["id"]]
    refused(rec, Conflict, lambda: rec.score_interview("c1", STAFF, scores(3), "hire", None, STAFF))
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    refused(rec, InvalidInput, lambda: rec.score_interview("c1", PARTICIPANT, {"empathy": 4}, "hire", None,
                                                           PARTICIPANT))
    refused(rec, InvalidInput, lambda: rec.score_interview("c1", PARTICIPANT, scores(6), "hire", None,
                                                           PARTICIPANT))
    refused(rec, NotFound, lambda: rec.declare_conflict("nobody", PARTICIPANT, False, PARTICIPANT))
    rec.score_interview("c1", PARTICIPANT, scores(4), "hire", None, PARTICIPANT)
    refused(rec, Conflict, lambda: rec.score_interview("c1", PARTICIPANT, scores(4), "hire", None, PARTICIPANT))
    refused(rec, InvalidInput, lambda: rec.amend_score("c1", PARTICIPANT, scores(5), "hire", " ", PARTICIPANT))
    rec.amend_score("c1", PARTICIPANT, scores(5), "hire", "second thoughts", PARTICIPANT)
    assert rec.summary("c1")["members"][0]["amended"] is True


def test_a_decision_against_the_participants_must_say_why() -> None:
    rec = interviewing()
    for member in (PARTICIPANT, STAFF):
        rec.declare_conflict("c1", member, False, member)
    rec.score_interview("c1", PARTICIPANT, scores(2), "no_hire", None, PARTICIPANT)
    rec.score_interview("c1", STAFF, scores(4), "hire", None, STAFF)
    refused(rec, Forbidden, lambda: rec.decide("c1", "good", "reason", "2026-03-01", COORDINATOR))
    err = refused(rec, InvalidInput, lambda: rec.decide("c1", "good", None, "2026-03-01", MANAGER))
    assert err.field == "deviation_reason"
    rec.decide("c1", "good", "the staff's view weighed more", "2026-03-01", MANAGER)
    assert rec.decision is not None and rec.decision["against_participants"] is True
    assert rec.decision["participants_recommendation"] == "no_hire"
    refused(rec, Conflict, lambda: rec.amend_score("c1", PARTICIPANT, scores(3), "hire", "late", PARTICIPANT))
    copy = replayed(rec)
    assert copy.decision == rec.decision and copy.candidates == rec.candidates


def test_a_closed_recruitment_changes_no_more() -> None:
    rec = interviewing()
    refused(rec, InvalidInput, lambda: rec.close("cancelled", " ", "2026-03-02", COORDINATOR))
    refused(rec, Conflict, lambda: rec.close("filled", None, "2026-03-02", COORDINATOR))  # no decision
    rec.close("cancelled", "budget withdrawn", "2026-03-02", COORDINATOR)
    assert rec.stage == "closed"
    refused(rec, RecruitmentClosedError, lambda: rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT))
    refused(rec, RecruitmentClosedError, lambda: rec.close("cancelled", "again", "2026-03-03", COORDINATOR))
