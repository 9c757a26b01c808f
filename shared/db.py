"""A small portable SQL layer for read models, key stores, relay and consumer positions.

The same SQL runs on SQLite (embedded default) and PostgreSQL: write ``?`` placeholders,
TEXT/BIGINT/INTEGER columns and ``INSERT ... ON CONFLICT`` upserts. Each store lives in its own
PostgreSQL schema (or its own SQLite file), named by ``Settings.schema(store)``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from shared.config import Settings

Row = dict[str, Any]

# PostgreSQL's CREATE ... IF NOT EXISTS is not safe against another session doing the same at
# the same moment (gunicorn's workers and the service's worker process start together): one of
# them fails on a catalogue index. Every schema change therefore holds this advisory lock.
DDL_LOCK_KEY = 0x64656C616B746967  # "delaktig"
_ddl_held = threading.local()


@contextmanager
def ddl_lock(settings: Settings) -> Iterator[None]:
    """One schema change at a time across processes (PostgreSQL; nothing to do on SQLite).
    Re-entrant within a thread, so a schema change may call another."""
    depth: int = getattr(_ddl_held, "depth", 0)
    if not settings.uses_postgres or depth:
        _ddl_held.depth = depth + 1
        try:
            yield
        finally:
            _ddl_held.depth -= 1
        return
    import psycopg

    with psycopg.connect(psycopg.conninfo.make_conninfo(**settings.postgres_params()), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (DDL_LOCK_KEY,))
        _ddl_held.depth = 1
        try:
            yield
        finally:
            _ddl_held.depth = 0
            conn.execute("SELECT pg_advisory_unlock(%s)", (DDL_LOCK_KEY,))


def ensure_schema(settings: Settings, schema: str) -> None:
    """PostgreSQL: a store's schema must exist before its tables (ours or eventsourcing's)."""
    import psycopg

    with ddl_lock(settings), psycopg.connect(psycopg.conninfo.make_conninfo(**settings.postgres_params()),
                                             autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


class Tx:
    """One open transaction. ``execute`` takes ``?`` placeholders on both backends."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    @property
    def postgres(self) -> bool:
        """Is this a PostgreSQL transaction (else SQLite)?"""
        return self._postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Tx:
        if self._postgres and params:
            sql = sql.replace("%", "%%").replace("?", "%s")
            self._cursor.execute(sql, tuple(params))
        elif self._postgres:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, tuple(params))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Tx:
        if self._postgres:
            sql = sql.replace("%", "%%").replace("?", "%s")
        self._cursor.executemany(sql, [tuple(r) for r in rows])
        return self

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        self.execute(sql, params)
        row = self._cursor.fetchone()
        return self._as_dict(row) if row is not None else None

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.execute(sql, params)
        return [self._as_dict(r) for r in self._cursor.fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def _as_dict(self, row: Any) -> Row:
        if isinstance(row, dict):
            return row
        names = [d[0] for d in self._cursor.description]
        return dict(zip(names, row, strict=True))


class Database:
    """A connection factory for one store (``participants``, ``matching_readmodel`` ...)."""

    def __init__(self, settings: Settings, store: str) -> None:
        self.settings = settings
        self.store = store
        self.postgres = settings.uses_postgres
        self._local = threading.local()
        # Called with each new SQLite connection (tests trace the SQL a request runs with it).
        self.on_connect: list[Callable[[sqlite3.Connection], None]] = []
        self._pool: Any = None
        self._lock = threading.Lock()
        if self.postgres:
            import psycopg
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool

            schema = settings.schema(store)
            conninfo = psycopg.conninfo.make_conninfo(**settings.postgres_params())
            ensure_schema(settings, schema)

            def configure(conn: Any) -> None:
                conn.row_factory = dict_row
                conn.execute(f'SET search_path TO "{schema}"')
                conn.commit()

            self._pool = ConnectionPool(
                conninfo, min_size=1, max_size=8, configure=configure, open=True, timeout=30
            )
        else:
            self.path = settings.sqlite_path(store)

    def _sqlite(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # Deleted and overwritten content is zeroed in the file, not left in free space
            # (an erased person's destroyed key must not linger in the store's own pages).
            conn.execute("PRAGMA secure_delete=ON")
            for hook in self.on_connect:
                hook(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A transaction that commits on success and rolls back on any exception."""
        if self.postgres:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield Tx(cur, True)
            return
        conn = self._sqlite()
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield Tx(cur, False)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")
        finally:
            cur.close()

    def migrate(self, ddl: str) -> None:
        """Run idempotent ``CREATE TABLE IF NOT EXISTS`` statements separated by ``;``."""
        statements = [s.strip() for s in ddl.split(";") if s.strip()]
        with self._lock, ddl_lock(self.settings), self.transaction() as tx:
            for statement in statements:
                if self.postgres:
                    statement = re.sub(r"\bBLOB\b", "BYTEA", statement)
                tx.execute(statement)

    def checkpoint(self) -> None:
        """SQLite: copy the WAL into the database file and truncate the WAL to zero bytes, so old
        page images (e.g. a destroyed key) do not stay in ``-wal``. Best effort: a reader that is
        still open elsewhere keeps its frames until the next checkpoint."""
        if not self.postgres:
            conn = self._sqlite()
            # Waiting for readers to let go is bounded: a request must not stall on it.
            conn.execute("PRAGMA busy_timeout=1000")
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                conn.execute("PRAGMA busy_timeout=30000")

    def vacuum(self, table: str) -> None:
        """PostgreSQL: VACUUM one table (dead row versions go); outside any transaction."""
        if self.postgres:
            with self._pool.connection() as conn:
                conn.commit()
                conn.autocommit = True
                try:
                    conn.execute(f'VACUUM "{table}"')
                finally:
                    conn.autocommit = False

    def tables(self) -> list[str]:
        with self.transaction() as tx:
            if self.postgres:
                rows = tx.all(
                    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?",
                    (self.settings.schema(self.store),),
                )
            else:
                rows = tx.all("SELECT name FROM sqlite_master WHERE type = 'table'")
        return [r["name"] for r in rows]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class LeaderLock:
    """Who runs a service's relay and consumers when several workers run: exactly one holder.

    PostgreSQL: a session advisory lock on a dedicated connection, released by the server the
    moment that connection dies (a ``kill -9`` closes the socket). SQLite: an ``fcntl`` lock on a
    file beside the store, released by the kernel when the process dies."""

    def __init__(self, settings: Settings, store: str) -> None:
        self.settings = settings
        self.store = store
        self.name = settings.schema(store)
        self._conn: Any = None
        self._file: Any = None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits."""
        if self.settings.uses_postgres:
            import zlib

            import psycopg

            if self._conn is None:
                params = self.settings.postgres_params()
                # Keepalives: a holder cut off by the network loses the lock in seconds, not hours.
                self._conn = psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True,
                                             keepalives=1, keepalives_idle=5, keepalives_interval=2,
                                             keepalives_count=2, connect_timeout=5)
            key = zlib.crc32(f"leader:{self.name}".encode())
            got = bool(self._conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0])
            return got
        import fcntl

        if self._file is None:
            self._file = open(self.settings.data_dir / f"{self.name}.leader.lock", "a+b")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def held(self) -> bool:
        """Still ours? (PostgreSQL: the connection that holds it is alive.)"""
        if self.settings.uses_postgres:
            try:
                self._conn.execute("SELECT 1")
                return True
            except Exception:
                return False
        return self._file is not None

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: S110 - a dead connection has released the lock already
                pass
            self._conn = None
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None
