"""Hard filters, soft rules, explanations and the empty-pool answer, fed through the broker."""

from __future__ import annotations

from shared.auth import mint_token
from tests.conftest import bearer
from tests.matching.conftest import Bench
from tests.matching.feed import DEPARTMENT
from tests.matching.test_end_to_end import _matching_events


def test_each_filter_keeps_its_person_out(matching: Bench) -> None:
    feed = matching.feed
    feed.department_limit(1)
    ok = feed.participant()
    cooled = feed.participant(status="cooldown", until="2000-01-01")  # cooldown over: eligible
    out = {
        "consent_department": feed.participant(consents=["matching"]),
        "consent_matching": feed.participant(consents=["recruitment"]),
        "readiness": feed.participant(training=False),
        "contact_status": feed.participant(status="paused"),
        "cooldown": feed.participant(status="cooldown", until="2099-01-01"),
        "availability": feed.participant(windows=[{"start": "2030-03-04", "end": "2030-03-05"}]),
        "excluded_unit": feed.participant(excluded_units=["ekb-norr"]),
        "participation_limit": feed.participant(),
    }
    earlier = feed.recruitment()
    rid = feed.recruitment()
    matching.sync()
    # An earlier panel puts one person at the department's limit of 1.
    limited = out["participation_limit"]
    r = matching.post(f"/recruitments/{earlier}/panel", {"members": [limited]})
    assert r.status_code == 201, r.text
    matching.sync()

    proposal = matching.propose(rid)
    assert sorted(m["participant_id"] for m in proposal["members"]) == sorted([ok, cooled])

    for rule, pid in out.items():
        r = matching.get(f"/recruitments/{rid}/candidates/{pid}/explanation")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["eligible"] is False
        assert [e["rule"] for e in body["excluded_by"]] == [rule], (rule, body)
        assert body["explanation"].startswith("excluded: ")
    nc = matching.get(f"/recruitments/{rid}/candidates/{out['consent_department']}/explanation").json()
    assert nc["explanation"] == f"excluded: no consent for {DEPARTMENT}"
    lim = matching.get(f"/recruitments/{rid}/candidates/{limited}/explanation").json()
    assert "limit 1" in lim["explanation"]
    proposed = matching.get(f"/recruitments/{rid}/candidates/{ok}/explanation").json()
    assert proposed["proposed"] is True and proposed["explanation"].startswith("proposed: ")


def test_consent_department_applies_per_department(matching: Bench) -> None:
    pid = matching.feed.participant()  # consented to socialforvaltningen only
    rid = matching.feed.recruitment(department="arbetsmarknadsforvaltningen")
    matching.sync()
    auth = bearer(matching_token(matching))
    # Someone only in another department's bank is not this department's to explain (issue 17,
    # finding 4): readiness and dates stay with the departments the person consented to.
    explained = matching.get(f"/recruitments/{rid}/candidates/{pid}/explanation", auth=auth)
    assert explained.status_code == 404, explained.text
    empty = matching.post(f"/recruitments/{rid}/proposals", {}, auth=auth).json()
    assert empty["members"] == []
    assert "none of the 1 participants in the bank has consented to arbetsmarknadsforvaltningen" in (
        empty["empty_reason"])


def matching_token(bench: Bench) -> str:
    return mint_token(bench.settings, roles=["coordinator"], departments=["arbetsmarknadsforvaltningen"])


def test_empty_pool_names_the_constraint(matching: Bench) -> None:
    for _ in range(3):
        matching.feed.participant(windows=[{"start": "2030-05-01", "end": "2030-05-31"}])
    matching.feed.participant(training=False)
    rid = matching.feed.recruitment()
    matching.sync()
    proposal = matching.propose(rid)
    assert proposal["members"] == []
    assert proposal["empty_reason"] == (
        "nobody fits: the last 3 of 4 participants who consented to socialforvaltningen were removed by "
        "'available on the interview dates'"
    )
    assert proposal["uncovered_areas"] == ["ekonomiskt-bistand"]
    matching.sync()
    event = _matching_events(matching)[0]
    assert event["event_type"] == "PanelProposed"
    assert event["payload"]["empty_reason"] == proposal["empty_reason"]
    refused = matching.post(f"/recruitments/{rid}/panel", {"proposal_id": proposal["proposal_id"]})
    assert refused.status_code == 409


def test_overrides_need_a_reason_and_hard_rules_refuse(matching: Bench) -> None:
    feed = matching.feed
    ok = feed.participant()
    cooling = feed.participant(status="cooldown", until="2099-01-01")
    not_ready = feed.participant(confidentiality=False)
    excluded = feed.participant(excluded_units=["ekb-norr"])
    rid = feed.recruitment()
    matching.sync()
    path = f"/recruitments/{rid}/panel"

    no_reason = matching.post(path, {"members": [ok, cooling]})
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "overrides"
    assert "in cooldown until 2099-01-01" in no_reason.json()["detail"]

    for hard in (not_ready, excluded):
        refused = matching.post(path, {"members": [ok, hard], "overrides": [
            {"participant_id": hard, "reason": "the coordinator insists"}]})
        assert refused.status_code == 409, refused.text
        assert refused.json()["field"] == "members"

    stray = matching.post(path, {"members": [ok], "overrides": [{"participant_id": cooling, "reason": "x" * 5}]})
    assert stray.status_code == 422

    done = matching.post(path, {"members": [ok, cooling], "overrides": [
        {"participant_id": cooling, "reason": "knows the unit's work well"}]})
    assert done.status_code == 201, done.text
    assert done.json()["overrides"] == [
        {"participant_id": cooling, "rule": "cooldown", "reason": "knows the unit's work well"}]
    matching.sync()
    assigned = _matching_events(matching)[-1]
    assert assigned["event_type"] == "PanelAssigned"
    assert assigned["payload"]["proposal_id"] is None
    assert assigned["payload"]["overrides"] == done.json()["overrides"]
    assert assigned["department"] == DEPARTMENT


def test_unknown_closed_and_replayed_requests(matching: Bench) -> None:
    feed = matching.feed
    people = [feed.participant() for _ in range(4)]
    rid = feed.recruitment(panel_size=2)
    closed = feed.recruitment()
    feed.emit("recruitments", "RecruitmentClosed", closed, {"outcome": "cancelled", "reason": "budget"}, DEPARTMENT)
    matching.sync()
    assert matching.post(f"/recruitments/{people[0]}/proposals").status_code == 404
    assert matching.post(f"/recruitments/{closed}/proposals").status_code == 409

    key = {**matching.auth, "Idempotency-Key": "proposal-1"}
    first = matching.post(f"/recruitments/{rid}/proposals", {}, auth=key)
    again = matching.post(f"/recruitments/{rid}/proposals", {}, auth=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["proposal_id"] == first.json()["proposal_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"

    proposed = [m["participant_id"] for m in first.json()["members"]]
    left_out = next(p for p in people if p not in proposed)
    why = matching.get(f"/recruitments/{rid}/candidates/{left_out}/explanation").json()
    assert why["eligible"] is True and why["proposed"] is False
    assert why["explanation"].startswith("eligible, not proposed")
