"""The database fails in the middle of a command sent with an Idempotency-Key, at each of its
three writes: claiming the key, recording the answer, committing. The client is told exactly
what happened to its command (nothing stored, or perhaps stored), and a retry with the same key
applies the command once and answers as a first success does.

The failures are real SQLite errors on the service's own store connection: a statement of the
given kind is interrupted by SQLite's progress handler while it runs (as an unexpected database
error would stop it), once."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from services.participants.service import Participants
from shared.config import Settings
from tests.conftest import bearer
from tests.edge.conftest import PERSON, registrations

SAFE = ("A retry with the same Idempotency-Key is safe: the command is applied at most once and the retry "
        "answers as the first success did.")


class FailOnce:
    """Interrupts the first statement starting with ``verb`` on each atomic scope's connection."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.running: str | None = None
        self.failed: list[str] = []
        self.connections: list[sqlite3.Connection] = []

    def watch(self, conn: sqlite3.Connection) -> None:
        if conn not in self.connections:
            self.connections.append(conn)
            conn.set_trace_callback(self._statement)
            conn.set_progress_handler(self._progress, 1)

    def _statement(self, sql: str) -> None:
        self.running = sql.lstrip().upper()

    def _progress(self) -> int:
        if not self.failed and self.running is not None and self.running.startswith(self.verb):
            self.failed.append(self.running)
            return 1  # SQLite stops the statement: sqlite3.OperationalError("interrupted")
        return 0

    def remove(self) -> None:
        for conn in self.connections:
            conn.set_trace_callback(None)
            conn.set_progress_handler(None, 0)


@pytest.fixture
def fail_once(sqlite_settings: Settings) -> Iterator[Callable[[str], tuple[Participants, FailOnce]]]:
    made: list[tuple[Participants, FailOnce]] = []

    def make(verb: str) -> tuple[Participants, FailOnce]:
        service = Participants.build(sqlite_settings)
        failure = FailOnce(verb)
        begin = service.app.begin_atomic

        def watched() -> Any:
            scope = begin()
            failure.watch(scope.tx._cursor.connection)
            return scope

        service.app.begin_atomic = watched  # type: ignore[method-assign]
        made.append((service, failure))
        return service, failure

    yield make
    for service, failure in made:
        failure.remove()
        service.close()


def _register(url: str, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{url}/participants", json=PERSON, headers=headers, timeout=30)


@pytest.mark.parametrize(("verb", "what_happened"), [
    ("INSERT", "Nothing was stored: the whole command was undone. "),
    ("UPDATE", "Nothing was stored: the whole command was undone. "),
    ("COMMIT", "The database failed while storing the command, so it may or may not be stored. "),
])
def test_a_failed_write_says_what_was_stored_and_the_retry_applies_once(
        fail_once: Callable[[str], tuple[Participants, FailOnce]], serve, sqlite_settings: Settings,
        verb: str, what_happened: str) -> None:
    from shared.auth import mint_token

    service, failure = fail_once(verb)
    url = serve(service.http())
    headers = {**bearer(mint_token(sqlite_settings, sub="coord-1", roles=["coordinator"],
                                   departments=("socialforvaltningen",))), "Idempotency-Key": f"fails-at-{verb}"}

    first = _register(url, headers)
    assert failure.failed and failure.failed[0].startswith(verb)  # the failure struck where intended
    assert first.status_code == 500, first.text  # an unexpected database error, not an outage
    body = first.json()
    assert first.headers["Content-Type"].startswith("application/problem+json")
    assert body["title"] == "Internal error"
    assert body["detail"] == "The request failed. " + what_happened + SAFE
    assert registrations(service) == 0  # whatever the answer had to hedge, nothing was stored
    assert "Retry-After" not in first.headers

    retry = _register(url, headers)
    assert retry.status_code == 201, retry.text
    assert registrations(service) == 1
    again = _register(url, headers)
    assert again.status_code == 201 and again.json() == retry.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert registrations(service) == 1
