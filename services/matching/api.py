"""The matching HTTP API. Routes parse, authorise and hand over to the application."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import current_app
from flask_smorest import Blueprint

from services.matching.application import MatchingApp
from services.matching.schemas import (
    AssignIn,
    AssignmentOut,
    DeclineIn,
    ExplanationOut,
    FairnessOut,
    InvitationOut,
    PanelInvitationsOut,
    ProposalIn,
    ProposalOut,
    ReplacementIn,
    ReplacementOut,
)
from shared.auth import current_principal, requires
from shared.web import idempotent

blp = Blueprint("matching", __name__, description="Panels: proposals, assignments, replacements, fairness")


def app() -> MatchingApp:
    application: MatchingApp = current_app.extensions["delaktig.app"]
    return application


@blp.route("/recruitments/<uuid:recruitment_id>/proposals", methods=["POST"])
@blp.arguments(ProposalIn())
@blp.response(201, ProposalOut)
@requires("coordinator", "administrator")
@idempotent
def propose_panel(body: dict[str, Any], recruitment_id: UUID) -> Any:
    """Propose a panel (coordinator of the recruitment's department)."""
    return app().propose_panel(current_principal(), str(recruitment_id), body["panel_size"])


@blp.route(
    "/recruitments/<uuid:recruitment_id>/candidates/<uuid:participant_id>/explanation", methods=["GET"]
)
@blp.response(200, ExplanationOut)
@requires("coordinator", "administrator")
def explain_candidate(recruitment_id: UUID, participant_id: UUID) -> Any:
    """Why a person is excluded, proposed, or ranked below the panel."""
    return app().explain_candidate(current_principal(), str(recruitment_id), str(participant_id))


@blp.route("/recruitments/<uuid:recruitment_id>/panel", methods=["POST"])
@blp.arguments(AssignIn())
@blp.response(201, AssignmentOut)
@requires("coordinator", "administrator")
@idempotent
def assign_panel(body: dict[str, Any], recruitment_id: UUID) -> Any:
    """Assign the panel: accept a proposal, or pick members (soft-rule overrides need a reason)."""
    members = [str(m) for m in body["members"]] if body["members"] is not None else None
    overrides = [
        {"participant_id": str(o["participant_id"]), "reason": o["reason"]} for o in body["overrides"]
    ]
    proposal = str(body["proposal_id"]) if body["proposal_id"] else None
    return app().assign_panel(
        current_principal(), str(recruitment_id), proposal_id=proposal, members=members, overrides=overrides
    )


@blp.route("/recruitments/<uuid:recruitment_id>/panel/replacements", methods=["POST"])
@blp.arguments(ReplacementIn())
@blp.response(201, ReplacementOut)
@requires("coordinator", "administrator")
@idempotent
def replace_member(body: dict[str, Any], recruitment_id: UUID) -> Any:
    """A member drops out: the next best takes the seat."""
    return app().replace_member(
        current_principal(), str(recruitment_id), str(body["participant_id"]), body["reason"]
    )


@blp.route("/recruitments/<uuid:recruitment_id>/invitation", methods=["GET"])
@blp.response(200, InvitationOut)
@requires("participant")
def my_invitation(recruitment_id: UUID) -> Any:
    """The caller's own invitation to this panel: invited, accepted or declined."""
    return app().invitation(current_principal(), str(recruitment_id))


@blp.route("/recruitments/<uuid:recruitment_id>/invitation/acceptance", methods=["POST"])
@blp.response(201, InvitationOut)
@requires("participant")
@idempotent
def accept_invitation(recruitment_id: UUID) -> Any:
    """The participant accepts the seat they were assigned."""
    return app().accept_invitation(current_principal(), str(recruitment_id))


@blp.route("/recruitments/<uuid:recruitment_id>/invitation/decline", methods=["POST"])
@blp.arguments(DeclineIn())
@blp.response(201, InvitationOut)
@requires("participant")
@idempotent
def decline_invitation(body: dict[str, Any], recruitment_id: UUID) -> Any:
    """The participant declines (reason optional, as a category); the next best takes the seat."""
    return app().decline_invitation(current_principal(), str(recruitment_id), body["reason"])


@blp.route("/recruitments/<uuid:recruitment_id>/invitations", methods=["GET"])
@blp.response(200, PanelInvitationsOut)
@requires("coordinator", "administrator", "hiring_manager")
def panel_invitations(recruitment_id: UUID) -> Any:
    """Every seat's invitations: accepted, declined (a category) or waiting, and replacements."""
    return app().panel_invitations(current_principal(), str(recruitment_id))


@blp.route("/departments/<code>/fairness", methods=["GET"])
@blp.response(200, FairnessOut)
@requires("coordinator", "administrator", "auditor", "researcher")
def fairness_report(code: str) -> Any:
    """How panel engagements are spread over the department's bank."""
    return app().fairness_report(current_principal(), code)
