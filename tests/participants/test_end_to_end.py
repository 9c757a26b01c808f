"""register -> consent -> profile -> readiness -> accrue from a consumed recruitment event ->
approve -> export -> paid, over real HTTP, the real broker and both database backends."""

from __future__ import annotations

import csv
import io
import json
import uuid

from services.participants.application import payee_ref
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.kafka import read_all
from tests.conftest import bearer
from tests.participants.support import (
    DEP,
    PERSON,
    build,
    interview_scored,
    make_ready,
    panel_assigned,
    publish,
    recruitment_envelope,
    register,
)


def test_brukarbank_end_to_end(settings: Settings, serve, token, http) -> None:
    service = build(settings)
    url = serve(service.http())
    coordinator = token()
    pid = register(http, url, coordinator, headers={"Idempotency-Key": "reg-1"})
    me = token(role="participant", departments=(), sub=pid)

    make_ready(http, url, coordinator, me, pid)
    profile = {"experience_areas": ["economic_assistance", "homelessness"], "shared_tags": ["economic_assistance"],
               "languages": ["sv", "ar"], "accessibility": "Rullstol", "excluded_units": ["ekonomiskt-bistand-nord"]}
    r = http.put(f"{url}/participants/{pid}/profile", json=profile, headers=bearer(me))
    assert r.status_code == 200, r.text
    r = http.put(f"{url}/participants/{pid}/availability",
                 json={"windows": [{"start": "2026-12-01", "end": "2026-12-20"}]}, headers=bearer(me))
    assert r.status_code == 200, r.text

    r = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP}, headers=bearer(coordinator))
    assert r.status_code == 200 and r.json()["assignable"] is True, r.text

    # Work on a recruitment, seen on recruitments.events: two scored candidates = one half day;
    # the same message twice and an assessment by staff accrue nothing more.
    recruitment = str(uuid.uuid4())
    first = interview_scored(recruitment, 3, pid)
    staff_assessment = recruitment_envelope(
        "ApplicationAssessed", recruitment, 5,
        {"candidate_id": str(uuid.uuid4()), "assessor": {"id": "staff-9", "role": "hiring_manager"},
         "shortlist": "yes", "motivation": "ok"})
    publish(settings, [panel_assigned(recruitment, pid), panel_assigned(recruitment, pid),
                       first, first, interview_scored(recruitment, 4, pid), staff_assessment])
    ConsumerLoop(settings, service.db, service.participation().projection).catch_up()

    seated = http.get(f"{url}/participants/{pid}/eligibility", params={"department": DEP}, headers=bearer(me))
    assert seated.json()["engagements"] == 1, seated.text  # one recruitment: panel seat and interview
    year = int(first["occurred_at"][:4])
    r = http.get(f"{url}/participants/{pid}/honoraria", params={"year": year}, headers=bearer(me))
    assert r.status_code == 200, r.text
    accruals = r.json()["accruals"]
    assert [(a["activity_type"], a["amount_ore"], a["rate_basis"]) for a in accruals] == [
        ("interview", 103100, "half_day")]
    ref = accruals[0]["activity_ref"]
    assert ref == f"recruitment:{recruitment}:interview:{pid}"

    # Told what accepting means before approval.
    r = http.post(f"{url}/participants/{pid}/honoraria/approval", json={"accrual_refs": [ref]},
                  headers=bearer(coordinator))
    assert r.status_code == 409, r.text
    terms = http.get(f"{url}/participants/{pid}/payment-terms", headers=bearer(me)).json()
    assert "ekonomiskt bistånd" in terms["text"]
    r = http.post(f"{url}/participants/{pid}/payment-terms/answer",
                  json={"text_version": terms["text_version"], "accept": True}, headers=bearer(me))
    assert r.status_code == 200, r.text
    r = http.post(f"{url}/participants/{pid}/honoraria/approval", json={"accrual_refs": [ref]},
                  headers=bearer(coordinator))
    assert r.status_code == 200, r.text

    # The read model (from participants.events) gives the list and the payroll export.
    service.relay().drain()
    ConsumerLoop(settings, service.db, service.directory().projection).catch_up()
    ConsumerLoop(settings, service.db, service.bank().projection).catch_up()
    page = http.get(f"{url}/participants", params={"department": DEP}, headers=bearer(coordinator)).json()
    assert page["next_cursor"] is None
    listed = page["items"]
    assert [p["id"] for p in listed] == [pid]
    assert listed[0]["shared_tags"] == ["economic_assistance"] and listed[0]["ready"] is True
    r = http.get(f"{url}/honoraria/payroll-export", params={"department": DEP, "period": "2026-11"},
                 headers=bearer(coordinator))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows == [{"payee_ref": payee_ref(pid), "period": "2026-11", "activity_type": "interview",
                     "amount_ore": "103100", "activities": "1"}]
    assert pid not in r.text and PERSON["name"] not in r.text

    payment = {"payroll_ref": "PAY-2026-11-0001", "participant_id": pid, "period": "2026-11", "accrual_refs": [ref]}
    r = http.post(f"{url}/honoraria/payments", json=payment, headers=bearer(coordinator))
    assert r.status_code == 200 and r.json()["amount_ore"] == 103100 and r.json()["replayed"] is False
    again = http.post(f"{url}/honoraria/payments", json=payment, headers=bearer(coordinator))
    assert again.status_code == 200 and again.json()["replayed"] is True

    totals = http.get(f"{url}/participants/{pid}/honoraria", params={"year": year}, headers=bearer(me)).json()
    assert totals["totals"]["paid_ore"] == 103100
    assert totals["flags"] == {"employer_contributions_due": True, "no_withholding": False}

    service.relay().drain()
    envelopes = [json.loads(rec.value) for rec in read_all(settings, settings.topic("participants.events"))]
    mine = [e["event_type"] for e in sorted(envelopes, key=lambda e: e["position"]) if e["aggregate_id"] == pid]
    assert mine.count("HonorariumAccrued") == 1 and mine.count("HonorariumPaid") == 1
    assert mine.count("PanelMembershipRecorded") == 1
    assert mine[0] == "UserRegistered" and "HonorariumApproved" in mine
    raw = b"".join(rec.value for rec in read_all(settings, settings.topic("participants.events")))
    assert b"Rullstol" not in raw and PERSON["email"].encode() not in raw
    # Only the shared tag travels in clear; the other declared area is inside the experience token.
    profile_event = next(e for e in envelopes if e["event_type"] == "ProfileUpdated")
    assert profile_event["payload"]["shared_tags"] == ["economic_assistance"]
    assert profile_event["payload"]["experience"].startswith("enc:v1:")
    assert "homelessness" not in json.dumps(profile_event)
    service.close()
