"""Reactions of the recruitments service: consumers of other services' events that issue
commands to the application (they are no read models, so ``delaktig audit replay`` does not
rebuild them; their effects are events in ``recruitments.events``).

- ``PanelFeed`` reads ``matching.events`` and turns ``PanelAssigned`` / ``PanelMemberReplaced``
  into the ``learn_panel`` command on the recruitment (idempotent per source event).
"""

from __future__ import annotations

import logging

from services.recruitments.application import RecruitmentsApp
from shared.consumer import Projection
from shared.db import Tx
from shared.envelope import Envelope
from shared.errors import Conflict, NotFound

log = logging.getLogger("delaktig.recruitments")

PANEL_EVENTS = ("PanelAssigned", "PanelMemberReplaced")


class PanelFeed(Projection):
    """Learns each recruitment's panel from the matching service."""

    name = "recruitments-panel-feed"
    topics = ("matching.events",)

    def __init__(self, app: RecruitmentsApp) -> None:
        self.app = app

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        if envelope.get("event_type") not in PANEL_EVENTS:
            return
        payload = envelope["payload"]
        actor = envelope.get("actor") or {"id": "system", "role": "system"}
        try:
            self.app.learn_panel(
                str(payload["recruitment_id"]),
                [str(m) for m in payload["members"]],
                str(envelope["event_id"]),
                {"id": str(actor["id"]), "role": str(actor["role"])},
            )
        except (NotFound, Conflict) as refused:
            # A panel for a recruitment we do not hold, or one already decided: nothing to change.
            log.warning("panel not applied: %s", refused.detail, extra={"event_id": envelope["event_id"]})
