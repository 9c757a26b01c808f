"""The participants HTTP API. Routes parse, authorise and hand over to the application."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import current_app
from flask_smorest import Blueprint

from services.participants.application import ParticipantsApp
from services.participants.schemas import (
    CreatedOut,
    DepartmentIn,
    DepartmentOut,
    ParticipantOut,
    ReadQuery,
    RegisterParticipantIn,
)
from shared.auth import current_principal, requires
from shared.web import idempotent

blp = Blueprint("participants", __name__, description="The brukarbank: people and their data")
departments_blp = Blueprint("departments", __name__, description="Departments (administrations)")


def app() -> ParticipantsApp:
    application: ParticipantsApp = current_app.extensions["delaktig.app"]
    return application


@blp.route("/participants", methods=["POST"])
@blp.arguments(RegisterParticipantIn)
@blp.response(201, CreatedOut)
@requires("coordinator", "administrator")
@idempotent
def register_participant(body: dict[str, Any]) -> Any:
    """Register a participant (coordinator of one of the departments)."""
    pid = app().register_participant(current_principal(), **body)
    return {"id": str(pid), "version": 1}


@blp.route("/participants/<uuid:participant_id>", methods=["GET"])
@blp.arguments(ReadQuery, location="query")
@blp.response(200, ParticipantOut)
@requires("coordinator", "administrator", "participant")
def get_participant(query: dict[str, Any], participant_id: UUID) -> Any:
    """The decrypted record; the read is logged with its purpose."""
    return app().read_participant(current_principal(), participant_id, query["purpose"])


@departments_blp.route("/departments", methods=["POST"])
@departments_blp.arguments(DepartmentIn)
@departments_blp.response(201, DepartmentOut)
@requires("administrator")
def onboard_department(body: dict[str, Any]) -> Any:
    """Onboard a new department: a command, not a release."""
    app().onboard_department(body["code"], body["name"], current_principal().actor())
    return {"code": body["code"], "name": body["name"], "active": True}


@departments_blp.route("/departments/<code>", methods=["GET"])
@departments_blp.response(200, DepartmentOut)
@requires("coordinator", "administrator", "hiring_manager", "auditor", "researcher", "participant")
def get_department(code: str) -> Any:
    dep = app().department(code)
    if dep is None:
        from shared.errors import NotFound

        raise NotFound(f"no department {code!r}", field="code")
    return {"code": dep.code, "name": dep.name, "active": dep.active}
