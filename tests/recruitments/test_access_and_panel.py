"""Who sees what, and the panel as learned from matching.events."""

from __future__ import annotations

import json
import threading
import time

from shared.config import Settings
from shared.kafka import read_all
from tests.recruitments.conftest import Rig


def test_departments_and_panel_membership_scope_access(sqlite_settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(sqlite_settings)
    rid = rig.open()
    other_rid = rig.open()
    base = f"/recruitments/{rid}"
    rig.publish(rid)
    cid = rig.apply(rid, "a-1", "Sara Ek")
    rig.assign_panel(rid, rig.participants[:2])

    elsewhere = rig.tok("coordinator", "coord-elsewhere", ("arbetsmarknadsforvaltningen",))
    rig.get(base, elsewhere, 404)
    rig.get(f"{base}/candidates", elsewhere, 404)
    rig.refused(f"{base}/advert/contributions", {"text": "x"}, elsewhere, 404, "no recruitment")
    rig.settle()
    assert rig.get("/recruitments", elsewhere)["items"] == []
    assert {r["id"] for r in rig.get("/recruitments", rig.coord)["items"]} == {rid, other_rid}

    # A participant sees only the recruitments whose panel they are on.
    assert [r["id"] for r in rig.get("/recruitments", rig.p(0))["items"]] == [rid]
    rig.get(f"/recruitments/{other_rid}", rig.p(0), 404)
    outsider = rig.p(2)
    rig.get(base, outsider, 404)
    rig.refused(
        f"{base}/candidates/{cid}/conflicts", {"has_conflict": False}, outsider, 404, "no recruitment"
    )
    # ... and only what their role allows: no contact data, no decision, no staff commands.
    item = rig.get(f"{base}/candidates", rig.p(0))["items"][0]
    assert item == {"id": cid, "protected_identity": False, "erased": False, "name": "Sara Ek", "scored_by_you": False}
    assert "decision" not in rig.get(base, rig.p(0))
    rig.refused(f"{base}/advert/publish", {"text": "x"}, rig.p(0), 403, "roles")
    rig.refused(f"{base}/applications", {"ats_ref": "b", "name": "B"}, rig.p(0), 403, "roles")
    assert rig.http.get(f"{rig.url}{base}/feedback", headers=rig.p(0)).status_code == 403
    assert rig.http.get(f"{rig.url}{base}", headers={}).status_code == 401
    # Whether the caller has scored a candidate is said by the list itself (no request per candidate).
    rig.score(rid, cid, rig.p(0), (4, 4, 4), "hire")
    assert rig.get(f"{base}/candidates", rig.p(0))["items"][0]["scored_by_you"] is True
    assert rig.get(f"{base}/candidates", rig.coord)["items"][0]["scored_by_you"] is False


def test_opening_and_applications_are_idempotent(sqlite_settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(sqlite_settings)
    rid = rig.open()
    rig.publish(rid)
    headers = {**rig.coord, "Idempotency-Key": "ats-import-77"}
    body = {"ats_ref": "varbi-77", "name": "Lina Ny", "email": "lina@example.se"}
    first = rig.http.post(f"{rig.url}/recruitments/{rid}/applications", json=body, headers=headers)
    again = rig.http.post(f"{rig.url}/recruitments/{rid}/applications", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert "Lina" not in again.text
    assert len(rig.get(f"/recruitments/{rid}/candidates", rig.coord)["items"]) == 1


def test_panel_from_matching_is_idempotent_and_follows_replacements(
    sqlite_settings: Settings, make_rig
) -> None:
    rig: Rig = make_rig(sqlite_settings)
    rid = rig.open()
    feed = rig.service.panel_feed()
    rig.matching_event(
        rid, "PanelProposed", {"proposal_id": "p1", "members": [], "covered_areas": [], "empty_reason": None}
    )
    rig.matching_event(
        rid, "PanelAssigned", {"members": rig.participants[:2], "proposal_id": None, "overrides": []}
    )
    # The same envelope delivered twice (at-least-once relay) is applied once.
    records = read_all(sqlite_settings, sqlite_settings.topic("matching.events"))
    assigned = next(r for r in records if b"PanelAssigned" in r.value)
    rig.send_matching(assigned.key.decode(), assigned.value)
    rig.matching_event(
        "00000000-0000-0000-0000-000000000000",
        "PanelAssigned",
        {"members": rig.participants, "proposal_id": None, "overrides": []},
    )
    feed.catch_up()
    assert rig.get(f"/recruitments/{rid}", rig.coord)["panel"] == rig.participants[:2]
    rig.matching_event(
        rid,
        "PanelMemberReplaced",
        {
            "replaced": rig.participants[1],
            "replacement": rig.participants[2],
            "reason": "sjuk",
            "members": [rig.participants[0], rig.participants[2]],
        },
    )
    feed.catch_up()
    assert rig.get(f"/recruitments/{rid}", rig.coord)["panel"] == [rig.participants[0], rig.participants[2]]
    rig.get(f"/recruitments/{rid}", rig.p(1), 404)
    rig.get(f"/recruitments/{rid}", rig.p(2))

    learned = [e for e in rig.service.app.envelopes() if e["event_type"] == "PanelLearned"]
    assert len(learned) == 2
    assert learned[0]["actor"] == {"id": rig.coordinator, "role": "coordinator"}
    assert learned[1]["payload"]["members"] == [
        {"participant_id": rig.participants[0]},
        {"participant_id": rig.participants[2]},
    ]


def test_worker_learns_the_panel_and_publishes(sqlite_settings: Settings, make_rig) -> None:
    """The background worker (relay + panel feed + read model) does it all on its own."""
    rig: Rig = make_rig(sqlite_settings)
    rid = rig.open()
    stop = threading.Event()
    thread = threading.Thread(target=rig.service.worker().run, args=(stop,), daemon=True)
    thread.start()
    try:
        rig.matching_event(
            rid, "PanelAssigned", {"members": rig.participants, "proposal_id": None, "overrides": []}
        )
        deadline = time.monotonic() + 20
        while not rig.get(f"/recruitments/{rid}", rig.coord)["panel"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rig.get(f"/recruitments/{rid}", rig.coord)["panel"] == rig.participants
        published: list[str] = []
        while "PanelLearned" not in published and time.monotonic() < deadline:
            published = [
                json.loads(r.value)["event_type"]
                for r in read_all(sqlite_settings, sqlite_settings.topic("recruitments.events"))
            ]
            time.sleep(0.1)
        assert published.count("RecruitmentOpened") == 1 and "PanelLearned" in published
    finally:
        stop.set()
        thread.join(timeout=15)
