"""The brukarbank's domain: participants, departments and the experience vocabulary. No I/O here.

Every event carries ``actor`` ({id, role}, pseudonymous) and ``department`` (or None).
Personal fields arrive already encrypted (vault tokens); the domain never sees plaintext.
Dates travel as ISO ``YYYY-MM-DD`` strings and money as integer öre.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.contract import cooldown_active
from shared.errors import ConcurrentModification, Conflict, Forbidden, InvalidInput

DEPARTMENT_NAMESPACE = UUID("0e9b7f55-6a43-4a0e-8f3e-1f6f0c4b5d21")
VOCABULARY_ID = uuid5(DEPARTMENT_NAMESPACE, "vocabulary:experience-areas")

Actor = dict[str, str]

# The yearly tax thresholds of honoraria (one payer: the municipality, so every payment counts).
EMPLOYER_CONTRIBUTIONS_FROM_ORE = 100_000
WITHHOLDING_FROM_ORE = 10_000


def tax_flags(paid_in_year_ore: int) -> dict[str, bool]:
    """The tax-threshold flags of a person paid ``paid_in_year_ore`` by the municipality this year."""
    return {"employer_contributions_due": paid_in_year_ore >= EMPLOYER_CONTRIBUTIONS_FROM_ORE,
            "no_withholding": paid_in_year_ore < WITHHOLDING_FROM_ORE}


# -- named refusals: kinds from shared/errors.py, mapped to HTTP only at the edge (shared/web.py) --
class ParticipantErased(Conflict):
    """The participant has been erased: nothing about them changes any more."""


class ProcessingRestricted(Conflict):
    """Processing of the participant's data is restricted (GDPR art. 18)."""


class MatchingConsentMissing(Conflict):
    """Tags are shared for matching only with matching consent."""


class NotInVocabulary(InvalidInput):
    """An experience area the administrators' vocabulary does not hold."""


class PaymentDeclined(Conflict):
    """The participant declined payment (an error; ``Participant.PaymentDeclined`` is the event)."""


class PaymentTermsNotAcknowledged(Conflict):
    """The participant has not yet been told what accepting payment means."""


class NoSuchAccrual(InvalidInput):
    """An accrual reference the participant does not have."""


class AccrualAlreadyApproved(Conflict):
    """The accrual is approved already."""


class AccrualNotApproved(Conflict):
    """Only approved accruals are paid."""


class AccrualAlreadyPaid(Conflict):
    """The accrual is paid already (under another payroll reference)."""


class PaymentAmountWrong(InvalidInput):
    """A payment's amount is not the sum of the accruals it pays."""


class CooldownNotInFuture(InvalidInput):
    """A cooldown must end after the day it is set."""


class OverrideInPast(InvalidInput):
    """A participation-limit override that would already have ended on the day it is granted."""


class UnknownHoldGround(InvalidInput):
    """A legal hold whose ground is not one of ``LEGAL_HOLD_GROUNDS``."""


# Why personal data may be kept despite an erasure request (GDPR Art. 17(3)), as a legal hold records it.
LEGAL_HOLD_GROUNDS = ("records_law", "legal_claim", "supervisory_authority", "other")


# How many events of a participant between two snapshots: a long-lived person loads from the
# latest snapshot and at most this many events after it.
SNAPSHOT_EVERY = 50

PURPOSES = ("recruitment", "matching", "research", "contact")
CONTACT_STATUSES = ("available", "cooldown", "paused", "do_not_contact", "opted_out")

# The nine areas the issue starts the administrator-managed vocabulary with.
DEFAULT_EXPERIENCE_AREAS = (
    "economic_assistance",
    "substance_use_and_addiction",
    "homelessness",
    "mental_ill_health",
    "children_and_youth_placements",
    "violence_in_close_relationships",
    "disability_support",
    "unemployment_and_establishment",
    "school_and_leisure",
)

# Rates from DOMAIN.md (a 2024 regional example); departments change them with settings events.
DEFAULT_SETTINGS: dict[str, Any] = {
    "participation_limit": {"max_engagements": 4, "period_days": 365},
    "rates": {"hour_ore": 28600, "half_day_ore": 103100, "full_day_ore": 206300, "valid_from": "2024-01-01"},
    "retention": {"inactive_profile_months": 24},
    "budget_ore_per_month": 5000000,
}


def retention_cutoff(on: date, months: int) -> str:
    """The first day a profile must have been active on to be kept ``on``, under a retention
    period of ``months`` (a month counted as 30.44 days)."""
    return (on - timedelta(days=round(months * 30.44))).isoformat()


def department_id(code: str) -> UUID:
    """Departments have ids derived from their code, so onboarding twice is detectable."""
    return uuid5(DEPARTMENT_NAMESPACE, code)


class Department(Aggregate):
    """An administration that uses Delaktig (socialförvaltningen, ...)."""

    @property
    def retention_months(self) -> int:
        """How long an inactive profile is kept in this department's bank."""
        return int(self.settings["retention"]["inactive_profile_months"])

    @event("Onboarded")
    def __init__(self, id: UUID, code: str, name: str, actor: Actor, department: str | None) -> None:
        self._id = id
        self.code = code
        self.name = name
        self.active = True
        self.settings: dict[str, Any] = dict(DEFAULT_SETTINGS)
        self.rate_history: list[dict[str, Any]] = [dict(DEFAULT_SETTINGS["rates"])]

    @event("SettingsChanged")
    def change_settings(
        self,
        code: str,
        participation_limit: dict[str, int],
        rates: dict[str, Any],
        retention: dict[str, int],
        budget_ore_per_month: int,
        actor: Actor,
        department: str | None,
    ) -> None:
        self.settings = {
            "participation_limit": dict(participation_limit),
            "rates": dict(rates),
            "retention": dict(retention),
            "budget_ore_per_month": budget_ore_per_month,
        }
        # History is kept: a rate change never rewrites what was accrued before valid_from.
        history = [r for r in self.rate_history if r["valid_from"] != rates["valid_from"]]
        self.rate_history = sorted([*history, dict(rates)], key=lambda r: str(r["valid_from"]))

    def rates_on(self, day: str) -> dict[str, Any]:
        """The rate table in force on ``day``."""
        current = self.rate_history[0]
        for rates in self.rate_history:
            if str(rates["valid_from"]) <= day:
                current = rates
        return current


class ExperienceVocabulary(Aggregate):
    """The areas of lived experience participants can declare; administrators manage it."""

    @event("Defined")
    def __init__(self, id: UUID, areas: list[str], actor: Actor, department: str | None) -> None:
        self._id = id
        self.areas = list(areas)

    @event("Changed")
    def change(self, areas: list[str], actor: Actor, department: str | None) -> None:
        self.areas = list(areas)


class Participant(Aggregate):
    """A service user in the brukarbank."""

    @event("Registered")
    def __init__(
        self,
        id: UUID,
        personal: str,
        preferred_language: str,
        departments: list[str],
        actor: Actor,
        department: str | None,
    ) -> None:
        self._id = id
        self.personal = personal
        self.preferred_language = preferred_language
        self.departments = list(departments)
        self.forgotten = False
        self.consents: list[str] = []  # "purpose:department"
        self.profile: dict[str, Any] = {"experience": None, "shared_tags": [], "languages": [],
                                        "accessibility": None, "excluded_units": []}
        self.confidentiality: dict[str, str] | None = None
        self.training_completed_on: str | None = None
        self.windows: list[dict[str, str]] = []
        self.contact: dict[str, Any] = {"status": "available", "until": None, "reason": None}
        self.limit_overrides: list[dict[str, Any]] = []
        self.panels: dict[str, dict[str, Any]] = {}
        self.accruals: dict[str, dict[str, Any]] = {}
        self.expenses: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.terms_acknowledged: str | None = None
        self.payment_declined = False
        self.restricted = False
        self.legal_holds: dict[str, str] = {}
        self.restriction_reason: str | None = None  # a vault token
        self.hold_grounds: dict[str, str | None] = {}

    # -- invariants -------------------------------------------------------------
    def check_not_forgotten(self) -> None:
        if self.forgotten:
            raise ParticipantErased("this participant has been erased")

    def check_version(self, expected: int | None) -> None:
        """Optimistic concurrency: a command based on an old version is refused."""
        if expected is not None and expected != self.version:
            raise ConcurrentModification(
                f"this record is at version {self.version}, not {expected}; reload and try again",
                field="expected_version",
            )

    def inactive_before(self, cutoff: str) -> bool:
        """Whether the person's latest event (registration, consent, any activity) was before the
        day ``cutoff`` (the retention rules' measure of an inactive profile)."""
        return self.modified_on.date().isoformat() < cutoff

    def check_not_restricted(self) -> None:
        if self.restricted:
            raise ProcessingRestricted("processing of this participant's data is restricted", field="restricted")

    def visible_departments(self) -> set[str]:
        """Departments whose coordinators may see this person: where they were registered (they
        agreed to be held in that department's bank) and where they gave any consent, until they
        withdraw their last consent there."""
        return set(self.departments) | {c.split(":", 1)[1] for c in self.consents}

    def has_consent(self, purpose: str, department: str) -> bool:
        return f"{purpose}:{department}" in self.consents

    @property
    def ready(self) -> bool:
        """Signed the confidentiality undertaking and completed the introduction training."""
        return self.confidentiality is not None and self.training_completed_on is not None

    def effective_status(self, on: str) -> str:
        """A cooldown that has ended counts as available (``until`` is its last day: the contract)."""
        status = str(self.contact["status"])
        if status == "cooldown" and not cooldown_active(self.contact["until"], on):
            return "available"
        return status

    def eligibility(self, department: str, on: str, limit: dict[str, Any]) -> dict[str, Any]:
        """Can this person be assigned to a panel in ``department`` on ``on`` (under the
        department's ``participation_limit``)? With the reasons why not."""
        reasons = [f"no_{purpose}_consent" for purpose in ("recruitment", "matching")
                   if not self.has_consent(purpose, department)]
        if self.confidentiality is None:
            reasons.append("confidentiality_undertaking_missing")
        if self.training_completed_on is None:
            reasons.append("introduction_training_missing")
        status = self.effective_status(on)
        if status != "available":
            reasons.append(f"contact_status_{status}")
        if self.restricted:
            reasons.append("processing_restricted")
        used = self.engagements(on, int(limit["period_days"]))
        allowed = int(limit["max_engagements"]) + self.extra_engagements(department, on)
        if used >= allowed:
            reasons.append("participation_limit_reached")
        return {"assignable": not reasons, "reasons": reasons, "contact_status": status, "engagements": used,
                "allowed_engagements": allowed}

    def engagements(self, on: str, period_days: int) -> int:
        """Distinct recruitments taken part in during the rolling period ending ``on``."""
        start = (date.fromisoformat(on) - timedelta(days=period_days)).isoformat()
        worked = {a["recruitment_id"] for a in self.accruals.values() if start < a["accrued_on"] <= on}
        seated = {p["recruitment_id"] for p in self.panels.values() if start < p["assigned_on"] <= on}
        return len(worked | seated)

    def extra_engagements(self, department: str, on: str) -> int:
        return sum(int(o["extra_engagements"]) for o in self.limit_overrides
                   if o["department"] == department and o["valid_until"] >= on)

    # -- contact details, consent, profile -------------------------------------
    @event("ContactDetailsUpdated")
    def update_contact_details(self, personal: str, actor: Actor, department: str | None) -> None:
        self.personal = personal

    @event("ConsentGiven")
    def give_consent(self, purpose: str, actor: Actor, department: str | None) -> None:
        key = f"{purpose}:{department}"
        if key not in self.consents:
            self.consents.append(key)

    @event("ConsentWithdrawn")
    def withdraw_consent(self, purpose: str, actor: Actor, department: str | None) -> None:
        key = f"{purpose}:{department}"
        self.consents = [c for c in self.consents if c != key]
        if not any(c.endswith(f":{department}") for c in self.consents):
            # The last consent for a department withdrawn: its coordinators no longer see the person.
            self.departments = [d for d in self.departments if d != department]
        if purpose == "matching" and not any(c.startswith("matching:") for c in self.consents):
            self.profile = {**self.profile, "shared_tags": []}

    @staticmethod
    def declared_profile(profile: dict[str, Any], vocabulary: set[str]) -> dict[str, Any]:
        """A profile as the person declares it (in clear, before the vault encrypts the areas for
        the event), each list without repeats and in order: the areas come from the vocabulary,
        and only declared areas are shared."""
        areas = sorted(set(profile["experience_areas"]))
        shared = sorted(set(profile["shared_tags"]))
        for area in areas:
            if area not in vocabulary:
                raise NotInVocabulary(f"{area!r} is not in the experience vocabulary", field="experience_areas")
        if not set(shared) <= set(areas):
            raise InvalidInput("shared tags must be among the declared areas", field="shared_tags")
        return {"experience_areas": areas, "shared_tags": shared, "languages": sorted(set(profile["languages"])),
                "accessibility": profile.get("accessibility") or None,
                "excluded_units": sorted(set(profile["excluded_units"]))}

    @event("ProfileUpdated")
    def update_profile(
        self,
        experience: str,
        shared_tags: list[str],
        languages: list[str],
        accessibility: str | None,
        excluded_units: list[str],
        actor: Actor,
        department: str | None,
    ) -> None:
        self.check_not_restricted()
        if shared_tags and not any(c.startswith("matching:") for c in self.consents):
            raise MatchingConsentMissing("sharing tags for matching needs matching consent", field="shared_tags")
        self.profile = {"experience": experience, "shared_tags": list(shared_tags), "languages": list(languages),
                        "accessibility": accessibility, "excluded_units": list(excluded_units)}

    # -- readiness, availability, contact status, limits -----------------------
    @event("ConfidentialityUndertakingSigned")
    def sign_confidentiality(self, signed_on: str, text_version: str, actor: Actor, department: str | None) -> None:
        self.confidentiality = {"signed_on": signed_on, "text_version": text_version}

    @event("IntroductionTrainingCompleted")
    def complete_training(self, completed_on: str, actor: Actor, department: str | None) -> None:
        self.training_completed_on = completed_on

    @event("AvailabilityChanged")
    def change_availability(self, windows: list[dict[str, str]], actor: Actor, department: str | None) -> None:
        self.windows = [dict(w) for w in windows]

    def check_contact_status(self, status: str, by_role: str, until: str | None, has_reason: bool,
                             today: str | None) -> None:
        """Who may set which status, with what. ``today``: the day the change was asked for (a
        cooldown ends after it); ``None`` for changes stored before that day was recorded."""
        if status not in CONTACT_STATUSES:
            raise InvalidInput(f"unknown status {status!r}", field="status")
        if status in ("do_not_contact", "cooldown") and by_role != "coordinator":
            raise Forbidden(f"only a coordinator may set {status}", field="status")
        if status == "do_not_contact" and not has_reason:
            raise InvalidInput("do_not_contact needs a reason", field="reason")
        if status == "cooldown" and (until is None or (today is not None and until <= today)):
            raise CooldownNotInFuture("a cooldown needs an end date in the future", field="until")
        if by_role == "participant" and self.contact["status"] == "do_not_contact":
            raise Forbidden("a coordinator set do-not-contact; ask them to lift it", field="status")

    class ContactStatusChanged(Aggregate.Event):
        """The contact status changed. Version 2 records ``requested_on``, the day the change was
        asked for, so the rule that depends on the date is checked again on replay with the same
        day; version 1 events are upcast with ``requested_on=None`` (not recorded then). The
        public event (``ContactStatusChanged`` v1) does not carry it."""

        status: str
        until: str | None
        reason: str | None
        requested_on: str | None
        actor: Actor
        department: str | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["requested_on"] = None

    @event(ContactStatusChanged)
    def change_contact_status(self, status: str, until: str | None, reason: str | None, requested_on: str | None,
                              actor: Actor, department: str | None) -> None:
        """``until`` is kept for a cooldown only (its last day, inclusive: the contract)."""
        self.check_contact_status(status, actor["role"], until, reason is not None, requested_on)
        self.contact = {"status": status, "until": until if status == "cooldown" else None, "reason": reason}

    def check_override(self, valid_until: str, today: str | None) -> None:
        """An override ends on ``valid_until`` (inclusive), which may not be before the day it was
        granted. ``today``: that day; ``None`` for overrides stored before it was recorded."""
        if today is not None and valid_until < today:
            raise OverrideInPast("valid_until is in the past", field="valid_until")

    class ParticipationLimitOverridden(Aggregate.Event):
        """A coordinator allowed extra engagements. Version 2 records ``requested_on``, the day it
        was granted, so the date rule is checked again on replay with the same day; version 1
        events are upcast with ``requested_on=None``. The public event (v1) does not carry it."""

        extra_engagements: int
        valid_until: str
        reason: str
        requested_on: str | None
        actor: Actor
        department: str | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["requested_on"] = None

    @event(ParticipationLimitOverridden)
    def override_limit(self, extra_engagements: int, valid_until: str, reason: str, requested_on: str | None,
                       actor: Actor, department: str | None) -> None:
        self.check_override(valid_until, requested_on)
        self.limit_overrides.append({"department": department, "extra_engagements": extra_engagements,
                                     "valid_until": valid_until, "reason": reason})

    @event("PanelMembershipRecorded")
    def record_panel_membership(self, recruitment_id: str, panel_id: str, assigned_on: str, actor: Actor,
                                department: str | None) -> None:
        self.panels[recruitment_id] = {"recruitment_id": recruitment_id, "panel_id": panel_id,
                                       "assigned_on": assigned_on, "department": department}

    # -- honoraria ---------------------------------------------------------------
    @event("HonorariumAccrued")
    def accrue_honorarium(self, activity_ref: str, activity_type: str, recruitment_id: str, hours: int,
                          amount_ore: int, rate_basis: str, accrued_on: str, actor: Actor,
                          department: str | None) -> None:
        self.accruals[activity_ref] = {
            "activity_ref": activity_ref, "activity_type": activity_type, "recruitment_id": recruitment_id,
            "hours": hours, "amount_ore": amount_ore, "rate_basis": rate_basis, "accrued_on": accrued_on,
            "department": department, "approved": False, "payroll_ref": None,
        }

    @event("ExpenseRecorded")
    def record_expense(self, expense_ref: str, kind: str, amount_ore: int, incurred_on: str, actor: Actor,
                       department: str | None) -> None:
        self.expenses[expense_ref] = {"expense_ref": expense_ref, "kind": kind, "amount_ore": amount_ore,
                                      "incurred_on": incurred_on, "department": department}

    @event("PaymentTermsAcknowledged")
    def acknowledge_payment_terms(self, text_version: str, actor: Actor, department: str | None) -> None:
        self.terms_acknowledged = text_version
        self.payment_declined = False

    @event("PaymentDeclined")
    def decline_payment(self, reason: str | None, actor: Actor, department: str | None) -> None:
        self.payment_declined = True

    # Commands check their invariants first, in the body of the event: a refused command records
    # nothing, and on replay the checks pass again (they read only the state before the event).
    def check_may_be_paid(self) -> None:
        if self.payment_declined:
            raise PaymentDeclined("the participant declined payment", field="accrual_refs")
        if self.terms_acknowledged is None:
            raise PaymentTermsNotAcknowledged("the participant has not yet been told what accepting payment means",
                                              field="accrual_refs")

    def accrual(self, ref: str) -> dict[str, Any]:
        """One accrual, or ``NoSuchAccrual``."""
        found = self.accruals.get(ref)
        if found is None:
            raise NoSuchAccrual(f"no accrual {ref!r}", field="accrual_refs")
        return found

    def check_approvable(self, refs: list[str]) -> None:
        self.check_may_be_paid()
        for ref in refs:
            if self.accrual(ref)["approved"]:
                raise AccrualAlreadyApproved(f"accrual {ref!r} is already approved", field="accrual_refs")

    @event("HonorariumApproved")
    def approve_honoraria(self, accrual_refs: list[str], approved_by: str, actor: Actor,
                          department: str | None) -> None:
        self.check_approvable(accrual_refs)
        for ref in accrual_refs:
            self.accruals[ref] = {**self.accruals[ref], "approved": True}

    def payable_amount(self, refs: list[str]) -> int:
        """What paying these accruals amounts to (unknown ones count nothing; paying refuses them)."""
        return sum(int(self.accruals[ref]["amount_ore"]) for ref in refs if ref in self.accruals)

    def check_payable(self, refs: list[str], amount_ore: int) -> None:
        self.check_not_forgotten()
        for ref in refs:
            accrual = self.accrual(ref)
            if not accrual["approved"]:
                raise AccrualNotApproved(f"accrual {ref!r} is not approved", field="accrual_refs")
            if accrual["payroll_ref"] is not None:
                raise AccrualAlreadyPaid(f"accrual {ref!r} is already paid", field="accrual_refs")
        if amount_ore != self.payable_amount(refs):
            raise PaymentAmountWrong(f"the accruals amount to {self.payable_amount(refs)} öre, not {amount_ore}",
                                     field="amount_ore")

    class HonorariumPaid(Aggregate.Event):
        """Payroll confirmed a payment. Version 2 adds ``payee_ref`` (the pseudonymous reference
        payroll files use). Events stored in version 1 are upcast on load with ``payee_ref=None``
        (it was not recorded then); they stay public version 1 (docs/versioning.md)."""

        payroll_ref: str
        amount_ore: int
        period: str
        accrual_refs: list[str]
        paid_on: str
        payee_ref: str | None
        actor: Actor
        department: str | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["payee_ref"] = None

    @event(HonorariumPaid)
    def record_payment(self, payroll_ref: str, amount_ore: int, period: str, accrual_refs: list[str],
                       paid_on: str, payee_ref: str | None, actor: Actor, department: str | None) -> None:
        self.check_payable(accrual_refs, amount_ore)
        self.payments[payroll_ref] = {"payroll_ref": payroll_ref, "amount_ore": amount_ore, "period": period,
                                      "accrual_refs": list(accrual_refs), "paid_on": paid_on}
        for ref in accrual_refs:
            self.accruals[ref] = {**self.accruals[ref], "payroll_ref": payroll_ref}

    # -- data rights -----------------------------------------------------------
    class ProcessingRestrictionChanged(Aggregate.Event):
        """Restriction set or lifted. Version 2 records ``reason``, a vault token (or None when
        none was given); version 1 events are upcast with ``reason=None`` (not recorded then)."""

        restricted: bool
        reason: str | None
        actor: Actor
        department: str | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = None

    @event(ProcessingRestrictionChanged)
    def change_restriction(self, restricted: bool, reason: str | None, actor: Actor, department: str | None) -> None:
        self.restricted = restricted
        self.restriction_reason = reason if restricted else None

    # A snapshot taken before restriction reasons and hold grounds were recorded lacks them.
    def grounds(self) -> dict[str, str | None]:
        """The ground of each legal hold (None: placed before grounds were recorded)."""
        return dict(getattr(self, "hold_grounds", {}))

    def restriction_reason_token(self) -> str | None:
        """The vault token of the reason for the current restriction, if one was given."""
        return getattr(self, "restriction_reason", None)

    def check_hold_ground(self, ground: str | None) -> None:
        if ground is not None and ground not in LEGAL_HOLD_GROUNDS:
            raise UnknownHoldGround(f"ground must be one of {', '.join(LEGAL_HOLD_GROUNDS)}", field="ground")

    class LegalHoldPlaced(Aggregate.Event):
        """A legal hold that blocks erasure. Version 2 records ``ground`` (one of
        ``LEGAL_HOLD_GROUNDS``) beside the free-text reason; version 1 events are upcast with
        ``ground=None`` (not recorded then)."""

        hold_id: str
        reason: str
        ground: str | None
        actor: Actor
        department: str | None
        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["ground"] = None

    @event(LegalHoldPlaced)
    def place_legal_hold(self, hold_id: str, reason: str, ground: str | None, actor: Actor,
                         department: str | None) -> None:
        self.check_hold_ground(ground)
        self.legal_holds[hold_id] = reason
        self.hold_grounds = {**self.grounds(), hold_id: ground}

    @event("LegalHoldReleased")
    def release_legal_hold(self, hold_id: str, actor: Actor, department: str | None) -> None:
        self.legal_holds.pop(hold_id, None)
        self.hold_grounds = {h: g for h, g in self.grounds().items() if h != hold_id}

    @event("Forgotten")
    def forget(self, legal_basis: str, erased: list[str], kept: list[str], actor: Actor,
               department: str | None) -> None:
        self.forgotten = True
        self.personal = ""
        self.profile = {**self.profile, "experience": None, "accessibility": None, "shared_tags": []}
        self.contact = {**self.contact, "reason": None}


class DataAccess(Aggregate):
    """One read of a person's personal data: who, when, why (CJEU C-579/21)."""

    @event("Recorded")
    def __init__(
        self, id: UUID, subject_id: str, purpose: str, categories: list[str], actor: Actor, department: str | None
    ) -> None:
        self._id = id
        self.subject_id = subject_id
        self.purpose = purpose
        self.categories = list(categories)


def as_actor(value: Any) -> Actor:
    return {"id": str(value["id"]), "role": str(value["role"])}
