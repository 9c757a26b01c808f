"""Rules that are part of the public event contract, written once.

A field on Kafka means one thing to every reader. Where two services (or an outside subscriber)
must draw the same conclusion from the same event, the conclusion is defined here, beside the
catalogue, and documented in ``docs/events-contract.md``; services use these functions instead of
writing the rule again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def cooldown_active(until: str | None, on: str) -> bool:
    """Whether a cooldown (``ContactStatusChanged`` with ``status: cooldown``) still holds on ``on``.

    ``until`` is the cooldown's **last day, inclusive** (ISO date): the person is not asked on
    that day and may be asked from the next day. A cooldown without ``until`` holds until a
    coordinator changes the status. ``on`` is an ISO date (a longer ISO timestamp is cut to its
    date).
    """
    if until is None:
        return True
    return on[:10] <= until[:10]


# The stages of a recruitment, in order, as the recruitments API names them (its list filters on
# them): the first three are still running, the last two are over.
RECRUITMENT_STAGES = ("drafting", "advertised", "interviewing", "decided", "closed")
RUNNING_STAGES = RECRUITMENT_STAGES[:3]
ENDED_STAGES = RECRUITMENT_STAGES[3:]


# The kinds of paid work the honoraria pay for: (rate basis, hours counted).
ACTIVITY_PAY: dict[str, tuple[str, int]] = {
    "interview": ("half_day", 4),
    "assessment": ("hour", 2),
    "job_description": ("hour", 2),
}
ACTIVITY_TYPES = tuple(ACTIVITY_PAY)


@dataclass(frozen=True)
class PaidActivity:
    """A recruitment event that is paid work by one participant."""

    participant_id: str
    activity_type: str
    recruitment_id: str

    @property
    def activity_ref(self) -> str:
        """One honorarium per participant, recruitment and kind of work (idempotency key)."""
        kind = "writing" if self.activity_type == "job_description" else self.activity_type
        return f"recruitment:{self.recruitment_id}:{kind}:{self.participant_id}"

    @property
    def rate_basis(self) -> str:
        return ACTIVITY_PAY[self.activity_type][0]

    @property
    def hours(self) -> int:
        return ACTIVITY_PAY[self.activity_type][1]

    def amount_ore(self, rates: Mapping[str, Any]) -> int:
        """What the work pays under a department's rates (``hour_ore``, ``half_day_ore``, …)."""
        rate = int(rates[f"{self.rate_basis}_ore"])
        return rate * self.hours if self.rate_basis == "hour" else rate


def paid_activity(envelope: Mapping[str, Any]) -> PaidActivity | None:
    """The paid work a ``recruitments.events`` message records, if any.

    ``InterviewScored`` by a participant member pays an interview, ``ApplicationAssessed`` by a
    participant assessor pays an assessment, and a participant's own contribution to the job
    description, the advert or the text on how service users take part pays writing
    (``job_description``). Staff work pays nothing here.
    """
    if envelope.get("source") not in (None, "recruitments"):
        return None
    kind = envelope.get("event_type")
    payload = envelope.get("payload") or {}
    actor = envelope.get("actor") or {}
    recruitment_id = str(envelope.get("aggregate_id"))
    if kind == "InterviewScored":
        member = payload.get("member") or {}
        if member.get("role") == "participant":
            return PaidActivity(str(member["id"]), "interview", recruitment_id)
    elif kind == "ApplicationAssessed":
        assessor = payload.get("assessor") or {}
        if assessor.get("role") == "participant":
            return PaidActivity(str(assessor["id"]), "assessment", recruitment_id)
    elif kind in ("JobDescriptionContributed", "AdvertContributed", "ParticipationTextContributed"):
        if payload.get("contributor_role") == "participant" and actor.get("role") == "participant":
            return PaidActivity(str(actor["id"]), "job_description", recruitment_id)
    return None
