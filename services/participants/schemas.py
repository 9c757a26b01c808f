"""HTTP bodies of the participants API (marshmallow). Unknown fields are refused."""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate, validates

from services.participants.domain import CONTACT_STATUSES, LEGAL_HOLD_GROUNDS, PURPOSES
from shared.pagination import PageQuery, decode_cursor, page_schema

LANGUAGE = validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", error="use a language code such as 'sv' or 'ar'")
MAX_BUDGET_ORE_PER_MONTH = 100_000_000_000
PERIOD = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="use YYYY-MM")
DEPARTMENT_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="lower-case letters, digits and '-'")


class RegisterParticipantIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(
        load_default=None, allow_none=True,
        validate=validate.Regexp(r"^\+?[0-9 ()-]{5,20}$", error="not a phone number"),
    )
    preferred_language = fields.String(load_default="sv", validate=LANGUAGE)
    departments = fields.List(
        fields.String(validate=DEPARTMENT_CODE), required=True, validate=validate.Length(min=1, max=20)
    )
    department = fields.String(load_default=None, allow_none=True, validate=DEPARTMENT_CODE,
                               metadata={"description": "the registering department (defaults to the first)"})


class CreatedOut(Schema):
    id = fields.String(required=True)
    version = fields.Integer()


class ParticipantOut(Schema):
    id = fields.String(required=True)
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    preferred_language = fields.String()
    departments = fields.List(fields.String())
    version = fields.Integer()


class ReadQuery(Schema):
    purpose = fields.String(load_default="coordination", validate=validate.Length(min=3, max=200))


class DepartmentIn(Schema):
    code = fields.String(required=True, validate=DEPARTMENT_CODE)
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))


class DepartmentOut(Schema):
    code = fields.String()
    name = fields.String()
    active = fields.Boolean()


# -- participant commands ---------------------------------------------------------------
PURPOSE = validate.OneOf(PURPOSES)
UNIT_CODE = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="lower-case letters, digits and '-'")
AREA_CODE = validate.Regexp(r"^[a-z][a-z0-9_-]{1,62}$", error="lower-case letters, digits, '_' and '-'")


class VersionOut(Schema):
    id = fields.String(required=True)
    version = fields.Integer(strict=True, required=True)


class ParticipantDetailOut(ParticipantOut):
    consents = fields.List(fields.String())
    experience = fields.List(fields.String())
    shared_tags = fields.List(fields.String())
    languages = fields.List(fields.String())
    accessibility = fields.String(allow_none=True)
    excluded_units = fields.List(fields.String())
    ready = fields.Boolean()
    availability = fields.List(fields.Dict())
    contact_status = fields.String()
    contact_until = fields.String(allow_none=True)
    restricted = fields.Boolean()
    restriction_reason = fields.String(allow_none=True, metadata={"description": "why processing is restricted"})
    legal_holds = fields.List(fields.Dict(), metadata={"description": "hold_id, reason and ground of each legal hold"})
    limit_overrides = fields.List(fields.Dict(), metadata={
        "description": "extra engagements per department, valid_until and reason"})
    contact_log = fields.List(fields.Dict(), metadata={
        "description": "each change of contact status: at, status, until, by_role, department, reason"})


class ListQuery(PageQuery):
    """A department's bank, a page at a time, with the coordinators' filters."""

    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    ready = fields.Boolean(load_default=None, metadata={"description": "signed and trained (or not)"})
    contact_status = fields.String(load_default=None, validate=validate.OneOf(CONTACT_STATUSES),
                                   metadata={"description": "the recorded contact status"})
    consent = fields.String(load_default=None, validate=PURPOSE,
                            metadata={"description": "has consented to this purpose in the department"})
    language = fields.String(load_default=None, validate=LANGUAGE)
    shared_tag = fields.String(load_default=None, validate=AREA_CODE,
                               metadata={"description": "an experience area shared for matching"})
    q = fields.String(load_default=None, validate=validate.Length(max=100),
                      metadata={"description": "free text over the pseudonymous fields: id, shared tags, languages"})

    @validates("cursor")
    def _cursor_is_an_id(self, value: str | None, **_: Any) -> None:
        """This list's key is the participant id alone."""
        key = decode_cursor(value, arity=1)
        if key is not None and not isinstance(key[0], str):
            raise ValidationError("not a cursor this service issued", field_name="cursor")


class ParticipantSummaryOut(Schema):
    id = fields.String()
    consents = fields.List(fields.String())
    shared_tags = fields.List(fields.String())
    languages = fields.List(fields.String())
    contact_status = fields.String()
    contact_until = fields.String(allow_none=True)
    ready = fields.Boolean()
    restricted = fields.Boolean()
    last_engaged = fields.String(allow_none=True, metadata={
        "description": "the day of the person's latest panel seat or paid activity (any department)"})
    honoraria_this_year = fields.Integer(metadata={
        "description": "honoraria accrued this calendar year in this department, in öre"})


ParticipantPageOut = page_schema(ParticipantSummaryOut, "ParticipantPageOut")


class ContactDetailsIn(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ()-]{5,20}$",
                                                                      error="not a phone number"))
    expected_version = fields.Integer(strict=True, load_default=None, allow_none=True)


class ConsentIn(Schema):
    purpose = fields.String(required=True, validate=PURPOSE)
    department = fields.String(required=True, validate=DEPARTMENT_CODE)


class ProfileIn(Schema):
    experience_areas = fields.List(fields.String(validate=AREA_CODE), required=True,
                                   validate=validate.Length(max=30))
    shared_tags = fields.List(fields.String(validate=AREA_CODE), load_default=list)
    languages = fields.List(fields.String(validate=LANGUAGE), load_default=list, validate=validate.Length(max=20))
    accessibility = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    excluded_units = fields.List(fields.String(validate=UNIT_CODE), load_default=list,
                                 validate=validate.Length(max=50))
    expected_version = fields.Integer(strict=True, load_default=None, allow_none=True)


class ConfidentialityIn(Schema):
    signed_on = fields.Date(required=True)
    text_version = fields.String(required=True, validate=validate.Length(min=1, max=40))


class TrainingIn(Schema):
    completed_on = fields.Date(required=True)


class WindowIn(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)


class AvailabilityIn(Schema):
    windows = fields.List(fields.Nested(WindowIn), required=True, validate=validate.Length(max=100))
    expected_version = fields.Integer(strict=True, load_default=None, allow_none=True)


class ContactStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(CONTACT_STATUSES))
    until = fields.Date(load_default=None, allow_none=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=3, max=1000))


class LimitOverrideIn(Schema):
    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    extra_engagements = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=20))
    valid_until = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=1000))


class EligibilityQuery(Schema):
    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    on = fields.Date(load_default=None)


class EligibilityOut(Schema):
    participant_id = fields.String()
    department = fields.String()
    on = fields.String()
    assignable = fields.Boolean()
    reasons = fields.List(fields.String())
    contact_status = fields.String()
    engagements = fields.Integer()
    allowed_engagements = fields.Integer()


# -- honoraria -----------------------------------------------------------------------
class ExpenseIn(Schema):
    expense_ref = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(("travel", "meal", "childcare", "other")))
    amount_ore = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10_000_000))
    incurred_on = fields.Date(required=True)


class PaymentTermsOut(Schema):
    text_version = fields.String()
    text = fields.String()
    acknowledged_version = fields.String(allow_none=True)
    declined = fields.Boolean()


class PaymentTermsAnswerIn(Schema):
    text_version = fields.String(required=True)
    accept = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class ApprovalIn(Schema):
    accrual_refs = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=500))


class PaymentIn(Schema):
    payroll_ref = fields.String(required=True, validate=validate.Length(min=1, max=100))
    participant_id = fields.UUID(required=True)
    period = fields.String(required=True, validate=PERIOD)
    accrual_refs = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=500))


class PaymentOut(Schema):
    payroll_ref = fields.String()
    amount_ore = fields.Integer()
    period = fields.String()
    accrual_refs = fields.List(fields.String())
    paid_on = fields.String()
    replayed = fields.Boolean()


class YearQuery(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class ExportQuery(Schema):
    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    period = fields.String(required=True, validate=PERIOD)


class HonorariaQuery(PageQuery):
    """A department's honoraria of one month, a page of people at a time in id order."""

    department = fields.String(required=True, validate=DEPARTMENT_CODE)
    period = fields.String(required=True, validate=PERIOD, metadata={"description": "the month accrued, YYYY-MM"})


class AccrualOut(Schema):
    activity_ref = fields.String(required=True)
    activity_type = fields.String(required=True)
    amount_ore = fields.Integer(required=True)
    accrued_on = fields.String(required=True)
    approved = fields.Boolean(required=True)
    payroll_ref = fields.String(required=True, allow_none=True)


class HonorariaTotalsOut(Schema):
    accrued_ore = fields.Integer(required=True)
    approved_ore = fields.Integer(required=True, metadata={"description": "approved, not yet paid"})
    paid_ore = fields.Integer(required=True)


class PersonHonorariaOut(Schema):
    participant_id = fields.String(required=True)
    payment_declined = fields.Boolean(required=True)
    accruals = fields.List(fields.Nested(AccrualOut), required=True,
                           metadata={"description": "this department's accruals of the period"})
    period_totals = fields.Nested(HonorariaTotalsOut, required=True)
    year_totals = fields.Nested(HonorariaTotalsOut, required=True,
                                metadata={"description": "this department's accruals of the period's year"})
    flags = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True,
                        metadata={"description": "the year's tax thresholds, counting every payment"})


HonorariaPageOut = page_schema(PersonHonorariaOut, "HonorariaPageOut")


class RatesIn(Schema):
    hour_ore = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10_000_000))
    half_day_ore = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10_000_000))
    full_day_ore = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10_000_000))
    valid_from = fields.Date(required=True)


class LimitIn(Schema):
    max_engagements = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=100))
    period_days = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=3660))


class RetentionIn(Schema):
    inactive_profile_months = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=240))


class DepartmentSettingsIn(Schema):
    participation_limit = fields.Nested(LimitIn, required=True)
    rates = fields.Nested(RatesIn, required=True)
    retention = fields.Nested(RetentionIn, required=True)
    # A maximum keeps every sum the projections store inside a 64-bit integer (1e9 kr a month).
    budget_ore_per_month = fields.Integer(strict=True, required=True,
                                          validate=validate.Range(min=0, max=MAX_BUDGET_ORE_PER_MONTH))


class VocabularyIn(Schema):
    areas = fields.List(fields.String(validate=AREA_CODE), required=True, validate=validate.Length(min=1, max=100))


# -- data rights ---------------------------------------------------------------------
class RestrictionIn(Schema):
    restricted = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "why processing is restricted (kept encrypted; "
                                                    "recorded when restricting only)"})


class LegalHoldIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=5, max=500),
                           metadata={"description": "what the hold is about (a legal ground, no personal data)"})
    ground = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(LEGAL_HOLD_GROUNDS),
                           metadata={"description": "the legal ground: " + ", ".join(LEGAL_HOLD_GROUNDS)})


class ErasureIn(Schema):
    legal_basis = fields.String(load_default="GDPR Art. 17(1)(b): consent withdrawn, erasure requested",
                                validate=validate.Length(min=5, max=300))


class RetentionRunIn(Schema):
    on = fields.Date(load_default=None)


# -- documented answers (served as built; these schemas document them, they do not filter) ---
class Document(Schema):
    class Meta:
        unknown = INCLUDE


class LegalHoldOut(Document):
    id = fields.String(required=True)
    hold_id = fields.String(required=True)


class ErasureOut(Document):
    participant_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("erased", "already_erased")))
    erased = fields.List(fields.String())
    kept = fields.List(fields.String())


class HonorariaOut(Document):
    participant_id = fields.String(required=True)
    year = fields.Integer(required=True)
    payee_ref = fields.String(required=True)
    accruals = fields.List(fields.Dict(), required=True)
    payments = fields.List(fields.Dict(), required=True)
    expenses = fields.List(fields.Dict(), required=True)
    payment_declined = fields.Boolean(required=True)
    totals = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    flags = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)


class DataExportOut(Document):
    subject = fields.Dict(required=True)
    readiness = fields.Dict(required=True)
    contact_status = fields.Dict(required=True)
    limit_overrides = fields.List(fields.Dict(), required=True)
    honoraria = fields.Dict(required=True)
    purposes = fields.List(fields.Dict(), required=True)
    recipients = fields.List(fields.String(), required=True)
    retention = fields.Dict(required=True)
    legal_holds = fields.List(fields.String(), required=True)
    read_log = fields.List(fields.Dict(), required=True)


class DepartmentSettingsOut(Document):
    code = fields.String(required=True)
    participation_limit = fields.Dict(required=True)
    rates = fields.Dict(required=True)
    retention = fields.Dict(required=True)
    budget_ore_per_month = fields.Integer(allow_none=True)
    rate_history = fields.List(fields.Dict(), required=True)


class VocabularyOut(Document):
    areas = fields.List(fields.String(), required=True)
