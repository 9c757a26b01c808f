"""What every service's OpenAPI document says about errors: RFC 9457 problems served as
``application/problem+json`` (issue 17, finding 17), with the members this project sends."""

from __future__ import annotations

import http
from typing import Any

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

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["content"] = {PROBLEM: {"schema": ProblemOut}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR", {"description": "Default error response", "content": {PROBLEM: {"schema": ProblemOut}}},
            lazy=True)


def document(schema: Any = None, content_type: str = "application/json", description: str = "OK",
             **more: Any) -> dict[str, Any]:
    """A success response for ``blp.doc(responses=...)`` (documented, not used to serialise)."""
    content: dict[str, Any] = {content_type: {"schema": schema if schema is not None else {"type": "string"}}}
    for other_type, other_schema in more.items():
        content[other_type.replace("_", "/")] = {"schema": other_schema}
    return {"description": description, "content": content}
