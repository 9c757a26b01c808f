"""The recruitment domain: one ``Recruitment`` aggregate per hiring process. No I/O here.

A recruitment moves from drafting (job description, advert) through applications, panel,
conflict declarations and structured interview scores to the hiring manager's decision, the
outcome shared with the panel, closing, and the effect-goal feedback and hire follow-up.
Every command checks that it fits the current stage and raises a named domain error when not.

Every event carries ``actor`` ({id, role}, pseudonymous) and ``department``. Personal data
about candidates arrives here already encrypted (vault tokens under the candidate's own key).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, CanMutateAggregate, event

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

Actor = dict[str, str]

MOTIVATION_KEY = "motivation_user_participation"
SCALE = (1, 5)
RECOMMENDATIONS = ("hire", "maybe", "no_hire")
SHORTLIST = ("yes", "no", "maybe")
FORMATS = ("joint", "split")
ALL_CANDIDATES = "*"


# -- named refusals: kinds from shared/errors.py, mapped to HTTP only at the edge (shared/web.py) --
class RecruitmentClosedError(Conflict):
    """The recruitment is closed: nothing in it can change any more."""


class ScorecardInvalid(InvalidInput):
    """A scorecard that is not 3-6 unique focus attributes including the motivation one."""


class DecisionAlreadyMade(Conflict):
    """The hiring decision is made: the step asked for belongs before it."""


class DecisionPending(Conflict):
    """The step asked for comes after the hiring decision."""


class PanelNotAssigned(Conflict):
    """The panel comes from matching; it is not assigned yet."""


class NotTheHiringManager(Forbidden):
    """Only this recruitment's own hiring manager may do this."""


class ScoresOffScorecard(InvalidInput):
    """Scores that are not exactly the scorecard's attributes on the 1-5 scale."""


class JobDescriptionSettled(Conflict):
    """The advert is published, so the job description no longer changes."""


class AdvertNotPublished(Conflict):
    """Applications arrive only after the advert is published."""


class ApplicationAlreadyReceived(Conflict):
    """The ATS reference is already a candidate here."""


class UnknownCandidate(NotFound):
    """No such candidate in this recruitment."""


class AlreadyAssessed(Conflict):
    """The assessor has assessed this application already."""


class ConflictAlreadyDeclared(Conflict):
    """The member has declared (no) conflict of interest for this candidate already."""


class DeclarationMissing(Conflict):
    """A member declares any conflict of interest before scoring a candidate."""


class MemberRecused(Conflict):
    """A member who declared a conflict of interest does not score that candidate."""


class AlreadyScored(Conflict):
    """A second score is an amendment, with a reason."""


class NoScoreToAmend(Conflict):
    """Only one's own submitted score can be amended."""


class ReasonMissing(InvalidInput):
    """The command needs a reason (an amended score, a cancelled recruitment)."""


class NoScoresYet(Conflict):
    """A decision comes after the interview scores."""


class DeviationReasonMissing(InvalidInput):
    """A decision against the panel's participants must say why."""


class OutcomeAlreadyShared(Conflict):
    """The outcome is shared with the panel once."""


class OutcomeNotShared(Conflict):
    """The step needs the outcome shared with the panel first."""


class FeedbackAlreadyGiven(Conflict):
    """Feedback is given once per person."""


class FollowUpAlreadyRecorded(Conflict):
    """Each hire follow-up (6, 12 months) is recorded once."""


class FollowUpOutOfOrder(Conflict):
    """The 12-month follow-up comes after the 6-month one."""


class LegalHoldExists(Conflict):
    """A legal hold already blocks retention for this candidate."""


class NoLegalHold(Conflict):
    """There is no legal hold to release."""


class AlreadyShredded(Conflict):
    """The candidate's data is crypto-shredded already."""


def role_group(role: str) -> str:
    """Participants (service users) versus staff, for the "who said what" view."""
    return "participant" if role == "participant" else "staff"


def majority(recommendations: list[str]) -> str | None:
    """The most common recommendation; ``split`` on a tie; ``None`` when nobody said anything."""
    if not recommendations:
        return None
    counts = Counter(recommendations).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return "split"
    return counts[0][0]


def who_said_what(
    scorecard: list[str], entries: list[dict[str, Any]], recused: list[str] | None = None
) -> dict[str, Any]:
    """The analysis view of one candidate, from the members' effective scores.

    ``entries``: ``{member_id, role, scores, recommendation, amended}`` per scoring member.
    The same function serves the live aggregate and any projection rebuilt from Kafka, so the
    decision-influence data is reproducible from the event log alone.
    """
    groups: dict[str, dict[str, Any]] = {}
    for group in ("participant", "staff"):
        members = [e for e in entries if role_group(e["role"]) == group]
        averages = {
            key: round(sum(int(e["scores"][key]) for e in members) / len(members), 2) if members else None
            for key in scorecard
        }
        recs = [e["recommendation"] for e in members]
        groups[group] = {
            "count": len(members),
            "averages": averages,
            "recommendations": {r: recs.count(r) for r in RECOMMENDATIONS},
            "recommendation": majority(recs),
        }
    p, s = groups["participant"], groups["staff"]
    disagreements = []
    for key in scorecard:
        pa, sa = p["averages"][key], s["averages"][key]
        if pa is not None and sa is not None and abs(pa - sa) >= 1:
            disagreements.append({"attribute": key, "participants": pa, "staff": sa})
    agree = None
    if p["recommendation"] is not None and s["recommendation"] is not None:
        agree = p["recommendation"] == s["recommendation"]
    return {
        "members": sorted(
            (
                {
                    "member_id": e["member_id"],
                    "role": e["role"],
                    "group": role_group(e["role"]),
                    "scores": {k: int(v) for k, v in e["scores"].items()},
                    "recommendation": e["recommendation"],
                    "amended": bool(e["amended"]),
                }
                for e in entries
            ),
            key=lambda m: (m["group"], m["member_id"]),
        ),
        "recused": sorted(recused or []),
        "by_role": groups,
        "participants_recommendation": p["recommendation"],
        "staff_recommendation": s["recommendation"],
        "recommendations_agree": agree,
        "disagreements": disagreements,
    }



def stage_of(*, closed: bool, decided: bool, has_panel: bool, advert_version: int) -> str:
    """The stage a recruitment is in: the aggregate and the recruitments list read it the same way."""
    if closed:
        return "closed"
    if decided:
        return "decided"
    if has_panel:
        return "interviewing"
    if advert_version:
        return "advertised"
    return "drafting"


class Recruitment(Aggregate):
    """One recruitment, from the first job-description draft to the hire's follow-up.

    The dialect of the eventsourcing examples: a command decorated with ``@event("Name")`` is
    the event; its body first runs ``check_…`` methods that raise named domain errors, then
    changes state. A command whose event holds a value the domain computes (an advert version,
    the participants' recommendation, who the outcome is shared with) is a plain method that
    checks and computes, then calls the decorated ``_…`` method named after its event, whose
    body only changes state. Every event carries the recruitment's ``department``, stamped by
    ``trigger_event`` (the envelope's department): no command passes it.
    """

    class Event(Aggregate.Event):
        department: str | None

    def trigger_event(self, event_class: type[CanMutateAggregate[UUID]], **kwargs: Any) -> None:
        """Every event of this recruitment is stamped with its department."""
        kwargs.setdefault("department", self.department)
        super().trigger_event(event_class, **kwargs)

    @event("Opened")
    def __init__(
        self,
        id: UUID,
        unit: str,
        position: str,
        hiring_manager: str,
        coordinator: str,
        interview_format: str,
        planned: dict[str, Any],
        scorecard: list[dict[str, str]],
        needs: dict[str, Any],
        actor: Actor,
        department: str | None,
    ) -> None:
        self._id = id
        self.department = department
        self.unit = unit
        self.position = position
        self.hiring_manager = hiring_manager
        self.coordinator = coordinator
        self.interview_format = interview_format
        self.planned = dict(planned)
        self.scorecard = [dict(a) for a in scorecard]
        self.needs = dict(needs)
        self.job_description: list[dict[str, Any]] = []
        self.advert: list[dict[str, Any]] = []
        self.advert_version = 0
        self.published_advert: dict[str, Any] | None = None
        self.candidates: dict[str, dict[str, Any]] = {}
        self.panel: list[str] = []
        self.panel_sources: list[str] = []
        self.decision: dict[str, Any] | None = None
        self.outcome_shared_with: list[str] | None = None
        self.closed: dict[str, Any] | None = None
        self.manager_feedback: dict[str, Any] | None = None
        self.participant_feedback: dict[str, dict[str, Any]] = {}
        self.follow_ups: dict[str, dict[str, Any]] = {}
        self.legal_holds: dict[str, str] = {}

    # -- validation on opening ---------------------------------------------------
    @staticmethod
    def check_scorecard(scorecard: list[dict[str, str]]) -> None:
        """3-6 focus attributes, unique keys, always including motivation for user participation."""
        if not 3 <= len(scorecard) <= 6:
            raise ScorecardInvalid("a scorecard has 3 to 6 focus attributes", field="scorecard")
        keys = [a["key"] for a in scorecard]
        if len(set(keys)) != len(keys):
            raise ScorecardInvalid("focus attribute keys must be unique", field="scorecard")
        if MOTIVATION_KEY not in keys:
            raise ScorecardInvalid(
                f"the scorecard must include {MOTIVATION_KEY!r} (motivation for working with user "
                "participation, effect goal 1)",
                field="scorecard",
            )

    # -- reading -------------------------------------------------------------------
    @property
    def stage(self) -> str:
        return stage_of(
            closed=self.closed is not None,
            decided=self.decision is not None,
            has_panel=bool(self.panel),
            advert_version=self.advert_version,
        )

    @property
    def scorecard_keys(self) -> list[str]:
        return [a["key"] for a in self.scorecard]

    def candidate(self, candidate_id: str) -> dict[str, Any]:
        """One candidate, or ``UnknownCandidate``."""
        try:
            return self.candidates[candidate_id]
        except KeyError:
            raise UnknownCandidate(
                f"no candidate {candidate_id} in this recruitment", field="candidate_id"
            ) from None

    def on_panel(self, participant_id: str) -> bool:
        return participant_id in self.panel

    def has_scored(self, candidate_id: str, member_id: str) -> bool:
        return member_id in self.candidate(candidate_id)["scores"]

    def score_entries(self, candidate_id: str) -> list[dict[str, Any]]:
        return [
            {
                "member_id": m,
                "role": s["role"],
                "scores": s["scores"],
                "recommendation": s["recommendation"],
                "amended": bool(s["amendments"]),
            }
            for m, s in self.candidate(candidate_id)["scores"].items()
        ]

    def recused(self, candidate_id: str) -> list[str]:
        return [m for m, d in self.candidate(candidate_id)["conflicts"].items() if d["recused"]]

    def summary(self, candidate_id: str) -> dict[str, Any]:
        """Who said what about one candidate."""
        return who_said_what(
            self.scorecard_keys, self.score_entries(candidate_id), self.recused(candidate_id)
        )

    def hired_candidate(self) -> str | None:
        return None if self.decision is None else str(self.decision["candidate_id"])

    # -- checks (each raises a named refusal) ---------------------------------------
    def check_open(self) -> None:
        if self.closed is not None:
            raise RecruitmentClosedError(
                f"the recruitment is closed ({self.closed['outcome']}); it can no longer be changed"
            )

    def check_undecided(self, what: str) -> None:
        self.check_open()
        if self.decision is not None:
            raise DecisionAlreadyMade(f"the hiring decision is made; {what} is no longer possible")

    def check_decided(self, what: str) -> None:
        if self.decision is None:
            raise DecisionPending(f"{what} needs the hiring decision first")

    def check_panel(self) -> None:
        if not self.panel:
            raise PanelNotAssigned("the panel is not assigned yet (it comes from matching)")

    def check_hiring_manager(self, actor: Actor) -> None:
        if actor["role"] != "hiring_manager" or actor["id"] != self.hiring_manager:
            raise NotTheHiringManager("only this recruitment's hiring manager may do this")

    def check_scores(self, scores: dict[str, int]) -> None:
        if sorted(scores) != sorted(self.scorecard_keys):
            raise ScoresOffScorecard(
                f"score exactly the focus attributes {', '.join(self.scorecard_keys)}", field="scores"
            )
        for key, value in scores.items():
            if not SCALE[0] <= int(value) <= SCALE[1]:
                raise ScoresOffScorecard(
                    f"{key}: scores are on a {SCALE[0]}-{SCALE[1]} scale", field="scores"
                )

    def check_job_description_open(self) -> None:
        self.check_undecided("writing the job description")
        if self.advert_version:
            raise JobDescriptionSettled("the advert is published; the job description is settled")

    def check_new_application(self, ats_ref: str) -> None:
        self.check_undecided("receiving applications")
        if not self.advert_version:
            raise AdvertNotPublished("applications arrive only after the advert is published")
        if any(c["ats_ref"] == ats_ref for c in self.candidates.values()):
            raise ApplicationAlreadyReceived(f"application {ats_ref!r} is already received", field="ats_ref")

    def check_not_assessed(self, candidate_id: str, assessor_id: str) -> None:
        self.check_undecided("assessing applications")
        if assessor_id in self.candidate(candidate_id)["assessments"]:
            raise AlreadyAssessed("you have already assessed this application")

    def check_may_declare(self, candidate_id: str, member_id: str) -> None:
        self.check_undecided("declaring conflicts of interest")
        self.check_panel()
        if member_id in self.candidate(candidate_id)["conflicts"]:
            raise ConflictAlreadyDeclared("you have already declared for this candidate")

    def check_may_score(self, candidate_id: str, member_id: str, scores: dict[str, int]) -> None:
        self.check_undecided("scoring")
        self.check_panel()
        candidate = self.candidate(candidate_id)
        declared = candidate["conflicts"].get(member_id)
        if declared is None:
            raise DeclarationMissing("declare any conflict of interest for this candidate before scoring")
        if declared["recused"]:
            raise MemberRecused("you are recused from this candidate (declared conflict of interest)")
        if member_id in candidate["scores"]:
            raise AlreadyScored("you have already scored this candidate; amend the score with a reason")
        self.check_scores(scores)

    def check_may_amend(self, candidate_id: str, member_id: str, scores: dict[str, int], reason: str) -> None:
        self.check_undecided("amending scores")
        if member_id not in self.candidate(candidate_id)["scores"]:
            raise NoScoreToAmend("there is no score of yours to amend for this candidate")
        if not reason.strip():
            raise ReasonMissing("an amended score needs a reason", field="reason")
        self.check_scores(scores)

    def check_decidable(self, candidate_id: str, actor: Actor) -> None:
        self.check_open()
        self.check_hiring_manager(actor)
        if self.decision is not None:
            raise DecisionAlreadyMade("the hiring decision is already made")
        if not self.candidate(candidate_id)["scores"]:
            raise NoScoresYet("no interview scores for this candidate yet; a decision comes after the scores")

    @staticmethod
    def check_deviation(participants: str | None, deviation_reason: str | None) -> None:
        """A decision against the participants' recommendation says why."""
        if participants not in (None, "hire") and not (deviation_reason or "").strip():
            raise DeviationReasonMissing(
                f"the panel's participants recommended {participants!r}; a decision against them must say "
                "why in deviation_reason",
                field="deviation_reason",
            )

    def check_outcome_unshared(self) -> None:
        self.check_open()
        self.check_decided("sharing the outcome")
        if self.outcome_shared_with is not None:
            raise OutcomeAlreadyShared("the outcome is already shared with the panel")

    def check_closable(self, outcome: str, reason: str | None) -> None:
        self.check_open()
        if outcome == "filled":
            self.check_decided("closing as filled")
            if self.outcome_shared_with is None:
                raise OutcomeNotShared("share the outcome with the panel before closing")
        elif not (reason or "").strip():
            raise ReasonMissing("a cancelled recruitment needs a reason", field="reason")

    def check_manager_feedback(self, actor: Actor) -> None:
        self.check_hiring_manager(actor)
        self.check_decided("manager feedback")
        if self.manager_feedback is not None:
            raise FeedbackAlreadyGiven("the manager's feedback is already given")

    def check_participant_feedback(self, participant_id: str) -> None:
        if self.outcome_shared_with is None or participant_id not in self.outcome_shared_with:
            raise OutcomeNotShared("feedback comes after the outcome is shared with you")
        if participant_id in self.participant_feedback:
            raise FeedbackAlreadyGiven("you have already given your feedback")

    def check_follow_up(self, months: int) -> None:
        self.check_decided("a hire follow-up")
        if str(months) in self.follow_ups:
            raise FollowUpAlreadyRecorded(f"the {months}-month follow-up is already recorded")
        if months == 12 and "6" not in self.follow_ups:
            raise FollowUpOutOfOrder("record the 6-month follow-up first")

    def check_no_legal_hold(self, candidate_id: str) -> None:
        if candidate_id != ALL_CANDIDATES:
            self.candidate(candidate_id)
        if candidate_id in self.legal_holds:
            raise LegalHoldExists("a legal hold already exists for this candidate")

    def check_legal_hold(self, candidate_id: str) -> None:
        if candidate_id not in self.legal_holds:
            raise NoLegalHold("there is no legal hold for this candidate")

    def check_not_shredded(self, candidate_id: str) -> None:
        if self.candidate(candidate_id)["shredded"]:
            raise AlreadyShredded("this candidate's data is already shredded")

    # -- job description and advert --------------------------------------------
    @event("JobDescriptionContributed")
    def contribute_job_description(
        self, contribution_id: str, text: str, contributor_role: str, actor: Actor
    ) -> None:
        self.check_job_description_open()
        self.job_description.append({"contribution_id": contribution_id, "text": text, "by": dict(actor)})

    @event("AdvertContributed")
    def contribute_advert(self, contribution_id: str, text: str, contributor_role: str, actor: Actor) -> None:
        self.check_undecided("changing the advert")
        self.advert.append({"contribution_id": contribution_id, "text": text, "by": dict(actor)})

    def publish_advert(self, text: str, text_hash: str, actor: Actor) -> int:
        """Publish the next version of the advert; returns its version number."""
        self.check_undecided("publishing the advert")
        version = self.advert_version + 1
        self._advert_published(version, text, text_hash, actor)
        return version

    @event("AdvertPublished")
    def _advert_published(self, version: int, text: str, text_hash: str, actor: Actor) -> None:
        self.advert_version = version
        self.published_advert = {"version": version, "text": text, "text_hash": text_hash}

    # -- applications -------------------------------------------------------------
    @event("ApplicationReceived")
    def receive_application(
        self, candidate_id: str, ats_ref: str, personal: str | None, protected_identity: bool, actor: Actor
    ) -> None:
        self.check_new_application(ats_ref)
        self.candidates[candidate_id] = {
            "ats_ref": ats_ref,
            "personal": personal,
            "protected_identity": protected_identity,
            "assessments": {},
            "conflicts": {},
            "scores": {},
            "shredded": False,
        }

    @event("ApplicationAssessed")
    def assess_application(
        self, candidate_id: str, assessor: Actor, shortlist: str, motivation: str, actor: Actor
    ) -> None:
        self.check_not_assessed(candidate_id, assessor["id"])
        self.candidates[candidate_id]["assessments"][assessor["id"]] = {
            "role": assessor["role"],
            "shortlist": shortlist,
            "motivation": motivation,
        }

    # -- panel -----------------------------------------------------------------------
    def learn_panel(self, members: list[str], source_event_id: str, actor: Actor) -> bool:
        """Take the panel matching assigned. Returns False when this event was already applied."""
        if source_event_id in self.panel_sources:
            return False
        self.check_undecided("changing the panel")
        self._panel_learned([{"participant_id": m} for m in members], source_event_id, actor)
        return True

    @event("PanelLearned")
    def _panel_learned(self, members: list[dict[str, str]], source_event_id: str, actor: Actor) -> None:
        self.panel = [m["participant_id"] for m in members]
        self.panel_sources.append(source_event_id)

    def declare_conflict(self, candidate_id: str, member: Actor, has_conflict: bool, actor: Actor) -> None:
        """A declared conflict of interest recuses the member from that candidate."""
        self.check_may_declare(candidate_id, member["id"])
        self._conflict_declared(candidate_id, member["id"], member["role"], has_conflict, has_conflict, actor)

    @event("ConflictDeclared")
    def _conflict_declared(
        self, candidate_id: str, member_id: str, member_role: str, has_conflict: bool, recused: bool, actor: Actor
    ) -> None:
        self.candidates[candidate_id]["conflicts"][member_id] = {
            "role": member_role,
            "has_conflict": has_conflict,
            "recused": recused,
        }

    # -- scores ------------------------------------------------------------------------
    @event("InterviewScored")
    def score_interview(
        self,
        candidate_id: str,
        member: Actor,
        scores: dict[str, int],
        recommendation: str,
        comment: str | None,
        actor: Actor,
    ) -> None:
        self.check_may_score(candidate_id, member["id"], scores)
        self.candidates[candidate_id]["scores"][member["id"]] = {
            "role": member["role"],
            "scores": dict(scores),
            "recommendation": recommendation,
            "comment": comment,
            "amendments": [],
        }

    @event("ScoreAmended")
    def amend_score(
        self,
        candidate_id: str,
        member: Actor,
        scores: dict[str, int],
        recommendation: str,
        reason: str,
        actor: Actor,
    ) -> None:
        self.check_may_amend(candidate_id, member["id"], scores, reason)
        entry = self.candidates[candidate_id]["scores"][member["id"]]
        entry["amendments"].append({"previous": entry["scores"], "reason": reason})
        entry["scores"] = dict(scores)
        entry["recommendation"] = recommendation

    # -- decision and outcome ------------------------------------------------------------
    def decide(
        self, candidate_id: str, motivation: str, deviation_reason: str | None, decided_on: str, actor: Actor
    ) -> None:
        """The hiring manager's decision; it records what the participants recommended."""
        self.check_decidable(candidate_id, actor)
        participants = self.summary(candidate_id)["participants_recommendation"]
        self.check_deviation(participants, deviation_reason)
        against = participants not in (None, "hire")
        self._decision_made(
            candidate_id,
            motivation,
            participants,
            against,
            (deviation_reason or None) if against else None,
            decided_on,
            actor,
        )

    @event("HiringDecisionMade")
    def _decision_made(
        self,
        candidate_id: str,
        motivation: str,
        participants_recommendation: str | None,
        against_participants: bool,
        deviation_reason: str | None,
        decided_on: str,
        actor: Actor,
    ) -> None:
        self.decision = {
            "candidate_id": candidate_id,
            "motivation": motivation,
            "participants_recommendation": participants_recommendation,
            "against_participants": against_participants,
            "deviation_reason": deviation_reason,
            "decided_on": decided_on,
            "by": dict(actor),
        }

    def share_outcome(self, actor: Actor) -> list[str]:
        """Share the decision with everyone on the panel; returns who it was shared with."""
        self.check_outcome_unshared()
        assert self.decision is not None
        shared_with = list(self.panel)
        self._outcome_shared(self.decision["candidate_id"], shared_with, actor)
        return shared_with

    @event("OutcomeShared")
    def _outcome_shared(self, candidate_id: str, shared_with: list[str], actor: Actor) -> None:
        self.outcome_shared_with = list(shared_with)

    @event("RecruitmentClosed")
    def close(self, outcome: str, reason: str | None, closed_on: str, actor: Actor) -> None:
        self.check_closable(outcome, reason)
        self.closed = {"outcome": outcome, "reason": reason, "closed_on": closed_on}

    # -- effect-goal feedback --------------------------------------------------------------
    @event("ManagerFeedbackGiven")
    def give_manager_feedback(self, rating: int, text: str, actor: Actor) -> None:
        self.check_manager_feedback(actor)
        self.manager_feedback = {"rating": rating, "text": text}

    @event("ParticipantFeedbackGiven")
    def give_participant_feedback(self, participant_id: str, rating: int, text: str, actor: Actor) -> None:
        self.check_participant_feedback(participant_id)
        self.participant_feedback[participant_id] = {"rating": rating, "text": text}

    def follow_up_hire(
        self, months: int, still_employed: bool, motivation_rating: int | None, actor: Actor
    ) -> None:
        """The hire at 6 and 12 months (the event names the hired candidate)."""
        self.check_follow_up(months)
        self._hire_followed_up(str(self.hired_candidate()), months, still_employed, motivation_rating, actor)

    @event("HireFollowedUp")
    def _hire_followed_up(
        self, candidate_id: str, months: int, still_employed: bool, motivation_rating: int | None, actor: Actor
    ) -> None:
        self.follow_ups[str(months)] = {
            "still_employed": still_employed,
            "motivation_rating": motivation_rating,
        }

    # -- retention ---------------------------------------------------------------------------
    @event("LegalHoldPlaced")
    def place_legal_hold(self, candidate_id: str, reason: str, actor: Actor) -> None:
        self.check_no_legal_hold(candidate_id)
        self.legal_holds[candidate_id] = reason

    @event("LegalHoldReleased")
    def release_legal_hold(self, candidate_id: str, actor: Actor) -> None:
        self.check_legal_hold(candidate_id)
        del self.legal_holds[candidate_id]

    def retention_start(self) -> str | None:
        """The date the retention period runs from: the decision, else the (cancelled) close."""
        if self.decision is not None:
            return str(self.decision["decided_on"])
        if self.closed is not None:
            return str(self.closed["closed_on"])
        return None

    def due_for_shredding(self) -> list[str]:
        """Non-hired candidates not yet shredded and not held."""
        if ALL_CANDIDATES in self.legal_holds:
            return []
        hired = self.hired_candidate()
        return [
            cid
            for cid, c in self.candidates.items()
            if cid != hired and not c["shredded"] and cid not in self.legal_holds
        ]

    @event("CandidateDataShredded")
    def record_shredding(self, candidate_id: str, legal_basis: str, actor: Actor) -> None:
        self.check_not_shredded(candidate_id)
        self.candidates[candidate_id]["shredded"] = True

    # -- history import (issue 14): past recruitments from paper, with their original dates ----
    # A recruitment that began before Delaktig is opened by ``import_history`` and receives only
    # these commands. Each one takes the date it originally happened (``timestamp``, the event's
    # ``occurred_at``) and ``imported``: who recorded it here, when, and from which line of which
    # file. Live commands and imported ones never mix on one recruitment.
    imported: dict[str, Any] | None = None

    @classmethod
    def import_history(
        cls,
        id: UUID,
        *,
        unit: str,
        position: str,
        hiring_manager: str,
        panel_size: int,
        department: str,
        imported: dict[str, Any],
        timestamp: datetime,
        actor: Actor,
    ) -> Recruitment:
        """Open a past recruitment as it was opened on ``timestamp``."""
        cls.check_panel_size(panel_size)
        recruitment: Recruitment = cls._create(
            HistoryOpened,
            id=id,
            timestamp=timestamp,
            unit=unit,
            position=position,
            hiring_manager=hiring_manager,
            coordinator=actor["id"],
            interview_format="joint",
            planned={"advert_on": None, "interviews_from": None, "interviews_to": None, "decision_by": None},
            scorecard=[],  # paper recruitments had no structured scorecard
            needs={"experience_areas": [], "languages": [], "panel_size": panel_size},
            actor=actor,
            department=department,
            imported=imported,
        )
        return recruitment

    @staticmethod
    def check_panel_size(size: int) -> None:
        if not 1 <= size <= 3:
            raise InvalidInput("a panel has 1 to 3 participants", field="participant")

    def check_history(self, timestamp: datetime, after_close: bool = False) -> None:
        """Imported events only on an imported recruitment, still open (feedback may come
        ``after_close``), never dated before the event before them."""
        if self.imported is None:
            raise Conflict("this recruitment is live; history is imported only into imported recruitments")
        if not after_close:
            self.check_open()
        if timestamp < self.modified_on:
            raise InvalidInput(
                f"the date is before the recruitment's previous event ({self.modified_on.date().isoformat()})",
                field="date",
            )

    @event("PanelImported")
    def import_panel(
        self, members: list[str], imported: dict[str, Any], timestamp: datetime, actor: Actor,
        department: str | None,
    ) -> None:
        """One more member of a past panel: ``members`` is the whole panel so far, in order."""
        self.check_history(timestamp)
        self.check_undecided("adding to the panel")
        if members[:-1] != self.panel or len(members) != len(self.panel) + 1:
            raise InvalidInput("a panel grows by one member at a time", field="participant")
        if members[-1] in self.panel:
            raise Conflict(f"{members[-1]} is already on this panel", field="participant")
        self.check_panel_size(len(members))
        self.panel = list(members)

    @event("DecisionImported")
    def import_decision(
        self, candidate_id: str, motivation: str, participants_recommendation: str | None,
        imported: dict[str, Any], timestamp: datetime, actor: Actor, department: str | None,
    ) -> None:
        """The hiring decision of a past recruitment, as it was recorded then."""
        self.check_history(timestamp)
        if self.decision is not None:
            raise Conflict("this recruitment already has its decision", field="kind")
        if participants_recommendation is not None and participants_recommendation not in RECOMMENDATIONS:
            raise InvalidInput(f"one of {', '.join(RECOMMENDATIONS)}", field="recommendation")
        against = participants_recommendation not in (None, "hire")
        if against and not motivation.strip():
            raise InvalidInput("a decision against the participants' recommendation must say why", field="text")
        self.decision = {
            "candidate_id": candidate_id,
            "motivation": motivation,
            "participants_recommendation": participants_recommendation,
            "against_participants": against,
            "deviation_reason": motivation if against else None,
            "decided_on": timestamp.date().isoformat(),
            "by": dict(actor),
        }

    @event("ManagerFeedbackImported")
    def import_manager_feedback(
        self, rating: int, text: str, imported: dict[str, Any], timestamp: datetime, actor: Actor,
        department: str | None,
    ) -> None:
        """The hiring manager's feedback (effect goal 2) on a past recruitment."""
        self.check_history(timestamp, after_close=True)
        self.check_decided("manager feedback")
        self.check_rating(rating)
        if self.manager_feedback is not None:
            raise Conflict("the manager's feedback is already recorded", field="kind")
        self.manager_feedback = {"rating": rating, "text": text}

    @event("ParticipantFeedbackImported")
    def import_participant_feedback(
        self, participant_id: str, rating: int, text: str, imported: dict[str, Any], timestamp: datetime,
        actor: Actor, department: str | None,
    ) -> None:
        """A panel participant's feedback (effect goal 3) on a past recruitment."""
        self.check_history(timestamp, after_close=True)
        self.check_decided("participant feedback")
        self.check_rating(rating)
        if participant_id not in self.panel:
            raise InvalidInput(f"{participant_id} is not on this recruitment's panel", field="participant")
        if participant_id in self.participant_feedback:
            raise Conflict(f"{participant_id}'s feedback is already recorded", field="participant")
        self.participant_feedback[participant_id] = {"rating": rating, "text": text}

    @event("ClosedImported")
    def import_close(
        self, outcome: str, reason: str | None, imported: dict[str, Any], timestamp: datetime, actor: Actor,
        department: str | None,
    ) -> None:
        """How a past recruitment ended: filled (after its decision) or cancelled (with a reason)."""
        self.check_history(timestamp)
        if outcome == "filled":
            self.check_decided("closing as filled")
        elif outcome == "cancelled":
            if not (reason or "").strip():
                raise InvalidInput("a cancelled recruitment needs a reason", field="text")
        else:
            raise InvalidInput("filled or cancelled", field="outcome")
        self.closed = {"outcome": outcome, "reason": reason, "closed_on": timestamp.date().isoformat()}

    @staticmethod
    def check_rating(rating: int) -> None:
        if not 1 <= rating <= 5:
            raise InvalidInput("a rating is 1 to 5", field="rating")


    # -- how service users take part: the applicant's page (issue 13) ---------------------------
    # Added after the rest: recruitments recorded before these events existed have none of this
    # state, so it lives behind properties instead of in ``__init__``.
    @property
    def participation_contributions(self) -> list[dict[str, Any]]:
        """Who wrote what in the text on how service users take part (same shape as the advert's)."""
        contributions: list[dict[str, Any]] = self.__dict__.setdefault("_participation_contributions", [])
        return contributions

    @property
    def published_participation(self) -> dict[str, Any] | None:
        """The published text on how service users take part, with the advert version it belongs to."""
        published: dict[str, Any] | None = self.__dict__.get("_published_participation")
        return published

    @event("ParticipationTextContributed")
    def contribute_participation_text(
        self, contribution_id: str, text: str, contributor_role: str, actor: Actor, department: str | None
    ) -> None:
        self.check_undecided("writing how service users take part")
        self.participation_contributions.append(
            {"contribution_id": contribution_id, "text": text, "by": dict(actor)}
        )

    def check_publishes_with_advert(self, advert_version: int) -> None:
        """The text belongs to one published advert version (it is published in the same command)."""
        if advert_version != self.advert_version or not advert_version:
            raise Conflict(
                "how service users take part is published together with the advert", field="participation_text"
            )

    @event("ParticipationTextPublished")
    def publish_participation_text(
        self, advert_version: int, text: str, text_hash: str, actor: Actor, department: str | None
    ) -> None:
        self.check_undecided("publishing how service users take part")
        self.check_publishes_with_advert(advert_version)
        self.__dict__["_published_participation"] = {
            "advert_version": advert_version, "text": text, "text_hash": text_hash,
        }


class HistoryOpened(Recruitment.Opened):  # type: ignore[name-defined,misc]
    """A past recruitment opened by the history import: ``Opened`` plus who imported it."""

    imported: dict[str, Any]

    def apply(self, aggregate: Any) -> None:
        aggregate.imported = dict(self.imported)
