"""The public events of ``participants.events``: schemas and the mapping from domain events.

Personal data is only ever a vault token (``enc:v1:...``) here; ``shared_tags`` are the coarse
experience areas the person consented to share for matching.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.participants.domain import (
    CONTACT_STATUSES,
    LEGAL_HOLD_GROUNDS,
    PURPOSES,
    DataAccess,
    Department,
    ExperienceVocabulary,
    Participant,
)
from shared.contract import ACTIVITY_TYPES
from shared.events import EventCatalogue

catalogue = EventCatalogue("participants")

TOKEN = validate.Regexp(r"^enc:v1:", error="personal data must be a vault token")
DATE = validate.Regexp(r"^\d{4}-\d{2}-\d{2}$", error="use YYYY-MM-DD")


def token(required: bool = True, description: str = "vault token") -> fields.String:
    if required:
        return fields.String(required=True, validate=TOKEN, metadata={"description": description})
    return fields.String(required=True, allow_none=True, validate=TOKEN, metadata={"description": description})


class DepartmentOnboardedV1(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)


class LimitSchema(Schema):
    max_engagements = fields.Integer(required=True)
    period_days = fields.Integer(required=True)


class RatesSchema(Schema):
    hour_ore = fields.Integer(required=True)
    half_day_ore = fields.Integer(required=True)
    full_day_ore = fields.Integer(required=True)
    valid_from = fields.String(required=True, validate=DATE)


class RetentionSchema(Schema):
    inactive_profile_months = fields.Integer(required=True)


class DepartmentSettingsChangedV1(Schema):
    code = fields.String(required=True)
    participation_limit = fields.Nested(LimitSchema, required=True)
    rates = fields.Nested(RatesSchema, required=True)
    retention = fields.Nested(RetentionSchema, required=True)
    budget_ore_per_month = fields.Integer(required=True)


class ExperienceVocabularyV1(Schema):
    areas = fields.List(fields.String(), required=True)


class UserRegisteredV1(Schema):
    personal = fields.String(required=True, metadata={"description": "vault token: name, email, phone"})
    preferred_language = fields.String(required=True)
    departments = fields.List(fields.String(), required=True)


class ContactDetailsUpdatedV1(Schema):
    personal = token(description="vault token: name, email, phone")


class ConsentV1(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    department = fields.String(required=True)


class ProfileUpdatedV1(Schema):
    experience = token(description="vault token: all declared experience areas")
    shared_tags = fields.List(fields.String(), required=True)
    languages = fields.List(fields.String(), required=True)
    accessibility = token(required=False, description="vault token: accessibility needs")
    excluded_units = fields.List(fields.String(), required=True)


class ConfidentialityUndertakingSignedV1(Schema):
    signed_on = fields.String(required=True, validate=DATE)
    text_version = fields.String(required=True)


class IntroductionTrainingCompletedV1(Schema):
    completed_on = fields.String(required=True, validate=DATE)


class WindowSchema(Schema):
    start = fields.String(required=True, validate=DATE)
    end = fields.String(required=True, validate=DATE)


class AvailabilityChangedV1(Schema):
    windows = fields.List(fields.Nested(WindowSchema), required=True)


class ContactStatusChangedV1(Schema):
    status = fields.String(required=True, validate=validate.OneOf(CONTACT_STATUSES))
    until = fields.String(required=True, allow_none=True, validate=DATE)
    reason = token(required=False)


class ParticipationLimitOverriddenV1(Schema):
    extra_engagements = fields.Integer(required=True)
    valid_until = fields.String(required=True, validate=DATE)
    reason = token(description="vault token: the coordinator's recorded reason")


class PanelMembershipRecordedV1(Schema):
    recruitment_id = fields.String(required=True)
    panel_id = fields.String(required=True)
    assigned_on = fields.String(required=True, validate=DATE)


class HonorariumAccruedV1(Schema):
    activity_ref = fields.String(required=True)
    activity_type = fields.String(required=True, validate=validate.OneOf(ACTIVITY_TYPES))
    recruitment_id = fields.String(required=True)
    hours = fields.Integer(required=True)
    amount_ore = fields.Integer(required=True)
    rate_basis = fields.String(required=True, validate=validate.OneOf(("hour", "half_day", "full_day")))
    accrued_on = fields.String(required=True, validate=DATE)


class ExpenseRecordedV1(Schema):
    expense_ref = fields.String(required=True)
    kind = fields.String(required=True)
    amount_ore = fields.Integer(required=True)
    incurred_on = fields.String(required=True, validate=DATE)


class PaymentTermsAcknowledgedV1(Schema):
    text_version = fields.String(required=True)


class PaymentDeclinedV1(Schema):
    reason = token(required=False)


class HonorariumApprovedV1(Schema):
    accrual_refs = fields.List(fields.String(), required=True)
    approved_by = fields.String(required=True)


class HonorariumPaidV1(Schema):
    payroll_ref = fields.String(required=True)
    amount_ore = fields.Integer(required=True)
    period = fields.String(required=True)
    accrual_refs = fields.List(fields.String(), required=True)
    paid_on = fields.String(required=True, validate=DATE)


class HonorariumPaidV2(HonorariumPaidV1):
    """Version 2 adds ``payee_ref``: an additive change (docs/versioning.md)."""

    payee_ref = fields.String(required=True, validate=validate.Regexp(r"^P-[0-9a-f]{16}$"), metadata={
        "description": "the pseudonymous payee reference of the payroll file (new in v2)"})


def _paid_v1(event: Any) -> dict[str, Any]:
    """The exact v1 payload of a payment recorded before v2 (its published bytes never change)."""
    return {"payroll_ref": event.payroll_ref, "amount_ore": event.amount_ore, "period": event.period,
            "accrual_refs": event.accrual_refs, "paid_on": event.paid_on}


class ProcessingRestrictionChangedV1(Schema):
    restricted = fields.Boolean(required=True)


class ProcessingRestrictionChangedV2(ProcessingRestrictionChangedV1):
    """Version 2 adds ``reason``: an additive change (docs/versioning.md)."""

    reason = token(description="why processing is restricted (vault token; new in v2)")


class LegalHoldPlacedV1(Schema):
    hold_id = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "legal ground, no personal data"})


class LegalHoldPlacedV2(LegalHoldPlacedV1):
    """Version 2 adds ``ground``: an additive change (docs/versioning.md)."""

    ground = fields.String(required=True, validate=validate.OneOf(LEGAL_HOLD_GROUNDS), metadata={
        "description": "the legal ground in a short vocabulary (new in v2); reason describes it"})


class LegalHoldReleasedV1(Schema):
    hold_id = fields.String(required=True)


class ParticipantForgottenV1(Schema):
    legal_basis = fields.String(required=True)
    erased = fields.List(fields.String(), required=True)
    kept = fields.List(fields.String(), required=True)


class PersonalDataAccessedV1(Schema):
    subject_id = fields.String(required=True)
    purpose = fields.String(required=True)
    categories = fields.List(fields.String(), required=True)


def of(aggregate: type, name: str) -> type:
    """The domain event class ``@event(name)`` created on an aggregate (made at run time)."""
    event_class: type = getattr(aggregate, name)
    return event_class


def _contact_status(event: Any) -> dict[str, Any]:
    """The public v1 payload: ``until`` for a cooldown only; the day it was asked stays inside."""
    return {"status": event.status, "until": event.until if event.status == "cooldown" else None,
            "reason": event.reason}


def _limit_override(event: Any) -> dict[str, Any]:
    """The public v1 payload: the day the override was granted stays inside."""
    return {"extra_engagements": event.extra_engagements, "valid_until": event.valid_until, "reason": event.reason}


def _with_department(event: Any) -> dict[str, Any]:
    return {"purpose": event.purpose, "department": event.department}


catalogue.register(of(Department, "Onboarded"), "DepartmentOnboarded", DepartmentOnboardedV1,
                   description="A department (administration) starts using Delaktig.")
catalogue.register(of(Department, "SettingsChanged"), "DepartmentSettingsChanged", DepartmentSettingsChangedV1,
                   description="Participation limit, honorarium rates (with valid_from), retention, budget.")
catalogue.register(of(ExperienceVocabulary, "Defined"), "ExperienceVocabularyDefined", ExperienceVocabularyV1,
                   description="The administrator-managed areas of lived experience.")
catalogue.register(of(ExperienceVocabulary, "Changed"), "ExperienceVocabularyChanged", ExperienceVocabularyV1,
                   description="The administrator-managed areas of lived experience changed.")
catalogue.register(of(Participant, "Registered"), "UserRegistered", UserRegisteredV1,
                   description="A service user joins the brukarbank. Personal fields are ciphertext.")
catalogue.register(of(Participant, "ContactDetailsUpdated"), "ContactDetailsUpdated", ContactDetailsUpdatedV1,
                   description="Rectified contact details, as a new token.")
catalogue.register(of(Participant, "ConsentGiven"), "ConsentGiven", ConsentV1, payload=_with_department,
                   description="Consent for one purpose in one department.")
catalogue.register(of(Participant, "ConsentWithdrawn"), "ConsentWithdrawn", ConsentV1, payload=_with_department,
                   description="Consent withdrawn; takes effect immediately.")
catalogue.register(of(Participant, "ProfileUpdated"), "ProfileUpdated", ProfileUpdatedV1,
                   description="Experience (encrypted), shared tags, languages, accessibility, excluded units.")
catalogue.register(of(Participant, "ConfidentialityUndertakingSigned"), "ConfidentialityUndertakingSigned",
                   ConfidentialityUndertakingSignedV1, description="Signed the confidentiality undertaking.")
catalogue.register(of(Participant, "IntroductionTrainingCompleted"), "IntroductionTrainingCompleted",
                   IntroductionTrainingCompletedV1, description="Completed the introduction training.")
catalogue.register(of(Participant, "AvailabilityChanged"), "AvailabilityChanged", AvailabilityChangedV1,
                   description="Date windows (inclusive) when the person can take part.")
catalogue.register(of(Participant, "ContactStatusChanged"), "ContactStatusChanged", ContactStatusChangedV1,
                   payload=_contact_status,
                   description="available, cooldown (until), paused, do_not_contact (reason), opted_out.")
catalogue.register(of(Participant, "ParticipationLimitOverridden"), "ParticipationLimitOverridden",
                   ParticipationLimitOverriddenV1, payload=_limit_override,
                   description="A coordinator allowed extra engagements.")
catalogue.register(of(Participant, "PanelMembershipRecorded"), "PanelMembershipRecorded", PanelMembershipRecordedV1,
                   description="Seated on a recruitment panel (learnt from matching.events); kept under records law.")
catalogue.register(of(Participant, "HonorariumAccrued"), "HonorariumAccrued", HonorariumAccruedV1,
                   description="An honorarium earned for one activity (idempotent on activity_ref).")
catalogue.register(of(Participant, "ExpenseRecorded"), "ExpenseRecorded", ExpenseRecordedV1,
                   description="A reimbursed expense; never income.")
catalogue.register(of(Participant, "PaymentTermsAcknowledged"), "PaymentTermsAcknowledged", PaymentTermsAcknowledgedV1,
                   description="The person was told what accepting payment means, and accepted.")
catalogue.register(of(Participant, "PaymentDeclined"), "PaymentDeclined", PaymentDeclinedV1,
                   description="The person declines payment.")
catalogue.register(of(Participant, "HonorariumApproved"), "HonorariumApproved", HonorariumApprovedV1,
                   description="A coordinator approved accruals for payroll.")
catalogue.register(of(Participant, "HonorariumPaid"), "HonorariumPaid", HonorariumPaidV1, payload=_paid_v1,
                   when=lambda e: e.payee_ref is None,
                   description="Payroll confirmed a payment (idempotent on payroll_ref). Payments recorded "
                   "before v2 stay v1.")
catalogue.register(of(Participant, "HonorariumPaid"), "HonorariumPaid", HonorariumPaidV2, version=2,
                   description="Payroll confirmed a payment (idempotent on payroll_ref), with the payee reference.")
# Restrictions and holds without the v2 field (recorded before, or none given) keep the exact v1 bytes.
catalogue.register(of(Participant, "ProcessingRestrictionChanged"), "ProcessingRestrictionChanged",
                   ProcessingRestrictionChangedV1, payload=lambda e: {"restricted": e.restricted},
                   when=lambda e: e.reason is None,
                   description="GDPR Art. 18 restriction set or lifted. Without a recorded reason: v1.")
catalogue.register(of(Participant, "ProcessingRestrictionChanged"), "ProcessingRestrictionChanged",
                   ProcessingRestrictionChangedV2, version=2,
                   description="GDPR Art. 18 restriction set or lifted, with its reason (encrypted).")
catalogue.register(of(Participant, "LegalHoldPlaced"), "LegalHoldPlaced", LegalHoldPlacedV1,
                   payload=lambda e: {"hold_id": e.hold_id, "reason": e.reason}, when=lambda e: e.ground is None,
                   description="A legal hold that blocks erasure, with its ground. Without a recorded ground: v1.")
catalogue.register(of(Participant, "LegalHoldPlaced"), "LegalHoldPlaced", LegalHoldPlacedV2, version=2,
                   description="A legal hold that blocks erasure: its ground (vocabulary) and reason.")
catalogue.register(of(Participant, "LegalHoldReleased"), "LegalHoldReleased", LegalHoldReleasedV1,
                   description="A legal hold was released.")
catalogue.register(of(Participant, "Forgotten"), "ParticipantForgotten", ParticipantForgottenV1,
                   description="The person's key was destroyed; what was erased and kept, with the legal basis.")
catalogue.register(of(DataAccess, "Recorded"), "PersonalDataAccessed", PersonalDataAccessedV1,
                   description="Someone read a person's personal data, with the purpose.")
