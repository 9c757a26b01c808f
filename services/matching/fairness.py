"""How engagements are spread over a department's bank: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from services.matching.ranking import Candidate


def gini(values: Sequence[int]) -> float:
    """The Gini coefficient of non-negative counts: 0 = perfectly even, towards 1 = concentrated."""
    n = len(values)
    total = sum(values)
    if n == 0 or total == 0:
        return 0.0
    ordered = sorted(values)
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n


def report(
    department: str, active: Sequence[Candidate], eligible_ids: set[str], today: date, waiting_limit: int = 10
) -> dict[str, object]:
    """Share engaged in the last 12 months, Gini of engagements, and who has waited longest."""
    since = (today - timedelta(days=365)).isoformat()
    counts = [sum(1 for dep, on in c.engagements if dep == department and on > since) for c in active]
    engaged = sum(1 for n in counts if n > 0)
    waiting = sorted(
        (c for c in active if c.participant_id in eligible_ids),
        key=lambda c: (c.last_engaged_on or "", c.participant_id),
    )[:waiting_limit]
    return {
        "department": department,
        "active_participants": len(active),
        "engaged_last_12_months": engaged,
        "engaged_share": round(engaged / len(active), 3) if active else 0.0,
        "engagements_last_12_months": sum(counts),
        "gini": round(gini(counts), 3),
        "longest_waiting": [
            {
                "participant_id": c.participant_id,
                "last_engaged_on": c.last_engaged_on,
                "days_waiting": (today - date.fromisoformat(c.last_engaged_on)).days
                if c.last_engaged_on
                else None,
            }
            for c in waiting
        ],
    }
