"""The brukarbank list (``GET /participants``) over real HTTP on both backends: cursor pages that
neither repeat nor miss anyone while people are registered, the limits, the filters, the date a
person last took part and their honoraria this year."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from typing import Any

import pytest

from services.participants.application import PAYMENT_TERMS_VERSION, today
from shared.auth import Principal
from shared.config import Settings
from shared.pagination import encode_cursor
from tests.conftest import bearer
from tests.participants.support import DEP, OTHER_DEP, build, catch_up_bank

COORDINATOR = Principal("coord-1", frozenset({"coordinator"}), frozenset({DEP, OTHER_DEP}))
SYSTEM = {"id": "test", "role": "system"}


def person(service: Any, departments: list[str] | None = None) -> str:
    """Register someone through the application; return the id."""
    return str(service.app.register_participant(COORDINATOR, name="Test Person", email=None, phone=None,
                                                preferred_language="sv", departments=departments or [DEP]))


def listed(http: Any, url: str, tok: str, **params: Any) -> dict[str, Any]:
    r = http.get(f"{url}/participants", params={"department": DEP, **params}, headers=bearer(tok))
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


def ids(http: Any, url: str, tok: str, **params: Any) -> set[str]:
    return {p["id"] for p in listed(http, url, tok, limit=200, **params)["items"]}


@pytest.fixture
def bank(settings: Settings, serve, token):
    service = build(settings)
    url = serve(service.http())
    yield service, url, token(departments=(DEP, OTHER_DEP))
    service.close()


def test_walking_the_pages_while_people_register_serves_nobody_twice_and_misses_nobody(bank, http) -> None:
    service, url, coordinator = bank
    present = {person(service) for _ in range(9)}
    catch_up_bank(service)
    stop = threading.Event()
    newcomers: set[str] = set()

    def register_meanwhile() -> None:
        while not stop.is_set() and len(newcomers) < 12:
            newcomers.add(person(service))
            catch_up_bank(service)

    writer = threading.Thread(target=register_meanwhile, daemon=True)
    writer.start()
    served: list[str] = []
    cursor = None
    try:
        while True:
            page = listed(http, url, coordinator, limit=2, **({"cursor": cursor} if cursor else {}))
            assert len(page["items"]) <= 2
            served += [p["id"] for p in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            time.sleep(0.05)  # give the writer a chance between pages
    finally:
        stop.set()
        writer.join(timeout=60)
    assert newcomers, "nobody was registered during the walk"
    assert len(served) == len(set(served)), "someone was served twice"
    assert present <= set(served), "someone present at the start was missed"
    assert served == sorted(served)  # one stable order: by id
    assert set(served) <= present | newcomers


def test_limits_and_cursors_are_checked(bank, http) -> None:
    service, url, coordinator = bank
    for _ in range(3):
        person(service)
    catch_up_bank(service)
    assert len(listed(http, url, coordinator)["items"]) == 3  # default 50: one page
    first = listed(http, url, coordinator, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = listed(http, url, coordinator, limit=2, cursor=first["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    for limit in (0, 201, "many"):
        r = http.get(f"{url}/participants", params={"department": DEP, "limit": limit}, headers=bearer(coordinator))
        assert r.status_code == 422 and r.json()["field"] == "query.limit", r.text  # the query parameter limit
    for cursor in ("not a cursor!", encode_cursor(["a", "b"]), encode_cursor([7])):
        r = http.get(f"{url}/participants", params={"department": DEP, "cursor": cursor}, headers=bearer(coordinator))
        assert r.status_code == 422 and r.json()["field"] == "query.cursor", r.text
    r = http.get(f"{url}/participants", params={"department": DEP, "contact_status": "asleep"},
                 headers=bearer(coordinator))
    assert r.status_code == 422 and r.json()["field"] == "query.contact_status"
    r = http.get(f"{url}/participants", params={"department": DEP, "consent": "marketing"},
                 headers=bearer(coordinator))
    assert r.status_code == 422 and r.json()["field"] == "query.consent"


def test_the_filters_find_exactly_who_they_name(bank, http) -> None:
    service, url, coordinator = bank
    app = service.app
    plain, ready, paused, tagged, elsewhere = (person(service) for _ in range(5))
    other_only = person(service, [OTHER_DEP])
    for purpose in ("recruitment", "matching"):
        app.give_consent(COORDINATOR, uuid.UUID(ready), purpose, DEP)
        app.give_consent(COORDINATOR, uuid.UUID(tagged), purpose, DEP)
    app.give_consent(COORDINATOR, uuid.UUID(elsewhere), "matching", OTHER_DEP)
    app.sign_confidentiality(COORDINATOR, uuid.UUID(ready), date(2026, 1, 1), "v1")
    app.complete_training(COORDINATOR, uuid.UUID(ready), date(2026, 1, 2))
    app.change_contact_status(COORDINATOR, uuid.UUID(paused), "paused", None, None)
    app.update_profile(COORDINATOR, uuid.UUID(tagged), {
        "experience_areas": ["mental_ill_health", "homelessness"], "shared_tags": ["mental_ill_health"],
        "languages": ["ar", "sv"], "excluded_units": []}, None)
    app.update_profile(COORDINATOR, uuid.UUID(plain), {
        "experience_areas": [], "shared_tags": [], "languages": ["so"], "excluded_units": []}, None)
    catch_up_bank(service)

    assert ids(http, url, coordinator) == {plain, ready, paused, tagged, elsewhere}  # not other_only
    assert ids(http, url, coordinator, ready="true") == {ready}
    assert ids(http, url, coordinator, ready="false") == {plain, paused, tagged, elsewhere}
    assert ids(http, url, coordinator, contact_status="paused") == {paused}
    assert ids(http, url, coordinator, consent="matching") == {ready, tagged}  # elsewhere: another department's
    assert ids(http, url, coordinator, language="ar") == {tagged}
    assert ids(http, url, coordinator, language="so") == {plain}
    assert ids(http, url, coordinator, shared_tag="mental_ill_health") == {tagged}
    assert ids(http, url, coordinator, shared_tag="homelessness") == set()  # declared, not shared
    # Free text over the pseudonymous fields: a part of an id, a shared tag, a language.
    assert ids(http, url, coordinator, q=plain[:13].upper()) == {plain}
    assert ids(http, url, coordinator, q="ill_health") == {tagged}
    assert ids(http, url, coordinator, q="%") == set()  # a wildcard is only a character here
    assert ids(http, url, coordinator, q="m_ntal") == set()
    other = http.get(f"{url}/participants", params={"department": OTHER_DEP, "limit": 200},
                     headers=bearer(coordinator))
    assert {p["id"] for p in other.json()["items"]} == {other_only, elsewhere}
    shown = {p["id"]: p for p in other.json()["items"]}
    assert shown[elsewhere]["consents"] == ["matching"]


def test_each_person_shows_when_they_last_took_part_and_this_years_honoraria(bank, http) -> None:
    service, url, coordinator = bank
    app = service.app
    pid, newcomer = person(service, [DEP, OTHER_DEP]), person(service)
    year = today()[:4]
    app.record_panel_membership(pid, str(uuid.uuid4()), str(uuid.uuid4()), DEP, f"{year}-01-15", SYSTEM)
    app.accrue_from_activity(pid, "interview", str(uuid.uuid4()), DEP, f"{year}-01-10", SYSTEM)
    app.accrue_from_activity(pid, "interview", str(uuid.uuid4()), OTHER_DEP, f"{year}-01-12", SYSTEM)
    app.accrue_from_activity(pid, "interview", str(uuid.uuid4()), DEP, f"{int(year) - 1}-12-31", SYSTEM)
    catch_up_bank(service)
    summaries = {p["id"]: p for p in listed(http, url, coordinator)["items"]}
    # The latest panel seat or paid activity, in any department.
    assert summaries[pid]["last_engaged"] == f"{year}-01-15"
    # This department's accruals of this calendar year only (an interview is half a day: 1 031 kr).
    assert summaries[pid]["honoraria_this_year"] == 103100
    assert summaries[newcomer]["last_engaged"] is None and summaries[newcomer]["honoraria_this_year"] == 0
    other = http.get(f"{url}/participants", params={"department": OTHER_DEP}, headers=bearer(coordinator)).json()
    assert other["items"][0]["honoraria_this_year"] == 103100


def test_a_months_honoraria_page_through_the_people_with_accruals_in_that_department(bank, http, token) -> None:
    service, url, coordinator = bank
    app = service.app
    year = today()[:4]
    paid_here, pending, elsewhere, last_month = (person(service, [DEP, OTHER_DEP]) for _ in range(4))
    app.answer_payment_terms(Principal(paid_here, frozenset({"participant"})), uuid.UUID(paid_here),
                             PAYMENT_TERMS_VERSION, True, None)
    for day in ("03", "04"):
        app.accrue_from_activity(paid_here, "interview", str(uuid.uuid4()), DEP, f"{year}-02-{day}", SYSTEM)
    app.accrue_from_activity(pending, "interview", str(uuid.uuid4()), DEP, f"{year}-02-10", SYSTEM)
    app.accrue_from_activity(elsewhere, "interview", str(uuid.uuid4()), OTHER_DEP, f"{year}-02-10", SYSTEM)
    app.accrue_from_activity(last_month, "interview", str(uuid.uuid4()), DEP, f"{year}-01-31", SYSTEM)
    ledger = app.honoraria(COORDINATOR, uuid.UUID(paid_here), int(year))["accruals"]
    refs = sorted(a["activity_ref"] for a in ledger)
    app.approve_honoraria(COORDINATOR, uuid.UUID(paid_here), refs)
    app.record_payment(COORDINATOR, uuid.UUID(paid_here), "PR-1", f"{year}-02", refs[:1])
    catch_up_bank(service)

    served: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = http.get(f"{url}/honoraria", params={"department": DEP, "period": f"{year}-02", "limit": 1,
                                                 **({"cursor": cursor} if cursor else {})}, headers=bearer(coordinator))
        assert r.status_code == 200, r.text
        served += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    # Only the people with this department's accruals in this month, each once, in id order.
    assert [p["participant_id"] for p in served] == sorted([paid_here, pending])
    mine = next(p for p in served if p["participant_id"] == paid_here)
    # Two interviews of 1 031 kr: one paid, one approved and waiting for payroll.
    assert mine["period_totals"] == {"accrued_ore": 206200, "approved_ore": 103100, "paid_ore": 103100}
    assert [a["payroll_ref"] for a in mine["accruals"]] == ["PR-1", None]
    # 1 031 kr paid this year: past both thresholds (100 kr withholding, 1 000 kr employer contributions).
    assert mine["flags"] == {"employer_contributions_due": True, "no_withholding": False}
    other = next(p for p in served if p["participant_id"] == pending)
    assert other["period_totals"]["approved_ore"] == 0 and other["flags"]["no_withholding"] is True

    for params, field in (({"department": DEP, "period": f"{year}-13"}, "period"),
                          ({"department": DEP, "period": f"{year}-02", "limit": 201}, "limit"),
                          ({"department": DEP, "period": f"{year}-02", "cursor": "not-a-cursor"}, "cursor")):
        r = http.get(f"{url}/honoraria", params=params, headers=bearer(coordinator))
        assert r.status_code == 422 and field in r.text, r.text
    # A coordinator of another department sees none of this department's honoraria.
    outsider = token(departments=(OTHER_DEP,))
    r = http.get(f"{url}/honoraria", params={"department": DEP, "period": f"{year}-02"}, headers=bearer(outsider))
    assert r.status_code == 403
