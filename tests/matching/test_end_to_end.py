"""Propose, assign, replace over real HTTP; events through the real broker; both backends."""

from __future__ import annotations

import json

from shared.envelope import GENESIS_HASH, chain_hash
from shared.kafka import read_all
from tests.conftest import bearer
from tests.matching.conftest import Bench
from tests.matching.feed import DEPARTMENT


def _matching_events(bench: Bench) -> list[dict]:
    records = read_all(bench.settings, bench.settings.topic("matching.events"))
    return sorted((json.loads(r.value) for r in records), key=lambda e: e["position"])


def test_propose_assign_replace_end_to_end(matching_both: Bench, token) -> None:
    bench = matching_both
    people = [bench.feed.participant(tags=["ekonomiskt-bistand", "missbruk"]) for _ in range(5)]
    rid = bench.feed.recruitment(areas=["ekonomiskt-bistand", "missbruk"])
    bench.sync()

    proposal = bench.propose(rid)
    assert len(proposal["members"]) == 3
    assert set(proposal["covered_areas"]) == {"ekonomiskt-bistand", "missbruk"}
    assert proposal["empty_reason"] is None
    for member in proposal["members"]:
        assert member["participant_id"] in people
        assert "consented to socialforvaltningen" in member["explanation"]
        assert isinstance(member["score"], int)

    assigned = bench.post(f"/recruitments/{rid}/panel", {"proposal_id": proposal["proposal_id"]})
    assert assigned.status_code == 201, assigned.text
    members = assigned.json()["members"]
    assert members == [m["participant_id"] for m in proposal["members"]]

    leaving = members[1]
    replaced = bench.post(f"/recruitments/{rid}/panel/replacements",
                          {"participant_id": leaving, "reason": "fell ill"})
    assert replaced.status_code == 201, replaced.text
    replacement = replaced.json()["replacement"]
    assert replacement in people and replacement not in members
    assert replaced.json()["members"] == [members[0], replacement, members[2]]
    bench.sync()

    events = _matching_events(bench)
    assert [e["event_type"] for e in events] == ["PanelProposed", "PanelAssigned", "PanelMemberReplaced"]
    prev = GENESIS_HASH
    for env in events:
        assert env["department"] == DEPARTMENT
        assert env["actor"]["role"] == "coordinator"
        assert env["hash"] == chain_hash(prev, env)
        prev = env["hash"]
    assert events[1]["payload"] == {"recruitment_id": rid, "members": members,
                                    "proposal_id": proposal["proposal_id"], "overrides": []}
    assert events[2]["payload"]["replaced"] == leaving
    assert events[2]["payload"]["replacement"] == replacement
    assert events[0]["aggregate_id"] == events[1]["aggregate_id"] == events[2]["aggregate_id"]

    # Our own events came back through Kafka into the read model as engagements.
    report = bench.get(f"/departments/{DEPARTMENT}/fairness").json()
    assert report["active_participants"] == 5
    assert report["engaged_last_12_months"] == 3
    assert report["engagements_last_12_months"] == 3
    waiting_ids = [w["participant_id"] for w in report["longest_waiting"]]
    assert set(waiting_ids[:2]) == {leaving, *(set(people) - set(members) - {replacement})}

    # Department scoping and roles.
    other = bearer(token(departments=("arbetsmarknadsforvaltningen",)))
    assert bench.post(f"/recruitments/{rid}/proposals", {}, auth=other).status_code == 404
    participant = bearer(token(role="participant", departments=(DEPARTMENT,)))
    assert bench.post(f"/recruitments/{rid}/proposals", {}, auth=participant).status_code == 403
    assert bench.post(f"/recruitments/{rid}/proposals", {"panel_size": 4}).status_code == 422
    assert bench.post(f"/recruitments/{rid}/proposals", {"colour": "red"}).status_code == 422
