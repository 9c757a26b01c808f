"""Response bodies of the dashboards' JSON API (documented in its OpenAPI; the pages are HTML)."""

from __future__ import annotations

from marshmallow import Schema, fields


class LagOut(Schema):
    projection = fields.String()
    topic = fields.String()
    lag = fields.Integer(allow_none=True)


class DepartmentDashboardOut(Schema):
    code = fields.String(required=True)
    name = fields.String()
    recruitments_total = fields.Integer()
    by_stage = fields.Dict(keys=fields.String(), values=fields.Integer())
    days_in_stage = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True))
    upcoming_without_full_panel = fields.List(fields.Dict())
    rotation = fields.Dict()
    honoraria = fields.List(fields.Dict())
    budget_ore_per_month = fields.Integer(allow_none=True)
    hires = fields.Integer()
    effect = fields.Dict()
    lag = fields.List(fields.Nested(LagOut))


class OverviewOut(Schema):
    departments = fields.List(fields.Dict(), required=True)
    lag = fields.List(fields.Nested(LagOut))
