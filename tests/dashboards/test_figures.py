"""The dashboards' stored figures (``dash_figures``): always what a recomputation from every fact
gives, whatever order the three topics arrive in; a request reads them and no fact table; they
follow new events and the change of date; ``delaktig audit replay`` rebuilds them equal."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.audit.replay import replay
from services.dashboards.figures import (
    COMPUTED_DDL,
    FIGURES_DDL,
    FiguresProjection,
    FiguresRefresher,
    Refreshing,
)
from services.dashboards.projections import all_projections
from services.dashboards.queries import department_dashboard, load_facts, overview
from services.dashboards.service import Dashboards
from shared.config import Settings
from shared.consumer import BOOKKEEPING_TABLES, Projection, dumps, source_of_topic
from shared.db import Database
from tests.conftest import bearer
from tests.dashboards.events import EventWriter
from tests.dashboards.scenario import department_id, seed

TODAY = date(2026, 6, 15)
CODES = ["dep-a", "dep-b", "dep-c", "dep-d"]  # dep-d is never onboarded: its facts show nowhere
STAGE_EVENTS = ["AdvertPublished", "ApplicationReceived", "ApplicationAssessed", "InterviewScored",
                "HiringDecisionMade", "RecruitmentClosed"]


# -- a generated history -----------------------------------------------------------------------------
class History:
    """Random events of the three sources, each source's in causal order (as its topic holds them)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.by_source: dict[str, list[dict[str, Any]]] = {"participants": [], "recruitments": [], "matching": []}
        self.versions: dict[str, int] = {}
        self.clock = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

    def emit(self, source: str, kind: str, aggregate: str, payload: dict[str, Any], department: str | None) -> None:
        self.clock += timedelta(hours=self.rng.randint(1, 60))
        version = self.versions[aggregate] = self.versions.get(aggregate, 0) + 1
        self.by_source[source].append({
            "event_id": str(uuid.uuid4()), "event_type": kind, "source": source, "aggregate_id": aggregate,
            "aggregate_version": version, "occurred_at": self.clock.isoformat().replace("+00:00", "Z"),
            "department": department, "payload": payload,
        })

    def department(self, blank: float = 0.15) -> str | None:
        return None if self.rng.random() < blank else self.rng.choice(CODES)

    def generate(self) -> History:
        rng = self.rng
        for code in CODES[:3]:
            self.emit("participants", "DepartmentOnboarded", department_id(code), {"code": code, "name": code.upper()},
                      None)
            if rng.random() < 0.7:
                self.emit("participants", "DepartmentSettingsChanged", department_id(code),
                          {"code": code, "budget_ore_per_month": rng.choice([100000, 250000, None])}, code)
        people = [str(uuid.uuid4()) for _ in range(24)]
        for pid in people:
            homes = rng.sample(CODES, rng.randint(1, 2))
            self.emit("participants", "UserRegistered", pid, {"departments": homes}, homes[0])
        recruitments: list[tuple[str, str | None]] = []
        for _ in range(22):
            rid, code = str(uuid.uuid4()), self.department(0.1)
            start = TODAY + timedelta(days=rng.randint(-20, 20))
            payload: dict[str, Any] = {
                "unit": rng.choice(["Norr", "Syd"]), "position": "Handläggare",
                "planned": {"interviews_from": start.isoformat(),
                            "interviews_to": (start + timedelta(days=rng.randint(0, 3))).isoformat()},
                "needs": {"panel_size": rng.randint(1, 4)},
            }
            if rng.random() < 0.2:
                payload["imported"] = {"by": "staff-x", "at": "2026-01-03T00:00:00Z"}
            self.emit("recruitments", "RecruitmentOpened", rid, payload, code)
            recruitments.append((rid, code))
        accruals: dict[str, list[str]] = {pid: [] for pid in people}
        future: dict[str, list[str]] = {pid: [] for pid in people}
        for _ in range(260):
            roll = rng.random()
            rid, code = rng.choice(recruitments)
            pid = rng.choice(people)
            if roll < 0.25:  # the recruitment moves on a stage (or a repeated one: ignored)
                kind = rng.choice(STAGE_EVENTS)
                payload = {"candidate_id": str(uuid.uuid4())} if kind == "HiringDecisionMade" else {}
                if kind == "RecruitmentClosed":
                    payload = {"outcome": rng.choice(["filled", "cancelled"])}
                self.emit("recruitments", kind, rid, payload, code if rng.random() > 0.1 else None)
            elif roll < 0.32:
                self.emit("recruitments", "PanelLearned", rid, {"members": rng.sample(people, rng.randint(0, 3))},
                          code)
            elif roll < 0.40:
                self.emit("recruitments", "HireFollowedUp", rid,
                          {"candidate_id": str(uuid.uuid4()), "months": rng.choice([6, 12]),
                           "still_employed": rng.random() < 0.8, "motivation_rating": rng.randint(1, 5)},
                          self.department(0.4) if rng.random() < 0.2 else code)
            elif roll < 0.50:
                self.emit("recruitments", "ManagerFeedbackGiven", rid, {"rating": rng.randint(1, 5)},
                          None if rng.random() < 0.3 else code)
            elif roll < 0.60:
                self.emit("recruitments", "ParticipantFeedbackGiven", rid,
                          {"participant_id": pid, "rating": rng.randint(1, 5)}, None if rng.random() < 0.3 else code)
            elif roll < 0.68:
                panel = f"panel-{rid}"
                self.emit("matching", "PanelAssigned" if panel not in self.versions else "PanelMemberReplaced", panel,
                          {"recruitment_id": rid, "members": rng.sample(people, rng.randint(1, 4))},
                          None if rng.random() < 0.4 else code)
            elif roll < 0.76:
                status = rng.choice(["available", "do_not_contact", "opted_out", "paused"])
                self.emit("participants", "ContactStatusChanged", pid, {"status": status}, None)
            elif roll < 0.79:
                self.emit("participants", "ParticipantForgotten", pid, {}, None)
            elif roll < 0.84:
                consent = rng.choice(["ConsentGiven", "ConsentWithdrawn"])
                self.emit("participants", consent, pid, {"purpose": "research", "department": rng.choice(CODES)},
                          None)
            elif roll < 0.91:
                waiting = [p for p in people if future[p]]
                pid = rng.choice(waiting) if waiting and rng.random() < 0.5 else pid
                ref = future[pid].pop() if future[pid] else str(uuid.uuid4())
                accruals[pid].append(ref)
                self.emit("participants", "HonorariumAccrued", pid,
                          {"activity_ref": ref, "recruitment_id": rid, "amount_ore": rng.randint(1, 9) * 10000},
                          self.department(0.4))
            elif paid := [p for p in people if accruals[p]]:
                pid = rng.choice(paid)
                refs = rng.sample(accruals[pid], rng.randint(1, len(accruals[pid])))
                if rng.random() < 0.3:  # names first an accrual that comes later (never so live)
                    future[pid].append(str(uuid.uuid4()))
                    refs.insert(0, future[pid][-1])
                self.emit("participants", "HonorariumPaid", pid,
                          {"period": self.clock.strftime("%Y-%m"), "amount_ore": rng.randint(1, 9) * 10000,
                           "accrual_refs": refs}, self.department(0.5))
        return self

    def batches(self, rng: random.Random) -> list[tuple[str, list[dict[str, Any]]]]:
        """The sources interleaved at random, in batches of one source (one consumer loop's poll)."""
        cursor = {s: 0 for s in self.by_source}
        weight = {s: rng.random() ** 3 + 0.01 for s in self.by_source}  # one topic may lag far behind
        out = []
        while any(cursor[s] < len(events) for s, events in self.by_source.items()):
            open_ = [s for s, events in self.by_source.items() if cursor[s] < len(events)]
            source = rng.choices(open_, [weight[s] for s in open_])[0]
            size = rng.randint(1, 25)
            out.append((source, self.by_source[source][cursor[source]:cursor[source] + size]))
            cursor[source] += size
        return out


def fresh_db(settings: Settings, tag: str) -> Database:
    return Database(settings.with_(db_namespace=f"{settings.db_namespace}{tag}_"), "dashboards")


def live_loops(db: Database, today: Callable[[], date]) -> dict[str, Refreshing]:
    """The service's three refreshing fact projections, as ``Dashboards.build`` wires them."""
    db.migrate(FIGURES_DDL)
    db.migrate(COMPUTED_DDL)
    refresher = FiguresRefresher(today)
    wrapped = {source_of_topic(p.topics[0]): Refreshing(p, refresher) for p in all_projections()}
    for projection in wrapped.values():
        projection.migrate(db)
    return wrapped


def apply_batch(db: Database, projection: Projection, events: list[dict[str, Any]], caught_up: bool = True) -> None:
    """What the consumer loop does with one poll: apply each event, then the batch hook, one transaction."""
    with db.transaction() as tx:
        for envelope in events:
            projection.apply(tx, envelope)
        projection.after_batch(tx, caught_up)


def stored(db: Database) -> dict[str, tuple[str, Any, Any]]:
    with db.transaction() as tx:
        rows = tx.all("SELECT code, as_of_date, dashboard, overview FROM dash_figures")
    return {r["code"]: (r["as_of_date"], json.loads(r["dashboard"]), json.loads(r["overview"])) for r in rows}


def recomputed(db: Database, today: date) -> dict[str, tuple[str, Any, Any]]:
    """The reference: every fact table read whole, every onboarded department computed from all of them."""
    facts = load_facts(db)
    return {d["code"]: (today.isoformat(), json.loads(dumps(department_dashboard(facts, d["code"], today))),
                        json.loads(dumps(overview(facts, [d["code"]], today)[0])))
            for d in facts.departments}


def _stored_equal_recomputed_after_every_batch(settings: Settings, seeds: range) -> None:
    for seed_value in seeds:
        rng = random.Random(seed_value)
        history = History(rng).generate()
        db = fresh_db(settings, f"live{seed_value}")
        try:
            loops = live_loops(db, lambda: TODAY)
            batches = history.batches(rng)
            for i, (source, events) in enumerate(batches):
                # Some batches are part of a backlog (not at the end of their partitions): their
                # departments wait for the batch that reaches the end.
                caught_up = i == len(batches) - 1 or rng.random() < 0.6
                apply_batch(db, loops[source], events, caught_up)
                if caught_up:  # then no department is left stale
                    assert stored(db) == recomputed(db, TODAY), f"seed {seed_value}, after batch {i}"
            final = stored(db)
            assert sorted(final) == CODES[:3], "one row per onboarded department, none for dep-d"
            # The history is substantial: departments differ, and payments and panels count.
            assert len({json.dumps(v[1], sort_keys=True) for v in final.values()}) == 3
            assert any(h["paid_ore"] for v in final.values() for h in v[1]["honoraria"])
            assert any(v[1]["rotation"]["engaged"] for v in final.values())
            # A replay (all three topics into one database, in another order) stores the same figures.
            replayed = fresh_db(settings, f"replay{seed_value}")
            try:
                projection = FiguresProjection()
                projection.refresher.today = lambda: TODAY
                projection.migrate(replayed)
                order = random.Random(seed_value + 1000)
                replay_batches = history.batches(order)
                for i, (_source, events) in enumerate(replay_batches):
                    apply_batch(replayed, projection, events, i == len(replay_batches) - 1 or order.random() < 0.2)
                assert stored(replayed) == final
                with replayed.transaction() as tx:
                    assert tx.all("SELECT code FROM dash_figures_dirty") == []
            finally:
                _drop(replayed)
        finally:
            _drop(db)


def _drop(db: Database) -> None:
    if db.postgres:
        with db.transaction() as tx:
            tx.execute(f'DROP SCHEMA IF EXISTS "{db.settings.schema(db.store)}" CASCADE')
    db.close()


def test_stored_figures_equal_a_recomputation_from_every_fact_sqlite(sqlite_settings: Settings) -> None:
    _stored_equal_recomputed_after_every_batch(sqlite_settings, range(10))


@pytest.mark.postgres
def test_stored_figures_equal_a_recomputation_from_every_fact_postgres(pg_settings: Settings) -> None:
    _stored_equal_recomputed_after_every_batch(pg_settings, range(3))


def test_figures_follow_the_date(sqlite_settings: Settings) -> None:
    """Upcoming interviews without a full panel depend on today: once the date has passed the
    interviews, the periodic refresh drops them, and the stored rows say which day they hold for."""
    clock = [TODAY]
    db = fresh_db(sqlite_settings, "clock")
    try:
        loops = live_loops(db, lambda: clock[0])
        onboard = {"event_id": "e1", "event_type": "DepartmentOnboarded", "source": "participants",
                   "aggregate_id": "d1", "occurred_at": "2026-06-01T08:00:00Z", "department": None,
                   "payload": {"code": "dep-a", "name": "A"}}
        opened = {"event_id": "e2", "event_type": "RecruitmentOpened", "source": "recruitments", "aggregate_id": "r1",
                  "occurred_at": "2026-06-02T08:00:00Z", "department": "dep-a",
                  "payload": {"unit": "N", "position": "P", "needs": {"panel_size": 3},
                              "planned": {"interviews_from": (TODAY + timedelta(days=1)).isoformat(),
                                          "interviews_to": (TODAY + timedelta(days=2)).isoformat()}}}
        apply_batch(db, loops["participants"], [onboard])
        apply_batch(db, loops["recruitments"], [opened])
        as_of, dashboard, _ = stored(db)["dep-a"]
        assert as_of == TODAY.isoformat() and [u["recruitment_id"] for u in dashboard["upcoming_without_full_panel"]] \
            == ["r1"]
        refresher = loops["participants"].refresher
        assert refresher.refresh_stale(db) == []  # the same day: nothing to do
        clock[0] = TODAY + timedelta(days=3)
        assert stored(db)["dep-a"][0] == TODAY.isoformat()  # stored as they were, and saying so
        assert refresher.refresh_stale(db) == ["dep-a"]
        as_of, dashboard, _ = stored(db)["dep-a"]
        assert as_of == clock[0].isoformat() and dashboard["upcoming_without_full_panel"] == []
        assert stored(db) == recomputed(db, clock[0])
    finally:
        _drop(db)


def _event(n: int, kind: str, source: str, aggregate: str, department: str | None, **payload: Any) -> dict[str, Any]:
    return {"event_id": f"e{n}", "event_type": kind, "source": source, "aggregate_id": aggregate,
            "occurred_at": f"2026-06-0{n % 9 + 1}T08:00:00Z", "department": department, "payload": payload}


def test_a_payment_moving_to_another_department_leaves_the_first_one_recomputed(sqlite_settings: Settings) -> None:
    """A payment without a department counts where the first of its accruals that is known belongs:
    when an accrual it names first turns up later, both departments' figures change."""
    db = fresh_db(sqlite_settings, "moves")
    try:
        loops = live_loops(db, lambda: TODAY)
        participants = loops["participants"]
        apply_batch(db, participants, [
            _event(1, "DepartmentOnboarded", "participants", "da", None, code="dep-a", name="A"),
            _event(2, "DepartmentOnboarded", "participants", "db", None, code="dep-b", name="B"),
            _event(3, "UserRegistered", "participants", "p1", "dep-a", departments=["dep-a", "dep-b"]),
            _event(4, "HonorariumAccrued", "participants", "p1", "dep-a", activity_ref="later-b", amount_ore=500,
                   recruitment_id=None),
        ])
        apply_batch(db, participants, [
            _event(5, "HonorariumPaid", "participants", "p1", None, period="2026-06", amount_ore=700,
                   accrual_refs=["first-b", "later-b"])])
        paid = {code: sum(h["paid_ore"] for h in v[1]["honoraria"]) for code, v in stored(db).items()}
        assert paid == {"dep-a": 700, "dep-b": 0}
        apply_batch(db, participants, [
            _event(6, "HonorariumAccrued", "participants", "p1", "dep-b", activity_ref="first-b", amount_ore=200,
                   recruitment_id=None)])
        paid = {code: sum(h["paid_ore"] for h in v[1]["honoraria"]) for code, v in stored(db).items()}
        assert paid == {"dep-a": 0, "dep-b": 700}
        assert stored(db) == recomputed(db, TODAY)
    finally:
        _drop(db)


FIGURES_TABLES = {"dash_figures", "dash_figures_computed"}


def test_a_request_reads_the_stored_figures_and_no_fact_table(sqlite_settings: Settings, serve, token,
                                                               http) -> None:
    """Every dashboards page and GET, traced statement by statement on its SQLite connection: they
    read ``dash_figures`` and never a fact table; new events show once applied, with the note of
    when the figures were worked out."""
    settings = sqlite_settings
    writer = EventWriter(settings)
    seed(writer)
    writer.flush()
    clock = [datetime.now(UTC).date()]
    service = Dashboards.build(settings, today=lambda: clock[0])
    try:
        service.catch_up()
        facts = sorted(set(service.db.tables()) - FIGURES_TABLES - BOOKKEEPING_TABLES)
        assert "dash_recruitments" in facts and "dash_departments" in facts and len(facts) >= 14
        statements: list[str] = []
        service.db.on_connect.append(lambda conn: conn.set_trace_callback(statements.append))
        url = serve(service.http())
        admin = bearer(token(role="administrator", departments=()))
        coordinator = bearer(token(role="coordinator", departments=("socialforvaltningen",)))
        for path, headers in (("/api/overview", admin), ("/api/overview?limit=1", admin), ("/overview", admin),
                              ("/overview?lang=en", coordinator), ("/api/departments/socialforvaltningen", admin),
                              ("/departments/socialforvaltningen", coordinator),
                              ("/departments/arbetsmarknadsforvaltningen", coordinator),
                              ("/api/departments/nosuch", admin)):
            statements.clear()
            answer = http.get(url + path, headers=headers)
            assert answer.status_code in (200, 403, 404), (path, answer.status_code)
            read = " ".join(statements)
            assert "dash_figures" in read, path  # the trace sees the request's SQL
            touched = {table for table in facts if re.search(rf"\b{table}\b", read)}
            assert touched == set(), (path, touched)
        body = http.get(f"{url}/api/departments/socialforvaltningen", headers=admin).json()
        assert body["figures"]["as_of_date"] == clock[0].isoformat() and body["figures"]["computed_at"]
        page = http.get(f"{url}/departments/socialforvaltningen", headers=admin).text
        assert "Siffrorna räknades senast fram den" in page and "(UTC)" in page
        english = http.get(f"{url}/departments/socialforvaltningen?lang=en", headers=admin).text
        assert "The figures were last worked out on" in english
        # New events: a recruitment opened today shows once the loops have applied it.
        before = body["recruitments_total"]
        writer.emit("recruitments", "RecruitmentOpened", str(uuid.uuid4()),
                    {"unit": "Syd", "position": "Kurator", "needs": {"panel_size": 2}, "planned": {}},
                    department="socialforvaltningen")
        writer.flush()
        writer.close()
        service.catch_up()
        after = http.get(f"{url}/api/departments/socialforvaltningen", headers=admin).json()
        assert after["recruitments_total"] == before + 1
        overview_rows = http.get(f"{url}/api/overview", headers=admin).json()["items"]
        assert {r["code"]: r["recruitments"] for r in overview_rows}["socialforvaltningen"] == before + 1
        # Replay rebuilds the fact tables and the figures from offset zero, equal to the live ones.
        results = replay(service.projections())
        assert [r.projection for r in results] == ["dashboards.participants", "dashboards.recruitments",
                                                   "dashboards.matching", "dashboards.figures"]
        assert all(r.identical for r in results), [r.as_dict()["differences"] for r in results]
        figures = next(r for r in results if r.projection == "dashboards.figures")
        assert "dash_figures" in figures.tables and figures.rows > 0
    finally:
        service.close()
