"""Time travel for auditors: ``delaktig audit replay --until`` rebuilds a read model exactly as it
was at a moment, and the decision record's ``?as_of=`` shows what the hiring manager and the panel
could see when the decision was made."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from infra.cli import main
from services.audit.replay import replay_one, snapshot
from services.audit.service import Audit
from services.dashboards.figures import FiguresProjection
from services.dashboards.projections import RecruitmentsProjection
from services.dashboards.service import Dashboards
from services.participants.service import Participants
from services.recruitments.service import Recruitments
from shared.auth import Principal
from shared.config import Settings
from tests.audit.helpers import BASE_TIME, new_id
from tests.audit.test_decision_record import _recruitment
from tests.audit.test_replay import _env
from tests.conftest import bearer

SOC = "socialforvaltningen"
COORDINATOR = Principal("co-1", frozenset({"coordinator"}), frozenset({SOC}))
SCORECARD = [
    {"key": "motivation_user_participation", "label": "Motivation"},
    {"key": "empathy", "label": "Bemötande"},
    {"key": "collaboration", "label": "Samverkan"},
]


def _open(service: Recruitments, unit: str) -> UUID:
    return service.app.open_recruitment(
        COORDINATOR, department=SOC, unit=unit, position="Socialsekreterare", hiring_manager="hm-1",
        interview_format="joint", planned={"advert_on": None, "interviews_from": "2030-01-10",
                                           "interviews_to": "2030-01-12", "decision_by": None},
        scorecard=SCORECARD, needs={"experience_areas": [], "languages": ["sv"], "panel_size": 2},
    )


def test_until_reproduces_exactly_an_earlier_snapshot_of_a_read_model(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recruitments = Recruitments.build(settings)
    dashboards = Dashboards.build(settings)
    participants = Participants.build(settings)
    try:
        participants.relay().drain()  # the onboarded departments reach the dashboards
        first = _open(recruitments, "ekonomiskt-bistand")
        recruitments.app.publish_advert(COORDINATOR, first, "Vi söker en socialsekreterare")
        recruitments.relay().drain()
        dashboards.catch_up()
        tables = ["dash_recruitments", "dash_stage_spells"]
        then = snapshot(dashboards.db, tables)
        figures_then = snapshot(dashboards.db, ["dash_figures"])["dash_figures"]
        assert figures_then  # the department's page as the dashboards showed it then
        moment = datetime.now(UTC)
        time.sleep(0.05)

        # Later: the first recruitment moves on and a second one opens.
        second = _open(recruitments, "beroendeenheten")
        recruitments.app.close_recruitment(COORDINATOR, first, "cancelled", "indragen")
        recruitments.relay().drain()
        dashboards.catch_up()
        now = snapshot(dashboards.db, tables)
        assert now != then and str(second) in json.dumps(now)

        result = replay_one(RecruitmentsProjection, dashboards.db, until=moment)
        assert {t: result.snapshot[t] for t in tables} == then
        assert result.as_of == moment
        # The figures the dashboards' pages showed then (the department's page and overview row).
        assert snapshot(dashboards.db, ["dash_figures"])["dash_figures"] != figures_then
        assert replay_one(FiguresProjection, dashboards.db, until=moment).snapshot["dash_figures"] == figures_then
        assert snapshot(dashboards.db, tables) == now  # the live read model is untouched
    finally:
        recruitments.close()
        dashboards.close()
        participants.close()

    _env(monkeypatch, settings)
    capsys.readouterr()
    assert main(["audit", "replay", "--until", moment.isoformat()]) == 0
    printed = {r["projection"]: r for r in json.loads(capsys.readouterr().out)}
    rebuilt = printed["dashboards.recruitments"]
    assert rebuilt["as_of"] == moment.isoformat()
    assert {t: rebuilt["snapshot"][t] for t in tables} == then


def test_as_of_shows_the_decision_record_as_it_was(sqlite_settings: Settings, serve, token, http,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    settings = sqlite_settings
    case = _recruitment(settings)  # events one minute apart from BASE_TIME; the decision at minute 12
    audit = Audit.build(settings)
    audit.catch_up()
    url = serve(audit.http())
    auditor = bearer(token(role="auditor", departments=(SOC,)))
    path = f"{url}/recruitments/{case['id']}/decision-record"

    decided_at = case["decision"]["occurred_at"]
    r = http.get(path, params={"as_of": decided_at}, headers=auditor)
    assert r.status_code == 200, r.text
    at_decision = r.json()
    assert at_decision["as_of"] == datetime.fromisoformat(decided_at.replace("Z", "+00:00")).isoformat()
    assert at_decision["decided"] and at_decision["decision"][0]["event_id"] == case["decision"]["event_id"]
    seen = {i["event_id"] for i in at_decision["inputs"]}
    assert case["late"]["event_id"] not in seen  # assessed after the decision: not there yet
    assert "ParticipantFeedbackGiven" not in {i["event_type"] for i in at_decision["inputs"]}
    assert all(i["time"] <= decided_at for i in at_decision["inputs"])
    assert "input_after_decision" not in {f["flag"] for f in at_decision["flags"]}
    assert at_decision["proofs_verified"]

    today = http.get(path, headers=auditor).json()
    assert case["late"]["event_id"] in {i["event_id"] for i in today["inputs"]} and today["as_of"] is None
    assert len(today["inputs"]) > len(at_decision["inputs"])

    # Before the scores: no decision yet, the panel had scored nobody.
    before = http.get(path, params={"as_of": (BASE_TIME + timedelta(minutes=9, seconds=30)).isoformat()},
                      headers=auditor).json()
    assert before["decided"] is False and not before["decision"]
    assert "InterviewScored" not in {i["event_type"] for i in before["inputs"]}
    # A date: the end of that day.
    assert http.get(path, params={"as_of": BASE_TIME.date().isoformat()}, headers=auditor).json()["decided"]

    for bad in ("yesterday", "2026-02-30", "2026-03-02T25:00"):
        r = http.get(path, params={"as_of": bad}, headers=auditor)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json") and "as_of" in r.text
    # Auditors only, in their departments, as without as_of.
    assert http.get(path, params={"as_of": decided_at}, headers=bearer(token(role="coordinator"))).status_code == 403
    elsewhere = bearer(token(role="auditor", departments=("arbetsmarknadsforvaltningen",)))
    assert http.get(path, params={"as_of": decided_at}, headers=elsewhere).status_code == 404
    assert http.get(f"{url}/recruitments/{new_id()}/decision-record", params={"as_of": decided_at},
                    headers=auditor).status_code == 404
    audit.close()

    # The same from the command line.
    _env(monkeypatch, settings)
    capsys.readouterr()
    assert main(["audit", "decision", case["id"], "--as-of", decided_at]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {i["event_id"] for i in printed["inputs"]} == seen
