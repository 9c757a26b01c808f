"""Issue 11, item 4 on SQLite: a store that stays locked (another process holds its write lock)
answers 503 with Retry-After, not 500; the retry with the same key applies once."""

from __future__ import annotations

import sqlite3

import pytest

from services.participants.service import Participants
from shared.config import Settings
from tests.conftest import bearer
from tests.edge.conftest import PERSON, registrations


@pytest.mark.slow
def test_locked_sqlite_store_is_503_and_the_retry_applies_once(sqlite_settings: Settings, serve, token,
                                                                http) -> None:
    service = Participants.build(sqlite_settings)
    try:
        url = serve(service.http())
        events_file = sqlite_settings.data_dir / f"{sqlite_settings.schema('participants')}-events.sqlite"
        holder = sqlite3.connect(events_file, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process writing for longer than the busy timeout
        headers = {**bearer(token()), "Idempotency-Key": "locked-1"}
        try:
            r = http.post(f"{url}/participants", json=PERSON, headers=headers, timeout=120)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0 and r.json()["retry_safe_with_idempotency_key"] is True
        assert "Nothing was stored" in r.json()["detail"]
        retried = http.post(f"{url}/participants", json=PERSON, headers=headers)
        assert retried.status_code == 201
        assert http.post(f"{url}/participants", json=PERSON, headers=headers).json() == retried.json()
        assert registrations(service) == 1
    finally:
        service.close()
