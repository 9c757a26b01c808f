"""All five services together, as in production: each behind real HTTP, each worker (relays,
consumers, checkpointer) running, talking only through the broker. One recruitment goes from
the brukarbank to a hiring decision; then the auditors verify and replay everything."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from infra.cli import available_services, build_service, main
from shared.auth import mint_token
from shared.config import Settings
from tests.conftest import bearer

DEP = "socialforvaltningen"
SCORECARD = [
    {"key": "motivation_user_participation", "label": "Motivation för brukardelaktighet"},
    {"key": "empathy", "label": "Empati och respekt"},
    {"key": "collaboration", "label": "Samarbete"},
]


def eventually(check: Callable[[], Any], timeout: float = 45.0, every: float = 0.2) -> Any:
    """Retry ``check`` until it returns something truthy (cross-service effects are asynchronous)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except AssertionError as error:
            last = error
        time.sleep(every)
    raise AssertionError(f"not reached in {timeout}s: {last!r}")


@pytest.fixture
def system(settings: Settings, serve, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    settings = settings.with_(checkpoint_every_events=5)
    env = {"DATA_DIR": str(settings.data_dir), "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
           "TOPIC_PREFIX": settings.topic_prefix, "CHECKPOINT_EVERY_EVENTS": "5",
           "DATABASE_URL": settings.database_url or "", "DB_NAMESPACE": settings.db_namespace}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    stop = threading.Event()
    services = {name: build_service(name, settings) for name in available_services()}
    urls = {name: serve(service.http()) for name, service in services.items()}
    workers = [s.worker() for s in services.values()]
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    yield {"settings": settings, "urls": urls, "services": services, "workers": workers}
    stop.set()
    for t in threads:
        t.join(timeout=20)
    for service in services.values():
        service.close()


@pytest.mark.slow
def test_a_recruitment_across_all_services(system: dict[str, Any], http: requests.Session) -> None:
    settings: Settings = system["settings"]
    urls: dict[str, str] = system["urls"]
    P, R, M, A, D = (urls[n] for n in ("participants", "recruitments", "matching", "audit", "dashboards"))
    coord = bearer(mint_token(settings, sub="coord-1", roles=["coordinator"], departments=[DEP]))
    manager = bearer(mint_token(settings, sub="manager-1", roles=["hiring_manager"], departments=[DEP]))
    auditor = bearer(mint_token(settings, sub="auditor-1", roles=["auditor"], departments=[DEP]))

    def ok(r: requests.Response, *codes: int) -> Any:
        assert r.status_code in (codes or (200, 201)), (r.request.method, r.request.url, r.status_code, r.text)
        return r.json()

    areas = [a["code"] if isinstance(a, dict) else a
             for a in ok(http.get(f"{P}/vocabulary/experience-areas", headers=coord))["areas"]]
    people = []
    for i in range(5):
        pid = ok(http.post(f"{P}/participants", headers=coord, json={
            "name": f"Deltagare {i}", "email": f"d{i}@example.se", "departments": [DEP]}))["id"]
        me = bearer(mint_token(settings, sub=pid, roles=["participant"]))
        for purpose in ("recruitment", "matching"):
            ok(http.post(f"{P}/participants/{pid}/consents", headers=me, json={"purpose": purpose, "department": DEP}))
        ok(http.post(f"{P}/participants/{pid}/confidentiality", headers=me,
                     json={"signed_on": "2026-11-01", "text_version": "v3"}))
        ok(http.post(f"{P}/participants/{pid}/training", headers=coord, json={"completed_on": "2026-11-02"}))
        mine = [areas[i % len(areas)], areas[(i + 1) % len(areas)]]
        ok(http.put(f"{P}/participants/{pid}/profile", headers=me, json={
            "experience_areas": mine, "shared_tags": mine, "languages": ["sv"]}))
        ok(http.put(f"{P}/participants/{pid}/availability", headers=me,
                    json={"windows": [{"start": "2027-01-01", "end": "2027-03-31"}]}))
        people.append((pid, me))

    rid = ok(http.post(f"{R}/recruitments", headers=coord, json={
        "department": DEP, "unit": "ekonomiskt-bistand-nord", "position": "Socialsekreterare",
        "hiring_manager": "manager-1", "interview_format": "joint",
        "planned": {"advert_on": "2026-12-01", "interviews_from": "2027-01-10", "interviews_to": "2027-01-20",
                    "decision_by": "2027-02-01"},
        "scorecard": SCORECARD, "needs": {"experience_areas": areas[:3], "languages": ["sv"]}}))["id"]

    # Matching learns participants and the recruitment from Kafka, then proposes three people.
    def proposal() -> Any:
        r = http.post(f"{M}/recruitments/{rid}/proposals", headers=coord, json={})
        return r.json() if r.status_code == 201 and len(r.json().get("members", [])) == 3 else None

    proposed = eventually(proposal)
    panel = [m["participant_id"] for m in proposed["members"]]
    assert all(m["explanation"] for m in proposed["members"])
    ok(http.post(f"{M}/recruitments/{rid}/panel", headers=coord, json={"proposal_id": proposed["proposal_id"]}))

    # Recruitments learns the panel from matching.events.
    eventually(lambda: http.get(f"{R}/recruitments/{rid}", headers=coord).json().get("panel") == panel)
    tokens = dict(people)
    ok(http.post(f"{R}/recruitments/{rid}/advert/publish", headers=coord, json={"text": "Vi söker dig"}))
    cid = ok(http.post(f"{R}/recruitments/{rid}/applications", headers=coord, json={
        "ats_ref": "varbi-77", "name": "Kandidat Karlsson", "email": "k@example.se", "phone": "+46701112233",
        "protected_identity": False}))["id"]
    for who in [*(tokens[p] for p in panel), manager]:
        ok(http.post(f"{R}/recruitments/{rid}/candidates/{cid}/conflicts", headers=who, json={"has_conflict": False}))
        ok(http.post(f"{R}/recruitments/{rid}/candidates/{cid}/scores", headers=who, json={
            "scores": {a["key"]: 4 for a in SCORECARD}, "recommendation": "hire", "comment": "Lyhörd"}))
    ok(http.post(f"{R}/recruitments/{rid}/decision", headers=manager,
                 json={"candidate_id": cid, "motivation": "Panelen var enig"}))
    ok(http.post(f"{R}/recruitments/{rid}/outcome/share", headers=coord, json={}))

    # Participants accrues each panel participant's honorarium from recruitments.events.
    first = panel[0]
    year = time.gmtime().tm_year
    eventually(lambda: ok(http.get(f"{P}/participants/{first}/honoraria?year={year}", headers=tokens[first]))
               .get("accruals"))

    # The dashboards count the recruitment for its department.
    dashboards = eventually(lambda: http.get(f"{D}/api/departments/{DEP}", headers=coord).json())
    assert DEP in str(dashboards)

    # The auditors: the decision record names exactly the people whose input reached it ...
    # The record answers from the audit service's read model, which follows the topics: under load
    # it may answer before it has applied the manager's scores and decision, so wait for those.
    expected = set(panel) | {"manager-1", "coord-1"}

    def record() -> Any:
        r = http.get(f"{A}/recruitments/{rid}/decision-record", headers=auditor)
        if r.status_code != 200 or not r.json().get("decision"):
            return None
        return r.json() if expected <= {p["id"] for p in r.json()["people"]} else None

    people_ids = {p["id"] for p in eventually(record, timeout=90)["people"]}
    assert expected <= people_ids
    assert not {p for p, _ in people if p not in panel} & people_ids

    # ... and verify (chains, checkpoints, stores) and replay (every read model) both hold.
    # The services' reactions may still be writing (the other panel members' honoraria, the
    # payments' read models): verify holds once the audit service has signed what they wrote. An
    # audit instance of its own (as an operator's catch-up would be) applies and signs everything
    # now; the worker's own consumers are not driven from this thread (closing a consumer the
    # worker is polling kills the worker).
    operator = build_service("audit", system["settings"])

    def verified() -> bool:
        operator.catch_up(force_checkpoint=True)
        return main(["audit", "verify"]) == 0

    try:
        eventually(verified, timeout=60, every=1.0)
    finally:
        operator.close()
    assert not [w.failures for w in system["workers"] if w.failures]
    assert main(["audit", "replay"]) == 0
