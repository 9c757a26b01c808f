"""The rules of the brukarbank over real HTTP: bad input, unknown ids, idempotency, concurrent
edits, access scoping, consent withdrawal, cooldowns, participation limits, payment, rights."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest

from infra.cli import main as delaktig
from services.participants.application import today
from shared.config import Settings
from shared.kafka import read_all
from tests.conftest import bearer
from tests.participants.support import DEP, OTHER_DEP, PERSON, build, catch_up_bank, make_ready, register

PROFILE = {"experience_areas": ["homelessness"], "shared_tags": [], "languages": ["sv"], "excluded_units": []}


@pytest.fixture
def running(sqlite_settings: Settings, serve, token, http):
    """A service over HTTP with one registered participant; yields (url, service, pid, coordinator, me)."""
    service = build(sqlite_settings)
    url = serve(service.http())
    coordinator = token()
    pid = register(http, url, coordinator)
    me = token(role="participant", departments=(), sub=pid)
    yield url, service, pid, coordinator, me
    service.close()


def day(offset: int) -> str:
    return (date.fromisoformat(today()) + timedelta(days=offset)).isoformat()


def test_bad_input_is_refused_with_the_field(running, http) -> None:
    url, _, pid, coordinator, me = running
    r = http.post(f"{url}/participants", json={"departments": [DEP]}, headers=bearer(coordinator))
    assert r.status_code == 422 and r.json()["field"] == "name"
    r = http.post(f"{url}/participants", json={**PERSON, "shoe_size": 42}, headers=bearer(coordinator))
    assert r.status_code == 422 and r.json()["field"] == "shoe_size"
    r = http.put(f"{url}/participants/{pid}/profile", json={**PROFILE, "experience_areas": ["astrology"]},
                 headers=bearer(me))
    assert r.status_code == 422 and r.json()["field"] == "experience_areas"
    r = http.post(f"{url}/participants/{pid}/consents", json={"purpose": "marketing", "department": DEP},
                  headers=bearer(me))
    assert r.status_code == 422 and r.json()["field"] == "purpose"
    r = http.put(f"{url}/participants/{pid}/availability", headers=bearer(me),
                 json={"windows": [{"start": "2026-12-10", "end": "2026-12-01"}]})
    assert r.status_code == 422 and r.json()["field"] == "windows.0.end"
    # Shared tags need matching consent, and must be declared areas.
    r = http.put(f"{url}/participants/{pid}/profile", json={**PROFILE, "shared_tags": ["homelessness"]},
                 headers=bearer(me))
    assert r.status_code == 409 and r.json()["field"] == "shared_tags"


def test_unknown_ids_and_other_peoples_records_are_not_found(running, http, token) -> None:
    url, _, pid, coordinator, me = running
    nobody = uuid.uuid4()
    assert http.get(f"{url}/participants/{nobody}", headers=bearer(coordinator)).status_code == 404
    r = http.post(f"{url}/participants/{nobody}/consents", json={"purpose": "contact", "department": DEP},
                  headers=bearer(coordinator))
    assert r.status_code == 404
    someone_else = token(role="participant", departments=(), sub=str(uuid.uuid4()))
    assert http.get(f"{url}/participants/{pid}", headers=bearer(someone_else)).status_code == 404
    assert http.get(f"{url}/participants/{pid}/honoraria", params={"year": 2026},
                    headers=bearer(someone_else)).status_code == 404
    other_coordinator = token(departments=(OTHER_DEP,))
    assert http.get(f"{url}/participants/{pid}", headers=bearer(other_coordinator)).status_code == 404
    assert http.get(f"{url}/participants", params={"department": DEP},
                    headers=bearer(other_coordinator)).status_code == 403
    # Consent to another department makes the person visible to that department's coordinators.
    r = http.post(f"{url}/participants/{pid}/consents", json={"purpose": "recruitment", "department": OTHER_DEP},
                  headers=bearer(me))
    assert r.status_code == 200
    assert http.get(f"{url}/participants/{pid}", headers=bearer(other_coordinator)).status_code == 200
    r = http.post(f"{url}/participants/{pid}/consents/withdrawal",
                  json={"purpose": "recruitment", "department": OTHER_DEP}, headers=bearer(me))
    assert r.status_code == 200
    assert http.get(f"{url}/participants/{pid}", headers=bearer(other_coordinator)).status_code == 404
    assert http.get(f"{url}/participants/{pid}", headers=bearer(me)).json()["email"] == PERSON["email"]
    assert http.get(f"{url}/participants/{pid}/honoraria", params={"year": 2026},
                    headers=bearer(token(role="researcher"))).status_code == 403


def test_idempotency_key_replays_the_first_response(sqlite_settings: Settings, serve, token, http) -> None:
    service = build(sqlite_settings)
    url = serve(service.http())
    coordinator = token()
    headers = {**bearer(coordinator), "Idempotency-Key": "k-1"}
    first = http.post(f"{url}/participants", json=PERSON, headers=headers)
    second = http.post(f"{url}/participants", json=PERSON, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and second.headers["Idempotent-Replayed"] == "true"
    other = http.post(f"{url}/participants", json={**PERSON, "name": "Someone Else"}, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    service.relay().drain()
    registered = [json.loads(r.value) for r in read_all(sqlite_settings, sqlite_settings.topic("participants.events"))]
    assert sum(1 for e in registered if e["event_type"] == "UserRegistered") == 1
    service.close()


def test_concurrent_edits_with_the_same_version_conflict(running, http) -> None:
    url, _, pid, _, me = running
    version = http.get(f"{url}/participants/{pid}", headers=bearer(me)).json()["version"]
    first = http.put(f"{url}/participants/{pid}/profile", json=PROFILE,
                     headers={**bearer(me), "If-Match": str(version)})
    second = http.put(f"{url}/participants/{pid}/profile", json={**PROFILE, "languages": ["fi"]},
                      headers={**bearer(me), "If-Match": str(version)})
    assert first.status_code == 200 and first.json()["version"] == version + 1
    assert second.status_code == 409 and second.json()["title"] == "Concurrent modification"
    stale = http.put(f"{url}/participants/{pid}/contact-details",
                     json={"email": "ny@example.se", "expected_version": version}, headers=bearer(me))
    assert stale.status_code == 409
    fresh = http.put(f"{url}/participants/{pid}/contact-details",
                     json={"email": "ny@example.se", "expected_version": version + 1}, headers=bearer(me))
    assert fresh.status_code == 200
    record = http.get(f"{url}/participants/{pid}", headers=bearer(me)).json()
    assert record["email"] == "ny@example.se" and record["name"] == PERSON["name"] and record["languages"] == ["sv"]


def test_withdrawn_consent_takes_effect_at_once(running, http) -> None:
    url, _, pid, coordinator, me = running
    make_ready(http, url, coordinator, me, pid)
    r = http.put(f"{url}/participants/{pid}/profile", json={**PROFILE, "shared_tags": ["homelessness"]},
                 headers=bearer(me))
    assert r.status_code == 200
    eligible = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP}, headers=bearer(me))
    assert eligible.json()["assignable"] is True
    r = http.post(f"{url}/participants/{pid}/consents/withdrawal", json={"purpose": "matching", "department": DEP},
                  headers=bearer(me))
    assert r.status_code == 200
    after = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP}, headers=bearer(me)).json()
    assert after["assignable"] is False and after["reasons"] == ["no_matching_consent"]
    record = http.get(f"{url}/participants/{pid}", headers=bearer(coordinator)).json()
    assert record["shared_tags"] == [] and "matching:" + DEP not in record["consents"]
    again = http.post(f"{url}/participants/{pid}/consents/withdrawal",
                      json={"purpose": "matching", "department": DEP}, headers=bearer(me))
    assert again.status_code == 409


def test_cooldown_expires_and_statuses_have_owners(running, http) -> None:
    url, _, pid, coordinator, me = running
    make_ready(http, url, coordinator, me, pid)
    past = http.put(f"{url}/participants/{pid}/contact-status", json={"status": "cooldown", "until": day(-1)},
                    headers=bearer(coordinator))
    assert past.status_code == 422 and past.json()["field"] == "until"
    by_self = http.put(f"{url}/participants/{pid}/contact-status", json={"status": "cooldown", "until": day(5)},
                       headers=bearer(me))
    assert by_self.status_code == 403
    r = http.put(f"{url}/participants/{pid}/contact-status", json={"status": "cooldown", "until": day(5)},
                 headers=bearer(coordinator))
    assert r.status_code == 200
    now = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP},
                   headers=bearer(coordinator)).json()
    assert now["contact_status"] == "cooldown" and "contact_status_cooldown" in now["reasons"]
    # The contract: ``until`` is the cooldown's last day. On that day the person is not asked.
    last_day = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP, "on": day(5)},
                        headers=bearer(coordinator)).json()
    assert last_day["contact_status"] == "cooldown" and last_day["assignable"] is False
    later = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP, "on": day(6)},
                     headers=bearer(coordinator)).json()
    assert later["contact_status"] == "available" and later["assignable"] is True
    no_reason = http.put(f"{url}/participants/{pid}/contact-status", json={"status": "do_not_contact"},
                         headers=bearer(coordinator))
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert http.put(f"{url}/participants/{pid}/contact-status", json={"status": "paused"},
                    headers=bearer(me)).status_code == 200


def test_participation_limit_and_override_with_reason(running, http, token) -> None:
    url, service, pid, coordinator, me = running
    make_ready(http, url, coordinator, me, pid)
    admin = token(role="administrator", departments=())
    settings = {"participation_limit": {"max_engagements": 1, "period_days": 90},
                "rates": {"hour_ore": 30000, "half_day_ore": 110000, "full_day_ore": 220000,
                          "valid_from": day(30)},
                "retention": {"inactive_profile_months": 24}, "budget_ore_per_month": 1000000}
    r = http.put(f"{url}/departments/{DEP}/settings", json=settings, headers=bearer(admin))
    assert r.status_code == 200 and len(r.json()["rate_history"]) == 2
    assert service.app.accrue_from_activity(pid, "assessment", str(uuid.uuid4()), DEP, today(),
                                            {"id": "t", "role": "system"})
    # Accrued before the new rates' valid_from: the old hourly rate, two hours.
    accrual = http.get(f"{url}/participants/{pid}/honoraria", params={"year": int(today()[:4])},
                       headers=bearer(me)).json()["accruals"][0]
    assert accrual["amount_ore"] == 2 * 28600
    limited = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP}, headers=bearer(me)).json()
    assert limited["reasons"] == ["participation_limit_reached"]
    override = {"department": DEP, "extra_engagements": 1, "valid_until": day(30)}
    missing = http.post(f"{url}/participants/{pid}/limit-overrides", json=override, headers=bearer(coordinator))
    assert missing.status_code == 422 and missing.json()["field"] == "reason"
    blank = http.post(f"{url}/participants/{pid}/limit-overrides", json={**override, "reason": "   "},
                      headers=bearer(coordinator))
    assert blank.status_code == 422 and blank.json()["field"] == "reason"
    by_self = http.post(f"{url}/participants/{pid}/limit-overrides", json={**override, "reason": "I want to"},
                        headers=bearer(me))
    assert by_self.status_code == 403
    ok = http.post(f"{url}/participants/{pid}/limit-overrides",
                   json={**override, "reason": "only Arabic speaker with this experience"}, headers=bearer(coordinator))
    assert ok.status_code == 201, ok.text
    allowed = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP}, headers=bearer(me)).json()
    assert allowed["assignable"] is True and allowed["allowed_engagements"] == 2


def test_declined_payment_is_not_approved_and_expenses_are_not_income(running, http) -> None:
    url, service, pid, coordinator, me = running
    service.app.accrue_from_activity(pid, "interview", str(uuid.uuid4()), DEP, today(), {"id": "t", "role": "system"})
    year = int(today()[:4])
    ref = http.get(f"{url}/participants/{pid}/honoraria", params={"year": year},
                   headers=bearer(me)).json()["accruals"][0]["activity_ref"]
    r = http.post(f"{url}/participants/{pid}/payment-terms/answer", json={"text_version": "2026-1", "accept": False},
                  headers=bearer(me))
    assert r.status_code == 200
    refused = http.post(f"{url}/participants/{pid}/honoraria/approval", json={"accrual_refs": [ref]},
                        headers=bearer(coordinator))
    assert refused.status_code == 409 and "declined" in refused.json()["detail"]
    expense = {"expense_ref": "trip-1", "kind": "travel", "amount_ore": 5600, "incurred_on": today()}
    for _ in range(2):
        assert http.post(f"{url}/participants/{pid}/expenses", json=expense, headers=bearer(coordinator)).ok
    totals = http.get(f"{url}/participants/{pid}/honoraria", params={"year": year}, headers=bearer(me)).json()
    assert totals["totals"]["expenses_ore"] == 5600 and totals["totals"]["paid_ore"] == 0
    assert totals["flags"] == {"employer_contributions_due": False, "no_withholding": True}


def test_access_request_restriction_and_rectification(running, http) -> None:
    url, service, pid, coordinator, me = running
    http.get(f"{url}/participants/{pid}", params={"purpose": "planning panel"}, headers=bearer(coordinator))
    catch_up_bank(service)  # the access log is a read model of participants.events
    report = http.get(f"{url}/participants/{pid}/data-export", headers=bearer(me)).json()
    assert report["subject"]["email"] == PERSON["email"]
    assert {p["purpose"] for p in report["purposes"]} == {"recruitment", "matching", "research", "contact"}
    assert report["recipients"] and report["retention"]["inactive_profile_months"] == 24
    assert [e["purpose"] for e in report["read_log"]][:1] == ["planning panel"]
    assert report["read_log"][0]["by"]["role"] == "coordinator"
    # This request's own read ends the log, before the read model has seen it.
    assert report["read_log"][-1]["purpose"] == "data subject access request (Art. 15)"
    page = http.get(f"{url}/participants/{pid}/data-export", params={"format": "html"}, headers=bearer(me))
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Eriksdotter-Lund" in page.text and "planning panel" in page.text
    assert http.put(f"{url}/participants/{pid}/restriction", json={"restricted": True}, headers=bearer(me)).ok
    paused = http.put(f"{url}/participants/{pid}/profile", json=PROFILE, headers=bearer(me))
    assert paused.status_code == 409 and paused.json()["field"] == "restricted"
    assert http.put(f"{url}/participants/{pid}/restriction", json={"restricted": False}, headers=bearer(me)).ok
    assert http.put(f"{url}/participants/{pid}/profile", json=PROFILE, headers=bearer(me)).ok


def test_retention_job_erases_inactive_profiles(sqlite_settings: Settings, serve, token, http, monkeypatch,
                                                capsys) -> None:
    service = build(sqlite_settings)
    url = serve(service.http())
    pid = register(http, url, token())
    catch_up_bank(service)
    assert service.run_retention(date.fromisoformat(today())) == []
    service.close()
    monkeypatch.setenv("DATA_DIR", str(sqlite_settings.data_dir))
    monkeypatch.setenv("TOPIC_PREFIX", sqlite_settings.topic_prefix)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", sqlite_settings.kafka_bootstrap)  # the bank's read model
    in_25_months = (date.fromisoformat(today()) + timedelta(days=25 * 31)).isoformat()
    assert delaktig(["retention", "run", "--on", today()]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 0
    assert delaktig(["retention", "run", "--on", in_25_months]) == 0
    assert json.loads(capsys.readouterr().out)["erased"] == [pid]
    assert delaktig(["retention", "run", "--on", in_25_months]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 0
    service = build(sqlite_settings)
    participant = service.app.participant(uuid.UUID(pid))
    assert participant.forgotten and service.vault.is_destroyed(pid)
    service.close()


def test_administrators_manage_vocabulary_and_department_settings(running, http, token) -> None:
    url, _, pid, coordinator, me = running
    admin = token(role="administrator", departments=())
    areas = http.get(f"{url}/vocabulary/experience-areas", headers=bearer(me)).json()["areas"]
    assert len(areas) == 9 and "economic_assistance" in areas
    assert http.put(f"{url}/vocabulary/experience-areas", json={"areas": [*areas, "elderly_care"]},
                    headers=bearer(coordinator)).status_code == 403
    r = http.put(f"{url}/vocabulary/experience-areas", json={"areas": [*areas, "elderly_care"]},
                 headers=bearer(admin))
    assert r.status_code == 200 and "elderly_care" in r.json()["areas"]
    assert http.put(f"{url}/participants/{pid}/profile", json={**PROFILE, "experience_areas": ["elderly_care"]},
                    headers=bearer(me)).status_code == 200
    bad = {"participation_limit": {"max_engagements": 0, "period_days": 90},
           "rates": {"hour_ore": 1.5, "half_day_ore": 1, "full_day_ore": 1, "valid_from": "2026-01-01"},
           "retention": {"inactive_profile_months": 24}, "budget_ore_per_month": 1}
    r = http.put(f"{url}/departments/{DEP}/settings", json=bad, headers=bearer(admin))
    assert r.status_code == 422
    assert {p["name"] for p in r.json()["invalid_params"]} >= {"participation_limit.max_engagements",
                                                               "rates.hour_ore"}
    assert http.put(f"{url}/departments/nowhere/settings", json=bad, headers=bearer(coordinator)).status_code == 403
    current = http.get(f"{url}/departments/{DEP}/settings", headers=bearer(coordinator)).json()
    assert current["rates"]["half_day_ore"] == 103100 and current["participation_limit"]["max_engagements"] == 4


def test_the_record_shows_legal_holds_to_lift_and_only_the_callers_overrides(running, http, token) -> None:
    """A coordinator sees each legal hold with the id to lift it by, and the limit overrides of
    their own departments; a coordinator of the person's other bank sees only theirs."""
    url, _service, pid, coordinator, me = running
    other = token(departments=(OTHER_DEP,))
    assert http.post(f"{url}/participants/{pid}/consents", json={"purpose": "recruitment", "department": OTHER_DEP},
                     headers=bearer(me)).ok
    hold = http.post(f"{url}/participants/{pid}/legal-holds", json={"reason": "Pågående tvist, dnr 2026-114",
                                                                    "ground": "legal_claim"},
                     headers=bearer(coordinator)).json()["hold_id"]
    # A ground outside the vocabulary is refused, naming the field.
    refused = http.post(f"{url}/participants/{pid}/legal-holds", json={"reason": "Något annat", "ground": "a hunch"},
                        headers=bearer(coordinator))
    assert refused.status_code == 422 and refused.json()["field"] == "ground", refused.text
    for tok, dep, why in ((coordinator, DEP, "only Arabic speaker"), (other, OTHER_DEP, "long wait in amf")):
        r = http.post(f"{url}/participants/{pid}/limit-overrides", headers=bearer(tok),
                      json={"department": dep, "extra_engagements": 1, "valid_until": day(30), "reason": why})
        assert r.status_code == 201, r.text
    record = http.get(f"{url}/participants/{pid}", headers=bearer(coordinator)).json()
    assert record["legal_holds"] == [{"hold_id": hold, "reason": "Pågående tvist, dnr 2026-114",
                                      "ground": "legal_claim"}]
    assert [(o["department"], o["reason"]) for o in record["limit_overrides"]] == [(DEP, "only Arabic speaker")]
    theirs = http.get(f"{url}/participants/{pid}", headers=bearer(other)).json()
    assert [o["reason"] for o in theirs["limit_overrides"]] == ["long wait in amf"]
    mine = http.get(f"{url}/participants/{pid}", headers=bearer(me)).json()
    assert sorted(o["reason"] for o in mine["limit_overrides"]) == ["long wait in amf", "only Arabic speaker"]
    assert http.delete(f"{url}/participants/{pid}/legal-holds/{hold}", headers=bearer(coordinator)).ok
    assert http.get(f"{url}/participants/{pid}", headers=bearer(coordinator)).json()["legal_holds"] == []


def test_the_record_carries_the_contact_log_with_who_set_what_and_why(running, http, token) -> None:
    url, _service, pid, coordinator, me = running
    assert http.put(f"{url}/participants/{pid}/contact-status", json={"status": "paused"}, headers=bearer(me)).ok
    r = http.put(f"{url}/participants/{pid}/contact-status", headers=bearer(coordinator),
                 json={"status": "do_not_contact", "reason": "Bad själv om det i telefon"})
    assert r.status_code == 200, r.text
    log = http.get(f"{url}/participants/{pid}", headers=bearer(coordinator)).json()["contact_log"]
    assert [(e["status"], e["by_role"], e["reason"]) for e in log] == [
        ("paused", "participant", None), ("do_not_contact", "coordinator", "Bad själv om det i telefon")]
    assert log[0]["at"] <= log[1]["at"] and log[1]["department"] == DEP
    elsewhere = token(departments=(OTHER_DEP,))  # not in that bank: no record at all
    assert http.get(f"{url}/participants/{pid}", headers=bearer(elsewhere)).status_code == 404
