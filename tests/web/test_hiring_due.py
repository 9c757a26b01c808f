"""What the hiring manager's start page lists as due next: the model's order, then the 6- and
12-month follow-ups from the day they fall due (a pure rule of the web app, no servers)."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.web.staff_hiring import add_months, due_next


def test_follow_ups_are_reminded_when_they_fall_due() -> None:
    decided = {"stage": "decided", "panel": ["p"], "candidates": 1, "outcome_shared": True,
               "decision": {"decided_on": "2026-01-31"}}
    feedback: dict[str, Any] = {"manager": {"rating": 4}, "follow_ups": {}}
    assert add_months(date(2026, 1, 31), 6) == date(2026, 7, 31)
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert due_next(decided, feedback, date(2026, 7, 30)) == []
    assert due_next(decided, feedback, date(2026, 7, 31)) == [("next_follow_up", {"months": 6, "due": "2026-07-31"})]
    feedback["follow_ups"] = {"6": {}}
    assert due_next(decided, feedback, date(2026, 12, 1)) == []
    assert due_next(decided, feedback, date(2027, 1, 31)) == [("next_follow_up", {"months": 12, "due": "2027-01-31"})]
    # Before that, the model's own order: share the outcome, then say what the users added.
    assert [k for k, _ in due_next({**decided, "outcome_shared": False}, {"manager": None, "follow_ups": {}},
                                   date(2026, 2, 1))] == ["next_share", "next_feedback"]
    assert due_next({"stage": "drafting", "panel": []}, None, date(2026, 2, 1)) == [("next_write", {})]
