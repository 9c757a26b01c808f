"""The brukarbank's domain rules as a coordinator, a participant, payroll or an auditor states
them, in process (no servers, no store): every refusal names the input at fault and says in
words what is wrong; who may set which contact status; the edges of the participation period,
the tax thresholds, the rate table in force and the retention cut-off; which departments see a
person; legal-hold grounds; and people loaded from snapshots taken before reasons and grounds
were recorded. Written from the mutation run of ``services/participants/domain.py``
(docs/mutation.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate

from services.participants.domain import (
    DEFAULT_EXPERIENCE_AREAS,
    DEFAULT_SETTINGS,
    EMPLOYER_CONTRIBUTIONS_FROM_ORE,
    LEGAL_HOLD_GROUNDS,
    VOCABULARY_ID,
    WITHHOLDING_FROM_ORE,
    AccrualAlreadyApproved,
    AccrualAlreadyPaid,
    AccrualNotApproved,
    CooldownNotInFuture,
    DataAccess,
    Department,
    ExperienceVocabulary,
    MatchingConsentMissing,
    NoSuchAccrual,
    NotInVocabulary,
    OverrideInPast,
    Participant,
    ParticipantErased,
    PaymentAmountWrong,
    PaymentDeclined,
    PaymentTermsNotAcknowledged,
    ProcessingRestricted,
    UnknownHoldGround,
    as_actor,
    department_id,
    retention_cutoff,
    tax_flags,
)
from shared.errors import ConcurrentModification, DomainError, Forbidden, InvalidInput
from tests.aggregates import refused, replayed

COORDINATOR = {"id": "coord-2", "role": "coordinator"}
ME = {"id": "me", "role": "participant"}
PAYROLL = {"id": "payroll", "role": "system"}
DEPT = "socialtjansten"
OTHER = "arbetsmarknad"
LIMIT = {"max_engagements": 2, "period_days": 365}
TODAY = "2026-03-01"


def registered() -> Participant:
    return Participant(id=uuid4(), personal="vault:token", preferred_language="sv", departments=[DEPT],
                       actor=COORDINATOR, department=DEPT)


def refusal(aggregate: Aggregate, kind: type[DomainError], command: Callable[[], Any]) -> DomainError:
    """The named refusal ``command`` meets (nothing recorded), for its field and wording."""
    err = refused(aggregate, kind, command)
    assert isinstance(err, DomainError)
    return err


def accrued(p: Participant, ref: str, amount: int = 1000, on: str = "2026-02-01", rid: str = "") -> None:
    p.accrue_honorarium(activity_ref=ref, activity_type="interview", recruitment_id=rid or f"r-{ref}", hours=1,
                        amount_ore=amount, rate_basis="hour_ore", accrued_on=on, actor=COORDINATOR,
                        department=DEPT)


def status(p: Participant, value: str, by: dict[str, str], until: str | None = None,
           reason: str | None = None) -> None:
    p.change_contact_status(value, until, reason, TODAY, by, DEPT)


# -- every refusal names the input at fault and says what is wrong ------------------------------
def test_payment_refusals_name_the_field_and_the_accrual() -> None:
    p = registered()
    accrued(p, "a1")
    accrued(p, "a2")
    err = refusal(p, PaymentTermsNotAcknowledged, lambda: p.approve_honoraria(["a1"], "c", COORDINATOR, DEPT))
    assert err.field == "accrual_refs" and "not yet been told what accepting payment means" in err.detail
    p.decline_payment(None, ME, DEPT)
    err = refusal(p, PaymentDeclined, lambda: p.approve_honoraria(["a1"], "c", COORDINATOR, DEPT))
    assert err.field == "accrual_refs" and "declined payment" in err.detail
    p.acknowledge_payment_terms("2026-1", ME, DEPT)
    err = refusal(p, NoSuchAccrual, lambda: p.approve_honoraria(["zz"], "c", COORDINATOR, DEPT))
    assert err.field == "accrual_refs" and "no accrual 'zz'" in err.detail
    p.approve_honoraria(["a1"], "c", COORDINATOR, DEPT)
    err = refusal(p, AccrualAlreadyApproved, lambda: p.approve_honoraria(["a1"], "c", COORDINATOR, DEPT))
    assert err.field == "accrual_refs" and "accrual 'a1' is already approved" in err.detail

    def pay(ref: str, amount: int, refs: list[str]) -> None:
        p.record_payment(ref, amount, "2026-03", refs, "2026-03-31", "payee-1", PAYROLL, DEPT)

    err = refusal(p, AccrualNotApproved, lambda: pay("pay-1", 1000, ["a2"]))
    assert err.field == "accrual_refs" and "accrual 'a2' is not approved" in err.detail
    err = refusal(p, PaymentAmountWrong, lambda: pay("pay-1", 1500, ["a1"]))
    assert err.field == "amount_ore" and "amount to 1000 öre, not 1500" in err.detail
    pay("pay-1", 1000, ["a1"])
    err = refusal(p, AccrualAlreadyPaid, lambda: pay("pay-2", 1000, ["a1"]))
    assert err.field == "accrual_refs" and "accrual 'a1' is already paid" in err.detail
    p.forget("GDPR Art. 17", ["personal"], ["honoraria"], COORDINATOR, DEPT)
    err = refusal(p, ParticipantErased, lambda: pay("pay-3", 0, []))
    assert "has been erased" in err.detail


def test_profile_restriction_and_override_refusals_name_the_field() -> None:
    with pytest.raises(NotInVocabulary) as area:
        Participant.declared_profile({"experience_areas": ["astrology"], "shared_tags": [], "languages": [],
                                      "excluded_units": []}, {"homelessness"})
    assert area.value.field == "experience_areas"
    assert "'astrology' is not in the experience vocabulary" in area.value.detail
    with pytest.raises(InvalidInput) as shared:
        Participant.declared_profile({"experience_areas": [], "shared_tags": ["homelessness"], "languages": [],
                                      "excluded_units": []}, {"homelessness"})
    assert shared.value.field == "shared_tags" and "among the declared areas" in shared.value.detail

    p = registered()
    err = refusal(p, OverrideInPast, lambda: p.override_limit(1, "2026-02-28", "vault:r", TODAY, COORDINATOR, DEPT))
    assert err.field == "valid_until" and "in the past" in err.detail
    p.change_restriction(True, "vault:why", COORDINATOR, DEPT)
    err = refusal(p, ProcessingRestricted, lambda: p.update_profile("vault:areas", [], [], None, [], ME, DEPT))
    assert err.field == "restricted" and "processing of this participant's data is restricted" in err.detail


def test_a_command_based_on_an_old_version_is_refused_saying_which_versions() -> None:
    p = registered()
    p.check_version(None)  # no version named: no check
    p.check_version(p.version)
    with pytest.raises(ConcurrentModification) as caught:
        p.check_version(p.version + 1)
    assert caught.value.field == "expected_version"
    assert f"at version {p.version}, not {p.version + 1}" in caught.value.detail


# -- contact status: who may set which, with what ------------------------------------------------
def test_only_a_coordinator_sets_do_not_contact_and_only_with_a_reason() -> None:
    p = registered()
    err = refusal(p, Forbidden, lambda: status(p, "do_not_contact", ME, reason="vault:why"))
    assert err.field == "status" and "only a coordinator may set do_not_contact" in err.detail
    err = refusal(p, Forbidden, lambda: status(p, "cooldown", ME, until="2026-04-01"))
    assert err.field == "status" and "only a coordinator may set cooldown" in err.detail
    err = refusal(p, InvalidInput, lambda: status(p, "do_not_contact", COORDINATOR))
    assert err.field == "reason" and "do_not_contact needs a reason" in err.detail
    err = refusal(p, InvalidInput, lambda: status(p, "on_holiday", COORDINATOR))
    assert err.field == "status" and "unknown status 'on_holiday'" in err.detail
    err = refusal(p, CooldownNotInFuture, lambda: status(p, "cooldown", COORDINATOR, until=TODAY))
    assert err.field == "until" and "end date in the future" in err.detail
    status(p, "do_not_contact", COORDINATOR, reason="vault:why")
    assert p.contact == {"status": "do_not_contact", "until": None, "reason": "vault:why"}
    assert replayed(p).contact == p.contact


def test_a_participant_cannot_lift_a_do_not_contact_but_the_coordinator_can() -> None:
    p = registered()
    status(p, "paused", ME)  # a participant pauses and resumes by themselves
    status(p, "available", ME)
    status(p, "do_not_contact", COORDINATOR, reason="vault:why")
    err = refusal(p, Forbidden, lambda: status(p, "available", ME))
    assert err.field == "status" and "ask them to lift it" in err.detail
    status(p, "available", COORDINATOR)
    assert p.effective_status(TODAY) == "available"
    status(p, "opted_out", ME)
    assert replayed(p).contact["status"] == "opted_out"


# -- eligibility ----------------------------------------------------------------------------
def test_a_restricted_person_is_not_assignable_and_the_answer_names_the_status() -> None:
    p = registered()
    for purpose in ("recruitment", "matching"):
        p.give_consent(purpose, ME, DEPT)
    p.sign_confidentiality("2026-01-10", "v1", ME, DEPT)
    p.complete_training("2026-01-12", COORDINATOR, DEPT)
    p.change_restriction(True, None, COORDINATOR, DEPT)
    answer = p.eligibility(DEPT, TODAY, LIMIT)
    assert answer["reasons"] == ["processing_restricted"] and answer["contact_status"] == "available"
    p.change_restriction(False, None, COORDINATOR, DEPT)
    assert p.eligibility(DEPT, TODAY, LIMIT)["assignable"] is True


def test_the_participation_period_counts_the_last_day_and_not_the_day_a_full_period_before() -> None:
    on = date.fromisoformat(TODAY)
    start = (on - timedelta(days=LIMIT["period_days"])).isoformat()
    p = registered()
    accrued(p, "w-old", on=start, rid="r-old")  # exactly a period before: outside it
    p.record_panel_membership("r-seat-old", "panel-old", start, COORDINATOR, DEPT)
    assert p.engagements(TODAY, LIMIT["period_days"]) == 0
    accrued(p, "w-today", on=TODAY, rid="r-today")  # on the last day of the period: inside
    p.record_panel_membership("r-seat-today", "panel-today", TODAY, COORDINATOR, DEPT)
    assert p.engagements(TODAY, LIMIT["period_days"]) == 2
    accrued(p, "w-today-2", on=TODAY, rid="r-seat-today")  # paid work on a panel sat: one recruitment
    assert p.engagements(TODAY, LIMIT["period_days"]) == 2


# -- payroll, rates, retention ---------------------------------------------------------------
def test_the_tax_thresholds_hold_from_their_exact_amounts() -> None:
    assert tax_flags(EMPLOYER_CONTRIBUTIONS_FROM_ORE)["employer_contributions_due"] is True
    assert tax_flags(EMPLOYER_CONTRIBUTIONS_FROM_ORE - 1)["employer_contributions_due"] is False
    assert tax_flags(WITHHOLDING_FROM_ORE - 1)["no_withholding"] is True
    assert tax_flags(WITHHOLDING_FROM_ORE)["no_withholding"] is False


def test_a_rate_change_holds_from_its_first_day_and_earlier_days_keep_the_earlier_rates() -> None:
    dept = Department(id=department_id("vard"), code="vard", name="Vård", actor=COORDINATOR, department=None)
    first = dept.rates_on("2024-06-01")
    assert first == dept.rates_on("2020-01-01")  # before any table: the earliest one
    new = {**first, "hour_ore": 30000, "valid_from": "2026-01-01"}
    dept.change_settings("vard", {"max_engagements": 4, "period_days": 365}, new,
                         {"inactive_profile_months": 24}, 100, COORDINATOR, "vard")
    assert dept.rates_on("2025-12-31")["hour_ore"] == first["hour_ore"]
    assert dept.rates_on("2026-01-01")["hour_ore"] == 30000
    assert dept.rates_on("2027-05-05")["hour_ore"] == 30000


def test_a_departments_id_comes_from_its_code() -> None:
    assert department_id("vard") == department_id("vard") != department_id("skola")


def test_the_retention_cutoff_lies_the_given_months_back() -> None:
    on = date(2026, 12, 4)
    cutoff = date.fromisoformat(retention_cutoff(on, 24))
    assert abs((cutoff - date(2024, 12, 4)).days) <= 2  # a month counted as 30.44 days
    assert date.fromisoformat(retention_cutoff(on, 1)) < on


def test_a_profile_is_inactive_only_when_its_last_event_was_before_the_cutoff_day() -> None:
    p = registered()
    last = p.modified_on.date()
    assert p.inactive_before(last.isoformat()) is False
    assert p.inactive_before((last + timedelta(days=1)).isoformat()) is True


# -- who sees a person, actors ------------------------------------------------------------------
def test_the_departments_that_see_a_person_are_where_registered_and_where_consented() -> None:
    p = registered()
    assert p.visible_departments() == {DEPT}
    p.give_consent("research", ME, OTHER)
    assert p.visible_departments() == {DEPT, OTHER}
    p.withdraw_consent("research", ME, OTHER)
    assert p.visible_departments() == {DEPT}


def test_an_actor_is_its_id_and_role_only() -> None:
    assert as_actor({"id": 7, "role": "coordinator", "name": "Eva"}) == {"id": "7", "role": "coordinator"}


def test_a_profile_keeps_the_declared_accessibility_needs() -> None:
    declared = Participant.declared_profile({"experience_areas": [], "shared_tags": [], "languages": [],
                                             "accessibility": "vault:ramp", "excluded_units": []}, set())
    assert declared["accessibility"] == "vault:ramp"


# -- legal holds and restriction reasons, also on people loaded from old snapshots ---------------
def test_a_legal_hold_names_one_of_the_known_grounds_or_none() -> None:
    p = registered()
    err = refusal(p, UnknownHoldGround, lambda: p.place_legal_hold("h1", "vault:r", "astrology", COORDINATOR, DEPT))
    assert err.field == "ground" and f"one of {', '.join(LEGAL_HOLD_GROUNDS)}" in err.detail
    p.place_legal_hold("h1", "vault:r", LEGAL_HOLD_GROUNDS[0], COORDINATOR, DEPT)
    p.place_legal_hold("h2", "vault:r", None, COORDINATOR, DEPT)  # placed as before grounds were recorded
    assert p.grounds() == {"h1": LEGAL_HOLD_GROUNDS[0], "h2": None}
    p.release_legal_hold("h1", COORDINATOR, DEPT)
    assert replayed(p).grounds() == {"h2": None}


def from_old_snapshot(p: Participant) -> Participant:
    """``p`` loaded from a snapshot taken before restriction reasons and hold grounds existed."""
    snapshot = Participant.Snapshot.take(p)
    old = Participant.Snapshot(
        originator_id=snapshot.originator_id, originator_version=snapshot.originator_version,
        timestamp=snapshot.timestamp, topic=snapshot.topic,
        state={k: v for k, v in snapshot.state.items() if k not in ("hold_grounds", "restriction_reason")},
    )
    loaded = old.mutate(None)
    assert isinstance(loaded, Participant)
    return loaded


def test_a_person_from_an_old_snapshot_has_no_grounds_and_no_reason_until_new_ones_are_recorded() -> None:
    p = registered()
    p.change_restriction(True, "vault:why", COORDINATOR, DEPT)
    assert p.restriction_reason_token() == "vault:why"
    old = from_old_snapshot(p)
    assert (old.grounds(), old.restriction_reason_token(), old.restricted) == ({}, None, True)
    old.place_legal_hold("h1", "vault:r", "legal_claim", COORDINATOR, DEPT)
    assert old.grounds() == {"h1": "legal_claim"}


# -- what is recorded: the state the person's record, the access report and payroll read ---------
# Written from the mutation run with the @event bodies measured (infra/mutate_unwrap.py).
def test_a_newly_registered_person_has_only_their_details_and_nothing_else_recorded() -> None:
    p = registered()
    assert (p.personal, p.preferred_language, p.departments) == ("vault:token", "sv", [DEPT])
    assert p.consents == [] and p.panels == {} and p.accruals == {} and p.expenses == {} and p.payments == {}
    assert p.profile == {"experience": None, "shared_tags": [], "languages": [], "accessibility": None,
                         "excluded_units": []}
    assert (p.confidentiality, p.training_completed_on, p.ready) == (None, None, False)
    assert p.windows == [] and p.limit_overrides == []
    assert p.contact == {"status": "available", "until": None, "reason": None}
    # The record and the access report show these as booleans (true/false), not as missing.
    assert p.payment_declined is False and p.restricted is False
    assert (p.terms_acknowledged, p.legal_holds, p.grounds(), p.restriction_reason_token()) == (None, {}, {}, None)
    copy = replayed(p)
    assert (copy.profile, copy.contact, copy.payment_declined, copy.restricted) == (p.profile, p.contact, False, False)


def test_ready_means_both_the_undertaking_signed_and_the_training_completed() -> None:
    signed, trained = registered(), registered()
    signed.sign_confidentiality("2026-01-10", "v3", ME, DEPT)
    trained.complete_training("2026-01-12", COORDINATOR, DEPT)
    assert signed.ready is False and trained.ready is False
    assert signed.confidentiality == {"signed_on": "2026-01-10", "text_version": "v3"}
    signed.complete_training("2026-01-12", COORDINATOR, DEPT)
    assert signed.ready is True and replayed(signed).ready is True


def test_new_contact_details_and_availability_replace_the_old_ones() -> None:
    p = registered()
    p.update_contact_details("vault:new", ME, DEPT)
    windows = [{"from": "2026-03-02", "to": "2026-03-06"}, {"from": "2026-04-01", "to": "2026-04-03"}]
    p.change_availability(windows, ME, DEPT)
    assert p.personal == "vault:new" and p.windows == windows
    copy = replayed(p)
    assert (copy.personal, copy.windows) == ("vault:new", windows)


def test_the_profile_is_what_the_person_declared_and_sharing_tags_needs_matching_consent() -> None:
    p = registered()
    err = refusal(p, MatchingConsentMissing,
                  lambda: p.update_profile("vault:areas", ["homelessness"], ["sv"], None, [], ME, DEPT))
    assert err.field == "shared_tags" and "sharing tags for matching needs matching consent" in err.detail
    p.give_consent("matching", ME, DEPT)
    p.update_profile("vault:areas", ["homelessness"], ["sv", "ar"], "vault:ramp", ["unit-7"], ME, DEPT)
    declared = {"experience": "vault:areas", "shared_tags": ["homelessness"], "languages": ["sv", "ar"],
                "accessibility": "vault:ramp", "excluded_units": ["unit-7"]}
    assert p.profile == declared and replayed(p).profile == declared


def test_withdrawing_consent_in_one_department_keeps_what_other_consents_still_allow() -> None:
    p = registered()
    for department in (DEPT, OTHER):
        p.give_consent("matching", ME, department)
    p.give_consent("recruitment", ME, DEPT)
    p.update_profile("vault:areas", ["homelessness"], [], None, [], ME, DEPT)
    p.withdraw_consent("matching", ME, OTHER)  # matching consent is still given in DEPT
    assert p.profile["shared_tags"] == ["homelessness"]
    p.withdraw_consent("matching", ME, DEPT)  # the last matching consent: nothing is shared any more
    assert p.profile["shared_tags"] == []
    # The recruitment consent is still given in DEPT: the person stays in its bank (the record's departments).
    assert p.departments == [DEPT] and p.visible_departments() == {DEPT}
    p.withdraw_consent("recruitment", ME, DEPT)  # the last consent in DEPT: its coordinators no longer see them
    assert p.departments == [] and p.visible_departments() == set()
    assert replayed(p).departments == []


def test_an_accrual_an_expense_and_a_payment_record_everything_payroll_and_the_person_see() -> None:
    p = registered()
    accrued(p, "a1", amount=28600, rid="r-1")
    p.record_expense("e1", "travel", 4500, "2026-02-01", ME, DEPT)
    assert p.accruals["a1"] == {
        "activity_ref": "a1", "activity_type": "interview", "recruitment_id": "r-1", "hours": 1, "amount_ore": 28600,
        "rate_basis": "hour_ore", "accrued_on": "2026-02-01", "department": DEPT, "approved": False,
        "payroll_ref": None}
    assert p.expenses == {"e1": {"expense_ref": "e1", "kind": "travel", "amount_ore": 4500,
                                 "incurred_on": "2026-02-01", "department": DEPT}}
    p.acknowledge_payment_terms("2026-1", ME, DEPT)
    p.approve_honoraria(["a1"], "coord-2", COORDINATOR, DEPT)
    p.record_payment("pay-1", 28600, "2026-03", ["a1"], "2026-03-31", "payee-1", PAYROLL, DEPT)
    assert p.payments == {"pay-1": {"payroll_ref": "pay-1", "amount_ore": 28600, "period": "2026-03",
                                    "accrual_refs": ["a1"], "paid_on": "2026-03-31"}}
    copy = replayed(p)
    assert (copy.accruals, copy.expenses, copy.payments) == (p.accruals, p.expenses, p.payments)


def test_acknowledging_the_payment_terms_after_declining_reads_as_not_declined() -> None:
    p = registered()
    p.decline_payment(None, ME, DEPT)
    assert p.payment_declined is True
    p.acknowledge_payment_terms("2026-2", ME, DEPT)
    assert (p.terms_acknowledged, p.payment_declined) == ("2026-2", False)  # a boolean in the access report


def test_a_panel_seat_and_a_limit_override_record_what_the_access_report_shows() -> None:
    p = registered()
    p.record_panel_membership("r-1", "panel-1", "2026-02-01", COORDINATOR, DEPT)
    p.override_limit(2, "2026-12-31", "vault:why", TODAY, COORDINATOR, DEPT)
    assert p.panels == {"r-1": {"recruitment_id": "r-1", "panel_id": "panel-1", "assigned_on": "2026-02-01",
                                "department": DEPT}}
    assert p.limit_overrides == [{"department": DEPT, "extra_engagements": 2, "valid_until": "2026-12-31",
                                  "reason": "vault:why"}]
    copy = replayed(p)
    assert (copy.panels, copy.limit_overrides) == (p.panels, p.limit_overrides)


def test_a_restriction_reason_is_kept_only_while_the_restriction_holds() -> None:
    p = registered()
    p.change_restriction(True, "vault:why", COORDINATOR, DEPT)
    assert (p.restricted, p.restriction_reason_token()) == (True, "vault:why")
    p.change_restriction(False, "vault:lifted", COORDINATOR, DEPT)
    assert (p.restricted, p.restriction_reason_token()) == (False, None)
    assert replayed(p).restriction_reason_token() is None


def test_a_legal_hold_keeps_its_reason_until_it_is_released() -> None:
    p = registered()
    p.place_legal_hold("h1", "vault:r1", "records_law", COORDINATOR, DEPT)
    p.place_legal_hold("h2", "vault:r2", None, COORDINATOR, DEPT)
    assert p.legal_holds == {"h1": "vault:r1", "h2": "vault:r2"}
    p.release_legal_hold("h1", COORDINATOR, DEPT)
    assert p.legal_holds == {"h2": "vault:r2"} and replayed(p).legal_holds == {"h2": "vault:r2"}


def test_an_erased_person_keeps_no_personal_data_but_keeps_what_is_not_personal() -> None:
    p = registered()
    p.give_consent("matching", ME, DEPT)
    p.update_profile("vault:areas", ["homelessness"], ["sv"], "vault:ramp", ["unit-7"], ME, DEPT)
    p.change_contact_status("do_not_contact", None, "vault:why", TODAY, COORDINATOR, DEPT)
    p.forget("GDPR Art. 17", ["personal", "profile"], ["honoraria"], COORDINATOR, DEPT)
    assert p.forgotten and not p.personal
    assert p.profile == {"experience": None, "shared_tags": [], "languages": ["sv"], "accessibility": None,
                         "excluded_units": ["unit-7"]}
    assert p.contact == {"status": "do_not_contact", "until": None, "reason": None}
    copy = replayed(p)
    assert (copy.profile, copy.contact) == (p.profile, p.contact) and not copy.personal


# -- departments, the vocabulary, the read log --------------------------------------------------
def test_a_new_department_is_active_with_the_default_settings_and_rates() -> None:
    dept = Department(id=department_id("vard"), code="vard", name="Vård", actor=COORDINATOR, department=None)
    assert (dept.id, dept.code, dept.name, dept.active) == (department_id("vard"), "vard", "Vård", True)
    assert dept.settings == DEFAULT_SETTINGS and dept.rate_history == [DEFAULT_SETTINGS["rates"]]
    assert dept.retention_months == DEFAULT_SETTINGS["retention"]["inactive_profile_months"]
    assert replayed(dept).settings == DEFAULT_SETTINGS


def test_changed_settings_hold_as_given_and_a_rate_table_for_an_earlier_day_does_not_displace_a_later_one() -> None:
    dept = Department(id=department_id("vard"), code="vard", name="Vård", actor=COORDINATOR, department=None)
    limit, retention = {"max_engagements": 6, "period_days": 180}, {"inactive_profile_months": 36}
    new = {**DEFAULT_SETTINGS["rates"], "hour_ore": 30000, "valid_from": "2026-01-01"}
    dept.change_settings("vard", limit, new, retention, 250000, COORDINATOR, "vard")
    assert dept.settings == {"participation_limit": limit, "rates": new, "retention": retention,
                             "budget_ore_per_month": 250000}
    assert dept.retention_months == 36
    between = {**new, "hour_ore": 29000, "valid_from": "2025-01-01"}  # recorded later, holds from earlier
    dept.change_settings("vard", limit, between, retention, 250000, COORDINATOR, "vard")
    assert [r["valid_from"] for r in dept.rate_history] == ["2024-01-01", "2025-01-01", "2026-01-01"]
    assert dept.rates_on("2026-06-01")["hour_ore"] == 30000 and dept.rates_on("2025-06-01")["hour_ore"] == 29000
    assert replayed(dept).rate_history == dept.rate_history


def test_the_experience_vocabulary_holds_the_areas_administrators_set() -> None:
    vocabulary = ExperienceVocabulary(id=VOCABULARY_ID, areas=list(DEFAULT_EXPERIENCE_AREAS), actor=COORDINATOR,
                                      department=None)
    assert (vocabulary.id, vocabulary.areas) == (VOCABULARY_ID, list(DEFAULT_EXPERIENCE_AREAS))
    vocabulary.change(["homelessness", "gambling"], COORDINATOR, None)
    assert vocabulary.areas == ["homelessness", "gambling"]
    assert replayed(vocabulary).areas == ["homelessness", "gambling"]


def test_a_read_of_personal_data_records_whose_data_why_and_which_categories() -> None:
    read_id = uuid4()
    read = DataAccess(id=read_id, subject_id="p-1", purpose="panel_assignment", categories=["name", "email"],
                      actor=COORDINATOR, department=DEPT)
    assert (read.id, read.subject_id, read.purpose, read.categories) == (
        read_id, "p-1", "panel_assignment", ["name", "email"])
    assert replayed(read).categories == ["name", "email"]
