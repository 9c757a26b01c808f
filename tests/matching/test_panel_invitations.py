"""The coordinator follows a panel's invitations: per seat who was invited (pseudonymous), whether
they accepted, declined (the declared category) or are still waiting, since when, and who took the
seat after a decline or a replacement. From a read model built from ``matching.events``; real
HTTP, broker and database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.audit.replay import replay
from services.matching.projections import InvitationsProjection
from shared.consumer import ConsumerLoop
from tests.conftest import bearer
from tests.matching.conftest import Bench


@pytest.fixture
def invitations_loop(matching_both: Bench) -> Iterator[ConsumerLoop]:
    loop = matching_both.service.invitations_consumer()
    yield loop
    loop.close()


def _panel(bench: Bench, loop: ConsumerLoop, people: int = 5, size: int = 3) -> tuple[str, list[str]]:
    for _ in range(people):
        bench.feed.participant(tags=["ekonomiskt-bistand"])
    rid = bench.feed.recruitment(areas=["ekonomiskt-bistand"], panel_size=size)
    bench.sync()
    proposal = bench.propose(rid)
    members = bench.post(f"/recruitments/{rid}/panel", {"proposal_id": proposal["proposal_id"]}).json()["members"]
    return rid, members


def _read(bench: Bench, loop: ConsumerLoop, rid: str, auth: dict[str, str] | None = None) -> Any:
    bench.sync()
    loop.catch_up()
    return bench.get(f"/recruitments/{rid}/invitations", auth=auth)


def test_each_seat_shows_the_answer_since_when_and_the_replacement_chain(
        matching_both: Bench, invitations_loop: ConsumerLoop, token: Callable[..., str]) -> None:
    bench, loop = matching_both, invitations_loop
    rid, members = _panel(bench, loop)
    first, second, third = (bearer(token(role="participant", departments=(), sub=m)) for m in members)

    waiting = _read(bench, loop, rid).json()
    assert [s["current"]["participant_id"] for s in waiting["seats"]] == members
    assert {s["current"]["status"] for s in waiting["seats"]} == {"invited"}

    assert bench.post(f"/recruitments/{rid}/invitation/acceptance", {}, auth=first).status_code == 201
    declined = bench.post(f"/recruitments/{rid}/invitation/decline", {"reason": "health"}, auth=second)
    assert declined.json()["replacement_found"] is True
    answer = _read(bench, loop, rid)
    assert answer.status_code == 200, answer.text
    seats = answer.json()["seats"]
    assert seats[0]["current"]["status"] == "accepted" and seats[0]["invitations"][0]["since"]
    chain = seats[1]["invitations"]
    newcomer = chain[1]["participant_id"]
    assert [(i["participant_id"], i["status"], i["reason"]) for i in chain] == [
        (members[1], "declined", "health"), (newcomer, "invited", None)]
    assert chain[0]["replaced_by"] == newcomer and chain[1]["replaces"] == members[1]
    assert seats[1]["current"]["participant_id"] == newcomer and not seats[1]["needs_replacement"]
    assert newcomer not in members

    # The coordinator replaces the third member (their reason is free text: it is not shown).
    replaced = bench.post(f"/recruitments/{rid}/panel/replacements",
                          {"participant_id": members[2], "reason": "Lena är sjuk"})
    assert replaced.status_code == 201, replaced.text
    seat = _read(bench, loop, rid).json()["seats"][2]
    assert [i["status"] for i in seat["invitations"]] == ["replaced", "invited"]
    assert seat["current"]["participant_id"] == replaced.json()["replacement"]
    assert "Lena" not in _read(bench, loop, rid).text
    assert bench.get(f"/recruitments/{rid}/invitation", auth=third).status_code == 404  # no longer theirs

    # Rebuilt from offset zero into a fresh database, the read model is the same row for row.
    [rebuilt] = replay([(InvitationsProjection, bench.service.db)])
    assert rebuilt.identical and rebuilt.rows >= 5, rebuilt


def test_a_decline_nobody_can_fill_leaves_the_seat_open_for_the_coordinator(
        matching_both: Bench, invitations_loop: ConsumerLoop, token: Callable[..., str]) -> None:
    bench, loop = matching_both, invitations_loop
    rid, members = _panel(bench, loop, people=2, size=2)
    member = bearer(token(role="participant", departments=(), sub=members[0]))
    declined = bench.post(f"/recruitments/{rid}/invitation/decline", {}, auth=member)
    assert declined.json()["replacement_found"] is False
    seat = _read(bench, loop, rid).json()["seats"][0]
    assert seat["needs_replacement"] is True
    assert seat["current"] == {"participant_id": members[0], "status": "declined", "since": seat["current"]["since"],
                               "reason": None, "replaces": None, "replaced_by": None}


def test_only_the_departments_coordinators_and_the_recruitments_own_hiring_manager_may_read(
        matching_both: Bench, invitations_loop: ConsumerLoop, token: Callable[..., str]) -> None:
    bench, loop = matching_both, invitations_loop
    rid, members = _panel(bench, loop)
    assert _read(bench, loop, rid).status_code == 200
    own_manager = bearer(token(role="hiring_manager", sub="staff-hm"))  # the feed's recruitment names staff-hm
    assert _read(bench, loop, rid, own_manager).json()["seats"][0]["current"]["participant_id"] == members[0]
    assert _read(bench, loop, rid, bearer(token(role="hiring_manager", sub="another-manager"))).status_code == 403
    elsewhere = bearer(token(departments=("arbetsmarknadsforvaltningen",)))
    assert _read(bench, loop, rid, elsewhere).status_code == 404
    member = bearer(token(role="participant", departments=(), sub=members[0]))
    assert _read(bench, loop, rid, member).status_code == 403
    for role in ("auditor", "researcher"):
        assert _read(bench, loop, rid, bearer(token(role=role))).status_code == 403
    unknown = _read(bench, loop, "00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and unknown.headers["Content-Type"] == "application/problem+json"
