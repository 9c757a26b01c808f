"""The recruitments HTTP API. Routes parse, authorise and hand over to the application."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import current_app
from flask_smorest import Blueprint

from services.recruitments.application import RecruitmentsApp
from services.recruitments.projections import DecisionInfluence, PublicAdverts, RecruitmentList, RecruitmentScoring
from services.recruitments.schemas import (
    AdvertPublishedOut,
    AmendIn,
    ApplicationIn,
    AssessmentIn,
    CandidatesOut,
    CloseIn,
    ConflictIn,
    CreatedOut,
    DecisionIn,
    DecisionOut,
    ExtractQuery,
    FeedbackIn,
    FeedbackOut,
    FollowUpIn,
    InfluencePageOut,
    KeyedPage,
    LegalHoldIn,
    MeritsExtractOut,
    Ok,
    OpenRecruitmentIn,
    OutcomeOut,
    PublicAdvertOut,
    PublicAdvertPage,
    PublicAdvertQuery,
    PublishIn,
    RecruitmentListOut,
    RecruitmentOut,
    RecruitmentsQuery,
    ScoreIn,
    ScoresOut,
    SummaryOut,
    TextIn,
)
from shared.auth import current_principal, public, requires
from shared.db import Database
from shared.openapi import document
from shared.pagination import decode_cursor, page_of
from shared.web import idempotent

blp = Blueprint("recruitments", __name__, description="Recruitments with service users on the panel")

STAFF = ("coordinator", "hiring_manager", "administrator")
ANYONE = (*STAFF, "participant")
R = "/recruitments/<uuid:rid>"
C = R + "/candidates/<cid>"


def app() -> RecruitmentsApp:
    application: RecruitmentsApp = current_app.extensions["delaktig.app"]
    return application


def db() -> Database:
    """The service's read-model database."""
    database: Database = current_app.extensions["delaktig.db"]
    return database


OK = {"ok": True}


@blp.route("/recruitments", methods=["POST"])
@blp.arguments(OpenRecruitmentIn())
@blp.response(201, CreatedOut)
@requires("coordinator", "hiring_manager", "administrator")
@idempotent
def open_recruitment(body: dict[str, Any]) -> Any:
    """Open a recruitment; the scorecard has 3-6 focus attributes incl. motivation for participation.
    A hiring manager who opens one is its hiring manager."""
    return {"id": str(app().open_recruitment(current_principal(), **body))}


@blp.route("/recruitments", methods=["GET"])
@blp.arguments(RecruitmentsQuery(), location="query")
@blp.doc(responses={"200": document(RecruitmentListOut)})
@requires(*ANYONE)
def list_recruitments(query: dict[str, Any]) -> Any:
    """The recruitments the caller may see, a page at a time in the order they were opened."""
    page = RecruitmentList.page(db(), app().list_scope(current_principal()), **query)
    RecruitmentScoring.annotate(db(), page["items"])
    return page


@blp.route(R, methods=["GET"])
@blp.doc(responses={"200": document(RecruitmentOut)})
@requires(*ANYONE)
def get_recruitment(rid: UUID) -> Any:
    """One recruitment as the caller's role allows."""
    return app().view(current_principal(), rid)


@blp.route(R + "/job-description/contributions", methods=["POST"])
@blp.arguments(TextIn())
@blp.response(201, CreatedOut)
@requires(*ANYONE)
def contribute_job_description(body: dict[str, Any], rid: UUID) -> Any:
    """Add a contribution to the job description (recorded with who wrote it)."""
    return {"id": app().contribute(current_principal(), rid, "job_description", body["text"])}


@blp.route(R + "/advert/contributions", methods=["POST"])
@blp.arguments(TextIn())
@blp.response(201, CreatedOut)
@requires(*ANYONE)
def contribute_advert(body: dict[str, Any], rid: UUID) -> Any:
    """Add a contribution to the advert."""
    return {"id": app().contribute(current_principal(), rid, "advert", body["text"])}


@blp.route(R + "/participation-text/contributions", methods=["POST"])
@blp.arguments(TextIn())
@blp.response(201, CreatedOut)
@requires(*ANYONE)
def contribute_participation_text(body: dict[str, Any], rid: UUID) -> Any:
    """Add a contribution to the text on how service users take part (the applicant's page)."""
    return {"id": app().contribute(current_principal(), rid, "participation", body["text"])}


@blp.route(R + "/advert/publish", methods=["POST"])
@blp.arguments(PublishIn())
@blp.response(200, AdvertPublishedOut)
@requires(*STAFF)
def publish_advert(body: dict[str, Any], rid: UUID) -> Any:
    """Publish (a new version of) the advert, with how service users take part."""
    return {"version": app().publish_advert(current_principal(), rid, body["text"], body["participation_text"])}


@blp.route("/adverts", methods=["GET"])
@blp.arguments(PublicAdvertQuery(), location="query")
@blp.doc(responses={"200": document(PublicAdvertPage)})
@public
def list_adverts(query: dict[str, Any]) -> Any:
    """Published adverts of open recruitments, for anyone (no sign-in, nothing personal)."""
    after = decode_cursor(query["cursor"], arity=2)  # its shape was checked by PublicAdvertQuery
    rows = PublicAdverts.page(db(), query["limit"] + 1, after, query["department"])
    return page_of(rows, query["limit"], key=lambda row: (row["published_at"], row["id"]))


@blp.route("/adverts/<uuid:rid>", methods=["GET"])
@blp.doc(responses={"200": document(PublicAdvertOut)})
@public
def get_advert(rid: UUID) -> Any:
    """One published advert with how service users take part, for anyone."""
    return PublicAdverts.one(db(), str(rid))


@blp.route(R + "/applications", methods=["POST"])
@blp.arguments(ApplicationIn())
@blp.response(201, CreatedOut)
@requires(*STAFF)
@idempotent
def receive_application(body: dict[str, Any], rid: UUID) -> Any:
    """An application from the ATS; personal data is stored only encrypted under the candidate's key."""
    return {"id": app().receive_application(current_principal(), rid, **body)}


@blp.route(R + "/candidates", methods=["GET"])
@blp.arguments(KeyedPage(), location="query")
@blp.doc(responses={"200": document(CandidatesOut)})
@requires(*ANYONE)
def list_candidates(query: dict[str, Any], rid: UUID) -> Any:
    """Candidates in the order received: staff see contact data, panel participants only names."""
    return app().candidates(current_principal(), rid, **query)


@blp.route(C + "/assessments", methods=["POST"])
@blp.arguments(AssessmentIn())
@blp.response(200, Ok)
@requires(*ANYONE)
def assess_application(body: dict[str, Any], rid: UUID, cid: str) -> Any:
    """Record the caller's assessment of an application (shortlist yes/no/maybe)."""
    app().assess_application(current_principal(), rid, cid, **body)
    return OK


@blp.route(C + "/conflicts", methods=["POST"])
@blp.arguments(ConflictIn())
@blp.response(200, Ok)
@requires(*ANYONE)
def declare_conflict(body: dict[str, Any], rid: UUID, cid: str) -> Any:
    """Declare (no) conflict of interest before seeing a candidate; a conflict recuses."""
    app().declare_conflict(current_principal(), rid, cid, body["has_conflict"])
    return OK


@blp.route(C + "/scores", methods=["POST"])
@blp.arguments(ScoreIn())
@blp.response(201, Ok)
@requires(*ANYONE)
def score(body: dict[str, Any], rid: UUID, cid: str) -> Any:
    """Submit the caller's interview score for a candidate."""
    app().score(current_principal(), rid, cid, **body)
    return OK


@blp.route(C + "/scores/amendments", methods=["POST"])
@blp.arguments(AmendIn())
@blp.response(201, Ok)
@requires(*ANYONE)
def amend_score(body: dict[str, Any], rid: UUID, cid: str) -> Any:
    """Amend the caller's own score, with a reason."""
    app().amend_score(current_principal(), rid, cid, **body)
    return OK


@blp.route(C + "/scores", methods=["GET"])
@blp.doc(responses={"200": document(ScoresOut)})
@requires(*ANYONE)
def get_scores(rid: UUID, cid: str) -> Any:
    """Scores for a candidate; an interviewer sees the others' only after submitting their own."""
    return app().scores(current_principal(), rid, cid)


@blp.route(C + "/summary", methods=["GET"])
@blp.doc(responses={"200": document(SummaryOut)})
@requires(*ANYONE)
def get_summary(rid: UUID, cid: str) -> Any:
    """Who said what: scores by role (participants vs staff), agreement and disagreement."""
    return app().summary(current_principal(), rid, cid)


@blp.route(R + "/influence", methods=["GET"])
@blp.arguments(KeyedPage(), location="query")
@blp.doc(responses={"200": document(InfluencePageOut)})
@requires(*STAFF, "auditor")
def get_influence(query: dict[str, Any], rid: UUID) -> Any:
    """Who influenced the decision: each input with its actor, time, event id and hash."""
    app().influence_reader(current_principal(), rid)
    return DecisionInfluence.influence_page(db(), str(rid), **query)


@blp.route(R + "/decision", methods=["POST"])
@blp.arguments(DecisionIn())
@blp.doc(responses={"201": document(DecisionOut)})
@requires("hiring_manager")
def decide(body: dict[str, Any], rid: UUID) -> Any:
    """The hiring manager's decision; against the participants it must say why."""
    return app().decide(current_principal(), rid, **body), 201


@blp.route(R + "/outcome/share", methods=["POST"])
@blp.response(200, Ok)
@requires(*STAFF)
def share_outcome(rid: UUID) -> Any:
    """Tell every participant of the panel what their input led to."""
    return {"ok": True, "shared_with": app().share_outcome(current_principal(), rid)}


@blp.route(R + "/outcome", methods=["GET"])
@blp.doc(responses={"200": document(OutcomeOut)})
@requires(*ANYONE)
def get_outcome(rid: UUID) -> Any:
    """The decision, for staff and for panel participants once shared."""
    return app().outcome(current_principal(), rid)


@blp.route(R + "/close", methods=["POST"])
@blp.arguments(CloseIn())
@blp.response(200, Ok)
@requires(*STAFF)
def close(body: dict[str, Any], rid: UUID) -> Any:
    """Close as filled, or cancelled with a reason."""
    app().close_recruitment(current_principal(), rid, body["outcome"], body["reason"])
    return OK


@blp.route(R + "/feedback/manager", methods=["POST"])
@blp.arguments(FeedbackIn())
@blp.response(201, Ok)
@requires("hiring_manager")
def manager_feedback(body: dict[str, Any], rid: UUID) -> Any:
    """Effect goal 2: what user participation added to the decision."""
    app().manager_feedback(current_principal(), rid, **body)
    return OK


@blp.route(R + "/feedback/participant", methods=["POST"])
@blp.arguments(FeedbackIn())
@blp.response(201, Ok)
@requires("participant")
def participant_feedback(body: dict[str, Any], rid: UUID) -> Any:
    """Effect goal 3: whether the participant could take part and influence."""
    app().participant_feedback(current_principal(), rid, **body)
    return OK


@blp.route(R + "/feedback", methods=["GET"])
@blp.doc(responses={"200": document(FeedbackOut)})
@requires(*STAFF)
def get_feedback(rid: UUID) -> Any:
    """Effect-goal feedback and hire follow-ups."""
    return app().feedback(current_principal(), rid)


@blp.route(R + "/follow-ups", methods=["POST"])
@blp.arguments(FollowUpIn())
@blp.response(201, Ok)
@requires(*STAFF)
def follow_up(body: dict[str, Any], rid: UUID) -> Any:
    """Effect goal 1: the hire at 6 and 12 months."""
    app().follow_up(current_principal(), rid, **body)
    return OK


@blp.route(R + "/merits-extract", methods=["GET"])
@blp.arguments(ExtractQuery(), location="query")
@blp.doc(responses={"200": document(MeritsExtractOut)})
@requires(*STAFF)
def merits_extract(query: dict[str, Any], rid: UUID) -> Any:
    """Discrimination Act 2:4 extract for a rejected applicant."""
    return app().merits_extract(current_principal(), rid, query["candidate_id"])


@blp.route(R + "/legal-holds", methods=["POST"])
@blp.arguments(LegalHoldIn())
@blp.response(201, Ok)
@requires("coordinator", "administrator")
def place_legal_hold(body: dict[str, Any], rid: UUID) -> Any:
    """Block retention for a candidate (or '*' for all), e.g. a pending discrimination claim."""
    app().place_legal_hold(current_principal(), rid, body["candidate_id"], body["reason"])
    return OK
