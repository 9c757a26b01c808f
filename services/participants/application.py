"""The participants application: one short method per use case."""

from __future__ import annotations

import contextlib
import csv
import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

from services.participants.domain import (
    DEFAULT_EXPERIENCE_AREAS,
    SNAPSHOT_EVERY,
    VOCABULARY_ID,
    DataAccess,
    Department,
    ExperienceVocabulary,
    Participant,
    department_id,
    retention_cutoff,
    tax_flags,
)
from services.participants.events import catalogue
from shared.application import ServiceApplication
from shared.auth import Principal
from shared.config import DEFAULT_DEPARTMENTS, Settings
from shared.contract import PaidActivity
from shared.envelope import iso_utc
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.vault import Vault

# Departments change rarely; a registration need not re-read them from the store every time.
DEPARTMENT_CACHE_SECONDS = 5.0

SYSTEM = {"id": "system", "role": "system"}
PAYEE_NAMESPACE = UUID("a4f1c6f0-3d1e-4b7e-9c55-2f8e7d9a1b30")

PAYMENT_TERMS_VERSION = "2026-1"
PAYMENT_TERMS = (
    "An honorarium is taxable income paid through the municipality's payroll. "
    "If you receive economic assistance (ekonomiskt bistånd) it may reduce your benefit. "
    "Below 1,000 kr a year no employer contributions are due; below 100 kr no tax is withheld. "
    "Travel and other expenses are reimbursed separately and are not income. "
    "You may decline payment at any time and still take part."
)




def today() -> str:
    return datetime.now(UTC).date().isoformat()


def payee_ref(pid: UUID | str) -> str:
    """The pseudonymous reference payroll sees instead of the person's id."""
    return "P-" + uuid5(PAYEE_NAMESPACE, str(pid)).hex[:16]


@dataclass(frozen=True)
class SubjectAccess:
    """What is held about one person, gathered by the application for the report."""

    participant: Participant
    record: dict[str, Any]  # the decrypted personal record (a logged read)
    reveal: Callable[[str | None], str | None]  # a vault token in clear (None stays None)
    retention_months: int
    this_read: dict[str, Any]  # the read this request made, as the access log shows a read
    payee_ref: str



class ParticipantsApp(ServiceApplication):
    source = "participants"
    catalogue = catalogue
    # A person's aggregate grows for years (consents, seats, accruals): load it from a snapshot.
    snapshotting_intervals = {Participant: SNAPSHOT_EVERY}

    def __init__(self, settings: Settings, vault: Vault) -> None:
        super().__init__(settings)
        self._known_departments: dict[str, float] = {}
        self.vault = vault

    # -- departments ---------------------------------------------------------
    def onboard_department(self, code: str, name: str, actor: dict[str, str]) -> UUID:
        dep_id = department_id(code)
        if self.exists(dep_id):
            raise Conflict(f"department {code!r} is already onboarded", field="code")
        self.save(Department(id=dep_id, code=code, name=name, actor=actor, department=code))
        return dep_id

    def ensure_default_departments(self) -> None:
        for code, name in DEFAULT_DEPARTMENTS:
            if not self.exists(department_id(code)):
                # Conflict: another process onboarded it at the same moment, which is just as good.
                with contextlib.suppress(Conflict):
                    self.onboard_department(code, name, SYSTEM)
        if not self.exists(VOCABULARY_ID):
            with contextlib.suppress(Conflict):  # defined by another process meanwhile
                self.save(ExperienceVocabulary(id=VOCABULARY_ID, areas=list(DEFAULT_EXPERIENCE_AREAS),
                                               actor=SYSTEM, department=None))

    def department(self, code: str) -> Department | None:
        try:
            aggregate: Department = self.get(department_id(code), Department, "department")
        except NotFound:
            return None
        return aggregate

    def existing_department(self, code: str) -> Department:
        dep = self.department(code)
        if dep is None or not dep.active:
            raise NotFound(f"no department {code!r}", field="department")
        return dep

    def check_departments(self, codes: list[str], field: str = "departments") -> None:
        now = time.monotonic()
        for code in codes:
            if self._known_departments.get(code, 0.0) > now:
                continue  # seen active within the last few seconds: skip two store reads
            dep = self.department(code)
            if dep is None or not dep.active:
                raise InvalidInput(f"unknown department {code!r}", field=field)
            self._known_departments[code] = now + DEPARTMENT_CACHE_SECONDS

    def change_department_settings(self, by: Principal, code: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Limits, rates (from ``valid_from``, history kept), retention and budget."""
        dep = self.existing_department(code)
        dep.change_settings(code=code, actor=by.actor(), department=code, **settings)
        self.save(dep)
        return self.department_settings(code)

    def department_settings(self, code: str, by: Principal | None = None) -> dict[str, Any]:
        """The settings in force and the rate history (for staff of the department)."""
        if by is not None:
            by.check_department(code)
        dep = self.existing_department(code)
        return {"code": code, **dep.settings, "rate_history": dep.rate_history}

    # -- vocabulary ------------------------------------------------------------
    def vocabulary(self) -> list[str]:
        vocabulary: ExperienceVocabulary = self.get(VOCABULARY_ID, ExperienceVocabulary, "vocabulary")
        return list(vocabulary.areas)

    def change_vocabulary(self, by: Principal, areas: list[str]) -> list[str]:
        vocabulary: ExperienceVocabulary = self.get(VOCABULARY_ID, ExperienceVocabulary, "vocabulary")
        vocabulary.change(areas=sorted(set(areas)), actor=by.actor(), department=None)
        self.save(vocabulary)
        return list(vocabulary.areas)

    # -- access rules ------------------------------------------------------------
    def participant(self, pid: UUID) -> Participant:
        aggregate: Participant = self.get(pid, Participant, "participant")
        return aggregate

    def _visible(self, by: Principal, participant: Participant) -> str | None:
        """Authorise ``by`` for this person; return the department the access is made in."""
        if by.has("participant") and by.sub == str(participant.id):
            return None
        if by.has("administrator"):
            return None
        shared = participant.visible_departments() & set(by.departments)
        if by.has("coordinator") and shared:
            return sorted(shared)[0]
        if by.has("coordinator", "participant"):
            # Say "not found" rather than confirm the person is in the bank.
            raise NotFound(f"no participant with id {participant.id}")
        raise Forbidden("you may not see this participant")

    def _load_for(self, by: Principal, pid: UUID, expected_version: int | None = None,
                  staff_only: bool = False) -> tuple[Participant, str | None]:
        participant = self.participant(pid)
        department = self._visible(by, participant)
        if staff_only and not by.has("coordinator", "administrator"):
            raise Forbidden("only a coordinator may do this")
        participant.check_not_forgotten()
        participant.check_version(expected_version)
        return participant, department

    def _role(self, by: Principal, participant: Participant) -> str:
        return "participant" if by.sub == str(participant.id) and by.has("participant") else by.role

    def _log_read(self, by: Principal, pid: UUID, purpose: str, categories: list[str],
                  department: str | None) -> dict[str, Any]:
        """Record a read of the person's data; return it as the access log shows it."""
        access = DataAccess(id=uuid4(), subject_id=str(pid), purpose=purpose, categories=categories,
                            actor=by.actor(), department=department)
        self.save(access)
        return {"access_id": str(access.id), "at": iso_utc(access.created_on), "by": by.actor(),
                "purpose": purpose, "categories": list(categories)}

    # -- registration and contact details ------------------------------------
    def register_participant(
        self,
        by: Principal,
        *,
        name: str,
        email: str | None,
        phone: str | None,
        preferred_language: str,
        departments: list[str],
        department: str | None = None,
        participant_id: UUID | None = None,
    ) -> UUID:
        self.check_departments(departments)
        registering = department or departments[0]
        if registering not in departments:
            raise InvalidInput("department must be one of departments", field="department")
        by.check_department(registering)
        if participant_id is not None and self.exists(participant_id):
            raise Conflict("this participant is already registered", field="id")
        pid = participant_id or UUID(self.vault.new_subject())
        personal = self.vault.encrypt(str(pid), {"name": name, "email": email, "phone": phone})
        participant = Participant(
            id=pid,
            personal=personal,
            preferred_language=preferred_language,
            departments=sorted(set(departments)),
            actor=by.actor(),
            department=registering,
        )
        self.save(participant)
        return pid

    def read_participant(self, by: Principal, pid: UUID, purpose: str) -> dict[str, Any]:
        """The decrypted record, for the person themself or a coordinator of a consented department.
        Every such read is recorded as an event."""
        return self._read_logged(by, pid, purpose)[0]

    def _read_logged(self, by: Principal, pid: UUID, purpose: str) -> tuple[dict[str, Any], dict[str, Any]]:
        participant = self.participant(pid)
        department = self._visible(by, participant)
        personal = self.vault.decrypt_or(str(pid), participant.personal, erased=None) if participant.personal else None
        if personal is None:
            raise NotFound(f"no participant with id {pid}")
        logged = self._log_read(by, pid, purpose, ["name", "email", "phone", "profile"], department)
        profile = participant.profile
        return {
            "id": str(pid),
            "name": personal["name"],
            "email": personal["email"],
            "phone": personal["phone"],
            "preferred_language": participant.preferred_language,
            "departments": participant.departments,
            "consents": sorted(participant.consents),
            "experience": self.vault.decrypt_or(str(pid), profile["experience"], erased=None) or [],
            "shared_tags": profile["shared_tags"],
            "languages": profile["languages"],
            "accessibility": self.vault.decrypt_or(str(pid), profile["accessibility"], erased=None),
            "excluded_units": profile["excluded_units"],
            "ready": participant.ready,
            "availability": participant.windows,
            "contact_status": participant.contact["status"],
            "contact_until": participant.contact["until"],
            "restricted": participant.restricted,
            "restriction_reason": self.vault.decrypt_or(str(pid), reason, erased=None)
            if (reason := participant.restriction_reason_token()) else None,
            # What blocks an erasure, with the ids a coordinator needs to lift one.
            "legal_holds": [{"hold_id": h, "reason": r, "ground": participant.grounds().get(h)}
                            for h, r in sorted(participant.legal_holds.items())],
            # A person in several banks: staff see the overrides of their own departments only.
            "limit_overrides": [{**o, "reason": self.vault.decrypt_or(str(pid), o["reason"], erased=None)}
                                for o in participant.limit_overrides
                                if by.sub == str(pid) or by.can_see_department(o["department"])],
            "contact_log": self._contact_log(by, pid),
            "version": participant.version,
        }, logged

    def _contact_log(self, by: Principal, pid: UUID) -> list[dict[str, Any]]:
        """Every change of the person's contact status (when, to what, by which role, why), from
        their own stream: staff see the changes made in their departments and the person's own."""
        out = []
        for stored in self.repository.event_store.get(pid):
            change: Any = stored  # a ContactStatusChanged the @event decorator made (untyped)
            if type(change).__name__ != "ContactStatusChanged":
                continue
            department = change.department
            if not (by.sub == str(pid) or department is None or by.can_see_department(department)):
                continue
            reason = change.reason
            out.append({"at": change.timestamp.isoformat(), "status": change.status, "until": change.until,
                        "by_role": change.actor.get("role"), "department": department,
                        "reason": self.vault.decrypt_or(str(pid), reason, erased=None) if reason else None})
        return out

    def update_contact_details(self, by: Principal, pid: UUID, details: dict[str, Any],
                               expected_version: int | None) -> int:
        """Rectification (Art. 16): the new details as a new token under the same key."""
        participant, department = self._load_for(by, pid, expected_version)
        current = self.vault.decrypt(str(pid), participant.personal)
        merged = {**current, **details}
        participant.update_contact_details(personal=self.vault.encrypt(str(pid), merged),
                                           actor=by.actor(self._role(by, participant)), department=department)
        self.save(participant)
        return int(participant.version)

    # -- consent and profile -----------------------------------------------------
    def give_consent(self, by: Principal, pid: UUID, purpose: str, department: str) -> int:
        participant, _ = self._load_for(by, pid)
        self.existing_department(department)
        self._check_consent_department(by, participant, department)
        if participant.has_consent(purpose, department):
            return int(participant.version)  # consent already given: nothing changes
        participant.give_consent(purpose=purpose, actor=by.actor(self._role(by, participant)),
                                 department=department)
        self.save(participant)
        return int(participant.version)

    def _check_consent_department(self, by: Principal, participant: Participant, department: str) -> None:
        """The person gives and withdraws any of their consents; staff only in their departments."""
        if self._role(by, participant) != "participant":
            by.check_department(department)

    def withdraw_consent(self, by: Principal, pid: UUID, purpose: str, department: str) -> int:
        participant, _ = self._load_for(by, pid)
        self._check_consent_department(by, participant, department)
        if not participant.has_consent(purpose, department):
            raise Conflict(f"no {purpose} consent for {department} to withdraw", field="purpose")
        participant.withdraw_consent(purpose=purpose, actor=by.actor(self._role(by, participant)),
                                     department=department)
        self.save(participant)
        return int(participant.version)

    def update_profile(self, by: Principal, pid: UUID, profile: dict[str, Any],
                       expected_version: int | None) -> int:
        participant, department = self._load_for(by, pid, expected_version)
        declared = participant.declared_profile(profile, set(self.vocabulary()))
        accessibility = declared["accessibility"]
        participant.update_profile(
            experience=self.vault.encrypt(str(pid), declared["experience_areas"]),
            shared_tags=declared["shared_tags"],
            languages=declared["languages"],
            accessibility=self.vault.encrypt(str(pid), accessibility) if accessibility else None,
            excluded_units=declared["excluded_units"],
            actor=by.actor(self._role(by, participant)),
            department=department,
        )
        self.save(participant)
        return int(participant.version)

    # -- readiness, availability, contact status, limits --------------------------
    def sign_confidentiality(self, by: Principal, pid: UUID, signed_on: date, text_version: str) -> int:
        participant, department = self._load_for(by, pid)
        participant.sign_confidentiality(signed_on=signed_on.isoformat(), text_version=text_version,
                                         actor=by.actor(self._role(by, participant)), department=department)
        self.save(participant)
        return int(participant.version)

    def complete_training(self, by: Principal, pid: UUID, completed_on: date) -> int:
        participant, department = self._load_for(by, pid, staff_only=True)
        participant.complete_training(completed_on=completed_on.isoformat(), actor=by.actor(),
                                      department=department)
        self.save(participant)
        return int(participant.version)

    def change_availability(self, by: Principal, pid: UUID, windows: list[dict[str, date]],
                            expected_version: int | None) -> int:
        participant, department = self._load_for(by, pid, expected_version)
        for i, window in enumerate(windows):
            if window["end"] < window["start"]:
                raise InvalidInput("a window ends before it starts", field=f"windows.{i}.end")
        clean = sorted(({"start": w["start"].isoformat(), "end": w["end"].isoformat()} for w in windows),
                       key=lambda w: w["start"])
        participant.change_availability(windows=clean, actor=by.actor(self._role(by, participant)),
                                        department=department)
        self.save(participant)
        return int(participant.version)

    def change_contact_status(self, by: Principal, pid: UUID, status: str, until: date | None,
                              reason: str | None, on: date | None = None) -> int:
        """``on``: the day the change is asked for (today unless told)."""
        participant, department = self._load_for(by, pid)
        token = self.vault.encrypt(str(pid), reason) if reason else None
        participant.change_contact_status(status=status, until=until.isoformat() if until else None, reason=token,
                                          requested_on=(on or date.fromisoformat(today())).isoformat(),
                                          actor=by.actor(self._role(by, participant)), department=department)
        self.save(participant)
        return int(participant.version)

    def override_limit(self, by: Principal, pid: UUID, department: str, extra_engagements: int,
                       valid_until: date, reason: str) -> int:
        participant, _ = self._load_for(by, pid, staff_only=True)
        by.check_department(department)
        if not reason.strip():
            raise InvalidInput("an override needs a reason", field="reason")
        participant.override_limit(extra_engagements=extra_engagements, valid_until=valid_until.isoformat(),
                                   reason=self.vault.encrypt(str(pid), reason), requested_on=today(),
                                   actor=by.actor(), department=department)
        self.save(participant)
        return int(participant.version)

    def eligibility(self, by: Principal, pid: UUID, department: str, on: date | None) -> dict[str, Any]:
        """Can this person be assigned to a panel in ``department`` on ``on``? With the reasons why not."""
        participant, _ = self._load_for(by, pid)
        if self._role(by, participant) != "participant":
            by.check_department(department)  # another department's limits and consents are its own
        limit = self.existing_department(department).settings["participation_limit"]
        day = (on or date.fromisoformat(today())).isoformat()
        return {"participant_id": str(pid), "department": department, "on": day,
                **participant.eligibility(department, day, limit)}

    # -- honoraria -------------------------------------------------------------
    def accrue_from_activity(self, participant_id: str, activity_type: str, recruitment_id: str,
                             department: str | None, occurred_on: str, actor: dict[str, str]) -> bool:
        """Accrue one honorarium for an activity seen on recruitments.events (idempotent on
        the activity reference). Returns False when nothing was accrued."""
        try:
            pid = UUID(participant_id)
        except ValueError:
            return False
        if not self.exists(pid) or department is None:
            return False
        participant = self.participant(pid)
        work = PaidActivity(participant_id, activity_type, recruitment_id)
        if participant.forgotten or work.activity_ref in participant.accruals:
            return False
        dep = self.department(department)
        if dep is None:
            return False
        amount = work.amount_ore(dep.rates_on(occurred_on))
        participant.accrue_honorarium(activity_ref=work.activity_ref, activity_type=activity_type,
                                      recruitment_id=recruitment_id, hours=work.hours, amount_ore=amount,
                                      rate_basis=work.rate_basis, accrued_on=occurred_on,
                                      actor=actor, department=department)
        self.save(participant)
        return True

    def record_panel_membership(self, participant_id: str, recruitment_id: str, panel_id: str,
                                department: str | None, assigned_on: str, actor: dict[str, str]) -> bool:
        """Note a panel seat assigned by matching (idempotent per recruitment)."""
        try:
            pid = UUID(participant_id)
        except ValueError:
            return False
        if not self.exists(pid):
            return False
        participant = self.participant(pid)
        if participant.forgotten or recruitment_id in participant.panels:
            return False
        participant.record_panel_membership(recruitment_id=recruitment_id, panel_id=panel_id,
                                            assigned_on=assigned_on, actor=actor, department=department)
        self.save(participant)
        return True

    def record_expense(self, by: Principal, pid: UUID, expense_ref: str, kind: str, amount_ore: int,
                       incurred_on: date) -> int:
        participant, department = self._load_for(by, pid, staff_only=True)
        if expense_ref in participant.expenses:
            return int(participant.version)  # the same expense again: recorded once
        participant.record_expense(expense_ref=expense_ref, kind=kind, amount_ore=amount_ore,
                                   incurred_on=incurred_on.isoformat(), actor=by.actor(), department=department)
        self.save(participant)
        return int(participant.version)

    def payment_terms(self, by: Principal, pid: UUID) -> dict[str, Any]:
        participant, _ = self._load_for(by, pid)
        return {"text_version": PAYMENT_TERMS_VERSION, "text": PAYMENT_TERMS,
                "acknowledged_version": participant.terms_acknowledged, "declined": participant.payment_declined}

    def answer_payment_terms(self, by: Principal, pid: UUID, text_version: str, accept: bool,
                             reason: str | None) -> int:
        """The person (only) accepts payment after reading the terms, or declines it."""
        participant, department = self._load_for(by, pid)
        if self._role(by, participant) != "participant":
            raise Forbidden("only the participant can accept or decline payment")
        if text_version != PAYMENT_TERMS_VERSION:
            raise Conflict(f"the current terms are version {PAYMENT_TERMS_VERSION}", field="text_version")
        if accept:
            participant.acknowledge_payment_terms(text_version=text_version, actor=by.actor("participant"),
                                                  department=department)
        else:
            token = self.vault.encrypt(str(pid), reason) if reason else None
            participant.decline_payment(reason=token, actor=by.actor("participant"), department=department)
        self.save(participant)
        return int(participant.version)

    def approve_honoraria(self, by: Principal, pid: UUID, accrual_refs: list[str]) -> int:
        participant, _ = self._load_for(by, pid, staff_only=True)
        for ref in accrual_refs:  # the department first: nothing about another's accruals is answered
            if ref in participant.accruals:
                by.check_department(participant.accruals[ref]["department"])
        departments = {participant.accrual(r)["department"] for r in accrual_refs}
        participant.approve_honoraria(accrual_refs=sorted(accrual_refs), approved_by=by.sub, actor=by.actor(),
                                      department=sorted(departments)[0])
        self.save(participant)
        return int(participant.version)

    def record_payment(self, by: Principal, pid: UUID, payroll_ref: str, period: str,
                       accrual_refs: list[str]) -> dict[str, Any]:
        """Payroll confirmed; the same payroll reference again changes nothing."""
        participant = self.participant(pid)
        self._visible(by, participant)
        # The department check comes before anything about the payment is answered, a replay too.
        known = participant.payments.get(payroll_ref, {}).get("accrual_refs", [])
        for ref in [*known, *accrual_refs]:
            if ref in participant.accruals:
                by.check_department(participant.accruals[ref]["department"])
        if payroll_ref in participant.payments:
            return {"payroll_ref": payroll_ref, **participant.payments[payroll_ref], "replayed": True}
        department = participant.accrual(accrual_refs[0])["department"]
        participant.record_payment(payroll_ref=payroll_ref, amount_ore=participant.payable_amount(accrual_refs),
                                   period=period, accrual_refs=sorted(accrual_refs), paid_on=today(),
                                   payee_ref=payee_ref(pid),
                                   actor=by.actor(), department=department)
        self.save(participant)
        return {**participant.payments[payroll_ref], "replayed": False}

    def honoraria(self, by: Principal, pid: UUID, year: int) -> dict[str, Any]:
        """Accruals, expenses, payments and the year's totals with the thresholds flagged."""
        participant, _ = self._load_for(by, pid)
        prefix = f"{year}-"
        # A person in several departments' banks: staff see their own departments' money only.
        everything = self._role(by, participant) == "participant" or by.has("administrator")

        def shown(department: str | None) -> bool:
            return everything or (department is not None and department in by.departments)

        def paid_by(payment: dict[str, Any]) -> bool:
            return all(shown(participant.accruals[r]["department"]) for r in payment["accrual_refs"]
                       if r in participant.accruals)

        all_payments = [p for p in participant.payments.values() if p["paid_on"].startswith(prefix)]
        accruals = [a for a in participant.accruals.values()
                    if a["accrued_on"].startswith(prefix) and shown(a["department"])]
        payments = [p for p in all_payments if paid_by(p)]
        expenses = [e for e in participant.expenses.values()
                    if e["incurred_on"].startswith(prefix) and shown(e.get("department"))]
        # The thresholds are the municipality's (one payer), so they count every payment.
        paid_by_municipality = sum(int(p["amount_ore"]) for p in all_payments)
        return {
            "participant_id": str(pid),
            "year": year,
            "payee_ref": payee_ref(pid),
            "accruals": sorted(accruals, key=lambda a: a["activity_ref"]),
            "payments": payments,
            "expenses": expenses,
            "payment_declined": participant.payment_declined,
            "totals": {
                "accrued_ore": sum(int(a["amount_ore"]) for a in accruals),
                "approved_ore": sum(int(a["amount_ore"]) for a in accruals if a["approved"]),
                "paid_ore": sum(int(p["amount_ore"]) for p in payments),
                "expenses_ore": sum(int(e["amount_ore"]) for e in expenses),
            },
            "flags": tax_flags(paid_by_municipality),
        }

    # -- data rights -------------------------------------------------------------
    def change_restriction(self, by: Principal, pid: UUID, restricted: bool, reason: str | None = None) -> int:
        """Restrict processing (Art. 18), with an optional reason kept encrypted with the person's
        key, or lift it. Asking for the state the person is already in changes nothing."""
        participant, department = self._load_for(by, pid)
        if participant.restricted != restricted:
            token = self.vault.encrypt(str(pid), reason) if restricted and reason else None
            participant.change_restriction(restricted=restricted, reason=token,
                                           actor=by.actor(self._role(by, participant)), department=department)
            self.save(participant)
        return int(participant.version)

    def place_legal_hold(self, by: Principal, pid: UUID, reason: str, ground: str | None = None) -> str:
        participant, department = self._load_for(by, pid, staff_only=True)
        hold_id = str(uuid4())
        participant.place_legal_hold(hold_id=hold_id, reason=reason, ground=ground, actor=by.actor(),
                                     department=department)
        self.save(participant)
        return hold_id

    def release_legal_hold(self, by: Principal, pid: UUID, hold_id: str) -> int:
        participant, department = self._load_for(by, pid, staff_only=True)
        if hold_id not in participant.legal_holds:
            raise NotFound(f"no legal hold {hold_id}", field="hold_id")
        participant.release_legal_hold(hold_id=hold_id, actor=by.actor(), department=department)
        self.save(participant)
        return int(participant.version)

    def erase(self, by: Principal | None, pid: UUID, legal_basis: str) -> dict[str, Any]:
        """Art. 17 erasure by crypto-shredding. Legal holds block it; what records law needs is
        kept pseudonymously. Erasing an erased person changes nothing."""
        participant = self.participant(pid)
        actor = SYSTEM
        if by is not None:
            self._visible(by, participant)
            actor = by.actor(self._role(by, participant))
        if participant.forgotten:
            return {"participant_id": str(pid), "status": "already_erased"}
        if participant.legal_holds:
            raise Conflict("erasure is blocked by a legal hold: " + "; ".join(sorted(participant.legal_holds.values())),
                           field="legal_holds")
        kept = ["pseudonymous_id", "consent_history", "readiness_dates"]
        if participant.panels:
            kept.append("panel_participation")
        if participant.accruals or participant.payments:
            kept.append("honoraria_and_payments")
        erased = ["name", "email", "phone", "experience_areas", "accessibility_needs", "free_text_reasons"]
        self.vault.destroy(str(pid), legal_basis)
        participant.forget(legal_basis=legal_basis, erased=erased, kept=kept, actor=actor,
                           department=sorted(participant.departments)[0] if participant.departments else None)
        self.save(participant)
        return {"participant_id": str(pid), "status": "erased", "erased": erased, "kept": kept}

    def subject_access(self, by: Principal, pid: UUID) -> SubjectAccess:
        """Art. 15: everything held about the person, decrypted, with the retention that applies
        (``access_report.py`` presents it, with the access log's read model). The request is
        itself a logged read."""
        participant = self.participant(pid)
        self._visible(by, participant)
        if participant.forgotten:
            raise NotFound(f"no participant with id {pid}")
        record, this_read = self._read_logged(by, pid, "data subject access request (Art. 15)")
        return SubjectAccess(participant, record, lambda token: self.vault.decrypt_or(str(pid), token),
                             self.retention_months(participant.departments), this_read, payee_ref(pid))

    def retention_months(self, departments: list[str]) -> int:
        """The longest retention period of the departments (24 months with none)."""
        return max((self.existing_department(d).retention_months for d in departments), default=24)

    # -- retention -----------------------------------------------------------------
    def due_for_retention(self, on: date, inactive: Iterable[tuple[str, list[str], str]]) -> list[UUID]:
        """Of the people the read model says were ``inactive`` (id, departments, last event day),
        those whose last event is older than their departments' retention period ``on``.
        Loads each department once (a bounded number of aggregates)."""
        months: dict[str, int] = {}

        def period(departments: list[str]) -> int:
            for code in departments:
                if code not in months:
                    months[code] = self.retention_months([code])
            return max((months[code] for code in departments), default=24)

        return [UUID(pid) for pid, departments, last in inactive
                if last < retention_cutoff(on, period(departments))]

    def run_retention(self, on: date, inactive: Iterable[tuple[str, list[str], str]]) -> list[str]:
        """Erase every participant the retention rules say are due; returns their ids. Each is
        checked on its own aggregate first, so an activity the read model has not seen yet, or
        a legal hold placed meanwhile, keeps the person."""
        done = []
        for pid in self.due_for_retention(on, inactive):
            participant = self.participant(pid)
            cutoff = retention_cutoff(on, self.retention_months(participant.departments))
            if participant.forgotten or participant.legal_holds or not participant.inactive_before(cutoff):
                continue
            self.erase(None, pid, "retention rule: profile inactive without renewed consent (GDPR Art. 5(1)(e))")
            done.append(str(pid))
        return done


def payroll_csv(rows: list[dict[str, Any]], period: str) -> str:
    """The payroll import: one row per payee and activity type, amounts in öre."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["payee_ref", "period", "activity_type", "amount_ore", "activities"])
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((payee_ref(row["participant_id"]), row["activity_type"]), []).append(row)
    for (payee, activity_type), items in sorted(grouped.items()):
        writer.writerow([payee, period, activity_type, sum(int(i["amount_ore"]) for i in items), len(items)])
    return buffer.getvalue()
