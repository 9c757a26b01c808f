"""Rebuild read models from offset zero into fresh databases and compare them with the live ones.

Generic: give it ``(projection factory, live Database)`` pairs. Each projection is fed by a
``ConsumerLoop`` from Kafka offset zero into a fresh database (same store name, a different
``db_namespace``, so a separate SQLite file or PostgreSQL schema), then every row of every table
the projection creates is compared with the live database. Bookkeeping tables of the consumer
loop are not compared.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.audit.moments import AsOf
from shared.consumer import BOOKKEEPING_TABLES, ConsumerLoop, Projection
from shared.db import Database

BOOKKEEPING = BOOKKEEPING_TABLES


@dataclass
class TableDiff:
    table: str
    only_live: list[dict[str, Any]] = field(default_factory=list)
    only_replayed: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReplayResult:
    projection: str
    tables: list[str]
    rows: int
    events: int
    diffs: list[TableDiff]
    as_of: datetime | None = None
    snapshot: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # with --until: every row

    @property
    def identical(self) -> bool:
        return not self.diffs

    def as_dict(self) -> dict[str, Any]:
        return {"projection": self.projection, "tables": self.tables, "rows": self.rows, "identical": self.identical,
                "differences": [{"table": d.table, "only_live": d.only_live[:20],
                                 "only_replayed": d.only_replayed[:20]} for d in self.diffs],
                **({"as_of": self.as_of.isoformat(), "snapshot": self.snapshot} if self.as_of else {})}


def snapshot(db: Database, tables: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """Every row of ``tables``, as text, in a stable order: what ``--until`` prints and compares."""
    return {table: [dict(r) for r in _rows(db, table)] for table in tables}


def _rows(db: Database, table: str) -> list[tuple[tuple[str, str], ...]]:
    with db.transaction() as tx:
        rows = tx.all(f'SELECT * FROM "{table}"')
    normalised = [tuple(sorted((k, _text(v)) for k, v in r.items())) for r in rows]
    return sorted(normalised)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return "" if value is None else str(value)


def replay_one(factory: Callable[[], Projection], live: Database, timeout: float = 120.0,
               until: datetime | None = None) -> ReplayResult:
    """Rebuild one projection from offset zero into a fresh database and diff it with ``live``;
    with ``until``, from the events that had happened then (``services/audit/moments.py``), and
    return its rows instead of comparing them with today's."""
    if until is not None:
        return _replay_until(factory, live, until, timeout)
    # Compare at the same point of the topics: first let the live model apply what it has not yet
    # (safe beside a running worker: position and effect commit together, and event ids dedupe).
    live_loop = ConsumerLoop(live.settings, live, factory())
    try:
        live_loop.catch_up(timeout=timeout)
    finally:
        live_loop.close()
    tag = uuid.uuid4().hex[:8]
    fresh_settings = live.settings.with_(db_namespace=f"{live.settings.db_namespace}replay{tag}_")
    fresh = Database(fresh_settings, live.store)
    projection = factory()
    loop = ConsumerLoop(fresh_settings, fresh, projection)
    try:
        loop.catch_up(timeout=timeout)
        with fresh.transaction() as tx:
            events = int(tx.scalar("SELECT COALESCE(SUM(applied), 0) AS n FROM consumer_applied WHERE consumer = ?",
                                   (projection.name,)) or 0)
            events += int(tx.scalar("SELECT COUNT(*) AS n FROM consumer_seen WHERE consumer = ?", (projection.name,)))
        tables = sorted(t for t in fresh.tables() if t not in BOOKKEEPING)
        live_tables = set(live.tables())
        diffs: list[TableDiff] = []
        total = 0
        for table in tables:
            replayed = _rows(fresh, table)
            current = _rows(live, table) if table in live_tables else []
            total += len(replayed)
            if replayed != current:
                rs, cs = set(replayed), set(current)
                diffs.append(TableDiff(table, [dict(r) for r in sorted(cs - rs)], [dict(r) for r in sorted(rs - cs)]))
        return ReplayResult(projection.name, tables, total, events, diffs)
    finally:
        loop.close()
        _drop(fresh)


def _replay_until(factory: Callable[[], Projection], live: Database, until: datetime,
                  timeout: float) -> ReplayResult:
    fresh = Database(live.settings.with_(db_namespace=f"{live.settings.db_namespace}asof{uuid.uuid4().hex[:8]}_"),
                     live.store)
    projection = AsOf(factory(), until)
    loop = ConsumerLoop(fresh.settings, fresh, projection)
    try:
        loop.catch_up(timeout=timeout)
        tables = sorted(t for t in fresh.tables() if t not in BOOKKEEPING)
        rows = snapshot(fresh, tables)
        return ReplayResult(projection.name, tables, sum(map(len, rows.values())), 0, [], until, rows)
    finally:
        loop.close()
        _drop(fresh)


def _drop(db: Database) -> None:
    """Remove the scratch database."""
    if db.postgres:
        schema = db.settings.schema(db.store)
        with db.transaction() as tx:
            tx.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        db.close()
    else:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            path = db.path.with_name(db.path.name + suffix)
            if path.exists():
                path.unlink()


def replay(pairs: Sequence[tuple[Callable[[], Projection], Database]], timeout: float = 120.0,
           parallel: int | None = None, until: datetime | None = None) -> list[ReplayResult]:
    """Replay every pair, up to ``parallel`` at once (default: all); results in the pairs' order.

    Each replay has its own broker clients, scratch database and transactions, so they run side
    by side: while one waits for the broker or its database (both release the GIL), another
    applies. Within one, the consumer loop applies a whole fetched batch (up to
    ``max_poll_records``) and stores its position in one transaction."""
    from concurrent.futures import ThreadPoolExecutor

    if not pairs:
        return []
    with ThreadPoolExecutor(max_workers=parallel or len(pairs), thread_name_prefix="replay") as pool:
        return list(pool.map(lambda pair: replay_one(pair[0], pair[1], timeout, until), pairs))
