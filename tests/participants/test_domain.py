"""The Participant aggregate's rules, in process (no servers, no store): construct it, call
commands, assert its state and the commands it refuses, as the eventsourcing examples test an
aggregate. A refused command records no event; a recorded one replays to the same state."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.participants.domain import (
    AccrualAlreadyApproved,
    AccrualAlreadyPaid,
    AccrualNotApproved,
    CooldownNotInFuture,
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
)
from shared.errors import Conflict, Forbidden, InvalidInput
from tests.aggregates import refused, replayed

COORDINATOR = {"id": "coord-1", "role": "coordinator"}
ME = {"id": "me", "role": "participant"}
DEPT = "socialtjansten"
LIMIT = {"max_engagements": 2, "period_days": 365}


def registered() -> Participant:
    return Participant(id=uuid4(), personal="vault:token", preferred_language="sv", departments=[DEPT],
                       actor=COORDINATOR, department=DEPT)


def with_accruals(*refs: str, amount: int = 28600) -> Participant:
    p = registered()
    for ref in refs:
        p.accrue_honorarium(activity_ref=ref, activity_type="interview", recruitment_id=f"r-{ref}", hours=1,
                            amount_ore=amount, rate_basis="hour_ore", accrued_on="2026-03-01",
                            actor=COORDINATOR, department=DEPT)
    return p


# -- honoraria: approve and pay enforce their own invariants -----------------------------------
def test_approval_needs_the_terms_acknowledged() -> None:
    p = with_accruals("a1")
    err = refused(p, PaymentTermsNotAcknowledged,
                  lambda: p.approve_honoraria(["a1"], "coord-1", COORDINATOR, DEPT))
    assert isinstance(err, Conflict) and err.field == "accrual_refs"
    assert p.accruals["a1"]["approved"] is False


def test_approval_is_refused_when_payment_is_declined() -> None:
    p = with_accruals("a1")
    p.acknowledge_payment_terms("2026-1", ME, DEPT)
    p.decline_payment(None, ME, DEPT)
    refused(p, PaymentDeclined, lambda: p.approve_honoraria(["a1"], "coord-1", COORDINATOR, DEPT))
    p.acknowledge_payment_terms("2026-1", ME, DEPT)  # accepting again makes it approvable
    p.approve_honoraria(["a1"], "coord-1", COORDINATOR, DEPT)
    assert p.accruals["a1"]["approved"] is True


def test_approval_refuses_unknown_and_already_approved_accruals() -> None:
    p = with_accruals("a1", "a2")
    p.acknowledge_payment_terms("2026-1", ME, DEPT)
    err = refused(p, NoSuchAccrual, lambda: p.approve_honoraria(["a1", "nope"], "c", COORDINATOR, DEPT))
    assert isinstance(err, InvalidInput)
    assert p.accruals["a1"]["approved"] is False  # nothing half-applied
    p.approve_honoraria(["a1"], "coord-1", COORDINATOR, DEPT)
    refused(p, AccrualAlreadyApproved, lambda: p.approve_honoraria(["a1", "a2"], "c", COORDINATOR, DEPT))
    assert p.accruals["a2"]["approved"] is False


def test_payment_pays_approved_accruals_once_for_their_sum() -> None:
    p = with_accruals("a1", "a2", "a3", amount=1000)
    p.acknowledge_payment_terms("2026-1", ME, DEPT)
    p.approve_honoraria(["a1", "a2"], "coord-1", COORDINATOR, DEPT)
    refused(p, AccrualNotApproved, lambda: p.record_payment("pay-1", 3000, "2026-03", ["a1", "a2", "a3"],
                                                            "2026-03-31", "payee-1", COORDINATOR, DEPT))
    refused(p, PaymentAmountWrong, lambda: p.record_payment("pay-1", 2500, "2026-03", ["a1", "a2"],
                                                            "2026-03-31", "payee-1", COORDINATOR, DEPT))
    assert p.payable_amount(["a1", "a2"]) == 2000
    p.record_payment("pay-1", 2000, "2026-03", ["a1", "a2"], "2026-03-31", "payee-1", COORDINATOR, DEPT)
    assert p.accruals["a1"]["payroll_ref"] == "pay-1" and p.payments["pay-1"]["amount_ore"] == 2000
    refused(p, AccrualAlreadyPaid, lambda: p.record_payment("pay-2", 1000, "2026-04", ["a1"], "2026-04-30",
                                                            "payee-1", COORDINATOR, DEPT))
    refused(p, NoSuchAccrual, lambda: p.record_payment("pay-3", 0, "2026-04", ["zz"], "2026-04-30",
                                                       "payee-1", COORDINATOR, DEPT))
    copy = replayed(p)  # the checks in the bodies pass again on replay
    assert copy.accruals == p.accruals and copy.payments == p.payments


def test_an_erased_participant_is_not_paid() -> None:
    p = with_accruals("a1", amount=500)
    p.acknowledge_payment_terms("2026-1", ME, DEPT)
    p.approve_honoraria(["a1"], "coord-1", COORDINATOR, DEPT)
    p.forget("GDPR Art. 17", ["personal"], ["honoraria"], COORDINATOR, DEPT)
    refused(p, ParticipantErased, lambda: p.record_payment("pay-1", 500, "2026-03", ["a1"], "2026-03-31",
                                                           "payee-1", COORDINATOR, DEPT))


# -- profile ---------------------------------------------------------------------------------
def test_profile_areas_come_from_the_vocabulary_and_only_declared_ones_are_shared() -> None:
    vocabulary = {"homelessness", "mental_ill_health"}
    declared = Participant.declared_profile(
        {"experience_areas": ["homelessness", "homelessness"], "shared_tags": ["homelessness"],
         "languages": ["sv", "ar", "sv"], "accessibility": "", "excluded_units": []}, vocabulary)
    assert declared == {"experience_areas": ["homelessness"], "shared_tags": ["homelessness"],
                        "languages": ["ar", "sv"], "accessibility": None, "excluded_units": []}
    with pytest.raises(NotInVocabulary) as caught:
        Participant.declared_profile({**declared, "experience_areas": ["astrology"], "shared_tags": []}, vocabulary)
    assert caught.value.field == "experience_areas"
    with pytest.raises(InvalidInput) as shared:
        Participant.declared_profile({**declared, "shared_tags": ["mental_ill_health"]}, vocabulary)
    assert shared.value.field == "shared_tags"


def profile(p: Participant, shared: list[str]) -> None:
    p.update_profile(experience="vault:areas", shared_tags=shared, languages=["sv"], accessibility=None,
                     excluded_units=[], actor=ME, department=DEPT)


def test_sharing_tags_needs_matching_consent_and_restriction_stops_changes() -> None:
    p = registered()
    refused(p, MatchingConsentMissing, lambda: profile(p, ["homelessness"]))
    profile(p, [])  # not sharing needs no consent
    p.give_consent("matching", ME, DEPT)
    profile(p, ["homelessness"])
    assert p.profile["shared_tags"] == ["homelessness"]
    p.withdraw_consent("matching", ME, DEPT)
    assert p.profile["shared_tags"] == []  # withdrawing matching consent unshares
    p.change_restriction(True, None, COORDINATOR, DEPT)
    refused(p, ProcessingRestricted, lambda: profile(p, []))


# -- eligibility -----------------------------------------------------------------------------
def ready(p: Participant) -> Participant:
    for purpose in ("recruitment", "matching"):
        p.give_consent(purpose, ME, DEPT)
    p.sign_confidentiality("2026-01-10", "v1", ME, DEPT)
    p.complete_training("2026-01-12", COORDINATOR, DEPT)
    return p


def test_eligibility_names_every_reason() -> None:
    answer = registered().eligibility(DEPT, "2026-03-01", LIMIT)
    assert answer["assignable"] is False
    assert answer["reasons"] == ["no_recruitment_consent", "no_matching_consent",
                                 "confidentiality_undertaking_missing", "introduction_training_missing"]
    assert ready(registered()).eligibility(DEPT, "2026-03-01", LIMIT)["assignable"] is True


def test_a_cooldown_holds_through_its_last_day() -> None:
    p = ready(registered())
    p.change_contact_status("cooldown", "2026-03-10", None, "2026-03-01", COORDINATOR, DEPT)
    assert p.eligibility(DEPT, "2026-03-10", LIMIT)["reasons"] == ["contact_status_cooldown"]
    assert p.eligibility(DEPT, "2026-03-11", LIMIT)["assignable"] is True
    assert replayed(p).contact == p.contact


def test_a_cooldown_must_end_after_the_day_it_is_set() -> None:
    p = ready(registered())
    for last_day in ("2026-03-01", "2026-02-28"):  # ending the day it is set, or before: refused
        refused(p, CooldownNotInFuture,
                lambda last_day=last_day: p.change_contact_status("cooldown", last_day, None, "2026-03-01",
                                                                  COORDINATOR, DEPT))
    p.change_contact_status("cooldown", "2026-03-02", None, "2026-03-01", COORDINATOR, DEPT)
    assert p.contact["until"] == "2026-03-02"
    # Replayed on any later day, the recorded day is what the rule is checked against.
    assert replayed(p).contact == {"status": "cooldown", "until": "2026-03-02", "reason": None}


def test_only_a_coordinator_sets_a_cooldown_and_a_pause_keeps_no_end_date() -> None:
    p = ready(registered())
    refused(p, Forbidden, lambda: p.change_contact_status("cooldown", "2026-04-01", None, "2026-03-01", ME, DEPT))
    p.change_contact_status("paused", "2026-04-01", None, "2026-03-01", ME, DEPT)
    assert p.contact == {"status": "paused", "until": None, "reason": None}


def test_the_participation_limit_counts_recruitments_and_overrides_add_to_it() -> None:
    p = ready(registered())
    for rid in ("r1", "r2"):
        p.record_panel_membership(rid, f"panel-{rid}", "2026-02-01", COORDINATOR, DEPT)
    answer = p.eligibility(DEPT, "2026-03-01", LIMIT)
    assert answer["reasons"] == ["participation_limit_reached"] and answer["engagements"] == 2
    p.override_limit(1, "2026-12-31", "vault:reason", "2026-03-01", COORDINATOR, DEPT)
    assert p.eligibility(DEPT, "2026-03-01", LIMIT)["allowed_engagements"] == 3
    assert p.eligibility(DEPT, "2027-01-01", LIMIT)["allowed_engagements"] == 2  # the override ended


def test_an_override_may_end_on_the_day_it_is_granted_but_not_before() -> None:
    p = ready(registered())
    refused(p, OverrideInPast, lambda: p.override_limit(1, "2026-02-28", "vault:reason", "2026-03-01",
                                                         COORDINATOR, DEPT))
    p.override_limit(1, "2026-03-01", "vault:reason", "2026-03-01", COORDINATOR, DEPT)
    assert p.eligibility(DEPT, "2026-03-01", LIMIT)["allowed_engagements"] == 3
    assert replayed(p).limit_overrides == p.limit_overrides  # replay checks it again with the same day
