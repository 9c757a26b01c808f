"""The Recruitment aggregate's rules as a coordinator, a hiring manager, a panel member or an
auditor states them, in process (no servers, no store): every refusal names the step refused
and the input at fault; the edges of scorecards, scores, ratings and panel sizes; who the hiring
manager is; the analysis of who said what (averages, disagreements, majorities); what a
decision records; who is due for shredding; and what an imported past recruitment holds.
Written from the mutation run of ``services/recruitments/domain.py`` (docs/mutation.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import uuid4

import pytest

from services.recruitments.domain import (
    ALL_CANDIDATES,
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
    ScorecardInvalid,
    ScoresOffScorecard,
    UnknownCandidate,
    who_said_what,
)
from shared.errors import Conflict, DomainError, InvalidInput
from tests.aggregates import refused, replayed

DEPT = "socialforvaltningen"
KEYS = ("motivation_user_participation", "empathy", "collaboration")
SCORECARD = [{"key": k, "label": k.replace("_", " ")} for k in KEYS]
COORDINATOR = {"id": "co-3", "role": "coordinator"}
MANAGER = {"id": "hm-3", "role": "hiring_manager"}
PARTICIPANT = {"id": "p-3", "role": "participant"}
STAFF = {"id": "st-3", "role": "staff"}
ATS = {"id": "ats", "role": "system"}
MATCHING = {"id": "matching", "role": "system"}


def opened() -> Recruitment:
    return Recruitment(id=uuid4(), unit="Unit", position="Socialsekreterare", hiring_manager=MANAGER["id"],
                       coordinator=COORDINATOR["id"], interview_format="joint", planned={}, scorecard=SCORECARD,
                       needs={}, actor=COORDINATOR, department=DEPT)


def scores(value: int) -> dict[str, int]:
    return {k: value for k in KEYS}


def interviewing() -> Recruitment:
    """Advert published, candidates c1 and c2 received, a panel of a participant and a staff member."""
    rec = opened()
    rec.publish_advert("Advert", "hash-1", COORDINATOR)
    rec.receive_application("c1", "ats-1", "vault:token", False, ATS)
    rec.receive_application("c2", "ats-2", "vault:token", False, ATS)
    rec.learn_panel([PARTICIPANT["id"], STAFF["id"]], "matching-event-1", MATCHING)
    return rec


def scored(recommendation: str = "hire") -> Recruitment:
    """c1 scored by both panel members; the participant recommends ``recommendation``."""
    rec = interviewing()
    for member in (PARTICIPANT, STAFF):
        rec.declare_conflict("c1", member, False, member)
    rec.score_interview("c1", PARTICIPANT, scores(4), recommendation, None, PARTICIPANT)
    rec.score_interview("c1", STAFF, scores(4), "hire", None, STAFF)
    return rec


def decided() -> Recruitment:
    rec = scored()
    rec.decide("c1", "good", None, "2026-03-01", MANAGER)
    return rec


def refusal(rec: Recruitment, kind: type[DomainError], command: Callable[[], Any]) -> DomainError:
    """The named refusal ``command`` meets (nothing recorded), for its field and wording."""
    err = refused(rec, kind, command)
    assert isinstance(err, DomainError)
    return err


def fields(rec: Recruitment) -> list[dict[str, Any]]:
    """The recruitment's events not yet stored, as their fields (what the outbox publishes)."""
    return [vars(e) for e in rec.pending_events]


# -- every refusal names the step refused and the input at fault ---------------------------------
def test_after_the_decision_each_refused_step_is_named() -> None:
    rec = decided()
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("writing the job description", lambda: rec.contribute_job_description("jd", "t", "staff", STAFF)),
        ("changing the advert", lambda: rec.contribute_advert("ad", "t", "staff", STAFF)),
        ("publishing the advert", lambda: rec.publish_advert("Advert 2", "hash-2", COORDINATOR)),
        ("receiving applications", lambda: rec.receive_application("c9", "ats-9", None, False, ATS)),
        ("assessing applications", lambda: rec.assess_application("c1", STAFF, "yes", "m", STAFF)),
        ("declaring conflicts of interest", lambda: rec.declare_conflict("c2", STAFF, False, STAFF)),
        ("scoring", lambda: rec.score_interview("c2", STAFF, scores(3), "hire", None, STAFF)),
        ("amending scores", lambda: rec.amend_score("c1", STAFF, scores(3), "hire", "why", STAFF)),
        ("changing the panel", lambda: rec.learn_panel(["p-9"], "matching-event-2", MATCHING)),
    ]
    for step, command in steps:
        err = refusal(rec, DecisionAlreadyMade, command)
        assert f"the hiring decision is made; {step} is no longer possible" in err.detail, step
    err = refusal(rec, DecisionAlreadyMade, lambda: rec.decide("c1", "m", None, "2026-03-02", MANAGER))
    assert "the hiring decision is already made" in err.detail


def test_before_the_decision_each_step_that_needs_it_is_named() -> None:
    rec = scored()
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("sharing the outcome", lambda: rec.share_outcome(COORDINATOR)),
        ("closing as filled", lambda: rec.close("filled", None, "2026-03-02", COORDINATOR)),
        ("manager feedback", lambda: rec.give_manager_feedback(4, "t", MANAGER)),
        ("a hire follow-up", lambda: rec.follow_up_hire(6, True, 4, COORDINATOR)),
    ]
    for step, command in steps:
        err = refusal(rec, DecisionPending, command)
        assert f"{step} needs the hiring decision first" in err.detail, step


def test_drafting_applications_and_panel_refusals_say_what_is_wrong() -> None:
    rec = opened()
    err = refusal(rec, AdvertNotPublished, lambda: rec.receive_application("c1", "ats-1", None, False, ATS))
    assert "applications arrive only after the advert is published" in err.detail
    rec.publish_advert("Advert", "hash-1", COORDINATOR)
    err = refusal(rec, JobDescriptionSettled, lambda: rec.contribute_job_description("jd", "t", "staff", STAFF))
    assert "the job description is settled" in err.detail
    rec.receive_application("c1", "ats-1", None, False, ATS)
    err = refusal(rec, ApplicationAlreadyReceived, lambda: rec.receive_application("c2", "ats-1", None, False, ATS))
    assert err.field == "ats_ref" and "application 'ats-1' is already received" in err.detail
    err = refusal(rec, UnknownCandidate, lambda: rec.assess_application("nobody", STAFF, "yes", "m", STAFF))
    assert err.field == "candidate_id" and "no candidate nobody in this recruitment" in err.detail
    rec.assess_application("c1", STAFF, "yes", "m", STAFF)
    err = refusal(rec, AlreadyAssessed, lambda: rec.assess_application("c1", STAFF, "no", "m", STAFF))
    assert "you have already assessed this application" in err.detail
    err = refusal(rec, PanelNotAssigned, lambda: rec.declare_conflict("c1", STAFF, False, STAFF))
    assert "the panel is not assigned yet (it comes from matching)" in err.detail


def test_declaring_and_scoring_refusals_say_what_is_wrong() -> None:
    rec = interviewing()
    err = refusal(rec, DeclarationMissing, lambda: rec.score_interview("c1", STAFF, scores(3), "hire", None, STAFF))
    assert "declare any conflict of interest for this candidate before scoring" in err.detail
    rec.declare_conflict("c1", STAFF, True, STAFF)
    err = refusal(rec, ConflictAlreadyDeclared, lambda: rec.declare_conflict("c1", STAFF, False, STAFF))
    assert "you have already declared for this candidate" in err.detail
    err = refusal(rec, MemberRecused, lambda: rec.score_interview("c1", STAFF, scores(3), "hire", None, STAFF))
    assert "you are recused from this candidate" in err.detail
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    err = refusal(rec, ScoresOffScorecard, lambda: rec.score_interview("c1", PARTICIPANT, {"empathy": 3}, "hire",
                                                                         None, PARTICIPANT))
    assert err.field == "scores" and f"score exactly the focus attributes {', '.join(KEYS)}" in err.detail
    err = refusal(rec, ScoresOffScorecard, lambda: rec.score_interview("c1", PARTICIPANT, scores(6), "hire",
                                                                         None, PARTICIPANT))
    assert err.field == "scores" and f"{KEYS[0]}: scores are on a 1-5 scale" in err.detail
    err = refusal(rec, NoScoreToAmend, lambda: rec.amend_score("c1", PARTICIPANT, scores(3), "hire", "why",
                                                               PARTICIPANT))
    assert "there is no score of yours to amend for this candidate" in err.detail
    rec.score_interview("c1", PARTICIPANT, scores(3), "hire", None, PARTICIPANT)
    err = refusal(rec, AlreadyScored, lambda: rec.score_interview("c1", PARTICIPANT, scores(3), "hire", None,
                                                                  PARTICIPANT))
    assert "amend the score with a reason" in err.detail
    err = refusal(rec, ReasonMissing, lambda: rec.amend_score("c1", PARTICIPANT, scores(4), "hire", " ",
                                                              PARTICIPANT))
    assert err.field == "reason" and "an amended score needs a reason" in err.detail


def test_decision_outcome_feedback_and_follow_up_refusals_say_what_is_wrong() -> None:
    rec = scored("no_hire")
    err = refusal(rec, NoScoresYet, lambda: rec.decide("c2", "m", "r", "2026-03-01", MANAGER))
    assert "a decision comes after the scores" in err.detail
    err = refusal(rec, DeviationReasonMissing, lambda: rec.decide("c1", "m", None, "2026-03-01", MANAGER))
    assert err.field == "deviation_reason"
    assert "the panel's participants recommended 'no_hire'" in err.detail and "why in deviation_reason" in err.detail
    err = refusal(rec, NotTheHiringManager, lambda: rec.decide("c1", "m", "r", "2026-03-01", COORDINATOR))
    assert "only this recruitment's hiring manager may do this" in err.detail
    rec.decide("c1", "m", "the staff saw more", "2026-03-01", MANAGER)
    err = refusal(rec, OutcomeNotShared, lambda: rec.close("filled", None, "2026-03-03", COORDINATOR))
    assert "share the outcome with the panel before closing" in err.detail
    err = refusal(rec, OutcomeNotShared, lambda: rec.give_participant_feedback(PARTICIPANT["id"], 4, "t",
                                                                               PARTICIPANT))
    assert "feedback comes after the outcome is shared with you" in err.detail
    rec.share_outcome(COORDINATOR)
    err = refusal(rec, OutcomeAlreadyShared, lambda: rec.share_outcome(COORDINATOR))
    assert "the outcome is already shared with the panel" in err.detail
    rec.give_participant_feedback(PARTICIPANT["id"], 4, "t", PARTICIPANT)
    err = refusal(rec, FeedbackAlreadyGiven, lambda: rec.give_participant_feedback(PARTICIPANT["id"], 5, "t",
                                                                                   PARTICIPANT))
    assert "you have already given your feedback" in err.detail
    rec.give_manager_feedback(4, "t", MANAGER)
    err = refusal(rec, FeedbackAlreadyGiven, lambda: rec.give_manager_feedback(5, "t", MANAGER))
    assert "the manager's feedback is already given" in err.detail
    err = refusal(rec, FollowUpOutOfOrder, lambda: rec.follow_up_hire(12, True, 4, COORDINATOR))
    assert "record the 6-month follow-up first" in err.detail
    rec.follow_up_hire(6, True, 4, COORDINATOR)
    err = refusal(rec, FollowUpAlreadyRecorded, lambda: rec.follow_up_hire(6, True, 4, COORDINATOR))
    assert "the 6-month follow-up is already recorded" in err.detail
    rec.follow_up_hire(12, False, None, COORDINATOR)  # after the 6-month one, the 12-month one is due
    assert set(rec.follow_ups) == {"6", "12"}


def test_closing_and_retention_refusals_say_what_is_wrong() -> None:
    rec = interviewing()
    for reason in (None, "", "  "):
        err = refusal(rec, ReasonMissing, partial(rec.close, "cancelled", reason, "2026-03-02", COORDINATOR))
        assert err.field == "reason" and "a cancelled recruitment needs a reason" in err.detail
    err = refusal(rec, NoLegalHold, lambda: rec.release_legal_hold("c1", COORDINATOR))
    assert "there is no legal hold for this candidate" in err.detail
    rec.place_legal_hold("c1", "claim", COORDINATOR)
    err = refusal(rec, LegalHoldExists, lambda: rec.place_legal_hold("c1", "again", COORDINATOR))
    assert "a legal hold already exists for this candidate" in err.detail
    rec.record_shredding("c2", "basis", ATS)
    err = refusal(rec, AlreadyShredded, lambda: rec.record_shredding("c2", "basis", ATS))
    assert "this candidate's data is already shredded" in err.detail
    rec.close("cancelled", "budget withdrawn", "2026-03-02", COORDINATOR)
    err = refusal(rec, RecruitmentClosedError, lambda: rec.contribute_advert("ad", "t", "staff", STAFF))
    assert "the recruitment is closed (cancelled); it can no longer be changed" in err.detail


# -- the edges of scorecards, scores, ratings and panel sizes --------------------------------------
def test_a_scorecard_has_three_to_six_unique_attributes_with_motivation() -> None:
    extra = [{"key": f"k{i}", "label": f"k{i}"} for i in range(4)]
    Recruitment.check_scorecard(SCORECARD)
    Recruitment.check_scorecard([*SCORECARD, *extra[:3]])  # six
    cases = [
        ([*SCORECARD, *extra], "a scorecard has 3 to 6 focus attributes"),  # seven
        (SCORECARD[:2], "a scorecard has 3 to 6 focus attributes"),
        ([*SCORECARD, SCORECARD[1]], "focus attribute keys must be unique"),
        (extra[:3], "the scorecard must include 'motivation_user_participation' (motivation for working with user "
                    "participation, effect goal 1)"),
    ]
    for scorecard, words in cases:
        with pytest.raises(ScorecardInvalid) as caught:
            Recruitment.check_scorecard(scorecard)
        assert caught.value.field == "scorecard" and words in caught.value.detail


def test_scores_run_from_one_to_five_inclusive() -> None:
    rec = interviewing()
    for member in (PARTICIPANT, STAFF):
        rec.declare_conflict("c1", member, False, member)
    refusal(rec, ScoresOffScorecard, lambda: rec.score_interview("c1", STAFF, scores(0), "hire", None, STAFF))
    rec.score_interview("c1", PARTICIPANT, scores(1), "no_hire", None, PARTICIPANT)
    rec.score_interview("c1", STAFF, scores(5), "hire", None, STAFF)
    assert rec.summary("c1")["by_role"]["staff"]["averages"] == scores(5)


IMPORTER = {"id": "coord-eva", "role": "importer"}
MARK = {"by": "coord-eva", "source": "h.csv", "line": 3}


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(hour=12, tzinfo=UTC)


def past(panel_size: int = 2) -> Recruitment:
    return Recruitment.import_history(uuid4(), unit="u", position="Socialsekreterare", hiring_manager="chef-1",
                                      panel_size=panel_size, department=DEPT, imported=MARK,
                                      timestamp=day("2017-02-06"), actor=IMPORTER)


def test_a_past_panel_has_one_to_three_participants_and_ratings_run_from_one_to_five() -> None:
    for size in (1, 3):
        assert past(size).needs["panel_size"] == size
    for size in (0, 4):
        with pytest.raises(InvalidInput) as caught:
            past(size)
        assert caught.value.field == "participant" and "a panel has 1 to 3 participants" in caught.value.detail
    rec = past(3)
    for members in (["b1"], ["b1", "b2"], ["b1", "b2", "b3"]):
        rec.import_panel(members, MARK, day("2017-02-20"), IMPORTER, DEPT)
    rec.import_decision("kandidat-A", "Bäst", "hire", MARK, day("2017-03-15"), IMPORTER, DEPT)
    for rating in (0, 6):
        err = refusal(rec, InvalidInput, partial(rec.import_manager_feedback, rating, "", MARK, day("2017-04-01"),
                                                 IMPORTER, DEPT))
        assert err.field == "rating" and "a rating is 1 to 5" in err.detail
    rec.import_manager_feedback(1, "", MARK, day("2017-04-01"), IMPORTER, DEPT)
    rec.import_participant_feedback("b1", 5, "", MARK, day("2017-04-02"), IMPORTER, DEPT)
    assert rec.manager_feedback is not None
    assert (rec.manager_feedback["rating"], rec.participant_feedback["b1"]["rating"]) == (1, 5)


def test_a_past_recruitment_keeps_its_id_and_reads_as_a_paper_recruitment() -> None:
    rid = uuid4()
    actor = {"id": "coord-eva", "role": "importer"}
    rec = Recruitment.import_history(rid, unit="u", position="Socialsekreterare", hiring_manager="chef-1",
                                     panel_size=2, department=DEPT, imported={"line": 2}, timestamp=day("2017-02-06"),
                                     actor=actor)
    assert rec.id == rid and replayed(rec).id == rid
    assert (rec.unit, rec.position, rec.hiring_manager, rec.coordinator, rec.department) == (
        "u", "Socialsekreterare", "chef-1", "coord-eva", DEPT)
    assert rec.interview_format == "joint" and rec.scorecard == []
    assert rec.planned == {"advert_on": None, "interviews_from": None, "interviews_to": None, "decision_by": None}
    assert rec.needs == {"experience_areas": [], "languages": [], "panel_size": 2}
    assert rec.imported == {"line": 2} and rec.stage == "drafting"
    rec2 = Recruitment.import_history(rid, unit="u", position="p", hiring_manager="chef-1", panel_size=2,
                                      department=DEPT, imported={"line": 2}, timestamp=day("2017-02-06"), actor=actor)
    (first,) = fields(rec2)
    assert (first["actor"], first["department"]) == (actor, DEPT)


def test_imported_history_is_dated_in_order_and_only_feedback_comes_after_the_close() -> None:
    live = opened()
    err = refusal(live, Conflict, lambda: live.import_panel(["b1"], MARK, day("2017-02-20"), IMPORTER, DEPT))
    assert "history is imported only into imported recruitments" in err.detail
    rec = past()
    err = refusal(rec, InvalidInput, lambda: rec.import_panel(["b1"], MARK, day("2017-01-01"), IMPORTER, DEPT))
    assert err.field == "date" and "before the recruitment's previous event (2017-02-06)" in err.detail
    rec.import_panel(["b1"], MARK, day("2017-02-06"), IMPORTER, DEPT)  # the same day as the event before: fine
    rec.import_decision("kandidat-A", "Bäst", "hire", MARK, day("2017-03-15"), IMPORTER, DEPT)
    rec.import_close("filled", None, MARK, day("2017-03-31"), IMPORTER, DEPT)
    refusal(rec, RecruitmentClosedError, lambda: rec.import_panel(["b1", "b2"], MARK, day("2017-04-01"), IMPORTER,
                                                                  DEPT))
    rec.import_participant_feedback("b1", 4, "", MARK, day("2017-04-03"), IMPORTER, DEPT)
    assert rec.participant_feedback["b1"]["rating"] == 4


# -- who the hiring manager is ---------------------------------------------------------------
def test_only_this_recruitments_own_hiring_manager_decides() -> None:
    rec = scored()
    for actor in ({"id": "hm-other", "role": "hiring_manager"}, {"id": MANAGER["id"], "role": "coordinator"}):
        refusal(rec, NotTheHiringManager, partial(rec.decide, "c1", "m", None, "2026-03-01", actor))
    rec.decide("c1", "m", None, "2026-03-01", MANAGER)
    assert rec.stage == "decided" and rec.hired_candidate() == "c1"


# -- who said what ---------------------------------------------------------------------------
def entry(member_id: str, role: str, value: int, recommendation: str, amended: bool = False) -> dict[str, Any]:
    return {"member_id": member_id, "role": role, "scores": {"empathy": str(value)},
            "recommendation": recommendation, "amended": amended}


def test_who_said_what_averages_per_role_to_two_decimals_and_flags_a_gap_of_one() -> None:
    entries = [entry("p1", "participant", 4, "hire"), entry("p2", "participant", 4, "hire"),
               entry("p3", "participant", 5, "no_hire"), entry("s1", "staff", 3, "hire"),
               entry("s2", "hiring_manager", 4, "maybe", amended=True)]
    view = who_said_what(["empathy"], entries, ["s9", "p9"])
    participants, staff = view["by_role"]["participant"], view["by_role"]["staff"]
    assert (participants["count"], participants["averages"]) == (3, {"empathy": 4.33})
    assert (staff["count"], staff["averages"]) == (2, {"empathy": 3.5})
    assert participants["recommendations"] == {"hire": 2, "maybe": 0, "no_hire": 1}
    assert (view["participants_recommendation"], view["staff_recommendation"]) == ("hire", "split")
    assert view["recommendations_agree"] is False and view["disagreements"] == []  # 0.83 apart
    assert view["recused"] == ["p9", "s9"]
    assert [(m["member_id"], m["group"]) for m in view["members"]] == [
        ("p1", "participant"), ("p2", "participant"), ("p3", "participant"), ("s1", "staff"), ("s2", "staff")]
    assert view["members"][4] == {"member_id": "s2", "role": "hiring_manager", "group": "staff",
                                  "scores": {"empathy": 4}, "recommendation": "maybe", "amended": True}

    gap = who_said_what(["empathy"], [entry("p1", "participant", 4, "hire"), entry("s1", "staff", 3, "hire")])
    assert gap["disagreements"] == [{"attribute": "empathy", "participants": 4.0, "staff": 3.0}]
    assert gap["recommendations_agree"] is True and gap["recused"] == []


def test_who_said_what_with_one_group_silent_has_no_gap_and_no_agreement() -> None:
    for alone in ([entry("s1", "staff", 3, "hire")], [entry("p1", "participant", 3, "hire")]):
        view = who_said_what(["empathy"], alone)
        assert view["disagreements"] == [] and view["recommendations_agree"] is None


def test_a_majority_needs_more_votes_than_the_runner_up() -> None:
    def said(*recs: str) -> str | None:
        entries = [entry(f"s{i}", "staff", 3, r) for i, r in enumerate(recs)]
        return who_said_what(["empathy"], entries)["staff_recommendation"]

    assert said() is None
    assert said("no_hire") == "no_hire"
    assert said("hire", "no_hire", "hire") == "hire"
    assert said("hire", "no_hire") == "split"
    assert said("hire", "maybe", "no_hire", "no_hire", "maybe") == "split"


def test_the_summary_of_a_candidate_lists_who_is_recused() -> None:
    rec = interviewing()
    rec.declare_conflict("c1", STAFF, True, STAFF)
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    rec.score_interview("c1", PARTICIPANT, scores(4), "hire", None, PARTICIPANT)
    assert rec.summary("c1")["recused"] == [STAFF["id"]]
    assert rec.has_scored("c1", PARTICIPANT["id"]) and not rec.has_scored("c1", STAFF["id"])
    assert rec.on_panel(STAFF["id"]) and not rec.on_panel("p-9")


# -- what a decision and the steps after it record ----------------------------------------------
def test_a_decision_with_the_participants_records_no_deviation() -> None:
    rec = scored("hire")
    rec.decide("c1", "the best fit", "not needed", "2026-03-01", MANAGER)
    assert rec.decision == {"candidate_id": "c1", "motivation": "the best fit", "participants_recommendation": "hire",
                            "against_participants": False, "deviation_reason": None, "decided_on": "2026-03-01",
                            "by": MANAGER}


def test_a_decision_against_the_participants_records_why() -> None:
    rec = scored("no_hire")
    rec.decide("c1", "m", "the staff saw more", "2026-03-01", MANAGER)
    assert rec.decision is not None
    assert (rec.decision["against_participants"], rec.decision["deviation_reason"]) == (True, "the staff saw more")


def test_every_event_records_who_did_it_and_what_it_was_about() -> None:
    rec = opened()
    rec.collect_events()
    rec.publish_advert("Advert", "hash-1", COORDINATOR)
    assert {k: fields(rec)[-1][k] for k in ("version", "text", "text_hash", "actor")} == {
        "version": 1, "text": "Advert", "text_hash": "hash-1", "actor": COORDINATOR}
    rec.receive_application("c1", "ats-1", None, False, ATS)
    rec.learn_panel([PARTICIPANT["id"], STAFF["id"]], "matching-event-1", MATCHING)
    assert fields(rec)[-1]["actor"] == MATCHING
    rec.declare_conflict("c1", STAFF, True, STAFF)
    declared = fields(rec)[-1]
    assert (declared["member_id"], declared["member_role"], declared["has_conflict"], declared["recused"],
            declared["actor"]) == (STAFF["id"], "staff", True, True, STAFF)
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    rec.score_interview("c1", PARTICIPANT, scores(4), "hire", None, PARTICIPANT)
    rec.decide("c1", "m", None, "2026-03-01", MANAGER)
    rec.share_outcome(COORDINATOR)
    assert (fields(rec)[-1]["candidate_id"], fields(rec)[-1]["actor"]) == ("c1", COORDINATOR)
    rec.follow_up_hire(6, True, 4, COORDINATOR)
    assert (fields(rec)[-1]["candidate_id"], fields(rec)[-1]["actor"]) == ("c1", COORDINATOR)


# -- retention -------------------------------------------------------------------------------------
def test_due_for_shredding_are_the_candidates_not_hired_not_shredded_and_not_held() -> None:
    rec = decided()
    assert rec.due_for_shredding() == ["c2"]
    rec.place_legal_hold(ALL_CANDIDATES, "claim on the whole recruitment", COORDINATOR)
    assert rec.due_for_shredding() == []
    rec.release_legal_hold(ALL_CANDIDATES, COORDINATOR)
    rec.record_shredding("c2", "basis", ATS)
    assert rec.due_for_shredding() == []


def test_retention_runs_from_the_decision_else_from_the_cancelling_close() -> None:
    assert interviewing().retention_start() is None
    assert decided().retention_start() == "2026-03-01"
    rec = interviewing()
    rec.close("cancelled", "budget withdrawn", "2026-03-02", COORDINATOR)
    assert rec.retention_start() == "2026-03-02"


# -- the text on how service users take part --------------------------------------------------------
def test_the_participation_text_is_published_with_the_current_advert_only() -> None:
    rec = opened()
    for version in (0, 1):
        err = refusal(rec, Conflict, partial(rec.publish_participation_text, version, "t", "h", COORDINATOR, DEPT))
        assert err.field == "participation_text" and "published together with the advert" in err.detail
    rec.publish_advert("Advert", "hash-1", COORDINATOR)
    rec.publish_advert("Advert 2", "hash-2", COORDINATOR)
    refusal(rec, Conflict, lambda: rec.publish_participation_text(1, "t", "h", COORDINATOR, DEPT))
    rec.publish_participation_text(2, "t", "h", COORDINATOR, DEPT)
    assert rec.published_participation == {"advert_version": 2, "text": "t", "text_hash": "h"}


def test_a_cancelled_past_recruitment_takes_no_later_decision_and_no_second_close() -> None:
    rec = past()
    rec.import_close("cancelled", "the post was withdrawn", MARK, day("2017-03-01"), IMPORTER, DEPT)
    refusal(rec, RecruitmentClosedError, partial(rec.import_decision, "kandidat-A", "Bäst", "hire", MARK,
                                                 day("2017-03-15"), IMPORTER, DEPT))
    refusal(rec, RecruitmentClosedError, partial(rec.import_close, "cancelled", "again", MARK, day("2017-03-20"),
                                                 IMPORTER, DEPT))
    assert rec.decision is None and rec.closed == {"outcome": "cancelled", "reason": "the post was withdrawn",
                                                   "closed_on": "2017-03-01"}
