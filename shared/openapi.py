"""What every service's OpenAPI document says about errors: RFC 9457 problems served as
``application/problem+json`` (issue 17, finding 17), with the members this project sends."""

from __future__ import annotations

import http
from typing import Any

import flask
from marshmallow import INCLUDE, Schema, fields

PROBLEM = "application/problem+json"


class InvalidParamOut(Schema):
    name = fields.String(required=True)
    reason = fields.String(required=True)


class ProblemOut(Schema):
    """An RFC 9457 problem; ``field`` names the input at fault. Other members may follow."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    field = fields.String()
    invalid_params = fields.List(fields.Nested(InvalidParamOut))


class ProblemResponses:
    """Mixed into the flask-smorest ``Api``: every error response it documents (the 422 of
    argument parsing, ``default``, ...) is a problem in ``application/problem+json``."""

    ERROR_SCHEMA = ProblemOut
    spec: Any

    def _openapi_json(self) -> Any:
        """The document flask-smorest serves, with a problem body on every error response."""
        spec = problems_in_every_error(self.spec.to_dict())
        return flask.current_app.response_class(flask.json.dumps(spec, indent=2, sort_keys=False),
                                                mimetype="application/json")

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["content"] = {PROBLEM: {"schema": ProblemOut}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR", {"description": "Default error response", "content": {PROBLEM: {"schema": ProblemOut}}},
            lazy=True)


PROBLEM_REF = {"$ref": "#/components/schemas/ProblemOut"}


def problems_in_every_error(spec: dict[str, Any]) -> dict[str, Any]:
    """Give every documented 4xx/5xx response without a body (e.g. the 401 and 403 that
    ``requires`` declares) the problem body it is answered with."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in (operation.get("responses") or {}).items():
                if status[:1] in ("4", "5") and isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("content", {PROBLEM: {"schema": PROBLEM_REF}})
    return spec


def document(schema: Any = None, content_type: str = "application/json", description: str = "OK",
             **more: Any) -> dict[str, Any]:
    """A success response for ``blp.doc(responses=...)`` (documented, not used to serialise)."""
    content: dict[str, Any] = {content_type: {"schema": schema if schema is not None else {"type": "string"}}}
    for other_type, other_schema in more.items():
        content[other_type.replace("_", "/")] = {"schema": other_schema}
    return {"description": description, "content": content}
