"""The public events of ``matching.events``: schemas and the mapping from domain events."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.matching.domain import Panel
from shared.events import EventCatalogue

catalogue = EventCatalogue("matching")


def _of(name: str) -> type:
    """A Panel event class the ``@event`` decorator made (invisible to type checkers)."""
    found: type = getattr(Panel, name)
    return found


class ProposedMemberV1(Schema):
    participant_id = fields.String(required=True)
    score = fields.Integer(required=True)
    explanation = fields.String(required=True)


class OverrideV1(Schema):
    participant_id = fields.String(required=True)
    rule = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1))


class PanelProposedV1(Schema):
    recruitment_id = fields.String(required=True)
    proposal_id = fields.String(required=True)
    members = fields.List(fields.Nested(ProposedMemberV1), required=True)
    covered_areas = fields.List(fields.String(), required=True)
    empty_reason = fields.String(required=True, allow_none=True)


class PanelAssignedV1(Schema):
    recruitment_id = fields.String(required=True)
    members = fields.List(fields.String(), required=True)
    proposal_id = fields.String(required=True, allow_none=True)
    overrides = fields.List(fields.Nested(OverrideV1), required=True)


class PanelMemberReplacedV1(Schema):
    recruitment_id = fields.String(required=True)
    replaced = fields.String(required=True)
    replacement = fields.String(required=True)
    reason = fields.String(required=True)
    members = fields.List(fields.String(), required=True)


DECLINE_REASONS = ("not_available", "conflict_of_interest", "health", "not_this_time", "other")


class InvitationAcceptedV1(Schema):
    recruitment_id = fields.String(required=True)
    participant_id = fields.String(required=True)


class InvitationDeclinedV1(Schema):
    recruitment_id = fields.String(required=True)
    participant_id = fields.String(required=True)
    # A category, never free text: a person's own words could be personal data in clear on Kafka.
    reason = fields.String(required=True, allow_none=True, validate=validate.OneOf(DECLINE_REASONS))


for _event in (Panel.FirstProposed, _of("Proposed")):
    catalogue.register(
        _event,
        "PanelProposed",
        PanelProposedV1,
        description="Matching proposes a panel, each member with the reason why.",
    )
for _event in (Panel.FirstAssigned, _of("Assigned")):
    catalogue.register(
        _event,
        "PanelAssigned",
        PanelAssignedV1,
        description="A coordinator assigns the panel; overridden soft rules name a reason.",
    )
catalogue.register(
    _of("MemberReplaced"),
    "PanelMemberReplaced",
    PanelMemberReplacedV1,
    description="A panel member dropped out and the next best took the seat.",
)
catalogue.register(
    _of("InvitationAccepted"),
    "InvitationAccepted",
    InvitationAcceptedV1,
    description="A participant accepted the panel seat they were assigned (an invitation).",
)
catalogue.register(
    _of("InvitationDeclined"),
    "InvitationDeclined",
    InvitationDeclinedV1,
    description="A participant declined the panel seat they were assigned, optionally saying why (a category); "
    "a PanelMemberReplaced follows when somebody else fits.",
)
