"""Tampering with a stored event (change a byte, delete, swap, insert) in SQLite and PostgreSQL is
pinpointed by verify; crypto-shredding leaves verify green; the access log records reads."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import psycopg

from infra.cli import compose_services
from services.audit.cli import run_verify
from services.audit.projections import access_log
from services.audit.service import Audit
from services.audit.verify import load_from_kafka, verify_records, verify_store
from services.participants.service import Participants
from shared.config import Settings
from tests.conftest import bearer


class RawStore:
    """Direct access to the participants event store table, bypassing the application."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pg = settings.uses_postgres
        if self.pg:
            self.table = f'"{settings.schema("participants")}".participantsapp_events'
            self.id = "notification_id"
        else:
            self.table = "stored_events"
            self.id = "rowid"

    @contextmanager
    def conn(self) -> Any:
        if self.pg:
            with psycopg.connect(self.settings.database_url) as c:
                yield c
        else:
            import sqlite3

            c = sqlite3.connect(self.settings.data_dir / f"{self.settings.schema('participants')}-events.sqlite")
            try:
                yield c
                c.commit()
            finally:
                c.close()

    def q(self, sql: str) -> str:
        return sql.replace("{T}", self.table).replace("{ID}", self.id).replace("?", "%s" if self.pg else "?")

    def row(self, nid: int) -> tuple[Any, ...]:
        with self.conn() as c:
            return tuple(c.execute(self.q("SELECT originator_id, originator_version, topic, state, {ID} FROM {T} "
                                          "WHERE {ID} = ?"), (nid,)).fetchone())

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with self.conn() as c:
            c.execute(self.q(sql), params)

    def insert(self, row: tuple[Any, ...]) -> None:
        with self.conn() as c:
            marks = ", ".join(["%s" if self.pg else "?"] * 5)
            c.execute(f"INSERT INTO {self.table} (originator_id, originator_version, topic, state, {self.id}) "
                      f"VALUES ({marks})", row)

    def shift(self, after: int, by: int) -> None:
        self.run(f"UPDATE {{T}} SET {{ID}} = {{ID}} + 1000000 WHERE {{ID}} > {after}")
        self.run(f"UPDATE {{T}} SET {{ID}} = {{ID}} - {1000000 - by} WHERE {{ID}} > 1000000")


def _verify(settings: Settings, service: Participants, audit: Audit) -> list[Any]:
    report, history = verify_records(load_from_kafka(settings), audit.app.key.public_key())
    assert report.ok, report.first
    return verify_store(service.app, history)


def test_store_tampering_is_pinpointed(settings: Settings, serve, token, http) -> None:
    service = Participants.build(settings)
    url = serve(service.http())
    ids = []
    for name in ("Astrid Lindqvist", "Bo Ek"):
        r = http.post(f"{url}/participants", headers=bearer(token()),
                      json={"name": name, "email": "x@example.se", "phone": "+46700000000",
                            "preferred_language": "sv", "departments": ["socialforvaltningen"]})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    reader = token(sub="coordinator-7")
    assert http.get(f"{url}/participants/{ids[0]}", headers=bearer(reader)).status_code == 200
    service.relay().drain()
    audit = Audit.build(settings)
    assert audit.catch_up() >= 1
    envelopes = [e for e in service.app.envelopes()]
    by_type = {e["event_type"]: e for e in envelopes}
    assert _verify(settings, service, audit) == []

    # Access log: who read whose data.
    rows = access_log(audit.db, subject_id=ids[0])
    assert [(r["accessor_id"], r["subject_id"]) for r in rows] == [("coordinator-7", ids[0])]

    store = RawStore(settings)
    dept = next(e for e in envelopes if e["payload"].get("code") == "arbetsmarknadsforvaltningen")
    pos = dept["position"]

    # 1. Change one byte of a stored event's state.
    original = store.row(pos)
    state = bytes(original[3])
    store.run("UPDATE {T} SET state = ? WHERE {ID} = ?", (state.replace(b"Arbetsmarknadsf", b"Arbetsmarknadsg"), pos))
    problems = _verify(settings, service, audit)
    assert problems[0].kind == "store-edited"
    assert (problems[0].position, problems[0].event_id) == (pos, dept["event_id"])
    assert "payload.name" in problems[0].detail
    assert any(p.kind == "store-checkpoint" for p in problems)  # the signed checkpoints alone see it too
    store.run("UPDATE {T} SET state = ? WHERE {ID} = ?", (state, pos))
    assert _verify(settings, service, audit) == []

    # 2. Delete one.
    store.run("DELETE FROM {T} WHERE {ID} = ?", (pos,))
    problems = _verify(settings, service, audit)
    assert (problems[0].kind, problems[0].position, problems[0].event_id) == ("store-deleted", pos, dept["event_id"])
    store.insert(original)
    assert _verify(settings, service, audit) == []

    # 3. Swap two.
    registered = by_type["UserRegistered"]
    a, b = pos, registered["position"]
    store.run("UPDATE {T} SET {ID} = -5 WHERE {ID} = ?", (a,))
    store.run("UPDATE {T} SET {ID} = ? WHERE {ID} = ?", (a, b))
    store.run("UPDATE {T} SET {ID} = ? WHERE {ID} = -5", (b,))
    problems = _verify(settings, service, audit)
    assert problems[0].kind == "store-reordered" and problems[0].position == a
    assert registered["event_id"] in problems[0].detail and dept["event_id"] in problems[0].detail
    store.run("UPDATE {T} SET {ID} = -5 WHERE {ID} = ?", (a,))
    store.run("UPDATE {T} SET {ID} = ? WHERE {ID} = ?", (a, b))
    store.run("UPDATE {T} SET {ID} = ? WHERE {ID} = -5", (b,))
    assert _verify(settings, service, audit) == []

    # 4. Insert one (a forged second version of a department, slipped in after ``pos``).
    store.shift(pos, 1)
    forged = (original[0], 2, original[2], original[3], pos + 1)
    store.insert(forged)
    problems = _verify(settings, service, audit)
    assert (problems[0].kind, problems[0].position) == ("store-inserted", pos + 1)
    store.run("DELETE FROM {T} WHERE {ID} = ?", (pos + 1,))
    store.shift(pos + 1, -1)
    assert _verify(settings, service, audit) == []

    # Crypto-shredding a person leaves everything verifiable.
    assert service.vault.destroy(ids[0], "GDPR art. 17")
    assert http.get(f"{url}/participants/{ids[0]}", headers=bearer(reader)).status_code == 404
    service.relay().drain()
    audit.catch_up()
    assert _verify(settings, service, audit) == []
    # what ``delaktig audit verify`` runs
    result = run_verify(settings, None, None, stores=True, compose=compose_services)
    assert "participants" in result["stores_checked"]
    assert [p for p in result["problems"] if p["kind"] != "store-unavailable"] == []
    audit.close()
    service.close()
