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
    history_verified = fields.Boolean(required=True, metadata={
        "description": "true when the audit service's checkpointer, which checks every source's hash chain "
                       "(each chain hash over the canonical envelope, each prev_hash link) as events arrive, "
                       "has raised no alert; it is not a re-verification of the whole history on this request "
                       "(that is `delaktig audit verify`). How far each chain has been checked is in "
                       "verified_up_to; each input's proof is verified on this request (proofs_verified)."})
    first_problem = fields.String(allow_none=True, metadata={
        "description": "the first alert the checkpointer raised (lowest position), as "
                       "'<source> position <P> event <id>: alert: <detail>', or null when there is none"})
    verified_up_to = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "per source, the position up to which the checkpointer has followed and checked the "
                       "hash chain (every event up to it is linked and hashes to its content)"})


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
