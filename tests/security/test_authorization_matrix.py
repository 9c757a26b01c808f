"""Every operation of every OpenAPI document, from every kind of caller, against the running
services: each answer must be what docs/authorization-matrix.yaml says, and a refused request
must store nothing (issue 17, findings 4-8 are rows of this test)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.security.world import CALLERS, OTHER, OWN, Caller, World, load_matrix

TODAY = datetime.now(UTC).date()


@dataclass
class Probe:
    """One request for one caller. ``owner`` names the caller kind whose department owns the
    resource ("none": no department's staff may, e.g. a person outside the recruitment's bank)."""

    method: str
    path: str
    json: Any = None
    params: dict[str, str] | None = None
    subject: str | None = None
    owner: str = "own"
    after: Callable[[requests.Response], None] | None = None
    exists: bool = True  # False: the resource is not there for anyone (404 to every caller)


Build = Callable[[World], list[Probe]]


def _p(w: World, key: str = "subject") -> str:
    return f"/participants/{w.ids[key]}"


def _r(w: World, key: str = "rec") -> str:
    return f"/recruitments/{w.ids[key]}"


def _c1(w: World) -> str:
    return _r(w) + f"/candidates/{w.ensure_candidates()[0]}"


def _hold(w: World) -> list[Probe]:
    hold = w.ok("POST", "participants", _p(w) + "/legal-holds", w.admin, json={"reason": "a pending claim"})["hold_id"]
    return [Probe("DELETE", _p(w) + f"/legal-holds/{hold}")]


def _replacement(w: World) -> list[Probe]:
    panel: list[str] = w.ids["rec3_panel"]

    def after(response: requests.Response) -> None:
        w.ids["rec3_panel"] = response.json()["members"]

    return [Probe("POST", _r(w, "rec3") + "/panel/replacements",
                  json={"participant_id": panel[-1], "reason": "fell ill"}, after=after)]


def _assign(w: World) -> list[Probe]:
    proposal = w.ok("POST", "matching", _r(w, "rec3") + "/proposals", w.admin, json={})

    def after(response: requests.Response) -> None:
        w.ids["rec3_panel"] = response.json()["members"]

    return [Probe("POST", _r(w, "rec3") + "/panel", json={"proposal_id": proposal["proposal_id"]}, after=after)]


SETTINGS_BODY = {
    "participation_limit": {"max_engagements": 6, "period_days": 365},
    "rates": {"hour_ore": 28600, "half_day_ore": 103100, "full_day_ore": 206300, "valid_from": "2026-01-01"},
    "retention": {"inactive_profile_months": 24},
    "budget_ore_per_month": 5_000_000,
}

# Operations whose request is built again for every caller (each needs its own fresh resource).
PER_CALLER = {("participants", "DELETE /participants/{participant_id}/legal-holds/{hold_id}")}

# In the order they run: writes that change what later requests see come after the reads.
BUILDERS: dict[tuple[str, str], Build] = {
    # -- participants --------------------------------------------------------------------------
    ("participants", "GET /vocabulary/experience-areas"): lambda w: [Probe("GET", "/vocabulary/experience-areas")],
    ("participants", "PUT /vocabulary/experience-areas"): lambda w: [
        Probe("PUT", "/vocabulary/experience-areas", json={"areas": w.areas})],
    ("participants", "GET /departments/{code}"): lambda w: [Probe("GET", f"/departments/{OWN}")],
    ("participants", "GET /departments/{code}/settings"): lambda w: [
        Probe("GET", f"/departments/{OWN}/settings")],
    ("participants", "PUT /departments/{code}/settings"): lambda w: [
        Probe("PUT", f"/departments/{OWN}/settings", json=SETTINGS_BODY)],
    ("participants", "POST /departments"): lambda w: [
        Probe("POST", "/departments", json={"code": "d-" + uuid.uuid4().hex[:8], "name": "Ny förvaltning"})],
    ("participants", "POST /participants"): lambda w: [
        Probe("POST", "/participants", json={"name": "Ny Person", "departments": [OWN]})],
    ("participants", "GET /participants"): lambda w: [Probe("GET", "/participants", params={"department": OWN})],
    ("participants", "GET /participants/{participant_id}"): lambda w: [Probe("GET", _p(w))],
    ("participants", "PUT /participants/{participant_id}/contact-details"): lambda w: [
        Probe("PUT", _p(w) + "/contact-details", json={"phone": "+46 70 111 22 33"})],
    ("participants", "POST /participants/{participant_id}/consents"): lambda w: [
        Probe("POST", _p(w) + "/consents", json={"purpose": "contact", "department": OWN}),
        # The person is in both banks; the consent is OWN's (finding 5's sibling).
        Probe("POST", _p(w, "shared") + "/consents", json={"purpose": "research", "department": OWN},
              subject=w.ids["shared"])],
    ("participants", "POST /participants/{participant_id}/consents/withdrawal"): lambda w: [
        # Finding 5: a coordinator of OTHER sees the shared person but may not withdraw OWN's consent.
        Probe("POST", _p(w, "shared") + "/consents/withdrawal", json={"purpose": "research", "department": OWN},
              subject=w.ids["shared"])],
    ("participants", "PUT /participants/{participant_id}/profile"): lambda w: [
        Probe("PUT", _p(w) + "/profile", json={"experience_areas": w.areas[:2], "shared_tags": w.areas[:2],
                                               "languages": ["sv"]})],
    ("participants", "POST /participants/{participant_id}/confidentiality"): lambda w: [
        Probe("POST", _p(w) + "/confidentiality", json={"signed_on": "2026-11-03", "text_version": "v3"})],
    ("participants", "POST /participants/{participant_id}/training"): lambda w: [
        Probe("POST", _p(w) + "/training", json={"completed_on": "2026-11-04"})],
    ("participants", "PUT /participants/{participant_id}/availability"): lambda w: [
        Probe("PUT", _p(w) + "/availability", json={"windows": [{"start": "2026-01-01", "end": "2028-12-31"}]})],
    ("participants", "PUT /participants/{participant_id}/contact-status"): lambda w: [
        Probe("PUT", _p(w) + "/contact-status", json={"status": "available"})],
    ("participants", "POST /participants/{participant_id}/limit-overrides"): lambda w: [
        Probe("POST", _p(w, "shared") + "/limit-overrides", subject=w.ids["shared"], json={
            "department": OWN, "extra_engagements": 1, "reason": "a long recruitment",
            "valid_until": (TODAY + timedelta(days=30)).isoformat()})],
    ("participants", "GET /participants/{participant_id}/eligibility"): lambda w: [
        Probe("GET", _p(w) + "/eligibility", params={"department": OWN}),
        # In both banks: OTHER's coordinator may not read OWN's limits and consents for the person.
        Probe("GET", _p(w, "shared") + "/eligibility", params={"department": OWN}, subject=w.ids["shared"])],
    ("participants", "POST /participants/{participant_id}/expenses"): lambda w: [
        Probe("POST", _p(w) + "/expenses", json={"expense_ref": "bus-1", "kind": "travel", "amount_ore": 5200,
                                                 "incurred_on": TODAY.isoformat()})],
    ("participants", "GET /participants/{participant_id}/payment-terms"): lambda w: [
        Probe("GET", _p(w) + "/payment-terms")],
    ("participants", "POST /participants/{participant_id}/payment-terms/answer"): lambda w: [
        Probe("POST", _p(w) + "/payment-terms/answer", json={"text_version": "2026-1", "accept": True})],
    ("participants", "POST /participants/{participant_id}/honoraria/approval"): lambda w: [
        Probe("POST", _p(w, "shared") + "/honoraria/approval", subject=w.ids["shared"],
              json={"accrual_refs": [w.ids["accrual2"]]})],
    ("participants", "GET /participants/{participant_id}/honoraria"): lambda w: [
        # The shared person is in both banks: both departments' coordinators see their honoraria.
        Probe("GET", _p(w, "shared") + "/honoraria", params={"year": str(TODAY.year)}, subject=w.ids["shared"],
              owner="both"),
        Probe("GET", _p(w) + "/honoraria", params={"year": str(TODAY.year)})],
    ("participants", "GET /honoraria"): lambda w: [
        Probe("GET", "/honoraria", params={"department": OWN, "period": TODAY.isoformat()[:7]})],
    ("participants", "GET /honoraria/payroll-export"): lambda w: [
        Probe("GET", "/honoraria/payroll-export", params={"department": OWN, "period": TODAY.isoformat()[:7]})],
    ("participants", "POST /honoraria/payments"): lambda w: [
        # Finding 6: the replay of OWN's payroll_ref by a coordinator of OTHER (who sees the person).
        Probe("POST", "/honoraria/payments", subject=w.ids["shared"], json={
            "payroll_ref": w.ids["payroll_ref"], "participant_id": w.ids["shared"],
            "period": TODAY.isoformat()[:7], "accrual_refs": [w.ids["accrual1"]]})],
    ("participants", "PUT /participants/{participant_id}/restriction"): lambda w: [
        Probe("PUT", _p(w) + "/restriction", json={"restricted": False})],
    ("participants", "POST /participants/{participant_id}/legal-holds"): lambda w: [
        Probe("POST", _p(w) + "/legal-holds", json={"reason": "a pending claim"})],
    ("participants", "DELETE /participants/{participant_id}/legal-holds/{hold_id}"): _hold,
    ("participants", "GET /participants/{participant_id}/data-export"): lambda w: [
        Probe("GET", _p(w) + "/data-export")],
    ("participants", "POST /participants/{participant_id}/erasure"): lambda w: [
        Probe("POST", _p(w, "erase") + "/erasure", json={}, subject=w.ids["erase"])],
    # -- matching ---------------------------------------------------------------------------------
    ("matching", "POST /recruitments/{recruitment_id}/proposals"): lambda w: [
        Probe("POST", _r(w) + "/proposals", json={})],
    ("matching", "GET /recruitments/{recruitment_id}/candidates/{participant_id}/explanation"): lambda w: [
        Probe("GET", _r(w) + f"/candidates/{w.ids['subject']}/explanation"),
        # Finding 4: the subject is only in OWN's bank; OTHER's coordinator asks about them in
        # OTHER's recruitment, OWN's coordinator cannot see that recruitment.
        Probe("GET", _r(w, "rec_other") + f"/candidates/{w.ids['subject']}/explanation", owner="none",
              exists=False)],
    ("matching", "GET /recruitments/{recruitment_id}/invitation"): lambda w: [Probe("GET", _r(w) + "/invitation")],
    ("matching", "GET /recruitments/{recruitment_id}/invitations"): lambda w: [Probe("GET", _r(w) + "/invitations")],
    ("matching", "POST /recruitments/{recruitment_id}/invitation/acceptance"): lambda w: [
        Probe("POST", _r(w) + "/invitation/acceptance", json={})],
    ("matching", "POST /recruitments/{recruitment_id}/panel"): _assign,
    ("matching", "POST /recruitments/{recruitment_id}/panel/replacements"): _replacement,
    ("matching", "GET /departments/{code}/fairness"): lambda w: [Probe("GET", f"/departments/{OWN}/fairness")],
    # -- recruitments -----------------------------------------------------------------------------
    ("recruitments", "GET /recruitments"): lambda w: [Probe("GET", "/recruitments")],
    ("recruitments", "GET /recruitments/{rid}"): lambda w: [Probe("GET", _r(w))],
    ("recruitments", "POST /recruitments"): lambda w: [Probe("POST", "/recruitments", json={
        "department": OWN, "unit": "barn-och-unga", "position": "Socialsekreterare",
        "hiring_manager": "hiring_manager-own",  # a hiring manager may open only as its own manager
        "interview_format": "split", "scorecard": [
            {"key": "motivation_user_participation", "label": "Motivation"}, {"key": "empathy", "label": "Empati"},
            {"key": "collaboration", "label": "Samarbete"}]})],
    ("recruitments", "POST /recruitments/{rid}/job-description/contributions"): lambda w: [
        Probe("POST", _r(w) + "/job-description/contributions", json={"text": "Erfarenhet av bistånd"})],
    ("recruitments", "POST /recruitments/{rid}/advert/contributions"): lambda w: [
        Probe("POST", _r(w) + "/advert/contributions", json={"text": "Skriv enkelt"})],
    ("recruitments", "POST /recruitments/{rid}/participation-text/contributions"): lambda w: [
        Probe("POST", _r(w) + "/participation-text/contributions", json={"text": "Brukare läser ansökningarna"})],
    ("recruitments", "POST /recruitments/{rid}/advert/publish"): lambda w: [
        Probe("POST", _r(w) + "/advert/publish", json={"text": "Vi söker dig"})],
    ("recruitments", "POST /recruitments/{rid}/applications"): lambda w: [
        Probe("POST", _r(w) + "/applications", json={"ats_ref": "varbi-" + uuid.uuid4().hex[:6],
                                                     "name": "Kandidat", "email": "k@example.se"})],
    ("recruitments", "GET /recruitments/{rid}/candidates"): lambda w: [Probe("GET", _r(w) + "/candidates")],
    # Public while the recruitment is open (before the decision below takes the advert down).
    ("recruitments", "GET /adverts"): lambda w: [Probe("GET", "/adverts")],
    ("recruitments", "GET /adverts/{rid}"): lambda w: [Probe("GET", f"/adverts/{w.published()}")],
    ("recruitments", "POST /recruitments/{rid}/candidates/{cid}/assessments"): lambda w: [
        Probe("POST", _c1(w) + "/assessments", json={"shortlist": "yes", "motivation": "Lyhörd"})],
    ("recruitments", "POST /recruitments/{rid}/candidates/{cid}/conflicts"): lambda w: [
        Probe("POST", _r(w) + f"/candidates/{w.ensure_candidates()[1]}/conflicts", json={"has_conflict": False})],
    ("recruitments", "POST /recruitments/{rid}/candidates/{cid}/scores"): lambda w: [
        Probe("POST", _c1(w) + "/scores", json={
            "scores": {"motivation_user_participation": 4, "empathy": 5, "collaboration": 4},
            "recommendation": "hire", "comment": "Lyhörd"})],
    ("recruitments", "GET /recruitments/{rid}/candidates/{cid}/scores"): lambda w: [
        Probe("GET", _c1(w) + "/scores")],
    ("recruitments", "POST /recruitments/{rid}/candidates/{cid}/scores/amendments"): lambda w: [
        Probe("POST", _c1(w) + "/scores/amendments", json={
            "scores": {"motivation_user_participation": 5, "empathy": 5, "collaboration": 4},
            "recommendation": "hire", "reason": "räknade fel"})],
    ("recruitments", "GET /recruitments/{rid}/candidates/{cid}/summary"): lambda w: [
        Probe("GET", _c1(w) + "/summary")],
    ("recruitments", "GET /recruitments/{rid}/influence"): lambda w: [Probe("GET", _r(w) + "/influence")],
    ("recruitments", "POST /recruitments/{rid}/decision"): lambda w: [
        Probe("POST", _r(w) + "/decision", json={"candidate_id": w.ensure_candidates()[0],
                                                 "motivation": "Panelen var enig"})],
    ("recruitments", "POST /recruitments/{rid}/outcome/share"): lambda w: [
        Probe("POST", _r(w) + "/outcome/share", json={})],
    ("recruitments", "GET /recruitments/{rid}/outcome"): lambda w: [Probe("GET", _r(w) + "/outcome")],
    ("recruitments", "GET /recruitments/{rid}/merits-extract"): lambda w: [
        Probe("GET", _r(w) + "/merits-extract", params={"candidate_id": w.ensure_candidates()[1]})],
    ("recruitments", "POST /recruitments/{rid}/feedback/manager"): lambda w: [
        Probe("POST", _r(w) + "/feedback/manager", json={"rating": 4, "text": "Det tillförde mycket"})],
    ("recruitments", "POST /recruitments/{rid}/feedback/participant"): lambda w: [
        Probe("POST", _r(w) + "/feedback/participant", json={"rating": 5, "text": "Jag blev lyssnad på"})],
    ("recruitments", "POST /recruitments/{rid}/follow-ups"): lambda w: [
        Probe("POST", _r(w) + "/follow-ups", json={"months": 6, "still_employed": True, "motivation_rating": 4})],
    ("recruitments", "GET /recruitments/{rid}/feedback"): lambda w: [Probe("GET", _r(w) + "/feedback")],
    ("recruitments", "POST /recruitments/{rid}/legal-holds"): lambda w: [
        Probe("POST", _r(w) + "/legal-holds", json={"candidate_id": w.ensure_candidates()[1],
                                                    "reason": "discrimination claim"})],
    ("recruitments", "POST /recruitments/{rid}/close"): lambda w: [
        Probe("POST", _r(w) + "/close", json={"outcome": "filled"})],
    # -- audit ------------------------------------------------------------------------------------
    ("audit", "GET /recruitments/{recruitment_id}/decision-record"): lambda w: [
        Probe("GET", _r(w) + "/decision-record")],
    ("audit", "GET /access-log"): lambda w: [Probe("GET", "/access-log")],
    ("audit", "GET /checkpoints"): lambda w: [Probe("GET", "/checkpoints")],
    ("audit", "GET /public-key"): lambda w: [Probe("GET", "/public-key")],
    # -- dashboards -------------------------------------------------------------------------------
    ("dashboards", "GET /api/overview"): lambda w: [Probe("GET", "/api/overview")],
    ("dashboards", "GET /api/departments/{code}"): lambda w: [Probe("GET", f"/api/departments/{OWN}"),
                                                             Probe("GET", f"/api/departments/{OTHER}", owner="other")],
    # Last: declining gives a seat on REC to the next best person (bank0 declines; the subject accepted).
    ("matching", "POST /recruitments/{recruitment_id}/invitation/decline"): lambda w: [
        Probe("POST", _r(w) + "/invitation/decline", json={"reason": "not_available"}, subject=w.ids["bank0"])],
}


def allowed(row: dict[str, Any], caller: Caller, probe: Probe) -> bool:
    """What the matrix says for this caller and this request."""
    if row.get("public"):
        return probe.exists
    scope = row["allow"].get(caller.role)
    if scope is None or not probe.exists:
        return False
    if scope == "any":
        return True
    if scope == "department":
        return caller.kind == probe.owner or (probe.owner == "both" and caller.kind in ("own", "other"))
    if scope in ("subject", "panel"):
        return caller.kind == "subject"
    if scope == "assigned":  # the world's recruitments in OWN are managed by "hiring_manager-own"
        return caller.kind == "own" == probe.owner
    raise AssertionError(f"unknown scope {scope!r}")


# Both stores: "a refused write stored nothing" is a property of each backend.
BACKENDS = pytest.mark.parametrize("world", ["sqlite", "postgres"], indirect=True, scope="module")


@pytest.mark.slow
@BACKENDS
def test_lists_show_each_department_only_its_own(world: World) -> None:
    """Where an answer is a list, scope filters its items: the honoraria of a person in two banks,
    and the auditors' access log."""
    shared, year = world.ids["shared"], str(TODAY.year)

    def honoraria(headers: dict[str, str]) -> dict[str, Any]:
        r = world.http.get(f"{world.urls['participants']}/participants/{shared}/honoraria", headers=headers,
                           params={"year": year})
        assert r.status_code == 200, r.text
        return dict(r.json())

    own = honoraria(world.coord)
    other = honoraria(world.staff("coordinator", "other"))
    person = honoraria(world.me(shared))
    assert {a["department"] for a in own["accruals"]} == {OWN} and own["payments"]
    assert other["accruals"] == [] and other["payments"] == [] and other["totals"]["paid_ore"] == 0
    assert len(person["accruals"]) == len(own["accruals"]) == 2 and person["payments"] == own["payments"]

    def reads(kind: str) -> list[dict[str, Any]]:
        r = world.http.get(f"{world.urls['audit']}/access-log", headers=world.staff("auditor", kind),
                           params={"subject_id": world.ids["subject"]})
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    assert any(item["department"] == OWN for item in reads("own"))
    assert not any(item["department"] == OWN for item in reads("other"))


@pytest.mark.slow
@BACKENDS
def test_every_operation_answers_every_caller_as_the_matrix_says(world: World) -> None:
    matrix = load_matrix()
    wrong: list[str] = []
    for (service, operation), build in BUILDERS.items():
        row = matrix[service][operation]
        granted = 0
        for index, first in enumerate(build(world)):
            subject = first.subject or world.ids["subject"]
            # Refused callers first: they must leave the state as the allowed ones find it.
            for caller in sorted(CALLERS, key=lambda c: allowed(row, c, first)):
                probe = build(world)[index] if (service, operation) in PER_CALLER else first
                may = allowed(row, caller, probe)
                before = world.positions()
                response = world.http.request(probe.method, world.urls[service] + probe.path,
                                              headers=world.headers_for(caller, subject),
                                              json=probe.json, params=probe.params)
                status = response.status_code
                where = f"{service} {operation} {probe.path} as {caller.name}: {status} {response.text[:200]}"
                if may:
                    # Allowed: it happened, or the business rule (not the access rule) said no.
                    if status not in (200, 201, 409):
                        wrong.append("should be allowed: " + where)
                    if status in (200, 201):
                        granted += 1
                        if probe.after:
                            probe.after(response)
                    if row.get("lists"):
                        listed = world.ids["rec"] in response.text
                        target = matrix[service][row["lists"]]
                        if listed != allowed(target, caller, probe):
                            wrong.append(f"list shows {'too much' if listed else 'too little'}: " + where)
                else:
                    if status not in (403, 404):
                        wrong.append("should be refused: " + where)
                    if world.positions() != before:
                        wrong.append("a refused request stored an event: " + where)
        if granted == 0:
            wrong.append(f"{service} {operation}: no allowed caller succeeded (the request itself is wrong)")
    assert not wrong, "\n".join(wrong)
