"""Reactions of the participants service: consumers of other services' events that issue
commands to the application (no read models, so ``delaktig audit replay`` does not rebuild them;
their effects are events in ``participants.events``).

``ParticipationFromOtherServices`` (from recruitments.events and matching.events) accrues
honoraria for participants' work on recruitments (idempotent on the activity ref) and notes
panel seats.
"""

from __future__ import annotations

from services.participants.application import ParticipantsApp
from shared.consumer import Projection
from shared.contract import paid_activity
from shared.db import Tx
from shared.envelope import Envelope


class ParticipationFromOtherServices(Projection):
    """Participants' work on recruitments becomes honoraria; panel seats assigned by matching
    are noted (they count towards participation limits and are kept under records law).
    A reaction, no read model: it issues commands to the application."""

    name = "participants-participation"
    topics = ("recruitments.events", "matching.events")

    def __init__(self, app: ParticipantsApp) -> None:
        self.app = app

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        if envelope.get("source") == "matching":
            self._apply_panel(envelope)
            return
        work = paid_activity(envelope)
        if work is None:
            return
        self.app.accrue_from_activity(
            work.participant_id, work.activity_type, work.recruitment_id, envelope.get("department"),
            str(envelope["occurred_at"])[:10], {"id": "participants-honoraria", "role": "system"},
        )


    def _apply_panel(self, envelope: Envelope) -> None:
        payload = envelope.get("payload") or {}
        kind = envelope.get("event_type")
        if kind == "PanelAssigned":
            members = [str(m) for m in payload.get("members") or []]
        elif kind == "PanelMemberReplaced":
            members = [str(payload["replacement"])] if payload.get("replacement") else []
        else:
            return
        for member in members:
            self.app.record_panel_membership(
                member, str(payload["recruitment_id"]), str(envelope["aggregate_id"]), envelope.get("department"),
                str(envelope["occurred_at"])[:10], {"id": "participants-participation", "role": "system"},
            )
