"""The participants HTTP API. Routes parse, authorise and hand over to the application."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, current_app, request
from flask_smorest import Blueprint

from services.participants.access_report import access_report, render_html
from services.participants.application import ParticipantsApp, payroll_csv, today
from services.participants.projections import access_log, honoraria_page, participants_page, payable_accruals
from services.participants.schemas import (
    ApprovalIn,
    AvailabilityIn,
    ConfidentialityIn,
    ConsentIn,
    ContactDetailsIn,
    ContactStatusIn,
    CreatedOut,
    DataExportOut,
    DepartmentIn,
    DepartmentOut,
    DepartmentSettingsIn,
    DepartmentSettingsOut,
    EligibilityOut,
    EligibilityQuery,
    ErasureIn,
    ErasureOut,
    ExpenseIn,
    ExportQuery,
    HonorariaOut,
    HonorariaPageOut,
    HonorariaQuery,
    LegalHoldIn,
    LegalHoldOut,
    LimitOverrideIn,
    ListQuery,
    ParticipantDetailOut,
    ParticipantPageOut,
    PaymentIn,
    PaymentOut,
    PaymentTermsAnswerIn,
    PaymentTermsOut,
    ProfileIn,
    ReadQuery,
    RegisterParticipantIn,
    RestrictionIn,
    TrainingIn,
    VersionOut,
    VocabularyIn,
    VocabularyOut,
    YearQuery,
)
from shared.auth import current_principal, requires
from shared.db import Database
from shared.errors import InvalidInput, NotFound
from shared.openapi import document
from shared.web import idempotent

blp = Blueprint("participants", __name__, description="The brukarbank: people and their data")
honoraria_blp = Blueprint("honoraria", __name__, description="Honoraria: payments through payroll")
departments_blp = Blueprint("departments", __name__, description="Departments (administrations)")

ANYONE_ON_RECORD = ("coordinator", "administrator", "participant")


def app() -> ParticipantsApp:
    application: ParticipantsApp = current_app.extensions["delaktig.app"]
    return application


def db() -> Database:
    database: Database = current_app.extensions["delaktig.db"]
    return database


def expected_version(body: dict[str, Any]) -> int | None:
    """``If-Match: <version>`` (or ``expected_version`` in the body) guards against lost updates."""
    header = request.headers.get("If-Match")
    if header:
        try:
            return int(header.strip().strip('"').removeprefix("W/").strip('"'))
        except ValueError:
            raise InvalidInput("If-Match must be the record's version number", field="If-Match") from None
    value = body.pop("expected_version", None)
    return int(value) if value is not None else None


def done(pid: UUID, version: int) -> dict[str, Any]:
    return {"id": str(pid), "version": version}


# -- the participant's record ---------------------------------------------------------
@blp.route("/participants", methods=["POST"])
@blp.arguments(RegisterParticipantIn())
@blp.response(201, CreatedOut)
@requires("coordinator", "administrator")
@idempotent
def register_participant(body: dict[str, Any]) -> Any:
    """Register a participant (coordinator of one of the departments)."""
    pid = app().register_participant(current_principal(), **body)
    return {"id": str(pid), "version": 1}


@blp.route("/participants", methods=["GET"])
@blp.arguments(ListQuery(), location="query")
@blp.response(200, ParticipantPageOut)
@requires("coordinator", "administrator")
def list_department_participants(query: dict[str, Any]) -> Any:
    """A department's bank, pseudonymous, a page at a time in id order (from the read model)."""
    current_principal().check_department(query["department"])
    return participants_page(db(), query, int(today()[:4]))


@blp.route("/participants/<uuid:participant_id>", methods=["GET"])
@blp.arguments(ReadQuery(), location="query")
@blp.response(200, ParticipantDetailOut)
@requires(*ANYONE_ON_RECORD)
def get_participant(query: dict[str, Any], participant_id: UUID) -> Any:
    """The decrypted record; the read is logged with its purpose."""
    return app().read_participant(current_principal(), participant_id, query["purpose"])


@blp.route("/participants/<uuid:participant_id>/contact-details", methods=["PUT"])
@blp.arguments(ContactDetailsIn())
@blp.response(200, VersionOut)
@requires(*ANYONE_ON_RECORD)
def rectify_contact_details(body: dict[str, Any], participant_id: UUID) -> Any:
    """Rectification (Art. 16) of name, e-mail or phone."""
    version = expected_version(body)
    return done(participant_id, app().update_contact_details(current_principal(), participant_id, body, version))


@blp.route("/participants/<uuid:participant_id>/consents", methods=["POST"])
@blp.arguments(ConsentIn())
@blp.response(200, VersionOut)
@requires(*ANYONE_ON_RECORD)
def give_consent(body: dict[str, Any], participant_id: UUID) -> Any:
    """Consent for one purpose in one department."""
    return done(participant_id, app().give_consent(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/consents/withdrawal", methods=["POST"])
@blp.arguments(ConsentIn())
@blp.response(200, VersionOut)
@requires(*ANYONE_ON_RECORD)
def withdraw_consent(body: dict[str, Any], participant_id: UUID) -> Any:
    """Withdraw a consent; effective immediately."""
    return done(participant_id, app().withdraw_consent(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/profile", methods=["PUT"])
@blp.arguments(ProfileIn())
@blp.response(200, VersionOut)
@requires(*ANYONE_ON_RECORD)
def update_profile(body: dict[str, Any], participant_id: UUID) -> Any:
    """Experience areas (encrypted), shared tags, languages, accessibility, excluded units."""
    version = expected_version(body)
    return done(participant_id, app().update_profile(current_principal(), participant_id, body, version))


@blp.route("/participants/<uuid:participant_id>/confidentiality", methods=["POST"])
@blp.arguments(ConfidentialityIn())
@blp.response(200, VersionOut)
@requires(*ANYONE_ON_RECORD)
def sign_confidentiality(body: dict[str, Any], participant_id: UUID) -> Any:
    """The confidentiality undertaking, signed on a date, for one version of the text."""
    return done(participant_id, app().sign_confidentiality(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/training", methods=["POST"])
@blp.arguments(TrainingIn())
@blp.response(200, VersionOut)
@requires("coordinator", "administrator")
def complete_training(body: dict[str, Any], participant_id: UUID) -> Any:
    """A coordinator records that the introduction training was completed."""
    return done(participant_id, app().complete_training(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/availability", methods=["PUT"])
@blp.arguments(AvailabilityIn())
@blp.response(200, VersionOut)
@requires(*ANYONE_ON_RECORD)
def change_availability(body: dict[str, Any], participant_id: UUID) -> Any:
    """Date windows (inclusive) when the person can take part."""
    version = expected_version(body)
    return done(participant_id,
                app().change_availability(current_principal(), participant_id, body["windows"], version))


@blp.route("/participants/<uuid:participant_id>/contact-status", methods=["PUT"])
@blp.arguments(ContactStatusIn())
@blp.response(200, VersionOut)
@requires(*ANYONE_ON_RECORD)
def change_contact_status(body: dict[str, Any], participant_id: UUID) -> Any:
    """available, cooldown (coordinator, until), paused, do_not_contact (coordinator, reason), opted_out."""
    return done(participant_id, app().change_contact_status(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/limit-overrides", methods=["POST"])
@blp.arguments(LimitOverrideIn())
@blp.response(201, VersionOut)
@requires("coordinator", "administrator")
@idempotent
def override_limit(body: dict[str, Any], participant_id: UUID) -> Any:
    """Allow extra engagements beyond the department's limit, with a recorded reason."""
    return done(participant_id, app().override_limit(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/eligibility", methods=["GET"])
@blp.arguments(EligibilityQuery(), location="query")
@blp.response(200, EligibilityOut)
@requires(*ANYONE_ON_RECORD)
def eligibility(query: dict[str, Any], participant_id: UUID) -> Any:
    """Whether the person can be assigned in a department on a day, and why not."""
    return app().eligibility(current_principal(), participant_id, query["department"], query["on"])


# -- honoraria ---------------------------------------------------------------------------
@blp.route("/participants/<uuid:participant_id>/expenses", methods=["POST"])
@blp.arguments(ExpenseIn())
@blp.response(201, VersionOut)
@requires("coordinator", "administrator")
@idempotent
def record_expense(body: dict[str, Any], participant_id: UUID) -> Any:
    """A reimbursed expense (never income); the same expense_ref is recorded once."""
    return done(participant_id, app().record_expense(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/payment-terms", methods=["GET"])
@blp.response(200, PaymentTermsOut)
@requires(*ANYONE_ON_RECORD)
def payment_terms(participant_id: UUID) -> Any:
    """What accepting an honorarium means, before the first payment."""
    return app().payment_terms(current_principal(), participant_id)


@blp.route("/participants/<uuid:participant_id>/payment-terms/answer", methods=["POST"])
@blp.arguments(PaymentTermsAnswerIn())
@blp.response(200, VersionOut)
@requires("participant")
def answer_payment_terms(body: dict[str, Any], participant_id: UUID) -> Any:
    """The participant accepts payment on these terms, or declines it."""
    return done(participant_id, app().answer_payment_terms(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/honoraria/approval", methods=["POST"])
@blp.arguments(ApprovalIn())
@blp.response(200, VersionOut)
@requires("coordinator", "administrator")
def approve_honoraria(body: dict[str, Any], participant_id: UUID) -> Any:
    """A coordinator approves accruals for payroll."""
    return done(participant_id, app().approve_honoraria(current_principal(), participant_id, **body))


@blp.route("/participants/<uuid:participant_id>/honoraria", methods=["GET"])
@blp.arguments(YearQuery(), location="query")
@blp.doc(responses={"200": document(HonorariaOut)})
@requires(*ANYONE_ON_RECORD)
def honoraria(query: dict[str, Any], participant_id: UUID) -> Any:
    """Accruals, expenses, payments and the year's totals with thresholds flagged."""
    return app().honoraria(current_principal(), participant_id, query["year"])


@honoraria_blp.route("/honoraria", methods=["GET"])
@honoraria_blp.arguments(HonorariaQuery(), location="query")
@honoraria_blp.response(200, HonorariaPageOut)
@requires("coordinator", "administrator")
def department_honoraria(query: dict[str, Any]) -> Any:
    """The people with accruals of a department in a month: accrued, approved and paid, the
    year's totals and tax flags (pseudonymous, a page at a time, from the read model)."""
    current_principal().check_department(query["department"])
    return honoraria_page(db(), query)


@honoraria_blp.route("/honoraria/payroll-export", methods=["GET"])
@honoraria_blp.arguments(ExportQuery(), location="query")
@honoraria_blp.doc(responses={"200": document(content_type="text/csv", description="the payroll import")})
@requires("coordinator", "administrator")
def payroll_export(query: dict[str, Any]) -> Any:
    """CSV for the payroll system: pseudonymous payee, period, amount per activity type."""
    current_principal().check_department(query["department"])
    rows = payable_accruals(db(), query["department"])
    return Response(payroll_csv(rows, query["period"]), mimetype="text/csv")


@honoraria_blp.route("/honoraria/payments", methods=["POST"])
@honoraria_blp.arguments(PaymentIn())
@honoraria_blp.response(200, PaymentOut)
@requires("coordinator", "administrator")
@idempotent
def record_payment(body: dict[str, Any]) -> Any:
    """Payroll confirmed a payment; the same payroll_ref again is a no-op."""
    pid = body.pop("participant_id")
    return app().record_payment(current_principal(), pid, **body)


# -- data rights -------------------------------------------------------------------------
@blp.route("/participants/<uuid:participant_id>/restriction", methods=["PUT"])
@blp.arguments(RestrictionIn())
@blp.response(200, VersionOut)
@requires(*ANYONE_ON_RECORD)
def change_restriction(body: dict[str, Any], participant_id: UUID) -> Any:
    """Restriction of processing (Art. 18): pause (with an optional reason, kept encrypted) or resume."""
    return done(participant_id, app().change_restriction(current_principal(), participant_id, body["restricted"],
                                                         body["reason"]))


@blp.route("/participants/<uuid:participant_id>/legal-holds", methods=["POST"])
@blp.arguments(LegalHoldIn())
@blp.doc(responses={"201": document(LegalHoldOut, description="Created")})
@requires("coordinator", "administrator")
@idempotent
def place_legal_hold(body: dict[str, Any], participant_id: UUID) -> Any:
    """A hold that blocks erasure, with its ground."""
    hold_id = app().place_legal_hold(current_principal(), participant_id, body["reason"], body["ground"])
    return {"id": str(participant_id), "hold_id": hold_id}, 201


@blp.route("/participants/<uuid:participant_id>/legal-holds/<hold_id>", methods=["DELETE"])
@blp.response(200, VersionOut)
@requires("coordinator", "administrator")
def release_legal_hold(participant_id: UUID, hold_id: str) -> Any:
    """Release a legal hold."""
    return done(participant_id, app().release_legal_hold(current_principal(), participant_id, hold_id))


@blp.route("/participants/<uuid:participant_id>/erasure", methods=["POST"])
@blp.arguments(ErasureIn())
@blp.doc(responses={"200": document(ErasureOut)})
@requires(*ANYONE_ON_RECORD)
def erase(body: dict[str, Any], participant_id: UUID) -> Any:
    """Art. 17 erasure by crypto-shredding; a repeat is a no-op."""
    return app().erase(current_principal(), participant_id, body["legal_basis"])


@blp.route("/participants/<uuid:participant_id>/data-export", methods=["GET"])
@blp.doc(responses={"200": document(DataExportOut, text_html={"type": "string"})})
@requires(*ANYONE_ON_RECORD)
def access_request(participant_id: UUID) -> Any:
    """Art. 15: everything held, as JSON (``?format=html`` or ``Accept: text/html`` for a page)."""
    held = app().subject_access(current_principal(), participant_id)
    report = access_report(held, access_log(db(), str(participant_id)))
    wants_html = request.args.get("format") == "html" or request.accept_mimetypes.best == "text/html"
    if wants_html:
        return Response(render_html(report), mimetype="text/html")
    return report


# -- departments and vocabulary ---------------------------------------------------------
@departments_blp.route("/departments", methods=["POST"])
@departments_blp.arguments(DepartmentIn())
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
    """A department's name and state."""
    dep = app().department(code)
    if dep is None:
        raise NotFound(f"no department {code!r}", field="code")
    return {"code": dep.code, "name": dep.name, "active": dep.active}


@departments_blp.route("/departments/<code>/settings", methods=["PUT"])
@departments_blp.arguments(DepartmentSettingsIn())
@departments_blp.doc(responses={"200": document(DepartmentSettingsOut)})
@requires("administrator")
def change_department_settings(body: dict[str, Any], code: str) -> Any:
    """Participation limit, honorarium rates (from valid_from), retention, budget."""
    body["rates"]["valid_from"] = body["rates"]["valid_from"].isoformat()
    return app().change_department_settings(current_principal(), code, body)


@departments_blp.route("/departments/<code>/settings", methods=["GET"])
@departments_blp.doc(responses={"200": document(DepartmentSettingsOut)})
@requires("coordinator", "administrator")
def department_settings(code: str) -> Any:
    """The settings in force and the rate history."""
    return app().department_settings(code, current_principal())


@departments_blp.route("/vocabulary/experience-areas", methods=["GET"])
@departments_blp.doc(responses={"200": document(VocabularyOut)})
@requires(*ANYONE_ON_RECORD)
def experience_areas() -> Any:
    """The areas of lived experience participants can declare."""
    return {"areas": app().vocabulary()}


@departments_blp.route("/vocabulary/experience-areas", methods=["PUT"])
@departments_blp.arguments(VocabularyIn())
@departments_blp.doc(responses={"200": document(VocabularyOut)})
@requires("administrator")
def change_experience_areas(body: dict[str, Any]) -> Any:
    """Administrators manage the vocabulary."""
    return {"areas": app().change_vocabulary(current_principal(), body["areas"])}
