"""The base of every service's eventsourcing ``Application``.

It picks the event store from configuration (SQLite embedded, PostgreSQL in production),
refuses to store an event whose public form would not validate, turns version conflicts into
409s, and presents the notification log as public envelopes for the relay and the auditors.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing import persistence
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification

from shared.config import Settings
from shared.db import Tx, ddl_lock, ensure_schema
from shared.envelope import Envelope
from shared.errors import ConcurrentModification, NotFound
from shared.events import EventCatalogue

# Where the answers of commands sent with an ``Idempotency-Key`` are kept: in the event store's
# own database, written in the same transaction as the command's events (``begin_atomic``).
IDEMPOTENCY_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    idem_key TEXT NOT NULL,
    principal TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (idem_key, principal)
)
"""
# How long a command waits for another one holding the same key or the events table (seconds).
ATOMIC_LOCK_TIMEOUT = 10
# PostgreSQL: how long to wait for a pooled connection, and how often to retry a failed call.
CONNECT_TIMEOUT_SECONDS = 5
RECORDER_ATTEMPTS = 2
RECORDER_RETRY_WAIT = 0.1
RETRIED_RECORDER_METHODS = ("insert_events", "select_events", "select_notifications", "max_notification_id")


def _translated(error: BaseException) -> BaseException:
    """Driver errors as eventsourcing's, the way its own connection handling reports them."""
    if isinstance(error, persistence.PersistenceError):
        return error
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        psycopg = None  # type: ignore[assignment]
    pairs: list[tuple[Any, Any]] = [
        (sqlite3.IntegrityError, persistence.IntegrityError),
        (sqlite3.OperationalError, persistence.OperationalError),
        (sqlite3.InterfaceError, persistence.InterfaceError),
    ]
    if psycopg is not None:
        pairs += [
            (psycopg.IntegrityError, persistence.IntegrityError),
            (psycopg.OperationalError, persistence.OperationalError),
            (psycopg.InterfaceError, persistence.InterfaceError),
        ]
    for driver, ours in pairs:
        if isinstance(error, driver):
            translated: BaseException = ours(str(error))
            translated.__cause__ = error
            return translated
    return error


class Atomic:
    """An open transaction of ``ServiceApplication.begin_atomic``; ``tx`` writes the caller's rows."""

    def __init__(self, app: ServiceApplication, conn: Any, tx: Tx, handles: Any) -> None:
        self.app = app
        self.conn = conn
        self.tx = tx
        self.handles = handles
        self.locked = False
        self.done = False

    def commit(self) -> None:
        """Commit the events and rows together (raises when the database does)."""
        if not self.done:
            self.done = True
            self.app._end_atomic(self, commit=True)

    def rollback(self) -> None:
        """Undo everything (best effort: a broken connection has undone it already)."""
        if not self.done:
            self.done = True
            try:
                self.app._end_atomic(self, commit=False)
            except persistence.PersistenceError:
                pass


class ServiceApplication(Application[UUID]):
    """An event-sourced service. Subclasses set ``source`` and ``catalogue``."""

    source: ClassVar[str]
    catalogue: ClassVar[EventCatalogue]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        with ddl_lock(settings):  # eventsourcing creates its tables and functions here
            if settings.uses_postgres:
                ensure_schema(settings, settings.schema(self.source))
            env = settings.eventstore_env(self.source)
            if settings.uses_postgres:
                # eventsourcing waits up to 30 s for a pooled connection, and retries a failed
                # call 10 times: a database outage would hold every request for minutes.
                env.setdefault("POSTGRES_CONNECT_TIMEOUT", str(CONNECT_TIMEOUT_SECONDS))
            super().__init__(env=env)
            self._atomic = threading.local()
            self._pin_recorder()
            self._bound_retries()
            with self._store_transaction() as tx:
                tx.execute(IDEMPOTENCY_DDL.format(table=self.idempotency_table))

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        for obj in objs:
            if obj is None:
                continue
            for event in list(getattr(obj, "_pending_events", [obj])):
                self.catalogue.payload_of(event)  # refuse what could not be published
        try:
            return super().save(*objs, **kwargs)
        except IntegrityError as error:
            raise ConcurrentModification(
                "someone else changed this record at the same time; reload and try again"
            ) from error

    def _record(self, processing_event: Any) -> Any:
        atomic: Atomic | None = getattr(self._atomic, "scope", None)
        if atomic is not None and self.settings.uses_postgres and not atomic.locked:
            # Inside an open transaction the events' notification ids must still commit in
            # order, or the relay, reading ``id > position``, could pass over them for good:
            # take the lock eventsourcing takes on its own insert path, until commit.
            # (Only the LOCK: its own "SET LOCAL lock_timeout" would wait forever.)
            lock = self.recorder.lock_table_statements[-1]  # type: ignore[attr-defined]
            atomic.conn.cursor().execute(lock)
            atomic.locked = True
        return super()._record(processing_event)

    # -- one transaction for a whole command -------------------------------------------
    @property
    def idempotency_table(self) -> str:
        if self.settings.uses_postgres:
            return f'"{self.recorder.datastore.schema}".idempotency_records'  # type: ignore[attr-defined]
        return "idempotency_records"

    def begin_atomic(self) -> Atomic:
        """Open one transaction on the event store's own connection for this thread: every event
        this thread saves until ``commit`` or ``rollback`` goes into it, and so do the rows the
        caller writes through ``Atomic.tx`` (the idempotency record). Reads in this thread see
        the uncommitted events. On SQLite it takes the write lock at once (``BEGIN IMMEDIATE``)."""
        if getattr(self._atomic, "scope", None) is not None:
            raise RuntimeError("an atomic scope is already open in this thread")
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        if self.settings.uses_postgres:
            scope = self._begin_postgres()
        else:
            try:
                conn = datastore.pool.get_connection(is_writer=True)
            except persistence.PersistenceError:
                raise
            try:
                conn.cursor().execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                datastore.pool.put_connection(conn)
                raise persistence.OperationalError(error) from error
            scope = Atomic(self, conn, Tx(conn.cursor().sqlite_cursor, False), None)
        self._atomic.scope = scope
        return scope

    def _begin_postgres(self) -> Atomic:
        # A pooled connection may have died with a database restart: the pool drops it when it
        # comes back broken, so one more attempt gets a fresh one (or reports the outage).
        for attempt in range(1, RECORDER_ATTEMPTS + 1):
            holder = self._original_get_connection()
            conn = holder.__enter__()
            try:
                transaction = conn.transaction()
                transaction.__enter__()
                scope = Atomic(self, conn, Tx(conn.cursor(), True), (holder, transaction))
                scope.tx.execute(f"SET LOCAL lock_timeout = '{ATOMIC_LOCK_TIMEOUT}s'")
                return scope
            except BaseException as error:
                with contextlib.suppress(BaseException):
                    holder.__exit__(type(error), error, error.__traceback__)
                translated = _translated(error)
                if attempt == RECORDER_ATTEMPTS or not isinstance(
                        translated, persistence.OperationalError | persistence.InterfaceError):
                    raise translated from error
        raise AssertionError("unreachable")

    def _end_atomic(self, scope: Atomic, commit: bool) -> None:
        self._atomic.scope = None
        if self.settings.uses_postgres:
            holder, transaction = scope.handles
            error: BaseException | None = None
            try:
                if commit:
                    transaction.__exit__(None, None, None)
                else:
                    import psycopg

                    transaction.__exit__(psycopg.Rollback, psycopg.Rollback(), None)
            except BaseException as failure:
                error = failure
            holder.__exit__(type(error) if error else None, error, error.__traceback__ if error else None)
            if error is not None:
                raise _translated(error) from error
            return
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        try:
            if commit:
                scope.conn.commit()
            else:
                scope.conn.rollback()
        except sqlite3.Error as error:
            # A failed COMMIT leaves the transaction open on this connection: undo it before the
            # connection goes back to the pool, or every later command on it would fail too.
            with contextlib.suppress(sqlite3.Error):
                scope.conn.rollback()
            raise _translated(error) from error
        finally:
            datastore.pool.put_connection(scope.conn)

    def _bound_retries(self) -> None:
        """Replace the recorder's 10 retries of a failed call by a few quick ones (none inside an
        atomic scope, whose connection is gone with the failure): an outage becomes a 503 within
        seconds, while a single dropped connection is still retried on a fresh one."""
        recorder = self.recorder
        local = self._atomic
        for name in RETRIED_RECORDER_METHODS:
            inner = getattr(getattr(type(recorder), name, None), "__wrapped__", None)
            if inner is None:
                continue
            call = inner.__get__(recorder)

            def retrying(*args: Any, _call: Any = call, **kwargs: Any) -> Any:
                attempts = 1 if getattr(local, "scope", None) is not None else RECORDER_ATTEMPTS
                for attempt in range(1, attempts + 1):
                    try:
                        return _call(*args, **kwargs)
                    except (persistence.InterfaceError, persistence.OperationalError):
                        if attempt == attempts:
                            raise
                        time.sleep(RECORDER_RETRY_WAIT * attempt)
                raise AssertionError("unreachable")

            setattr(recorder, name, retrying)

    def _pin_recorder(self) -> None:
        """Make the recorder use this thread's open atomic transaction when there is one."""
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        local = self._atomic
        if self.settings.uses_postgres:
            original = datastore.get_connection
            self._original_get_connection = original

            @contextmanager
            def get_connection() -> Iterator[Any]:
                scope: Atomic | None = getattr(local, "scope", None)
                if scope is None:
                    with original() as conn:
                        yield conn
                    return
                try:
                    yield scope.conn
                except Exception as error:
                    raise _translated(error) from error

            datastore.get_connection = get_connection
        else:
            original_transaction = datastore.transaction

            @contextmanager
            def transaction(*, commit: bool) -> Iterator[Any]:
                scope: Atomic | None = getattr(local, "scope", None)
                if scope is None:
                    with original_transaction(commit=commit) as cursor:
                        yield cursor
                    return
                cursor = scope.conn.cursor()
                try:
                    yield cursor
                except Exception as error:
                    raise _translated(error) from error

            datastore.transaction = transaction

    @contextmanager
    def _store_transaction(self) -> Iterator[Tx]:
        """A short committed transaction on the event store's database (schema changes)."""
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        if self.settings.uses_postgres:
            with self._original_get_connection() as conn, conn.transaction():
                yield Tx(conn.cursor(), True)
        else:
            with datastore.transaction(commit=True) as cursor:
                yield Tx(cursor.sqlite_cursor, False)

    def get(self, aggregate_id: UUID, kind: type | None = None, what: str = "record") -> Any:
        """Load an aggregate or raise ``NotFound``."""
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {what} with id {aggregate_id}") from None
        if kind is not None and not isinstance(aggregate, kind):
            raise NotFound(f"no {what} with id {aggregate_id}")
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def max_position(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def notifications(self, after: int, limit: int) -> list[Notification]:
        return list(self.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False))

    def envelope_of(self, notification: Notification) -> Envelope:
        event = self.mapper.to_domain_event(notification)
        return self.catalogue.to_envelope(event, notification.id)

    def envelopes(self, after: int = 0, batch: int = 500) -> Iterator[Envelope]:
        """Every public envelope (unsealed) after ``after``, in log order."""
        while True:
            page = self.notifications(after, batch)
            if not page:
                return
            for notification in page:
                yield self.envelope_of(notification)
            after = page[-1].id
