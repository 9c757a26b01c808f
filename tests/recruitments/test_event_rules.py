"""What each event of a recruitment leaves behind, as the people who read it afterwards see it, in
process (no servers, no store): the coordinator and hiring manager reading the recruitment's page,
a panel member reading their candidate, an auditor reading who did what, and the coordinator who
imports a past recruitment from paper and reads each refused line's field and message.

Each event's state is stated exactly, on the live aggregate and on the one replayed from its
events (as the store loads it). Written for the mutation run of the event bodies
(``services/recruitments/domain.py``, docs/mutation.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application

from services.recruitments.domain import (
    ALL_CANDIDATES,
    DecisionAlreadyMade,
    DecisionPending,
    Recruitment,
)
from shared.errors import Conflict, DomainError, InvalidInput
from tests.aggregates import refused

DEPT = "socialforvaltningen"
KEYS = ("motivation_user_participation", "empathy", "collaboration")
SCORECARD = [{"key": k, "label": k.replace("_", " ")} for k in KEYS]
PLANNED = {"advert_on": "2026-02-01", "interviews_from": "2026-02-20", "interviews_to": "2026-02-27",
           "decision_by": "2026-03-06"}
NEEDS = {"experience_areas": ["missbruk"], "languages": ["sv", "ar"], "panel_size": 2}
COORDINATOR = {"id": "co-7", "role": "coordinator"}
MANAGER = {"id": "hm-7", "role": "hiring_manager"}
PARTICIPANT = {"id": "p-7", "role": "participant"}
STAFF = {"id": "st-7", "role": "staff"}
ATS = {"id": "ats", "role": "system"}
MATCHING = {"id": "matching", "role": "system"}


def opened() -> Recruitment:
    return Recruitment(id=uuid4(), unit="Unit", position="Socialsekreterare", hiring_manager=MANAGER["id"],
                       coordinator=COORDINATOR["id"], interview_format="split", planned=PLANNED,
                       scorecard=SCORECARD, needs=NEEDS, actor=COORDINATOR, department=DEPT)


def scores(value: int) -> dict[str, int]:
    return {k: value for k in KEYS}


def interviewing() -> Recruitment:
    """Advert published, candidates c1 and c2 received, a panel of a participant and a staff member."""
    rec = opened()
    rec.publish_advert("Advert", "hash-1", COORDINATOR)
    rec.receive_application("c1", "ats-1", "vault:c1", False, ATS)
    rec.receive_application("c2", "ats-2", None, True, ATS)
    rec.learn_panel([PARTICIPANT["id"], STAFF["id"]], "matching-event-1", MATCHING)
    return rec


def decided() -> Recruitment:
    """c1 scored by both members and hired; the outcome not shared yet."""
    rec = interviewing()
    for member in (PARTICIPANT, STAFF):
        rec.declare_conflict("c1", member, False, member)
        rec.score_interview("c1", member, scores(4), "hire", None, member)
    rec.decide("c1", "the best fit", None, "2026-03-01", MANAGER)
    return rec


def loaded(rec: Recruitment) -> Any:
    """The recruitment as the store would load it: rebuilt from its events (left in place)."""
    copy: Any = None
    for recorded in rec.pending_events:
        copy = recorded.mutate(copy)
    assert copy is not None
    return copy


def both(rec: Recruitment, read: Callable[[Recruitment], Any]) -> tuple[Any, Any]:
    """What ``read`` sees on the live recruitment and on the one the store would load."""
    return read(rec), read(loaded(rec))


def refusal(rec: Recruitment, kind: type[DomainError], command: Callable[[], Any]) -> DomainError:
    """The named refusal ``command`` meets (nothing recorded), for its field and wording."""
    err = refused(rec, kind, command)
    assert isinstance(err, DomainError)
    return err


# -- opening, drafting, advert ---------------------------------------------------------------------
def test_an_opened_recruitment_holds_what_was_planned_and_nothing_has_happened_yet() -> None:
    rid = uuid4()
    rec = Recruitment(id=rid, unit="Unit", position="Socialsekreterare", hiring_manager=MANAGER["id"],
                      coordinator=COORDINATOR["id"], interview_format="split", planned=PLANNED, scorecard=SCORECARD,
                      needs=NEEDS, actor=COORDINATOR, department=DEPT)
    for seen in (rec, loaded(rec)):
        assert seen.id == rid
        assert (seen.department, seen.unit, seen.position, seen.hiring_manager, seen.coordinator) == (
            DEPT, "Unit", "Socialsekreterare", MANAGER["id"], COORDINATOR["id"])
        assert (seen.interview_format, seen.planned, seen.scorecard, seen.needs) == ("split", PLANNED, SCORECARD,
                                                                                     NEEDS)
        assert seen.scorecard_keys == list(KEYS)
        assert seen.stage == "drafting" and seen.advert_version == 0 and seen.published_advert is None
        assert (seen.job_description, seen.advert, seen.candidates, seen.panel) == ([], [], {}, [])
        assert seen.decision is None and seen.outcome_shared_with is None and seen.closed is None
        assert seen.manager_feedback is None
        assert (seen.participant_feedback, seen.follow_ups, seen.legal_holds) == ({}, {}, {})
        assert seen.participation_contributions == [] and seen.published_participation is None
        assert seen.imported is None and seen.retention_start() is None and seen.due_for_shredding() == []


def test_the_job_description_the_advert_and_the_participation_text_show_who_wrote_each_part() -> None:
    rec = opened()
    rec.contribute_job_description("jd-1", "We need someone who listens", "participant", PARTICIPANT)
    rec.contribute_job_description("jd-2", "Experience of casework", "staff", STAFF)
    rec.contribute_advert("ad-1", "Join us", "coordinator", COORDINATOR)
    rec.contribute_participation_text("pt-1", "Service users sit on the panel", "participant", PARTICIPANT, DEPT)
    assert both(rec, lambda r: r.job_description) == ([
        {"contribution_id": "jd-1", "text": "We need someone who listens", "by": PARTICIPANT},
        {"contribution_id": "jd-2", "text": "Experience of casework", "by": STAFF},
    ],) * 2
    assert both(rec, lambda r: r.advert) == ([{"contribution_id": "ad-1", "text": "Join us", "by": COORDINATOR}],) * 2
    assert both(rec, lambda r: r.participation_contributions) == (
        [{"contribution_id": "pt-1", "text": "Service users sit on the panel", "by": PARTICIPANT}],) * 2


def test_the_published_advert_is_the_latest_version_with_its_text_and_hash() -> None:
    rec = opened()
    rec.publish_advert("Advert", "hash-1", COORDINATOR)
    rec.publish_advert("Advert 2", "hash-2", COORDINATOR)
    rec.publish_participation_text(2, "How you take part", "hash-p", COORDINATOR, DEPT)
    assert both(rec, lambda r: (r.advert_version, r.stage)) == ((2, "advertised"),) * 2
    assert both(rec, lambda r: r.published_advert) == ({"version": 2, "text": "Advert 2", "text_hash": "hash-2"},) * 2
    assert both(rec, lambda r: r.published_participation) == (
        {"advert_version": 2, "text": "How you take part", "text_hash": "hash-p"},) * 2


def test_after_the_decision_the_text_on_how_service_users_take_part_is_settled() -> None:
    rec = decided()
    err = refusal(rec, DecisionAlreadyMade, partial(rec.contribute_participation_text, "pt", "t", "staff", STAFF,
                                                    DEPT))
    assert "the hiring decision is made; writing how service users take part is no longer possible" in err.detail
    err = refusal(rec, DecisionAlreadyMade, partial(rec.publish_participation_text, 1, "t", "h", COORDINATOR, DEPT))
    assert "the hiring decision is made; publishing how service users take part is no longer possible" in err.detail


# -- applications, panel, declarations, scores -------------------------------------------------------
def test_a_received_application_is_a_candidate_not_yet_assessed_declared_scored_or_shredded() -> None:
    rec = interviewing()
    fresh = {"assessments": {}, "conflicts": {}, "scores": {}, "shredded": False}
    assert both(rec, lambda r: r.candidates) == ({
        "c1": {"ats_ref": "ats-1", "personal": "vault:c1", "protected_identity": False, **fresh},
        "c2": {"ats_ref": "ats-2", "personal": None, "protected_identity": True, **fresh},
    },) * 2


def test_an_assessment_records_the_assessors_role_shortlist_and_motivation() -> None:
    rec = interviewing()
    rec.assess_application("c1", STAFF, "yes", "vault:why-staff", STAFF)
    rec.assess_application("c1", PARTICIPANT, "maybe", "vault:why-participant", PARTICIPANT)
    assert both(rec, lambda r: r.candidate("c1")["assessments"]) == ({
        STAFF["id"]: {"role": "staff", "shortlist": "yes", "motivation": "vault:why-staff"},
        PARTICIPANT["id"]: {"role": "participant", "shortlist": "maybe", "motivation": "vault:why-participant"},
    },) * 2
    assert rec.candidate("c2")["assessments"] == {}


def test_a_new_panel_from_matching_replaces_the_one_before_and_the_same_event_again_changes_nothing() -> None:
    rec = interviewing()
    assert rec.learn_panel(["p-8"], "matching-event-2", MATCHING) is True
    assert both(rec, lambda r: (r.panel, r.stage)) == ((["p-8"], "interviewing"),) * 2
    assert rec.learn_panel([PARTICIPANT["id"]], "matching-event-1", MATCHING) is False
    assert rec.learn_panel([PARTICIPANT["id"]], "matching-event-2", MATCHING) is False
    assert both(rec, lambda r: r.panel) == (["p-8"],) * 2
    copy = loaded(rec)
    assert copy.learn_panel(["p-9"], "matching-event-1", MATCHING) is False  # the store's copy knows it too
    assert copy.panel == ["p-8"]


def test_a_declaration_records_the_members_role_and_whether_they_are_recused() -> None:
    rec = interviewing()
    rec.declare_conflict("c1", STAFF, True, STAFF)
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    assert both(rec, lambda r: r.candidate("c1")["conflicts"]) == ({
        STAFF["id"]: {"role": "staff", "has_conflict": True, "recused": True},
        PARTICIPANT["id"]: {"role": "participant", "has_conflict": False, "recused": False},
    },) * 2
    assert both(rec, lambda r: r.recused("c1")) == ([STAFF["id"]],) * 2
    assert rec.candidate("c2")["conflicts"] == {}


def test_a_score_records_the_members_role_scores_recommendation_and_comment() -> None:
    rec = interviewing()
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    rec.score_interview("c1", PARTICIPANT, scores(4), "maybe", "vault:comment", PARTICIPANT)
    assert both(rec, lambda r: r.candidate("c1")["scores"]) == ({
        PARTICIPANT["id"]: {"role": "participant", "scores": scores(4), "recommendation": "maybe",
                            "comment": "vault:comment", "amendments": []},
    },) * 2
    view = rec.summary("c1")
    assert view["members"] == [{"member_id": PARTICIPANT["id"], "role": "participant", "group": "participant",
                                "scores": scores(4), "recommendation": "maybe", "amended": False}]
    assert view["participants_recommendation"] == "maybe" and view["staff_recommendation"] is None


def test_an_amended_score_replaces_the_score_and_keeps_each_earlier_one_with_its_reason() -> None:
    rec = interviewing()
    rec.declare_conflict("c1", PARTICIPANT, False, PARTICIPANT)
    rec.score_interview("c1", PARTICIPANT, scores(4), "hire", "vault:comment", PARTICIPANT)
    rec.amend_score("c1", PARTICIPANT, scores(2), "no_hire", "I misread my notes", PARTICIPANT)
    rec.amend_score("c1", PARTICIPANT, scores(3), "maybe", "after the reference call", PARTICIPANT)
    assert both(rec, lambda r: r.candidate("c1")["scores"][PARTICIPANT["id"]]) == ({
        "role": "participant", "scores": scores(3), "recommendation": "maybe", "comment": "vault:comment",
        "amendments": [{"previous": scores(4), "reason": "I misread my notes"},
                       {"previous": scores(2), "reason": "after the reference call"}],
    },) * 2
    view = rec.summary("c1")
    assert view["members"][0]["amended"] is True and view["members"][0]["scores"] == scores(3)
    assert view["participants_recommendation"] == "maybe"
    assert view["by_role"]["participant"]["averages"] == {k: 3.0 for k in KEYS}


# -- after the decision --------------------------------------------------------------------------------
def test_the_outcome_is_shared_with_the_panel_as_it_was_then() -> None:
    rec = decided()
    assert rec.share_outcome(COORDINATOR) == [PARTICIPANT["id"], STAFF["id"]]
    assert both(rec, lambda r: r.outcome_shared_with) == ([PARTICIPANT["id"], STAFF["id"]],) * 2


def test_a_closed_recruitment_records_its_outcome_reason_and_day() -> None:
    rec = interviewing()
    rec.close("cancelled", "budget withdrawn", "2026-03-02", COORDINATOR)
    assert both(rec, lambda r: (r.closed, r.stage, r.retention_start())) == (
        ({"outcome": "cancelled", "reason": "budget withdrawn", "closed_on": "2026-03-02"}, "closed", "2026-03-02"),
    ) * 2
    rec = decided()
    rec.share_outcome(COORDINATOR)
    rec.close("filled", None, "2026-03-05", COORDINATOR)
    assert both(rec, lambda r: (r.closed, r.retention_start())) == (
        ({"outcome": "filled", "reason": None, "closed_on": "2026-03-05"}, "2026-03-01"),) * 2


def test_feedback_records_each_persons_rating_and_words() -> None:
    rec = decided()
    rec.share_outcome(COORDINATOR)
    rec.give_manager_feedback(5, "the participants saw what we missed", MANAGER)
    rec.give_participant_feedback(PARTICIPANT["id"], 3, "I was listened to", PARTICIPANT)
    rec.give_participant_feedback(STAFF["id"], 4, "", STAFF)
    assert both(rec, lambda r: r.manager_feedback) == (
        {"rating": 5, "text": "the participants saw what we missed"},) * 2
    assert both(rec, lambda r: r.participant_feedback) == ({
        PARTICIPANT["id"]: {"rating": 3, "text": "I was listened to"},
        STAFF["id"]: {"rating": 4, "text": ""},
    },) * 2


def test_each_follow_up_of_the_hire_is_recorded_under_its_month() -> None:
    rec = decided()
    rec.follow_up_hire(6, True, 4, COORDINATOR)
    rec.follow_up_hire(12, False, None, COORDINATOR)
    assert both(rec, lambda r: r.follow_ups) == ({
        "6": {"still_employed": True, "motivation_rating": 4},
        "12": {"still_employed": False, "motivation_rating": None},
    },) * 2


def test_a_legal_hold_records_its_reason_until_released_and_shredding_marks_only_its_candidate() -> None:
    rec = interviewing()
    rec.place_legal_hold("c1", "an appeal to the court", COORDINATOR)
    rec.place_legal_hold(ALL_CANDIDATES, "a claim on the whole recruitment", COORDINATOR)
    assert both(rec, lambda r: r.legal_holds) == (
        {"c1": "an appeal to the court", ALL_CANDIDATES: "a claim on the whole recruitment"},) * 2
    rec.release_legal_hold(ALL_CANDIDATES, COORDINATOR)
    assert both(rec, lambda r: (r.legal_holds, r.due_for_shredding())) == (
        ({"c1": "an appeal to the court"}, ["c2"]),) * 2
    rec.record_shredding("c2", "retention period over", ATS)
    assert both(rec, lambda r: {cid: c["shredded"] for cid, c in r.candidates.items()}) == (
        {"c1": False, "c2": True},) * 2


# -- a long recruitment loads from its snapshot ----------------------------------------------------------
def from_snapshot(rec: Recruitment) -> Recruitment:
    """``rec`` saved and loaded from a snapshot, through the store's JSON encoding, as the service
    loads a recruitment whose stream is long (it snapshots every ``SNAPSHOT_EVERY`` events)."""
    store: Application[Any] = Application(env={"IS_SNAPSHOTTING_ENABLED": "y"})
    store.save(rec)
    store.take_snapshot(rec.id)
    loaded: Recruitment = store.repository.get(rec.id)
    return loaded


def test_a_recruitment_loaded_from_its_snapshot_reads_as_it_was_written() -> None:
    rec = opened()
    rec.contribute_job_description("jd-1", "We need someone who listens", "participant", PARTICIPANT)
    rec.contribute_advert("ad-1", "Join us", "coordinator", COORDINATOR)
    rec.contribute_participation_text("pt-1", "Service users sit on the panel", "participant", PARTICIPANT, DEPT)
    version = rec.publish_advert("Advert", "hash-1", COORDINATOR)
    rec.publish_participation_text(version, "How you take part", "hash-p", COORDINATOR, DEPT)
    rec.receive_application("c1", "ats-1", "vault:c1", False, ATS)
    copy = from_snapshot(rec)
    read = ("stage", "job_description", "advert", "published_advert", "participation_contributions",
            "published_participation", "candidates", "panel", "decision", "closed")
    assert {name: getattr(copy, name) for name in read} == {name: getattr(rec, name) for name in read}
    assert copy.participation_contributions == [
        {"contribution_id": "pt-1", "text": "Service users sit on the panel", "by": PARTICIPANT}]


def test_a_recruitment_snapshotted_before_any_participation_text_reads_none_and_takes_new_text() -> None:
    copy = from_snapshot(interviewing())
    assert copy.participation_contributions == [] and copy.published_participation is None
    copy.contribute_participation_text("pt-1", "We sit on the panel", "participant", PARTICIPANT, DEPT)
    assert copy.participation_contributions == [
        {"contribution_id": "pt-1", "text": "We sit on the panel", "by": PARTICIPANT}]


# -- a past recruitment imported from paper ------------------------------------------------------------
IMPORTER = {"id": "coord-eva", "role": "importer"}
MARK = {"by": "coord-eva", "source": "h.csv", "line": 4}


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(hour=12, tzinfo=UTC)


def past() -> Recruitment:
    return Recruitment.import_history(uuid4(), unit="u", position="Socialsekreterare", hiring_manager="chef-1",
                                      panel_size=3, department=DEPT, imported=MARK, timestamp=day("2017-02-06"),
                                      actor=IMPORTER)


def panel(rec: Recruitment, members: list[str], on: str = "2017-02-20") -> Callable[[], None]:
    return partial(rec.import_panel, members, MARK, day(on), IMPORTER, DEPT)


def test_a_past_panel_grows_by_one_new_member_at_a_time_up_to_three() -> None:
    rec = past()
    for members in ([], ["b1", "b2"]):
        err = refusal(rec, InvalidInput, panel(rec, members))
        assert err.field == "participant" and "a panel grows by one member at a time" in err.detail, members
    panel(rec, ["b1"])()
    assert both(rec, lambda r: (r.panel, r.stage)) == ((["b1"], "interviewing"),) * 2
    for members in (["b9", "b2"], ["b1", "b2", "b3"], ["b1"]):
        err = refusal(rec, InvalidInput, panel(rec, members))
        assert err.field == "participant" and "a panel grows by one member at a time" in err.detail, members
    err = refusal(rec, Conflict, panel(rec, ["b1", "b1"]))
    assert err.field == "participant" and "b1 is already on this panel" in err.detail
    panel(rec, ["b1", "b2"])()
    err = refusal(rec, Conflict, panel(rec, ["b1", "b2", "b1"]))
    assert err.field == "participant" and "b1 is already on this panel" in err.detail  # the one added, named
    panel(rec, ["b1", "b2", "b3"])()
    assert both(rec, lambda r: r.panel) == (["b1", "b2", "b3"],) * 2
    err = refusal(rec, InvalidInput, panel(rec, ["b1", "b2", "b3", "b4"]))
    assert err.field == "participant" and "a panel has 1 to 3 participants" in err.detail


def test_a_past_decision_records_what_the_participants_recommended_and_its_day() -> None:
    rec = past()
    rec.import_decision("kandidat-A", "Bäst bemötande", "hire", MARK, day("2017-03-15"), IMPORTER, DEPT)
    assert both(rec, lambda r: (r.decision, r.stage, r.hired_candidate(), r.retention_start())) == ((
        {"candidate_id": "kandidat-A", "motivation": "Bäst bemötande", "participants_recommendation": "hire",
         "against_participants": False, "deviation_reason": None, "decided_on": "2017-03-15", "by": IMPORTER},
        "decided", "kandidat-A", "2017-03-15"),) * 2
    err = refusal(rec, Conflict, partial(rec.import_decision, "kandidat-B", "m", "hire", MARK, day("2017-03-16"),
                                         IMPORTER, DEPT))
    assert err.field == "kind" and "this recruitment already has its decision" in err.detail
    err = refusal(rec, DecisionAlreadyMade, panel(rec, ["b1"], "2017-03-16"))
    assert "the hiring decision is made; adding to the panel is no longer possible" in err.detail


def test_a_past_decision_against_the_participants_gives_its_motivation_as_the_reason() -> None:
    rec = past()
    rec.import_decision("kandidat-A", "Längre erfarenhet", "no_hire", MARK, day("2017-03-15"), IMPORTER, DEPT)
    assert rec.decision is not None
    assert (rec.decision["against_participants"], rec.decision["deviation_reason"]) == (True, "Längre erfarenhet")
    rec = past()
    rec.import_decision("kandidat-A", "", None, MARK, day("2017-03-15"), IMPORTER, DEPT)  # not recorded on paper
    assert rec.decision is not None
    assert (rec.decision["participants_recommendation"], rec.decision["against_participants"],
            rec.decision["deviation_reason"]) == (None, False, None)


def test_a_past_decision_names_what_is_wrong_with_its_line() -> None:
    rec = past()
    err = refusal(rec, InvalidInput, partial(rec.import_decision, "kandidat-A", "m", "ja", MARK, day("2017-03-15"),
                                             IMPORTER, DEPT))
    assert err.field == "recommendation" and "one of hire, maybe, no_hire" in err.detail
    for recommendation in ("maybe", "no_hire"):
        err = refusal(rec, InvalidInput, partial(rec.import_decision, "kandidat-A", "  ", recommendation, MARK,
                                                 day("2017-03-15"), IMPORTER, DEPT))
        assert err.field == "text"
        assert "a decision against the participants' recommendation must say why" in err.detail


def test_past_feedback_records_each_rating_once_after_the_decision() -> None:
    rec = past()
    panel(rec, ["b1"])()
    err = refusal(rec, DecisionPending, partial(rec.import_manager_feedback, 4, "t", MARK, day("2017-03-01"),
                                                IMPORTER, DEPT))
    assert "manager feedback needs the hiring decision first" in err.detail
    err = refusal(rec, DecisionPending, partial(rec.import_participant_feedback, "b1", 4, "t", MARK,
                                                day("2017-03-01"), IMPORTER, DEPT))
    assert "participant feedback needs the hiring decision first" in err.detail
    rec.import_decision("kandidat-A", "Bäst", "hire", MARK, day("2017-03-15"), IMPORTER, DEPT)
    rec.import_manager_feedback(2, "för lite tid", MARK, day("2017-04-01"), IMPORTER, DEPT)
    rec.import_participant_feedback("b1", 5, "jag blev lyssnad på", MARK, day("2017-04-02"), IMPORTER, DEPT)
    assert both(rec, lambda r: (r.manager_feedback, r.participant_feedback)) == (
        ({"rating": 2, "text": "för lite tid"}, {"b1": {"rating": 5, "text": "jag blev lyssnad på"}}),) * 2
    err = refusal(rec, Conflict, partial(rec.import_manager_feedback, 3, "", MARK, day("2017-04-03"), IMPORTER,
                                         DEPT))
    assert err.field == "kind" and "the manager's feedback is already recorded" in err.detail
    err = refusal(rec, Conflict, partial(rec.import_participant_feedback, "b1", 3, "", MARK, day("2017-04-03"),
                                         IMPORTER, DEPT))
    assert err.field == "participant" and "b1's feedback is already recorded" in err.detail
    err = refusal(rec, InvalidInput, partial(rec.import_participant_feedback, "b7", 3, "", MARK, day("2017-04-03"),
                                             IMPORTER, DEPT))
    assert err.field == "participant" and "b7 is not on this recruitment's panel" in err.detail


def test_a_past_recruitment_ends_filled_after_its_decision_or_cancelled_with_a_reason() -> None:
    rec = past()
    err = refusal(rec, DecisionPending, partial(rec.import_close, "filled", None, MARK, day("2017-03-01"), IMPORTER,
                                                DEPT))
    assert "closing as filled needs the hiring decision first" in err.detail
    for reason in (None, "", " "):
        err = refusal(rec, InvalidInput, partial(rec.import_close, "cancelled", reason, MARK, day("2017-03-01"),
                                                 IMPORTER, DEPT))
        assert err.field == "text" and "a cancelled recruitment needs a reason" in err.detail, reason
    err = refusal(rec, InvalidInput, partial(rec.import_close, "withdrawn", "why", MARK, day("2017-03-01"), IMPORTER,
                                             DEPT))
    assert err.field == "outcome" and "filled or cancelled" in err.detail
    rec.import_close("cancelled", "tjänsten drogs in", MARK, day("2017-03-01"), IMPORTER, DEPT)
    assert both(rec, lambda r: (r.closed, r.stage, r.retention_start())) == (
        ({"outcome": "cancelled", "reason": "tjänsten drogs in", "closed_on": "2017-03-01"}, "closed", "2017-03-01"),
    ) * 2
    rec = past()
    rec.import_decision("kandidat-A", "Bäst", "hire", MARK, day("2017-03-15"), IMPORTER, DEPT)
    rec.import_close("filled", None, MARK, day("2017-03-31"), IMPORTER, DEPT)
    assert both(rec, lambda r: r.closed) == ({"outcome": "filled", "reason": None, "closed_on": "2017-03-31"},) * 2
