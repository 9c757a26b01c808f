"""The dashboards' figures read model: what each department's page and its row of the overview
show, computed by ``queries.py`` from that department's facts only and stored as one row per
department, so a request reads only the rows it shows (``dash_figures``), never the fact tables.

Who computes them is a refresher beside the fact projections, not the projections themselves:

* ``Refreshing`` wraps a fact projection. While the projection applies a batch, it notes which
  departments each event can change (``touched``: the event's own department, its recruitment's,
  the participant's departments); once the batch is applied, in the same transaction, it
  recomputes those departments (``FiguresRefresher.refresh``). Facts and figures commit together.
  While a loop catches up on a backlog (its batch did not reach the end of its partitions), the
  departments are only noted (``dash_figures_dirty``) and computed once by the batch that does.
* Figures that depend on today's date (upcoming interviews without a full panel) are recomputed
  once the date has changed (``FiguresRefresher.refresh_stale``, the worker's periodic job), as
  are departments that have facts but no figures yet (a database from before this read model).
* ``FiguresProjection`` is what ``delaktig audit replay`` rebuilds: every fact table and the
  figures from offset zero into a fresh database, refreshed after every batch just as the live
  ones are; the replayed figures are compared with the live ones row by row. In the service's own
  database (where ``dash_figures_computed`` exists) it applies nothing: the fact projections'
  refreshers keep the figures there, and the worker only keeps its position current.

When the figures were last computed is kept apart (``dash_figures_computed``), for the pages'
freshness note: a wall-clock time, which a replay cannot reproduce, so it is not a replayed table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from services.dashboards.projections import all_projections
from services.dashboards.queries import department_dashboard, load_department_facts, overview, where_in
from shared.consumer import Projection, dumps, source_of_topic
from shared.db import Database, Tx
from shared.envelope import Envelope

FIGURES_TABLE = "dash_figures"
COMPUTED_TABLE = "dash_figures_computed"
FIGURES_DDL = """
CREATE TABLE IF NOT EXISTS dash_figures (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    onboarded_at TEXT NOT NULL,
    as_of_date TEXT NOT NULL,
    dashboard TEXT NOT NULL,
    overview TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_figures_dirty (
    code TEXT PRIMARY KEY
)
"""
ALL = "*"  # in dash_figures_dirty: every department
COMPUTED_DDL = """
CREATE TABLE IF NOT EXISTS dash_figures_computed (
    code TEXT PRIMARY KEY,
    computed_at TEXT NOT NULL
)
"""
# PostgreSQL: figure computations of the three consumer loops take turns (each reads the facts
# the others committed), so one never stores figures from facts another has just changed.
_PG_LOCK = 7_310_427_211


def utc_today() -> date:
    return datetime.now(UTC).date()


EVERY = None  # ``touched`` answers this when an event can change any department's figures


def touched(tx: Tx, envelope: Envelope) -> set[str] | None:
    """The departments whose figures this (just applied) event can change; ``EVERY`` when it can
    move a payment from one department to another: an accrual arriving after a payment without a
    department that names it first (a payment takes the department of the first of its accruals
    that is known). A recruitment arriving late moves nothing out of another department: an
    accrual without a department whose recruitment is unknown places its payment nowhere."""
    kind = envelope.get("event_type")
    payload = envelope.get("payload") or {}
    agg = str(envelope.get("aggregate_id"))
    own = envelope.get("department")
    codes: set[str] = {str(own)} if own else set()
    if kind in ("DepartmentOnboarded", "DepartmentSettingsChanged"):
        codes.add(str(payload.get("code")))
    elif kind == "UserRegistered":
        codes.update(str(c) for c in payload.get("departments") or [])
    elif kind in ("ConsentGiven", "ConsentWithdrawn"):
        if payload.get("department"):
            codes.add(str(payload["department"]))
    elif kind in ("ContactStatusChanged", "ParticipantForgotten"):
        codes.update(_participant_departments(tx, agg))
    elif kind == "HonorariumAccrued":
        codes.update(_recruitment_department(tx, payload.get("recruitment_id")))
        if _unplaced_payment_names(tx, agg, str(payload.get("activity_ref"))):
            return EVERY
    elif kind == "HonorariumPaid":
        if not own:
            codes.update(_payment_department(tx, list(payload.get("accrual_refs") or [])))
    elif kind in ("PanelAssigned", "PanelMemberReplaced"):
        codes.update(_recruitment_department(tx, payload.get("recruitment_id")))
    elif envelope.get("source") == "recruitments" or kind == "RecruitmentOpened":
        codes.update(_recruitment_department(tx, agg))
    return {c for c in codes if c}


def _participant_departments(tx: Tx, participant_id: str) -> set[str]:
    return {r["department"] for r in tx.all(
        "SELECT department FROM dash_participant_departments WHERE participant_id = ?", (participant_id,))}


def _recruitment_department(tx: Tx, recruitment_id: Any) -> set[str]:
    if not recruitment_id:
        return set()
    row = tx.one("SELECT department FROM dash_recruitments WHERE recruitment_id = ?", (str(recruitment_id),))
    return {str(row["department"])} if row and row["department"] else set()


def _accrual_department(tx: Tx, accrual: dict[str, Any]) -> set[str]:
    if accrual["department"]:
        return {str(accrual["department"])}
    return _recruitment_department(tx, accrual["recruitment_id"])


def _payment_department(tx: Tx, refs: list[str]) -> set[str]:
    """As ``queries.payment_department``: the department of the first accrual that is known."""
    for ref in refs:
        accrual = tx.one("SELECT department, recruitment_id FROM dash_accruals WHERE activity_ref = ?", (str(ref),))
        if accrual:
            return _accrual_department(tx, accrual)
    return set()


def _unplaced_payment_names(tx: Tx, participant_id: str, ref: str) -> bool:
    """Does a payment without a department of this participant name this accrual?"""
    rows = tx.all("SELECT accrual_refs FROM dash_payments WHERE participant_id = ? "
                  "AND (department IS NULL OR department = '')", (participant_id,))
    return any(ref in json.loads(r["accrual_refs"]) for r in rows)


class FiguresRefresher:
    """Computes departments' figures from their facts and stores them (``dash_figures``)."""

    def __init__(self, today: Callable[[], date] = utc_today, stamp: bool = True) -> None:
        self.today = today
        self.stamp = stamp  # note the wall-clock time (the live database; not in a replay)

    @staticmethod
    def lock(tx: Tx) -> None:
        """PostgreSQL: take the figures' turn (until the transaction ends)."""
        if tx.postgres:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK,))

    def refresh_dirty(self, tx: Tx, marks: set[str]) -> list[str]:
        """Recompute ``marks`` and every department noted while catching up; clear the notes."""
        noted = {r["code"] for r in tx.all("SELECT code FROM dash_figures_dirty")}
        if noted:
            tx.executemany("DELETE FROM dash_figures_dirty WHERE code = ?", [(c,) for c in sorted(noted)])
        wanted = marks | noted
        if not wanted:
            return []
        return self.refresh(tx, None if ALL in wanted else wanted)

    def refresh(self, tx: Tx, codes: set[str] | None) -> list[str]:
        """Recompute ``codes`` (``None``: every onboarded department); returns those stored.
        A code that is not an onboarded department has no page, so no figures."""
        self.lock(tx)
        if codes is None:
            wanted = [r["code"] for r in tx.all("SELECT code FROM dash_departments ORDER BY code")]
        else:
            wanted = sorted(r["code"] for r in where_in(tx, "SELECT code FROM dash_departments WHERE code IN ({marks})",
                                                        sorted(codes)))
        today = self.today()
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        for code in wanted:
            facts = load_department_facts(tx, code)
            dashboard = department_dashboard(facts, code, today)
            row = overview(facts, [code], today)[0]
            onboarded_at = facts.departments[0]["onboarded_at"]
            tx.execute(
                "INSERT INTO dash_figures (code, name, onboarded_at, as_of_date, dashboard, overview) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                "onboarded_at = excluded.onboarded_at, as_of_date = excluded.as_of_date, "
                "dashboard = excluded.dashboard, overview = excluded.overview",
                (code, dashboard["name"], onboarded_at, today.isoformat(), dumps(dashboard), dumps(row)),
            )
            if self.stamp:
                tx.execute("INSERT INTO dash_figures_computed (code, computed_at) VALUES (?, ?) "
                           "ON CONFLICT (code) DO UPDATE SET computed_at = excluded.computed_at", (code, now))
        return wanted

    def stale(self, tx: Tx) -> set[str]:
        """Onboarded departments without figures, or with figures of an earlier day."""
        rows = tx.all("SELECT d.code FROM dash_departments d LEFT JOIN dash_figures f ON f.code = d.code "
                      "WHERE f.code IS NULL OR f.as_of_date < ?", (self.today().isoformat(),))
        return {r["code"] for r in rows}

    def refresh_stale(self, db: Database) -> list[str]:
        """The periodic job: recompute what the date change (or an upgrade) left stale, and any
        department still noted from a catch-up."""
        with db.transaction() as tx:
            self.lock(tx)
            return self.refresh_dirty(tx, self.stale(tx))


class Refreshing(Projection):
    """A fact projection whose every applied batch also refreshes the figures of the departments
    it touched (in the same transaction). Inert in a database without ``dash_figures`` (a replay
    of the fact projection alone: partial facts make no figures)."""

    def __init__(self, inner: Projection, refresher: FiguresRefresher | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.topics = inner.topics
        self.refresher = refresher or FiguresRefresher()
        self.active = False
        self._touched: set[str] = set()
        self._every = False

    def migrate(self, db: Database) -> None:
        self.inner.migrate(db)
        self.active = FIGURES_TABLE in db.tables()

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        self.inner.apply(tx, envelope)
        if self.active:
            codes = touched(tx, envelope)
            if codes is EVERY:
                self._every = True
            else:
                self._touched |= codes

    def after_batch(self, tx: Tx, caught_up: bool) -> None:
        """Caught up: recompute what this batch and earlier ones touched. While catching up on a
        backlog, only note the departments (``dash_figures_dirty``, in this transaction): the
        batch that reaches the end computes them once, not once per batch."""
        if not self.active:
            return
        marks = {ALL} if self._every else set(self._touched)
        self._touched, self._every = set(), False
        if not caught_up:
            if marks:
                self.refresher.lock(tx)
                tx.executemany("INSERT INTO dash_figures_dirty (code) VALUES (?) ON CONFLICT DO NOTHING",
                               [(c,) for c in sorted(marks)])
            return
        self.refresher.lock(tx)
        self.refresher.refresh_dirty(tx, marks)


class _AllFacts(Projection):
    """The three fact projections as one: each event goes to the projection of its source."""

    name = "dashboards.facts"

    def __init__(self) -> None:
        self.parts = all_projections()
        self.by_source = {source_of_topic(p.topics[0]): p for p in self.parts}
        self.topics = tuple(t for p in self.parts for t in p.topics)

    def migrate(self, db: Database) -> None:
        for part in self.parts:
            part.migrate(db)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        part = self.by_source.get(str(envelope.get("source")))
        for target in [part] if part else self.parts:
            target.apply(tx, envelope)


class FiguresProjection(Refreshing):
    """What ``delaktig audit replay`` rebuilds for the figures: every fact and the figures, from
    offset zero, in one database. Applies nothing in the service's own database."""

    name = "dashboards.figures"

    def __init__(self) -> None:
        super().__init__(_AllFacts(), FiguresRefresher(stamp=False))
        self.name = FiguresProjection.name
        self.live = False

    def migrate(self, db: Database) -> None:
        self.live = COMPUTED_TABLE in db.tables()
        if self.live:
            return
        db.migrate(FIGURES_DDL)
        super().migrate(db)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        if not self.live:
            super().apply(tx, envelope)

    def after_batch(self, tx: Tx, caught_up: bool) -> None:
        if not self.live:
            super().after_batch(tx, caught_up)


def figure_factories() -> list[Callable[[], Projection]]:
    """The dashboards' replayable read models: each fact projection (refreshing the live figures
    as it catches up) and the figures."""

    def factory(kind: type[Projection]) -> Callable[[], Projection]:
        def build() -> Projection:
            return Refreshing(kind())

        build.__name__ = build.__qualname__ = kind.__name__
        return build

    return [*(factory(type(p)) for p in all_projections()), FiguresProjection]


# -- what a request reads: the stored rows it shows, nothing else ---------------------------------
_META = ("SELECT f.code, f.name, f.onboarded_at, f.as_of_date, c.computed_at FROM dash_figures f "
         "LEFT JOIN dash_figures_computed c ON c.code = f.code")


def visible(tx: Tx, roles: frozenset[str], departments: frozenset[str]) -> list[dict[str, Any]]:
    """The departments the viewer may see (all for an administrator, else their own), in the
    order they were onboarded: one small row each (code, name, as-of date, computed at)."""
    order = " ORDER BY f.onboarded_at, f.code"
    if "administrator" in roles:
        return tx.all(_META + order)
    return where_in(tx, _META + " WHERE f.code IN ({marks})" + order, sorted(departments)) if departments else []


def known(tx: Tx, code: str) -> bool:
    """Is ``code`` an onboarded department (one with figures)?"""
    return tx.one("SELECT 1 AS x FROM dash_figures WHERE code = ?", (code,)) is not None


def department_figures(tx: Tx, code: str) -> dict[str, Any] | None:
    """One department's stored page figures."""
    row = tx.one("SELECT dashboard FROM dash_figures WHERE code = ?", (code,))
    return json.loads(row["dashboard"]) if row else None


def overview_rows(tx: Tx, codes: list[str]) -> list[dict[str, Any]]:
    """The stored overview rows of ``codes``, in the order given."""
    rows = {r["code"]: json.loads(r["overview"]) for r in where_in(
        tx, "SELECT code, overview FROM dash_figures WHERE code IN ({marks})", codes)}
    return [rows[c] for c in codes if c in rows]


def freshness(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """How fresh the figures of ``rows`` (``visible``'s) are: the oldest of them."""
    if not rows:
        return None
    stamps = [str(r["computed_at"]) for r in rows if r.get("computed_at")]
    return {"as_of_date": min(str(r["as_of_date"]) for r in rows), "computed_at": min(stamps) if stamps else None}
