"""A panel seat is an invitation: the participant accepts or declines it; a decline brings in the
next best person through the same replacement a coordinator makes. Real HTTP and broker."""

from __future__ import annotations

import json

from shared.kafka import read_all
from tests.conftest import bearer
from tests.matching.conftest import Bench


def _events(bench: Bench) -> list[dict]:
    records = read_all(bench.settings, bench.settings.topic("matching.events"))
    return sorted((json.loads(r.value) for r in records), key=lambda e: e["position"])


def test_accept_and_decline_with_replacement(matching: Bench, token) -> None:
    bench = matching
    people = [bench.feed.participant(tags=["ekonomiskt-bistand"]) for _ in range(5)]
    rid = bench.feed.recruitment(areas=["ekonomiskt-bistand"])
    bench.sync()
    proposal = bench.propose(rid)
    members = bench.post(f"/recruitments/{rid}/panel", {"proposal_id": proposal["proposal_id"]}).json()["members"]
    first, second = (bearer(token(role="participant", departments=(), sub=m)) for m in members[:2])

    assert bench.get(f"/recruitments/{rid}/invitation", auth=first).json()["status"] == "invited"
    accepted = bench.post(f"/recruitments/{rid}/invitation/acceptance", {}, auth=first)
    assert accepted.status_code == 201 and accepted.json()["status"] == "accepted"
    again = bench.post(f"/recruitments/{rid}/invitation/acceptance", {}, auth=first)
    assert again.status_code == 409

    declined = bench.post(f"/recruitments/{rid}/invitation/decline", {"reason": "not_available"}, auth=second)
    assert declined.status_code == 201, declined.text
    assert declined.json() == {"recruitment_id": rid, "participant_id": members[1], "department": "socialforvaltningen",
                               "status": "declined", "replacement_found": True}
    assert bench.get(f"/recruitments/{rid}/invitation", auth=second).json()["status"] == "declined"
    bench.sync()
    events = _events(bench)
    assert [e["event_type"] for e in events] == ["PanelProposed", "PanelAssigned", "InvitationAccepted",
                                                 "InvitationDeclined", "PanelMemberReplaced"]
    assert events[2]["actor"] == {"id": members[0], "role": "participant"}
    assert events[3]["payload"] == {"recruitment_id": rid, "participant_id": members[1], "reason": "not_available"}
    replacement = events[4]["payload"]["replacement"]
    assert events[4]["payload"]["replaced"] == members[1]
    assert replacement in people and replacement not in members
    # The newcomer has an open invitation of their own.
    newcomer = bearer(token(role="participant", departments=(), sub=replacement))
    assert bench.get(f"/recruitments/{rid}/invitation", auth=newcomer).json()["status"] == "invited"


def test_invitations_are_each_persons_own(matching: Bench, token) -> None:
    bench = matching
    for _ in range(4):
        bench.feed.participant(tags=["ekonomiskt-bistand"])
    rid = bench.feed.recruitment(areas=["ekonomiskt-bistand"])
    bench.sync()
    proposal = bench.propose(rid)
    bench.post(f"/recruitments/{rid}/panel", {"proposal_id": proposal["proposal_id"]})
    stranger = bearer(token(role="participant", departments=(), sub="not-on-the-panel"))
    assert bench.get(f"/recruitments/{rid}/invitation", auth=stranger).status_code == 404
    assert bench.post(f"/recruitments/{rid}/invitation/decline", {}, auth=stranger).status_code == 404
    coordinator = bench.auth
    assert bench.post(f"/recruitments/{rid}/invitation/acceptance", {}, auth=coordinator).status_code == 403
    member = bearer(token(role="participant", departments=(), sub=proposal["members"][0]["participant_id"]))
    bad = bench.post(f"/recruitments/{rid}/invitation/decline", {"reason": "I know the candidate Emma"}, auth=member)
    assert bad.status_code == 422 and "reason" in bad.text  # free text never goes on the public contract
