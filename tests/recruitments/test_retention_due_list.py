"""The retention job reads a due-list, not every recruitment ever opened (issue 14).

``RetentionDueList`` (fed from ``recruitments.events``) says, per recruitment, the day its
retention period runs from and how many candidates are left to shred. It must equal what the
aggregates themselves say, over generated recruitments with decisions and cancellations on random
days (29 February among them) and legal holds placed and released; the daily job must shred exactly
the candidates the aggregates say are due and load no other recruitment; a replay from offset zero
rebuilds the due-list row for row. On both backends.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from services.recruitments.application import add_years, latest_start
from services.recruitments.domain import ALL_CANDIDATES, Recruitment
from services.recruitments.projections import RetentionDueList
from shared.auth import Principal
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from tests.recruitments.conftest import DEPARTMENT, SCORECARD, Rig
from tests.recruitments.test_recruitment_list import open_in, staff

DAYS = [date(2021, 3, 1) + timedelta(days=n) for n in range(0, 1500, 37)] + [date(2024, 2, 29)]
RUN_DAYS = [date(2023, 1, 1), date(2024, 6, 30), date(2026, 2, 28), date(2026, 3, 1), date(2027, 12, 31)]

def generate(rig: Rig, chance: random.Random, count: int) -> list[str]:
    """``count`` recruitments with 1-4 applicants each, then a random fate and random holds."""
    app = rig.service.app
    coord = staff("coord-anna")
    manager = staff(rig.manager, "hiring_manager")
    member = Principal(sub=rig.participants[0], roles=frozenset({"participant"}))
    scores = {a["key"]: 4 for a in SCORECARD}
    rids = []
    for n in range(count):
        rid = open_in(rig, DEPARTMENT)
        rids.append(rid)
        app.publish_advert(coord, UUID(rid), "Annons")
        app.learn_panel(rid, [member.sub], f"panel-{rid}", {"id": "matching", "role": "system"})
        candidates = [
            app.receive_application(coord, UUID(rid), ats_ref=f"ats-{n}-{i}", name=f"Sökande {n} {i}",
                                    email=None, phone=None, protected_identity=False)
            for i in range(chance.randint(1, 4))
        ]
        fate = chance.choice(["open", "decided", "filled", "cancelled"])
        if fate in ("decided", "filled"):
            hired = chance.choice(candidates)
            app.declare_conflict(member, UUID(rid), hired, False)
            app.score(member, UUID(rid), hired, scores, "hire", None)
            app.decide(manager, UUID(rid), hired, "motivering", None, on=chance.choice(DAYS))
            if fate == "filled":
                app.share_outcome(coord, UUID(rid))
                app.close_recruitment(coord, UUID(rid), "filled", None, on=chance.choice(DAYS))
        elif fate == "cancelled":
            app.close_recruitment(coord, UUID(rid), "cancelled", "budget", on=chance.choice(DAYS))
        for held in chance.sample([*candidates, ALL_CANDIDATES], chance.randint(0, 2)):
            app.place_legal_hold(coord, UUID(rid), held, "tvist")
            if chance.random() < 0.3:
                app.release_legal_hold(coord, UUID(rid), held)
    return rids

def due_by_aggregates(app: Any, rids: list[str], on: date, years: int) -> dict[str, list[str]]:
    """What every aggregate, loaded one by one, says is due ``on``: recruitment → candidates."""
    due = {}
    for rid in rids:
        rec: Recruitment = app.recruitment(UUID(rid))
        start = rec.retention_start()
        if start is not None and add_years(date.fromisoformat(start), years) <= on and rec.due_for_shredding():
            due[rid] = rec.due_for_shredding()
    return due

def test_the_due_list_equals_the_aggregates_and_the_job_loads_only_the_due(
    settings: Settings, make_rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig: Rig = make_rig(settings)
    app = rig.service.app
    years = settings.retention_years_candidates
    chance = random.Random(14)
    rids = generate(rig, chance, 14)
    rig.settle()

    rows = RetentionDueList.rows(rig.service.db)
    assert set(rows) == set(rids)
    for rid in rids:
        rec: Recruitment = app.recruitment(UUID(rid))
        assert rows[rid]["retention_start"] == rec.retention_start(), rid
        assert rows[rid]["pending"] == len(rec.due_for_shredding()), rid
    assert {r["pending"] > 0 and r["retention_start"] is not None for r in rows.values()} == {True, False}

    for on in RUN_DAYS:
        listed = list(RetentionDueList.due(rig.service.db, latest_start(on, years).isoformat(), batch=3))
        assert sorted(listed) == sorted(due_by_aggregates(app, rids, on, years)), on
        assert len(listed) == len(set(listed))

    # The job, on a day some periods have run out and others not: it loads the due only.
    on = date(2025, 6, 15)
    expected = due_by_aggregates(app, rids, on, years)
    assert expected and len(expected) < len(rids), "the generated set has both due and not due"
    loaded: list[str] = []
    load = app.recruitment

    def counted(rid: UUID) -> Recruitment:
        loaded.append(str(rid))
        return load(rid)

    monkeypatch.setattr(app, "recruitment", counted)
    shredded = rig.service.run_retention(on)
    assert sorted(loaded) == sorted(expected)
    assert sorted(shredded) == sorted(cid for cids in expected.values() for cid in cids)
    assert all(rig.service.vault.is_destroyed(cid) for cid in shredded)
    monkeypatch.setattr(app, "recruitment", load)
    assert due_by_aggregates(app, rids, on, years) == {}

    # Once the shredding is on the topic the due-list is empty for that day; nothing is loaded.
    rig.settle()
    loaded.clear()
    monkeypatch.setattr(app, "recruitment", counted)
    assert rig.service.run_retention(on) == [] and loaded == []
    monkeypatch.setattr(app, "recruitment", load)

    fresh = Database(settings, "recruitments_retention_replay")
    try:
        ConsumerLoop(settings, fresh, RetentionDueList()).catch_up()
        assert RetentionDueList.rows(fresh) == RetentionDueList.rows(rig.service.db)
    finally:
        fresh.close()

def test_a_hold_the_due_list_has_not_seen_yet_still_keeps_the_candidates(sqlite_settings: Settings,
                                                                          make_rig) -> None:
    """The read model may lag the store; the aggregate confirms, so a fresh hold still holds."""
    rig: Rig = make_rig(sqlite_settings)
    app = rig.service.app
    rid = generate_cancelled(rig)
    rig.settle()
    assert RetentionDueList.rows(rig.service.db)[rid]["pending"] == 2
    app.place_legal_hold(staff("coord-anna"), UUID(rid), ALL_CANDIDATES, "JO-anmälan")  # not yet consumed
    assert rig.service.run_retention(date(2030, 1, 1)) == []
    app.release_legal_hold(staff("coord-anna"), UUID(rid), ALL_CANDIDATES)
    assert len(rig.service.run_retention(date(2030, 1, 1))) == 2

def generate_cancelled(rig: Rig) -> str:
    app = rig.service.app
    coord = staff("coord-anna")
    rid = open_in(rig, DEPARTMENT)
    app.publish_advert(coord, UUID(rid), "Annons")
    for i in range(2):
        app.receive_application(coord, UUID(rid), ats_ref=f"ats-{i}", name=f"Sökande {i}", email=None,
                                phone=None, protected_identity=False)
    app.close_recruitment(coord, UUID(rid), "cancelled", "budget", on=date(2024, 2, 29))
    return rid

def test_the_last_start_day_is_exact_around_29_february() -> None:

    for on in (date(2026, 2, 28), date(2028, 2, 29), date(2028, 2, 28), date(2026, 3, 1), date(2025, 12, 31)):
        for years in (1, 2, 3, 4):
            last = latest_start(on, years)
            assert add_years(last, years) <= on < add_years(last + timedelta(days=1), years), (on, years)
