"""Marshmallow schemas of the audit HTTP API (query strings; responses are documents)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class AccessLogQuery(Schema):
    subject_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    accessor_id = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class CheckpointsQuery(Schema):
    source = fields.String(load_default=None, validate=validate.OneOf(["participants", "recruitments", "matching"]))
