"""The Panel aggregate's rules as a coordinator, a participant or an auditor states them, in
process (no servers, no store): the limits of a panel's size hold at both ends, every refusal
names the input at fault and says in words what is wrong, and every recorded event carries what
an auditor reads from ``matching.events`` (the recruitment, who did it, in which department, and
what was decided). Written from the mutation run of ``services/matching/domain.py``
(docs/mutation.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
)
from services.matching.ranking import MAX_PANEL_SIZE
from shared.errors import DomainError
from tests.aggregates import refused, replayed

RID = "2b9f7c1e-5d8a-4f0b-9a57-6c4e2d1f0a33"
DEPT = "socialforvaltningen"
COORDINATOR = {"id": "co-7", "role": "coordinator"}
MATCHING = {"id": "matching", "role": "system"}


def proposal(*people: str) -> list[dict[str, Any]]:
    return [{"participant_id": p, "score": 2, "explanation": "fits"} for p in people]


def recorded(panel: Panel) -> list[dict[str, Any]]:
    """The panel's events not yet stored, as their fields (what the outbox publishes)."""
    return [vars(e) for e in panel.pending_events]


def refusal(panel: Panel, kind: type[DomainError], command: Callable[[], Any]) -> DomainError:
    """The named refusal ``command`` meets (nothing recorded), for its field and wording."""
    err = refused(panel, kind, command)
    assert isinstance(err, DomainError)
    return err


def test_a_panel_of_one_and_a_full_panel_are_both_assigned() -> None:
    full = [f"p{i}" for i in range(MAX_PANEL_SIZE)]
    assert Panel.start_with_assignment(RID, full, None, [], COORDINATOR, DEPT).members == full
    assert Panel.start_with_assignment(RID, ["p0"], None, [], COORDINATOR, DEPT).members == ["p0"]
    panel = Panel.start_with_proposal(RID, "prop-1", proposal(*full), ["homelessness"], None, MATCHING, DEPT)
    panel.assign(RID, full, "prop-1", [], COORDINATOR, DEPT)
    assert panel.members == full
    panel.assign(RID, ["p1"], None, [], COORDINATOR, DEPT)
    assert replayed(panel).members == ["p1"]


def test_every_refusal_names_the_input_at_fault_and_says_what_is_wrong() -> None:
    panel = Panel.start_with_proposal(RID, "prop-1", proposal("a", "b"), [], None, MATCHING, DEPT)
    panel.propose(RID, "prop-2", [], [], "nobody consented", MATCHING, DEPT)

    err = refusal(panel, SeatTakenTwice, lambda: panel.assign(RID, ["a", "a"], None, [], COORDINATOR, DEPT))
    assert err.field == "members" and "only one seat" in err.detail
    too_many = [f"p{i}" for i in range(MAX_PANEL_SIZE + 1)]
    err = refusal(panel, PanelSizeOutOfRange, lambda: panel.assign(RID, too_many, None, [], COORDINATOR, DEPT))
    assert err.field == "members" and f"1 to {MAX_PANEL_SIZE} participants" in err.detail

    err = refusal(panel, NoSuchProposal, lambda: panel.proposal("prop-x"))
    assert err.field == "proposal_id" and "no proposal prop-x" in err.detail
    err = refusal(panel, EmptyProposal, lambda: panel.proposal("prop-2"))
    assert err.field == "proposal_id" and "nobody fitted" in err.detail

    panel.assign(RID, ["a", "b"], "prop-1", [], COORDINATOR, DEPT)
    a = {"id": "a", "role": "participant"}
    err = refusal(panel, NoInvitation, lambda: panel.accept_invitation(RID, "z", a, DEPT))
    assert "no invitation" in err.detail
    panel.accept_invitation(RID, "a", a, DEPT)
    err = refusal(panel, InvitationAnswered, lambda: panel.accept_invitation(RID, "a", a, DEPT))
    assert err.field == "invitation" and "already accepted" in err.detail

    err = refusal(panel, NotOnPanel, lambda: panel.replace_member(RID, "z", "c", "ill", COORDINATOR, DEPT))
    assert err.field == "participant_id" and "not on the panel" in err.detail
    err = refusal(panel, AlreadyOnPanel, lambda: panel.replace_member(RID, "a", "b", "ill", COORDINATOR, DEPT))
    assert err.field == "replacement" and "already sits on this panel" in err.detail


def test_a_proposal_records_the_recruitment_who_proposed_and_what_it_covers() -> None:
    panel = Panel.start_with_proposal(RID, "prop-1", proposal("a"), ["homelessness"], "only one fitted",
                                      MATCHING, DEPT)
    first = recorded(panel)[0]
    assert (first["recruitment_id"], first["proposal_id"], first["actor"], first["department"]) == (
        RID, "prop-1", MATCHING, DEPT)
    assert (first["covered_areas"], first["empty_reason"]) == (["homelessness"], "only one fitted")
    assert panel.recruitment_id == RID and replayed(panel).recruitment_id == RID


def test_an_assignment_by_hand_records_the_recruitment_who_assigned_and_the_rules_set_aside() -> None:
    overrides = [{"participant_id": "a", "rule": "participation_limit_reached"}]
    panel = Panel.start_with_assignment(RID, ["a", "b"], "prop-9", overrides, COORDINATOR, DEPT)
    first = recorded(panel)[0]
    assert (first["recruitment_id"], first["members"], first["proposal_id"]) == (RID, ["a", "b"], "prop-9")
    assert (first["overrides"], first["actor"], first["department"]) == (overrides, COORDINATOR, DEPT)
    assert panel.recruitment_id == RID


def test_a_replacement_records_who_left_who_came_why_and_by_whom() -> None:
    panel = Panel.start_with_assignment(RID, ["a", "b"], None, [], COORDINATOR, DEPT)
    panel.collect_events()
    panel.replace_member(RID, "a", "c", "fell ill", COORDINATOR, DEPT)
    (event,) = recorded(panel)
    assert (event["recruitment_id"], event["replaced"], event["replacement"], event["reason"]) == (
        RID, "a", "c", "fell ill")
    assert (event["members"], event["actor"], event["department"]) == (["c", "b"], COORDINATOR, DEPT)
    assert panel.invitation("c") == "invited"


def test_someone_who_declined_and_is_brought_back_is_invited_afresh() -> None:
    panel = Panel.start_with_assignment(RID, ["a", "b"], None, [], COORDINATOR, DEPT)
    panel.decline_invitation(RID, "a", "travel", {"id": "a", "role": "participant"}, DEPT)
    assert panel.invitation("a") == "declined"
    panel.replace_member(RID, "a", "c", "declined", COORDINATOR, DEPT)
    panel.replace_member(RID, "c", "a", "c could not come after all", COORDINATOR, DEPT)
    assert panel.members == ["a", "b"] and panel.invitation("a") == "invited"
    assert replayed(panel).invitation("a") == "invited"
