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


def department_id(code: str) -> UUID:
    """Departments have ids derived from their code, so onboarding twice is detectable."""
    return uuid5(DEPARTMENT_NAMESPACE, code)


class Department(Aggregate):
    """An administration that uses Delaktig (socialförvaltningen, ...)."""

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

    # -- invariants -------------------------------------------------------------
    def check_not_forgotten(self) -> None:
        if self.forgotten:
            raise Conflict("this participant has been erased")

    def check_version(self, expected: int | None) -> None:
        """Optimistic concurrency: a command based on an old version is refused."""
        if expected is not None and expected != self.version:
            raise ConcurrentModification(
                f"this record is at version {self.version}, not {expected}; reload and try again",
                field="expected_version",
            )

    def check_not_restricted(self) -> None:
        if self.restricted:
            raise Conflict("processing of this participant's data is restricted", field="restricted")

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
                             today: str) -> None:
        """Who may set which status, with what."""
        if status not in CONTACT_STATUSES:
            raise InvalidInput(f"unknown status {status!r}", field="status")
        if status in ("do_not_contact", "cooldown") and by_role != "coordinator":
            raise Forbidden(f"only a coordinator may set {status}", field="status")
        if status == "do_not_contact" and not has_reason:
            raise InvalidInput("do_not_contact needs a reason", field="reason")
        if status == "cooldown" and (until is None or until <= today):
            raise InvalidInput("a cooldown needs an end date in the future", field="until")
        if by_role == "participant" and self.contact["status"] == "do_not_contact":
            raise Forbidden("a coordinator set do-not-contact; ask them to lift it", field="status")

    @event("ContactStatusChanged")
    def change_contact_status(self, status: str, until: str | None, reason: str | None, actor: Actor,
                              department: str | None) -> None:
        self.contact = {"status": status, "until": until, "reason": reason}

    @event("ParticipationLimitOverridden")
    def override_limit(self, extra_engagements: int, valid_until: str, reason: str, actor: Actor,
                       department: str | None) -> None:
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

    def check_approvable(self, refs: list[str]) -> None:
        if self.payment_declined:
            raise Conflict("the participant declined payment", field="accrual_refs")
        if self.terms_acknowledged is None:
            raise Conflict("the participant has not yet been told what accepting payment means",
                           field="accrual_refs")
        for ref in refs:
            accrual = self.accruals.get(ref)
            if accrual is None:
                raise InvalidInput(f"no accrual {ref!r}", field="accrual_refs")
            if accrual["approved"]:
                raise Conflict(f"accrual {ref!r} is already approved", field="accrual_refs")

    @event("HonorariumApproved")
    def approve_honoraria(self, accrual_refs: list[str], approved_by: str, actor: Actor,
                          department: str | None) -> None:
        for ref in accrual_refs:
            self.accruals[ref] = {**self.accruals[ref], "approved": True}

    def check_payable(self, refs: list[str]) -> int:
        total = 0
        for ref in refs:
            accrual = self.accruals.get(ref)
            if accrual is None:
                raise InvalidInput(f"no accrual {ref!r}", field="accrual_refs")
            if not accrual["approved"]:
                raise Conflict(f"accrual {ref!r} is not approved", field="accrual_refs")
            if accrual["payroll_ref"] is not None:
                raise Conflict(f"accrual {ref!r} is already paid", field="accrual_refs")
            total += int(accrual["amount_ore"])
        return total

    @event("HonorariumPaid")
    def record_payment(self, payroll_ref: str, amount_ore: int, period: str, accrual_refs: list[str],
                       paid_on: str, actor: Actor, department: str | None) -> None:
        self.payments[payroll_ref] = {"payroll_ref": payroll_ref, "amount_ore": amount_ore, "period": period,
                                      "accrual_refs": list(accrual_refs), "paid_on": paid_on}
        for ref in accrual_refs:
            self.accruals[ref] = {**self.accruals[ref], "payroll_ref": payroll_ref}

    # -- data rights -----------------------------------------------------------
    @event("ProcessingRestrictionChanged")
    def change_restriction(self, restricted: bool, actor: Actor, department: str | None) -> None:
        self.restricted = restricted

    @event("LegalHoldPlaced")
    def place_legal_hold(self, hold_id: str, reason: str, actor: Actor, department: str | None) -> None:
        self.legal_holds[hold_id] = reason

    @event("LegalHoldReleased")
    def release_legal_hold(self, hold_id: str, actor: Actor, department: str | None) -> None:
        self.legal_holds.pop(hold_id, None)

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
