"""The Panel aggregate's rules, in process (no servers, no store): start its stream either way,
call its commands, assert its state and the commands it refuses. A refused command records no
event; the recorded ones replay to the same state."""

from __future__ import annotations

import pytest

from services.matching.domain import (
    AlreadyOnPanel,
    EmptyProposal,
    InvitationAnswered,
    NoInvitation,
    NoSuchProposal,
    NotOnPanel,
    Panel,
    PanelSizeOutOfRange,
    SeatTakenTwice,
    panel_id,
)
from services.matching.ranking import MAX_PANEL_SIZE
from tests.aggregates import refused, replayed

RID = "7d7c0a52-3f7e-4a53-9d0e-3d1a5c1b9e11"
DEPT = "socialforvaltningen"
COORDINATOR = {"id": "co-1", "role": "coordinator"}
MATCHING = {"id": "matching", "role": "system"}


def proposed(*people: str) -> Panel:
    members = [{"participant_id": p, "score": 3, "explanation": "fits"} for p in people]
    return Panel.start_with_proposal(RID, "prop-1", members, ["economic_assistance"], None, MATCHING, DEPT)


def assigned(*people: str) -> Panel:
    return Panel.start_with_assignment(RID, list(people), None, [], COORDINATOR, DEPT)


def test_the_stream_starts_with_a_proposal_or_an_assignment_of_the_recruitment() -> None:
    first = proposed("a", "b")
    assert first.id == panel_id(RID) and first.proposal("prop-1") == ["a", "b"] and first.members == []
    other = assigned("a")
    assert other.id == panel_id(RID) and other.members == ["a"]
    assert type(first.collect_events()[0]).__name__ == "FirstProposed"
    assert type(other.collect_events()[0]).__name__ == "FirstAssigned"


def test_a_proposal_is_assigned_only_when_it_exists_and_named_someone() -> None:
    panel = proposed("a", "b")
    with pytest.raises(NoSuchProposal) as caught:
        panel.proposal("prop-x")
    assert caught.value.field == "proposal_id"
    panel.propose(RID, "prop-2", [], [], "nobody consented", MATCHING, DEPT)
    with pytest.raises(EmptyProposal):
        panel.proposal("prop-2")
    panel.assign(RID, panel.proposal("prop-1"), "prop-1", [], COORDINATOR, DEPT)
    assert panel.members == ["a", "b"]
    assert replayed(panel).members == ["a", "b"]


def test_a_person_takes_one_seat_and_a_panel_has_one_to_three() -> None:
    panel = proposed("a")
    refused(panel, SeatTakenTwice, lambda: panel.assign(RID, ["a", "a"], None, [], COORDINATOR, DEPT))
    too_many = [f"p{i}" for i in range(MAX_PANEL_SIZE + 1)]
    refused(panel, PanelSizeOutOfRange, lambda: panel.assign(RID, too_many, None, [], COORDINATOR, DEPT))
    refused(panel, PanelSizeOutOfRange, lambda: panel.assign(RID, [], None, [], COORDINATOR, DEPT))
    with pytest.raises(SeatTakenTwice):
        Panel.start_with_assignment(RID, ["a", "a"], None, [], COORDINATOR, DEPT)


def test_an_invitation_is_answered_once_and_only_by_someone_seated() -> None:
    panel = assigned("a", "b")
    me = {"id": "a", "role": "participant"}
    refused(panel, NoInvitation, lambda: panel.accept_invitation(RID, "z", me, DEPT))
    panel.accept_invitation(RID, "a", me, DEPT)
    assert panel.invitation("a") == "accepted"
    err = refused(panel, InvitationAnswered, lambda: panel.decline_invitation(RID, "a", None, me, DEPT))
    assert "accepted" in err.detail
    panel.decline_invitation(RID, "b", "health", {"id": "b", "role": "participant"}, DEPT)
    refused(panel, InvitationAnswered, lambda: panel.accept_invitation(RID, "b", me, DEPT))
    assert replayed(panel).answers == {"a": "accepted", "b": "declined"}


def test_a_replacement_takes_the_seat_the_domain_computes() -> None:
    panel = assigned("a", "b")
    refused(panel, NotOnPanel, lambda: panel.replace_member(RID, "z", "c", "ill", COORDINATOR, DEPT))
    refused(panel, AlreadyOnPanel, lambda: panel.replace_member(RID, "a", "b", "ill", COORDINATOR, DEPT))
    panel.decline_invitation(RID, "a", None, {"id": "a", "role": "participant"}, DEPT)
    assert panel.replace_member(RID, "a", "c", "declined", COORDINATOR, DEPT) == ["c", "b"]
    assert (panel.members, panel.dropped) == (["c", "b"], ["a"])
    event = panel.pending_events[-1]
    assert vars(event)["members"] == ["c", "b"]  # the event holds the computed seats
    copy = replayed(panel)
    assert (copy.members, copy.dropped, copy.answers) == (["c", "b"], ["a"], {"a": "declined"})
