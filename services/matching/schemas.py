"""HTTP bodies of the matching API (marshmallow). Unknown fields are refused."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.matching.ranking import MAX_PANEL_SIZE

REASON = validate.Length(min=3, max=500)


class ProposalIn(Schema):
    panel_size = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=MAX_PANEL_SIZE)
    )


class ProposedMemberOut(Schema):
    participant_id = fields.String()
    score = fields.Integer()
    explanation = fields.String()


class ProposalOut(Schema):
    recruitment_id = fields.String()
    proposal_id = fields.String()
    members = fields.List(fields.Nested(ProposedMemberOut))
    covered_areas = fields.List(fields.String())
    uncovered_areas = fields.List(fields.String())
    empty_reason = fields.String(allow_none=True)


class OverrideIn(Schema):
    participant_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=REASON)


class AssignIn(Schema):
    proposal_id = fields.UUID(load_default=None, allow_none=True)
    members = fields.List(
        fields.UUID(), load_default=None, allow_none=True, validate=validate.Length(min=1, max=MAX_PANEL_SIZE)
    )
    overrides = fields.List(fields.Nested(OverrideIn), load_default=list)


class OverrideOut(Schema):
    participant_id = fields.String()
    rule = fields.String()
    reason = fields.String()


class AssignmentOut(Schema):
    recruitment_id = fields.String()
    members = fields.List(fields.String())
    proposal_id = fields.String(allow_none=True)
    overrides = fields.List(fields.Nested(OverrideOut))


class ReplacementIn(Schema):
    participant_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=REASON)


class ReplacementOut(Schema):
    recruitment_id = fields.String()
    replaced = fields.String()
    replacement = fields.String()
    score = fields.Integer()
    explanation = fields.String()
    members = fields.List(fields.String())


class ExclusionOut(Schema):
    rule = fields.String()
    severity = fields.String()
    reason = fields.String()


class ExplanationOut(Schema):
    participant_id = fields.String()
    eligible = fields.Boolean()
    proposed = fields.Boolean()
    score = fields.Integer()
    excluded_by = fields.List(fields.Nested(ExclusionOut))
    explanation = fields.String()


class WaitingOut(Schema):
    participant_id = fields.String()
    last_engaged_on = fields.String(allow_none=True)
    days_waiting = fields.Integer(allow_none=True)


class LimitOut(Schema):
    max_engagements = fields.Integer()
    period_days = fields.Integer()


class FairnessOut(Schema):
    department = fields.String()
    active_participants = fields.Integer()
    engaged_last_12_months = fields.Integer()
    engaged_share = fields.Float()
    engagements_last_12_months = fields.Integer()
    gini = fields.Float()
    longest_waiting = fields.List(fields.Nested(WaitingOut))
    participation_limit = fields.Nested(LimitOut)


class DeclineIn(Schema):
    reason = fields.String(
        load_default=None, allow_none=True,
        validate=validate.OneOf(("not_available", "conflict_of_interest", "health", "not_this_time", "other")),
        metadata={"description": "why, as a category (optional)"},
    )


class InvitationOut(Schema):
    recruitment_id = fields.String()
    participant_id = fields.String()
    department = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "invited, accepted or declined"})
    replacement_found = fields.Boolean(allow_none=True)


class SeatInvitationOut(Schema):
    participant_id = fields.String(metadata={"description": "pseudonymous id"})
    status = fields.String(metadata={"description": "invited, accepted, declined or replaced"})
    since = fields.String(metadata={"description": "when the invitation got this status"})
    reason = fields.String(allow_none=True, metadata={"description": "a decline's category, if one was given"})
    replaces = fields.String(allow_none=True)
    replaced_by = fields.String(allow_none=True)


class SeatOut(Schema):
    seat = fields.Integer()
    current = fields.Nested(SeatInvitationOut)
    needs_replacement = fields.Boolean(metadata={"description": "declined and nobody took the seat yet"})
    invitations = fields.List(fields.Nested(SeatInvitationOut), metadata={"description": "first invited first"})


class PanelInvitationsOut(Schema):
    recruitment_id = fields.String()
    department = fields.String()
    seats = fields.List(fields.Nested(SeatOut))
