"""The Recruitment aggregate's rules, in process (no servers, no store): construct it, call
commands, assert its state and the commands it refuses, as the eventsourcing examples test an
aggregate. A refused command records no event; the recorded ones replay to the same state."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.recruitments.domain import (
    AdvertNotPublished,
    AlreadyAssessed,
    AlreadyScored,
    AlreadyShredded,
    ApplicationAlreadyReceived,
    ConflictAlreadyDeclared,
    DecisionAlreadyMade,
    DecisionPending,
    DeclarationMissing,
    DeviationReasonMissing,
    FeedbackAlreadyGiven,
    FollowUpAlreadyRecorded,
    FollowUpOutOfOrder,
    JobDescriptionSettled,
    LegalHoldExists,
    MemberRecused,
    NoLegalHold,
    NoScoresYet,
    NoScoreToAmend,
    NotTheHiringManager,
    OutcomeAlreadyShared,
    OutcomeNotShared,
    PanelNotAssigned,
    ReasonMissing,
    Recruitment,
    RecruitmentClosedError,
    ScoresOffScorecard,
    UnknownCandidate,
)
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


# -- each check refuses with its own named error (the status code comes from its kind) ---------
def decided() -> Recruitment:
    """c1 scored by the participant and hired; the outcome not yet shared."""
    rec = interviewing()
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    rec.score_interview("c1", PARTICIPANT, scores(4), "hire", None, PARTICIPANT)
    rec.decide("c1", "good", None, "2026-03-01", MANAGER)
    return rec


def test_every_event_carries_the_recruitments_department_without_the_command_naming_it() -> None:
    rec = decided()
    rec.share_outcome(COORDINATOR)
    events = rec.collect_events()
    assert len(events) == 9
    assert {vars(e)["department"] for e in events} == {DEPT}


def test_drafting_and_applications_refuse_by_name() -> None:
    rec = opened()
    refused(rec, AdvertNotPublished, lambda: rec.receive_application("c1", "ats-1", None, False, ATS))
    assert rec.publish_advert("Advert", "hash-1", COORDINATOR) == 1
    assert rec.publish_advert("Advert 2", "hash-2", COORDINATOR) == 2  # the domain counts versions
    refused(rec, JobDescriptionSettled, lambda: rec.contribute_job_description("jd", "late", "staff", STAFF))
    rec.receive_application("c1", "ats-1", None, False, ATS)
    err = refused(rec, ApplicationAlreadyReceived, lambda: rec.receive_application("c2", "ats-1", None, False,
                                                                                       ATS))
    assert err.field == "ats_ref"
    refused(rec, UnknownCandidate, lambda: rec.assess_application("nobody", STAFF, "yes", "m", STAFF))
    rec.assess_application("c1", STAFF, "yes", "token", STAFF)
    refused(rec, AlreadyAssessed, lambda: rec.assess_application("c1", STAFF, "no", "token", STAFF))
    refused(rec, PanelNotAssigned, lambda: rec.declare_conflict("c1", STAFF, False, STAFF))


def test_scoring_refuses_by_name() -> None:
    rec = interviewing()
    refused(rec, DeclarationMissing, lambda: rec.score_interview("c1", STAFF, scores(3), "hire", None, STAFF))
    rec.declare_conflict("c1", STAFF, True, STAFF)
    refused(rec, ConflictAlreadyDeclared, lambda: rec.declare_conflict("c1", STAFF, False, STAFF))
    refused(rec, MemberRecused, lambda: rec.score_interview("c1", STAFF, scores(3), "hire", None, STAFF))
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    err = refused(rec, ScoresOffScorecard, lambda: rec.score_interview("c1", PARTICIPANT, scores(0), "hire", None,
                                                                         PARTICIPANT))
    assert err.field == "scores"
    refused(rec, NoScoreToAmend, lambda: rec.amend_score("c1", PARTICIPANT, scores(3), "hire", "why", PARTICIPANT))
    rec.score_interview("c1", PARTICIPANT, scores(3), "hire", None, PARTICIPANT)
    refused(rec, AlreadyScored, lambda: rec.score_interview("c1", PARTICIPANT, scores(3), "hire", None,
                                                            PARTICIPANT))
    err = refused(rec, ReasonMissing, lambda: rec.amend_score("c1", PARTICIPANT, scores(4), "hire", "",
                                                              PARTICIPANT))
    assert err.field == "reason"


def test_the_decision_and_after_refuse_by_name() -> None:
    rec = interviewing()
    rec.receive_application("c2", "ats-2", None, False, ATS)
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    rec.score_interview("c1", PARTICIPANT, scores(2), "no_hire", None, PARTICIPANT)
    refused(rec, NotTheHiringManager, lambda: rec.decide("c1", "m", "r", "2026-03-01", COORDINATOR))
    refused(rec, NoScoresYet, lambda: rec.decide("c2", "m", "r", "2026-03-01", MANAGER))
    refused(rec, DeviationReasonMissing, lambda: rec.decide("c1", "m", " ", "2026-03-01", MANAGER))
    refused(rec, DecisionPending, lambda: rec.share_outcome(COORDINATOR))
    refused(rec, DecisionPending, lambda: rec.follow_up_hire(6, True, 4, COORDINATOR))
    rec.decide("c1", "m", "staff saw more", "2026-03-01", MANAGER)
    refused(rec, DecisionAlreadyMade, lambda: rec.decide("c1", "m", "r", "2026-03-02", MANAGER))
    refused(rec, DecisionAlreadyMade, lambda: rec.learn_panel(["p-9"], "ev-9", ATS))
    refused(rec, OutcomeNotShared, lambda: rec.close("filled", None, "2026-03-03", COORDINATOR))
    refused(rec, OutcomeNotShared, lambda: rec.give_participant_feedback(PARTICIPANT["id"], 4, "t", PARTICIPANT))
    assert rec.share_outcome(COORDINATOR) == [PARTICIPANT["id"], STAFF["id"]]
    refused(rec, OutcomeAlreadyShared, lambda: rec.share_outcome(COORDINATOR))
    rec.give_participant_feedback(PARTICIPANT["id"], 4, "t", PARTICIPANT)
    refused(rec, FeedbackAlreadyGiven, lambda: rec.give_participant_feedback(PARTICIPANT["id"], 5, "t",
                                                                             PARTICIPANT))
    refused(rec, NotTheHiringManager, lambda: rec.give_manager_feedback(4, "t", COORDINATOR))
    rec.give_manager_feedback(4, "t", MANAGER)
    refused(rec, FeedbackAlreadyGiven, lambda: rec.give_manager_feedback(4, "t", MANAGER))
    refused(rec, FollowUpOutOfOrder, lambda: rec.follow_up_hire(12, True, 4, COORDINATOR))
    rec.follow_up_hire(6, True, 4, COORDINATOR)
    assert rec.follow_ups == {"6": {"still_employed": True, "motivation_rating": 4}}
    refused(rec, FollowUpAlreadyRecorded, lambda: rec.follow_up_hire(6, False, None, COORDINATOR))
    copy = replayed(rec)
    assert (copy.follow_ups, copy.participant_feedback, copy.outcome_shared_with) == (
        rec.follow_ups, rec.participant_feedback, rec.outcome_shared_with)


def test_retention_refuses_by_name() -> None:
    rec = interviewing()
    refused(rec, UnknownCandidate, lambda: rec.place_legal_hold("nobody", "claim", COORDINATOR))
    refused(rec, NoLegalHold, lambda: rec.release_legal_hold("c1", COORDINATOR))
    rec.place_legal_hold("c1", "claim", COORDINATOR)
    refused(rec, LegalHoldExists, lambda: rec.place_legal_hold("c1", "again", COORDINATOR))
    assert rec.due_for_shredding() == []
    rec.release_legal_hold("c1", COORDINATOR)
    rec.record_shredding("c1", "basis", ATS)
    refused(rec, AlreadyShredded, lambda: rec.record_shredding("c1", "basis", ATS))
    assert replayed(rec).candidates["c1"]["shredded"] is True
