"""The panel of one recruitment: proposals, the assignment and replacements. No I/O here.

A panel's id is derived from its recruitment (``uuid5(NAMESPACE_URL, "panel:" + id)``), so every
proposal, assignment and replacement of one recruitment is one stream. The stream starts with
whichever comes first: a proposal, or an assignment picked by hand.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import Conflict, NotFound

Actor = dict[str, str]


def panel_id(recruitment_id: str) -> UUID:
    """The panel stream of a recruitment."""
    return uuid5(NAMESPACE_URL, f"panel:{recruitment_id}")


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
            aggregate.members = list(self.members)

    def __init__(self, recruitment_id: str) -> None:
        self.recruitment_id = recruitment_id
        self.proposals: dict[str, list[str]] = {}
        self.members: list[str] = []
        self.dropped: list[str] = []  # left this panel; not proposed for it again
        self.answers: dict[str, str] = {}  # a seat is an invitation: "accepted" or "declined" once answered

    @classmethod
    def start_with_proposal(cls, recruitment_id: str, **kwargs: Any) -> Panel:
        panel: Panel = cls._create(
            cls.FirstProposed, id=panel_id(recruitment_id), recruitment_id=recruitment_id, **kwargs
        )
        return panel

    @classmethod
    def start_with_assignment(cls, recruitment_id: str, **kwargs: Any) -> Panel:
        panel: Panel = cls._create(
            cls.FirstAssigned, id=panel_id(recruitment_id), recruitment_id=recruitment_id, **kwargs
        )
        return panel

    def _note_proposal(self, proposal_id: str, members: list[dict[str, Any]]) -> None:
        self.proposals[proposal_id] = [str(m["participant_id"]) for m in members]

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
            raise NotFound(f"no proposal {proposal_id} for this recruitment", field="proposal_id")
        members = self.proposals[proposal_id]
        if not members:
            raise Conflict("that proposal was empty: nobody fitted", field="proposal_id")
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
        self.members = list(members)

    def invitation(self, participant_id: str) -> str:
        """``invited``, ``accepted`` or ``declined`` for someone seated (or who declined) here."""
        if participant_id in self.answers:
            return self.answers[participant_id]
        if participant_id in self.members:
            return "invited"
        raise NotFound("you have no invitation to this panel")

    def check_can_answer(self, participant_id: str) -> None:
        status = self.invitation(participant_id)
        if status != "invited":
            raise Conflict(f"you have already {status} this invitation", field="invitation")

    @event("InvitationAccepted")
    def accept_invitation(self, recruitment_id: str, participant_id: str, actor: Actor,
                          department: str | None) -> None:
        self.answers[participant_id] = "accepted"

    @event("InvitationDeclined")
    def decline_invitation(self, recruitment_id: str, participant_id: str, reason: str | None, actor: Actor,
                           department: str | None) -> None:
        self.answers[participant_id] = "declined"

    def check_member(self, participant_id: str) -> None:
        if participant_id not in self.members:
            raise Conflict("this participant is not on the panel", field="participant_id")

    @event("MemberReplaced")
    def replace_member(
        self,
        recruitment_id: str,
        replaced: str,
        replacement: str,
        reason: str,
        members: list[str],
        actor: Actor,
        department: str | None,
    ) -> None:
        self.members = list(members)
        self.dropped.append(replaced)
        self.answers.pop(replacement, None)
