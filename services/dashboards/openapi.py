"""The OpenAPI description of the dashboards' JSON API (``/api/overview``, ``/api/departments/{code}``).

The pages blueprint is plain Flask (it renders HTML too), so its JSON routes are added to the
service's OpenAPI document here, with marshmallow schemas of what ``queries.py`` returns.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from marshmallow import Schema, fields


class LagSchema(Schema):
    projection = fields.String(required=True)
    topic = fields.String(required=True)
    lag = fields.Integer(required=True, allow_none=True, metadata={"description": "null: broker not reachable"})


class FiguresSchema(Schema):
    as_of_date = fields.String(required=True, metadata={"description": "the day the figures hold for (YYYY-MM-DD)"})
    computed_at = fields.String(required=True, allow_none=True,
                                metadata={"description": "when the figures were last worked out (UTC)"})


class OverviewRowSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    recruitments = fields.Integer(required=True)
    open = fields.Integer(required=True)
    hires = fields.Integer(required=True)
    engaged = fields.Integer(required=True)
    waiting = fields.Integer(required=True)
    accrued_ore = fields.Integer(required=True)
    manager_rating = fields.Float(required=True, allow_none=True)
    participant_rating = fields.Float(required=True, allow_none=True)


class OverviewSchema(Schema):
    items = fields.List(fields.Nested(OverviewRowSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True, metadata={"description": "null on the last page"})
    lag = fields.List(fields.Nested(LagSchema), required=True)
    figures = fields.Nested(FiguresSchema, required=True, allow_none=True,
                            metadata={"description": "how fresh the figures are (the oldest shown); null: none"})


PAGE_PARAMETERS = [
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
     "description": "departments per page (default 50, at most 200)"},
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "the next_cursor of the page before (opaque)"},
]


class UpcomingSchema(Schema):
    recruitment_id = fields.String(required=True)
    unit = fields.String(required=True, allow_none=True)
    position = fields.String(required=True, allow_none=True)
    interviews_from = fields.String(required=True, allow_none=True)
    panel = fields.Integer(required=True)
    panel_size = fields.Integer(required=True)


class RotationSchema(Schema):
    in_bank = fields.Integer(required=True)
    engaged = fields.Integer(required=True)
    waiting = fields.Integer(required=True)
    never_engaged = fields.Integer(required=True)


class HonorariaMonthSchema(Schema):
    month = fields.String(required=True)
    accrued_ore = fields.Integer(required=True)
    paid_ore = fields.Integer(required=True)
    budget_ore = fields.Integer(required=True, allow_none=True)


class HireEffectSchema(Schema):
    month = fields.String(required=True)
    motivation = fields.Float(required=True, allow_none=True)
    retained_6 = fields.Integer(required=True, allow_none=True)
    retained_12 = fields.Integer(required=True, allow_none=True)
    n = fields.Integer(required=True)


class RatingSchema(Schema):
    month = fields.String(required=True)
    rating = fields.Float(required=True, allow_none=True)
    n = fields.Integer(required=True)
    imported = fields.Integer(
        required=True, metadata={"description": "how many of the n come from imported history"}
    )
    rating_live = fields.Float(required=True, allow_none=True, metadata={"description": "recruitments in Delaktig"})
    rating_imported = fields.Float(
        required=True, allow_none=True, metadata={"description": "imported history, by its original dates"}
    )


class ImportedHistorySchema(Schema):
    recruitments = fields.Integer(required=True)
    from_ = fields.String(required=True, allow_none=True, data_key="from", metadata={"description": "first month"})
    to = fields.String(required=True, allow_none=True, metadata={"description": "last month"})


class EffectSchema(Schema):
    hires = fields.List(fields.Nested(HireEffectSchema), required=True)
    managers = fields.List(fields.Nested(RatingSchema), required=True)
    participants = fields.List(fields.Nested(RatingSchema), required=True)


class DepartmentDashboardSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    recruitments_total = fields.Integer(required=True)
    by_stage = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    days_in_stage = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), required=True)
    upcoming_without_full_panel = fields.List(fields.Nested(UpcomingSchema), required=True)
    rotation = fields.Nested(RotationSchema, required=True)
    honoraria = fields.List(fields.Nested(HonorariaMonthSchema), required=True)
    budget_ore_per_month = fields.Integer(required=True, allow_none=True)
    hires = fields.Integer(required=True)
    effect = fields.Nested(EffectSchema, required=True)
    imported = fields.Nested(
        ImportedHistorySchema,
        required=True,
        metadata={"description": "recruitments imported from before Delaktig (delaktig import history)"},
    )
    lag = fields.List(fields.Nested(LagSchema), required=True)
    figures = fields.Nested(FiguresSchema, required=True, allow_none=True,
                            metadata={"description": "how fresh the figures are (the oldest shown); null: none"})


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def document_json_api(app: Flask) -> None:
    """Add the JSON API's paths to the app's OpenAPI document (flask-smorest's spec)."""
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    spec = api.spec
    components = spec.to_dict().get("components", {}).get("schemas", {})
    if "Problem" not in components:
        spec.components.schema("Problem", {
            "type": "object",
            "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                           "detail": {"type": "string"}},
        })
    spec.components.schema("DashboardsOverview", schema=OverviewSchema)
    spec.components.schema("DepartmentDashboard", schema=DepartmentDashboardSchema)
    from services.dashboards.pages import JSON_API_ROLES

    roles = f"Roles {', '.join(JSON_API_ROLES)}; staff see only their departments."
    spec.tag({"name": "dashboards", "description": "Department dashboards as JSON (the same numbers as the pages)"})
    rules = {rule.rule: rule for rule in app.url_map.iter_rules()}
    spec.path(rule=rules["/api/overview"], operations={"get": {
        "tags": ["dashboards"],
        "summary": "Departments side by side",
        "parameters": PAGE_PARAMETERS,
        "description": roles,
        "operationId": "dashboards_overview",
        "x-roles": JSON_API_ROLES, "security": [{"bearerAuth": []}],
        "responses": {
            "200": {"description": "one row per department the caller may see",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DashboardsOverview"}}}},
            "401": _problem("no or invalid token"),
            "403": _problem("the token's roles do not allow dashboards"),
            "422": _problem("limit out of range or a cursor this service did not issue"),
        },
    }})
    spec.path(rule=rules["/api/departments/<code>"], parameters=[
        {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "department code, e.g. socialforvaltningen"}], operations={"get": {
        "tags": ["dashboards"],
        "summary": "One department's numbers",
        "description": roles,
        "operationId": "dashboards_department",
        "x-roles": JSON_API_ROLES, "security": [{"bearerAuth": []}],
        "responses": {
            "200": {"description": "the department's dashboard",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DepartmentDashboard"}}}},
            "401": _problem("no or invalid token"),
            "403": _problem("the token does not cover this department"),
            "404": _problem("no such department"),
        },
    }})
