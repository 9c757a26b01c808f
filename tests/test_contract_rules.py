"""Rules of the public event contract (shared/contract.py), pinned at their boundaries."""

from __future__ import annotations

from shared.contract import PaidActivity, cooldown_active, paid_activity


def test_a_cooldown_holds_through_its_last_day() -> None:
    assert cooldown_active("2026-12-05", "2026-12-04") is True
    assert cooldown_active("2026-12-05", "2026-12-05") is True  # the last day: not asked
    assert cooldown_active("2026-12-05", "2026-12-06") is False  # the day after: may be asked
    assert cooldown_active("2026-12-05", "2026-12-05T23:59:59+00:00") is True
    assert cooldown_active(None, "2999-01-01") is True  # open-ended until a coordinator lifts it


def test_what_a_recruitment_event_pays() -> None:
    rates = {"hour_ore": 15000, "half_day_ore": 50000}
    scored = paid_activity({"source": "recruitments", "event_type": "InterviewScored", "aggregate_id": "r1",
                            "payload": {"member": {"id": "p1", "role": "participant"}}, "actor": {}})
    assert scored == PaidActivity("p1", "interview", "r1")
    assert scored.activity_ref == "recruitment:r1:interview:p1"
    assert scored.amount_ore(rates) == 50000 and scored.hours == 4
    assessed = paid_activity({"source": "recruitments", "event_type": "ApplicationAssessed", "aggregate_id": "r1",
                              "payload": {"assessor": {"id": "p2", "role": "participant"}}, "actor": {}})
    assert assessed is not None and assessed.amount_ore(rates) == 2 * 15000
    wrote = paid_activity({"source": "recruitments", "event_type": "AdvertContributed", "aggregate_id": "r1",
                           "payload": {"contributor_role": "participant"},
                           "actor": {"id": "p3", "role": "participant"}})
    assert wrote is not None and wrote.activity_ref == "recruitment:r1:writing:p3"
    # Writing how service users take part is the same writing work: one honorarium, not two.
    told = paid_activity({"source": "recruitments", "event_type": "ParticipationTextContributed",
                          "aggregate_id": "r1", "payload": {"contributor_role": "participant"},
                          "actor": {"id": "p3", "role": "participant"}})
    assert told is not None and told.activity_ref == wrote.activity_ref
    staff = paid_activity({"source": "recruitments", "event_type": "InterviewScored", "aggregate_id": "r1",
                           "payload": {"member": {"id": "s1", "role": "hiring_manager"}}, "actor": {}})
    assert staff is None
    elsewhere = paid_activity({"source": "matching", "event_type": "InterviewScored", "aggregate_id": "r1",
                               "payload": {"member": {"id": "p1", "role": "participant"}}, "actor": {}})
    assert elsewhere is None
