"""The audit HTTP API: read-only, role ``auditor``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, current_app, jsonify, request
from flask_smorest import Blueprint

from services.audit.application import AuditApp
from services.audit.decision import decision_html
from services.audit.schemas import (
    AccessLogOut,
    AccessLogQuery,
    CheckpointsOut,
    CheckpointsQuery,
    DecisionRecordOut,
    DecisionRecordQuery,
)
from shared.auth import current_principal, requires
from shared.openapi import document

blp = Blueprint("audit", __name__, description="Integrity, decision-influence records and the access log.")


def app() -> AuditApp:
    audit: AuditApp = current_app.extensions["delaktig.audit"]
    return audit


@blp.route("/recruitments/<uuid:recruitment_id>/decision-record", methods=["GET"])
@blp.arguments(DecisionRecordQuery(), location="query")
@blp.doc(responses={"200": document(DecisionRecordOut, text_html={"type": "string"}), "404": "NOT_FOUND"})
@requires("auditor")
def get_decision_record(query: dict[str, Any], recruitment_id: UUID) -> Any:
    """Who influenced this hiring decision, with proofs (JSON, or HTML with ``Accept: text/html``);
    ``?as_of=`` shows it as it stood at a moment, e.g. when the decision was made."""
    record = app().decision_record(str(recruitment_id), current_principal(), query["as_of"])
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return Response(decision_html(record), mimetype="text/html")
    return jsonify(record)


@blp.route("/access-log", methods=["GET"])
@blp.arguments(AccessLogQuery(), location="query")
@blp.doc(responses={"200": document(AccessLogOut)})
@requires("auditor")
def get_access_log(query: dict[str, Any]) -> Any:
    """Who read whose personal data, when and why, a page at a time in log order."""
    return jsonify(app().access_log_page(current_principal(), **query))


@blp.route("/checkpoints", methods=["GET"])
@blp.arguments(CheckpointsQuery(), location="query")
@blp.doc(responses={"200": document(CheckpointsOut)})
@requires("auditor")
def get_checkpoints(query: dict[str, Any]) -> Any:
    """The signed checkpoints, oldest first per source, a page at a time."""
    return jsonify(app().checkpoints_page(**query))


@blp.route("/public-key", methods=["GET"])
@blp.doc(responses={"200": document(content_type="application/x-pem-file", description="PEM")})
@requires("auditor")
def get_public_key() -> Any:
    """The Ed25519 public key (PEM) that checkpoints verify against."""
    return Response(app().public_key_pem(), mimetype="application/x-pem-file")
