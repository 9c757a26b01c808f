"""``delaktig seed``: a history made through the services, spread over three years, that the
audit verification accepts; the same seed tells the same story."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

from infra.cli import compose_services
from infra.seed import QUARTERS, Plan, seed
from services.audit.cli import run_verify
from services.audit.verify import load_from_kafka
from shared.config import Settings

SCALE = 0.005
END = date(2026, 11, 30)


def _event_types(settings: Settings) -> Counter[str]:
    return Counter(json.loads(r.value)["event_type"] for r in load_from_kafka(settings)
                   if r.topic != "audit.checkpoints")


def test_a_tiny_history_has_the_planned_size_spans_three_years_and_verifies(settings: Settings) -> None:
    plan = Plan.at_scale(SCALE)
    result = seed(settings, SCALE, seed_value=7, progress=lambda _text: None, end=END)

    counts = result.counts
    assert counts.participants == plan.participants == 50
    assert counts.recruitments == plan.recruitments == 25
    # Every recruitment is decided and closed as filled, cancelled for want of a panel, or, in the
    # last quarter, still waiting for its decision after the interviews.
    assert counts.decisions + counts.unfilled + counts.running == counts.recruitments
    assert counts.decisions >= counts.recruitments * 2 // 3
    assert counts.running >= 1
    assert counts.payments > 0

    types = _event_types(settings)
    assert types["UserRegistered"] == 50
    assert types["RecruitmentOpened"] == 25
    assert types["HiringDecisionMade"] == counts.decisions
    assert types["RecruitmentClosed"] == counts.decisions + counts.unfilled  # the running ones are open
    assert types["HonorariumPaid"] == counts.payments
    assert types["ParticipantForgotten"] == counts.erasures
    assert types["HonorariumAccrued"] > 0  # the scores travelled over Kafka and became honoraria
    assert sum(types.values()) >= result.events  # everything stored was published

    envelopes = [json.loads(r.value) for r in load_from_kafka(settings) if r.topic != "audit.checkpoints"]
    # Not the defaults every new participants store starts with (built at today's date).
    story = [e for e in envelopes if e["actor"]["id"] != "system" or e["event_type"] != "DepartmentOnboarded"]
    stamps = sorted(e["occurred_at"] for e in story if e["event_type"] != "ExperienceVocabularyDefined")
    first, last = (datetime.fromisoformat(s.replace("Z", "+00:00")) for s in (stamps[0], stamps[-1]))
    assert (last - first).days >= (QUARTERS - 1) * 91 - 1  # spread over the three years...
    assert last <= datetime.combine(END, datetime.min.time(), UTC).replace(hour=23)  # ...ending at the end

    report = run_verify(settings, None, None, stores=True, compose=compose_services)
    assert report["ok"], report["first_problem"]
    assert report["events_checked"] == sum(types.values())


def test_the_same_seed_gives_the_same_story(sqlite_settings: Settings) -> None:
    again = sqlite_settings.with_(data_dir=sqlite_settings.data_dir / "again", topic_prefix=sqlite_settings.topic_prefix
                                  + "again.")
    one = seed(sqlite_settings, SCALE, seed_value=3, progress=lambda _text: None, end=END)
    two = seed(again, SCALE, seed_value=3, progress=lambda _text: None, end=END)
    assert one.counts == two.counts
    assert one.events == two.events
    assert _event_types(sqlite_settings) == _event_types(again)
