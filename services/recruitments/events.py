"""The public events of ``recruitments.events``: schemas and the mapping from domain events.

Candidate personal data (name, contact, interview comments, assessment motivations) only ever
appears here as vault tokens under the candidate's own key.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.recruitments.domain import FORMATS, RECOMMENDATIONS, SHORTLIST, HistoryOpened, Recruitment
from shared.events import EventCatalogue

catalogue = EventCatalogue("recruitments")

TOKEN = validate.Regexp(r"^enc:v1:", error="a vault token")


class MemberSchema(Schema):
    id = fields.String(required=True)
    role = fields.String(required=True)


class PlannedSchema(Schema):
    advert_on = fields.String(required=True, allow_none=True)
    interviews_from = fields.String(required=True, allow_none=True)
    interviews_to = fields.String(required=True, allow_none=True)
    decision_by = fields.String(required=True, allow_none=True)


class FocusAttributeSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)


class NeedsSchema(Schema):
    experience_areas = fields.List(fields.String(), required=True)
    languages = fields.List(fields.String(), required=True)
    panel_size = fields.Integer(required=True, validate=validate.Range(1, 3))


class RecruitmentOpenedV1(Schema):
    unit = fields.String(required=True)
    position = fields.String(required=True)
    hiring_manager = fields.String(required=True)
    coordinator = fields.String(required=True)
    interview_format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    planned = fields.Nested(PlannedSchema, required=True)
    scorecard = fields.List(
        fields.Nested(FocusAttributeSchema), required=True, validate=validate.Length(min=3, max=6)
    )
    needs = fields.Nested(NeedsSchema, required=True)


class ContributionV1(Schema):
    contribution_id = fields.String(required=True)
    text = fields.String(required=True)
    contributor_role = fields.String(required=True)


class AdvertPublishedV1(Schema):
    version = fields.Integer(required=True)
    text = fields.String(required=True, metadata={"description": "the published advert (public text)"})
    text_hash = fields.String(required=True)


class ParticipationTextPublishedV1(Schema):
    advert_version = fields.Integer(required=True, metadata={"description": "the advert version it belongs to"})
    text = fields.String(
        required=True,
        metadata={"description": "how service users take part and what the user-driven way of working "
                                 "means in practice (public text)"},
    )
    text_hash = fields.String(required=True)


class ApplicationReceivedV1(Schema):
    candidate_id = fields.String(required=True)
    ats_ref = fields.String(required=True)
    personal = fields.String(
        required=True,
        allow_none=True,
        validate=TOKEN,
        metadata={
            "description": "vault token (candidate key): name, email, phone; null for protected identity"
        },
    )
    protected_identity = fields.Boolean(required=True)


class ApplicationAssessedV1(Schema):
    candidate_id = fields.String(required=True)
    assessor = fields.Nested(MemberSchema, required=True)
    shortlist = fields.String(required=True, validate=validate.OneOf(SHORTLIST))
    motivation = fields.String(
        required=True, validate=TOKEN, metadata={"description": "vault token under the candidate's key"}
    )


class PanelMemberSchema(Schema):
    participant_id = fields.String(required=True)


class PanelLearnedV1(Schema):
    members = fields.List(fields.Nested(PanelMemberSchema), required=True)
    source_event_id = fields.String(required=True)


class ConflictDeclaredV1(Schema):
    candidate_id = fields.String(required=True)
    member_id = fields.String(required=True)
    member_role = fields.String(required=True)
    has_conflict = fields.Boolean(required=True)
    recused = fields.Boolean(required=True)


class InterviewScoredV1(Schema):
    candidate_id = fields.String(required=True)
    member = fields.Nested(MemberSchema, required=True)
    scores = fields.Dict(
        keys=fields.String(), values=fields.Integer(validate=validate.Range(1, 5)), required=True
    )
    recommendation = fields.String(required=True, validate=validate.OneOf(RECOMMENDATIONS))
    comment = fields.String(required=True, allow_none=True, validate=TOKEN)


class ScoreAmendedV1(Schema):
    candidate_id = fields.String(required=True)
    member = fields.Nested(MemberSchema, required=True)
    scores = fields.Dict(
        keys=fields.String(), values=fields.Integer(validate=validate.Range(1, 5)), required=True
    )
    recommendation = fields.String(required=True, validate=validate.OneOf(RECOMMENDATIONS))
    reason = fields.String(required=True)


class HiringDecisionMadeV1(Schema):
    candidate_id = fields.String(required=True)
    motivation = fields.String(required=True)
    participants_recommendation = fields.String(required=True, allow_none=True)
    against_participants = fields.Boolean(required=True)
    deviation_reason = fields.String(required=True, allow_none=True)
    decided_on = fields.String(required=True)


class OutcomeSharedV1(Schema):
    candidate_id = fields.String(required=True)
    shared_with = fields.List(fields.String(), required=True)


class RecruitmentClosedV1(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("filled", "cancelled")))
    reason = fields.String(required=True, allow_none=True)
    closed_on = fields.String(required=True)


class ManagerFeedbackGivenV1(Schema):
    rating = fields.Integer(required=True, validate=validate.Range(1, 5))
    text = fields.String(required=True)


class ParticipantFeedbackGivenV1(Schema):
    participant_id = fields.String(required=True)
    rating = fields.Integer(required=True, validate=validate.Range(1, 5))
    text = fields.String(required=True)


class HireFollowedUpV1(Schema):
    candidate_id = fields.String(required=True)
    months = fields.Integer(required=True, validate=validate.OneOf((6, 12)))
    still_employed = fields.Boolean(required=True)
    motivation_rating = fields.Integer(required=True, allow_none=True, validate=validate.Range(1, 5))


class LegalHoldPlacedV1(Schema):
    candidate_id = fields.String(required=True)
    reason = fields.String(required=True)


class LegalHoldReleasedV1(Schema):
    candidate_id = fields.String(required=True)


class CandidateDataShreddedV1(Schema):
    candidate_id = fields.String(required=True)
    legal_basis = fields.String(required=True)


# The domain events are generated by ``@event``; typed as Any for the type checker.
R: Any = Recruitment
for domain_event, name, schema, text in (
    (
        R.Opened,
        "RecruitmentOpened",
        RecruitmentOpenedV1,
        "A recruitment starts, with its scorecard and needs.",
    ),
    (
        R.JobDescriptionContributed,
        "JobDescriptionContributed",
        ContributionV1,
        "Who wrote what in the job description.",
    ),
    (R.AdvertContributed, "AdvertContributed", ContributionV1, "Who wrote what in the advert."),
    (R.AdvertPublished, "AdvertPublished", AdvertPublishedV1, "A version of the advert is published."),
    (
        R.ParticipationTextContributed,
        "ParticipationTextContributed",
        ContributionV1,
        "Who wrote what in the text on how service users take part (the applicant's page).",
    ),
    (
        R.ParticipationTextPublished,
        "ParticipationTextPublished",
        ParticipationTextPublishedV1,
        "How service users take part, published with a version of the advert.",
    ),
    (
        R.ApplicationReceived,
        "ApplicationReceived",
        ApplicationReceivedV1,
        "An application arrived from the ATS.",
    ),
    (
        R.ApplicationAssessed,
        "ApplicationAssessed",
        ApplicationAssessedV1,
        "A panel member assessed an application.",
    ),
    (R.PanelLearned, "PanelLearned", PanelLearnedV1, "The panel as matching assigned it."),
    (
        R.ConflictDeclared,
        "ConflictDeclared",
        ConflictDeclaredV1,
        "A member declared (no) conflict of interest.",
    ),
    (R.InterviewScored, "InterviewScored", InterviewScoredV1, "A member's structured interview score."),
    (R.ScoreAmended, "ScoreAmended", ScoreAmendedV1, "A member changed their score, with a reason."),
    (
        R.HiringDecisionMade,
        "HiringDecisionMade",
        HiringDecisionMadeV1,
        "The hiring manager's motivated decision.",
    ),
    (R.OutcomeShared, "OutcomeShared", OutcomeSharedV1, "The outcome was told to every panel participant."),
    (
        R.RecruitmentClosed,
        "RecruitmentClosed",
        RecruitmentClosedV1,
        "The recruitment is filled or cancelled.",
    ),
    (R.ManagerFeedbackGiven, "ManagerFeedbackGiven", ManagerFeedbackGivenV1, "Effect goal 2 feedback."),
    (
        R.ParticipantFeedbackGiven,
        "ParticipantFeedbackGiven",
        ParticipantFeedbackGivenV1,
        "Effect goal 3 feedback.",
    ),
    (
        R.HireFollowedUp,
        "HireFollowedUp",
        HireFollowedUpV1,
        "Hire follow-up at 6 or 12 months (effect goal 1).",
    ),
    (
        R.LegalHoldPlaced,
        "LegalHoldPlaced",
        LegalHoldPlacedV1,
        "Retention is blocked for a candidate (or '*').",
    ),
    (R.LegalHoldReleased, "LegalHoldReleased", LegalHoldReleasedV1, "A legal hold is lifted."),
    (
        R.CandidateDataShredded,
        "CandidateDataShredded",
        CandidateDataShreddedV1,
        "A candidate's key is destroyed: their personal data is erased.",
    ),
):
    catalogue.register(domain_event, name, schema, description=text)


# -- imported history (``delaktig import history``): version 2 of five event types --------------
class ImportedSchema(Schema):
    """Who recorded a past event in Delaktig, when, and from which line of which file."""

    by = fields.String(required=True, metadata={"description": "the importer's pseudonymous id (--actor)"})
    at = fields.String(required=True, metadata={"description": "when it was imported (ISO 8601, UTC)"})
    source = fields.String(required=True, metadata={"description": "the CSV file's name"})
    line = fields.Integer(required=True, metadata={"description": "the file's line this event comes from"})
    digest = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "on the opening: SHA-256 of the recruitment's rows (a re-run checks it)"},
    )


IMPORTED = fields.Nested(
    ImportedSchema,
    required=True,
    metadata={"description": "imported history: occurred_at is the original date, not the import's"},
)


class RecruitmentOpenedV2(RecruitmentOpenedV1):
    scorecard = fields.List(fields.Nested(FocusAttributeSchema), required=True, validate=validate.Length(max=6))
    imported = IMPORTED


class PanelLearnedV2(Schema):
    members = fields.List(fields.Nested(PanelMemberSchema), required=True)
    imported = IMPORTED


class HiringDecisionMadeV2(HiringDecisionMadeV1):
    imported = IMPORTED


class ManagerFeedbackGivenV2(ManagerFeedbackGivenV1):
    imported = IMPORTED


class ParticipantFeedbackGivenV2(ParticipantFeedbackGivenV1):
    imported = IMPORTED


class RecruitmentClosedV2(RecruitmentClosedV1):
    imported = IMPORTED


def _panel_v2(e: Any) -> dict[str, Any]:
    return {"members": [{"participant_id": m} for m in e.members], "imported": e.imported}


def _decision_v2(e: Any) -> dict[str, Any]:
    against = e.participants_recommendation not in (None, "hire")
    return {
        "candidate_id": e.candidate_id,
        "motivation": e.motivation,
        "participants_recommendation": e.participants_recommendation,
        "against_participants": against,
        "deviation_reason": e.motivation if against else None,
        "decided_on": e.timestamp.date().isoformat(),
        "imported": e.imported,
    }


def _closed_v2(e: Any) -> dict[str, Any]:
    return {
        "outcome": e.outcome,
        "reason": e.reason,
        "closed_on": e.timestamp.date().isoformat(),
        "imported": e.imported,
    }


HISTORY_TEXT = " Version 2: imported history, dated as it originally happened, with who imported it."
HISTORY: list[tuple[Any, str, type[Schema], Any, str]] = [
    (HistoryOpened, "RecruitmentOpened", RecruitmentOpenedV2, None, "A past recruitment (no scorecard)."),
    (R.PanelImported, "PanelLearned", PanelLearnedV2, _panel_v2, "A past panel, the whole panel so far."),
    (R.DecisionImported, "HiringDecisionMade", HiringDecisionMadeV2, _decision_v2, "A past decision."),
    (R.ManagerFeedbackImported, "ManagerFeedbackGiven", ManagerFeedbackGivenV2, None, "Past feedback, goal 2."),
    (R.ParticipantFeedbackImported, "ParticipantFeedbackGiven", ParticipantFeedbackGivenV2, None,
     "Past feedback, goal 3."),
    (R.ClosedImported, "RecruitmentClosed", RecruitmentClosedV2, _closed_v2, "How a past recruitment ended."),
]
for history_event, history_name, history_schema, to_payload, history_text in HISTORY:
    catalogue.register(history_event, history_name, history_schema, version=2, payload=to_payload,
                       description=history_text + HISTORY_TEXT)
