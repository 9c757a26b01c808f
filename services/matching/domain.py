"""The panel of one recruitment: proposals, the assignment and replacements. No I/O here.

A panel's id is derived from its recruitment (``uuid5(NAMESPACE_URL, "panel:" + id)``), so every
proposal, assignment and replacement of one recruitment is one stream. The stream starts with
whichever comes first: a proposal, or an assignment picked by hand.

The dialect of the eventsourcing examples (``docs/code-layout.md``): a command decorated with
``@event("Name")`` is the event, its body runs the ``check_…`` methods (named refusals) and then
changes state; a value the domain computes (the members after a replacement) is computed by a
plain command that then calls the decorated ``_…`` method. The two alternative first events
(``FirstProposed``, ``FirstAssigned``) are the library's way to have several creation events:
two declared ``Created`` classes, each made by its own class method through ``_create``; their
``apply`` runs the same state change as the later ``Proposed`` and ``Assigned``.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.matching.ranking import MAX_PANEL_SIZE
from shared.errors import Conflict, InvalidInput, NotFound

Actor = dict[str, str]


# -- named refusals: kinds from shared/errors.py, mapped to HTTP only at the edge (shared/web.py) --
class NoSuchProposal(NotFound):
    """No proposal with that id was made for this recruitment."""


class EmptyProposal(Conflict):
    """The proposal was empty (nobody fitted): there is nobody to assign from it."""


class SeatTakenTwice(InvalidInput):
    """A person takes only one seat on a panel."""


class PanelSizeOutOfRange(InvalidInput):
    """A panel has 1 to ``MAX_PANEL_SIZE`` participants."""


class NoInvitation(NotFound):
    """The caller has no invitation to this panel."""


class InvitationAnswered(Conflict):
    """An invitation is accepted or declined once."""


class NotOnPanel(Conflict):
    """Only a member of the panel can be replaced."""


class AlreadyOnPanel(Conflict):
    """A replacement is somebody not seated yet."""


def panel_id(recruitment_id: str) -> UUID:
    """The panel stream of a recruitment."""
    return uuid5(NAMESPACE_URL, f"panel:{recruitment_id}")


def check_seats(members: list[str]) -> None:
    """One seat per person, 1 to ``MAX_PANEL_SIZE`` seats."""
    if len(set(members)) != len(members):
        raise SeatTakenTwice("a person can take only one seat", field="members")
    if not 1 <= len(members) <= MAX_PANEL_SIZE:
        raise PanelSizeOutOfRange(f"a panel has 1 to {MAX_PANEL_SIZE} participants", field="members")


class Panel(Aggregate):
    """Who sits on a recruitment's panel, and every proposal made for it."""

    class Started(Aggregate.Created):
        recruitment_id: str
        actor: dict[str, str]
        department: str | None

    class FirstProposed(Started):
        proposal_id: str
        members: list[dict[str, Any]]
        covered_areas: list[str]
        empty_reason: str | None

        def apply(self, aggregate: Any) -> None:
            aggregate._note_proposal(self.proposal_id, self.members)

    class FirstAssigned(Started):
        members: list[str]
        proposal_id: str | None
        overrides: list[dict[str, str]]

        def apply(self, aggregate: Any) -> None:
            aggregate._seat(self.members)

    def __init__(self, recruitment_id: str) -> None:
        self.recruitment_id = recruitment_id
        self.proposals: dict[str, list[str]] = {}
        self.members: list[str] = []
        self.dropped: list[str] = []  # left this panel; not proposed for it again
        self.answers: dict[str, str] = {}  # a seat is an invitation: "accepted" or "declined" once answered

    # -- starting the stream (two alternative creation events) -----------------------------
    @classmethod
    def start_with_proposal(
        cls,
        recruitment_id: str,
        proposal_id: str,
        members: list[dict[str, Any]],
        covered_areas: list[str],
        empty_reason: str | None,
        actor: Actor,
        department: str | None,
    ) -> Panel:
        """The panel's stream, begun by matching's first proposal."""
        panel: Panel = cls._create(
            cls.FirstProposed, id=panel_id(recruitment_id), recruitment_id=recruitment_id,
            proposal_id=proposal_id, members=members, covered_areas=covered_areas,
            empty_reason=empty_reason, actor=actor, department=department,
        )
        return panel

    @classmethod
    def start_with_assignment(
        cls,
        recruitment_id: str,
        members: list[str],
        proposal_id: str | None,
        overrides: list[dict[str, str]],
        actor: Actor,
        department: str | None,
    ) -> Panel:
        """The panel's stream, begun by a coordinator assigning people picked by hand."""
        check_seats(members)
        panel: Panel = cls._create(
            cls.FirstAssigned, id=panel_id(recruitment_id), recruitment_id=recruitment_id,
            members=members, proposal_id=proposal_id, overrides=overrides, actor=actor,
            department=department,
        )
        return panel

    # -- state changes shared by the creation events and the commands ------------------------
    def _note_proposal(self, proposal_id: str, members: list[dict[str, Any]]) -> None:
        self.proposals[proposal_id] = [str(m["participant_id"]) for m in members]

    def _seat(self, members: list[str]) -> None:
        self.members = list(members)

    # -- proposing and assigning ------------------------------------------------------------
    @event("Proposed")
    def propose(
        self,
        recruitment_id: str,
        proposal_id: str,
        members: list[dict[str, Any]],
        covered_areas: list[str],
        empty_reason: str | None,
        actor: Actor,
        department: str | None,
    ) -> None:
        self._note_proposal(proposal_id, members)

    def proposal(self, proposal_id: str) -> list[str]:
        """The members of an earlier proposal of this panel."""
        if proposal_id not in self.proposals:
            raise NoSuchProposal(f"no proposal {proposal_id} for this recruitment", field="proposal_id")
        members = self.proposals[proposal_id]
        if not members:
            raise EmptyProposal("that proposal was empty: nobody fitted", field="proposal_id")
        return members

    @event("Assigned")
    def assign(
        self,
        recruitment_id: str,
        members: list[str],
        proposal_id: str | None,
        overrides: list[dict[str, str]],
        actor: Actor,
        department: str | None,
    ) -> None:
        check_seats(members)
        self._seat(members)

    # -- invitations ---------------------------------------------------------------------------
    def invitation(self, participant_id: str) -> str:
        """``invited``, ``accepted`` or ``declined`` for someone seated (or who declined) here."""
        if participant_id in self.answers:
            return self.answers[participant_id]
        if participant_id in self.members:
            return "invited"
        raise NoInvitation("you have no invitation to this panel")

    def check_can_answer(self, participant_id: str) -> None:
        status = self.invitation(participant_id)
        if status != "invited":
            raise InvitationAnswered(f"you have already {status} this invitation", field="invitation")

    @event("InvitationAccepted")
    def accept_invitation(self, recruitment_id: str, participant_id: str, actor: Actor,
                          department: str | None) -> None:
        self.check_can_answer(participant_id)
        self.answers[participant_id] = "accepted"

    @event("InvitationDeclined")
    def decline_invitation(self, recruitment_id: str, participant_id: str, reason: str | None, actor: Actor,
                           department: str | None) -> None:
        self.check_can_answer(participant_id)
        self.answers[participant_id] = "declined"

    # -- replacing -----------------------------------------------------------------------------
    def check_member(self, participant_id: str) -> None:
        if participant_id not in self.members:
            raise NotOnPanel("this participant is not on the panel", field="participant_id")

    def check_replacement(self, replaced: str, replacement: str) -> None:
        self.check_member(replaced)
        if replacement in self.members:
            raise AlreadyOnPanel("the replacement already sits on this panel", field="replacement")

    def replace_member(self, recruitment_id: str, replaced: str, replacement: str, reason: str, actor: Actor,
                       department: str | None) -> list[str]:
        """``replacement`` takes ``replaced``'s seat; returns the members after it."""
        self.check_replacement(replaced, replacement)
        members = [replacement if m == replaced else m for m in self.members]
        self._member_replaced(recruitment_id, replaced, replacement, reason, members, actor, department)
        return members

    @event("MemberReplaced")
    def _member_replaced(
        self,
        recruitment_id: str,
        replaced: str,
        replacement: str,
        reason: str,
        members: list[str],
        actor: Actor,
        department: str | None,
    ) -> None:
        self._seat(members)
        self.dropped.append(replaced)
        self.answers.pop(replacement, None)
