"""Marshmallow schemas of the audit HTTP API (query strings; responses are documents)."""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from services.audit.moments import parse_moment
from shared.pagination import PageQuery, page_schema


class Moment(fields.Field):
    """An ISO 8601 date or date-time (a date: the end of that day, UTC)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return parse_moment(str(value))
        except ValueError:
            raise ValidationError("an ISO 8601 date or date-time, e.g. 2024-05-31 or 2024-05-31T14:00:00Z") from None


class DecisionRecordQuery(Schema):
    as_of = Moment(
        load_default=None,
        metadata={
            "type": "string",
            "description": "the record as it stood at this moment: only events whose occurred_at is at or "
                           "before it (ISO 8601; a date means the end of that day, UTC). Imported history "
                           "is dated as it originally happened.",
            "example": "2024-05-31T14:00:00Z",
        },
    )



class AccessLogQuery(PageQuery):
    arity = 2  # (position, event id)

    subject_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    accessor_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class CheckpointsQuery(PageQuery):
    arity = 2  # (source, tree size)

    source = fields.String(load_default=None, validate=validate.OneOf(["participants", "recruitments", "matching"]))


class Document(Schema):
    """A documented answer (served as built; the schema documents it, it does not filter)."""

    class Meta:
        unknown = INCLUDE


class DecisionRecordOut(Document):
    recruitment_id = fields.String(required=True)
    as_of = fields.String(allow_none=True, metadata={"description": "the moment asked for, or null for now"})
    imported = fields.Boolean(metadata={"description": "whether any input is imported history"})
    department = fields.String(allow_none=True)
    decided = fields.Boolean(required=True)
    decision = fields.List(fields.Dict(), required=True)
    people = fields.List(fields.Dict(), required=True)
    inputs = fields.List(fields.Dict(), required=True)
    flags = fields.List(fields.Dict(), required=True)
    proofs_verified = fields.Boolean(required=True)
    unproven = fields.List(fields.String(), required=True)
    history_verified = fields.Boolean(required=True)
    first_problem = fields.String(allow_none=True)


class AccessLogEntryOut(Document):
    event_id = fields.String(required=True)
    position = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    accessor_id = fields.String(required=True)
    accessor_role = fields.String(required=True)
    subject_id = fields.String(required=True)
    purpose = fields.String(required=True)
    categories = fields.List(fields.String(), required=True)
    department = fields.String(allow_none=True)


AccessLogOut = page_schema(AccessLogEntryOut, "AccessLogOut")


class CheckpointOut(Document):
    source = fields.String()
    tree_size = fields.Integer()


CheckpointsOut = page_schema(CheckpointOut, "CheckpointsOut")
