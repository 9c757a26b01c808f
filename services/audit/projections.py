"""Audit read models: the personal-data access log (from ``PersonalDataAccessed``)."""

from __future__ import annotations

import json
from typing import Any

from shared.consumer import Projection, dumps
from shared.db import Database, Tx
from shared.envelope import Envelope
from shared.pagination import after_cursor_sql, page_of

ACCESS_LOG_DDL = """
CREATE TABLE IF NOT EXISTS access_log (
    event_id TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    occurred_at TEXT NOT NULL,
    accessor_id TEXT NOT NULL,
    accessor_role TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    categories TEXT NOT NULL,
    department TEXT
)
"""


class AccessLogProjection(Projection):
    """Who read whose personal data, when and why (pseudonymous ids only)."""

    name = "audit-access-log"
    topics = ("participants.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(ACCESS_LOG_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        if envelope.get("event_type") != "PersonalDataAccessed":
            return
        payload = envelope["payload"]
        actor = envelope.get("actor") or {}
        tx.execute(
            "INSERT INTO access_log (event_id, position, occurred_at, accessor_id, accessor_role, subject_id, "
            "purpose, categories, department) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (envelope["event_id"], int(envelope["position"]), envelope["occurred_at"], str(actor.get("id")),
             str(actor.get("role")), str(payload.get("subject_id")), str(payload.get("purpose")),
             dumps(payload.get("categories") or []), envelope.get("department")),
        )


def access_log_page(db: Database, *, subject_id: str | None, accessor_id: str | None,
                    departments: tuple[str, ...] | None, limit: int, cursor: str | None = None) -> dict[str, Any]:
    """A page of the access log in log order (position, event id): reads made in
    ``departments`` (every department for ``None``) and reads made in no department."""
    where = ["1 = 1"]
    params: list[Any] = []
    for column, value in (("subject_id", subject_id), ("accessor_id", accessor_id)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if departments is not None:
        listed = f" OR department IN ({', '.join('?' for _ in departments)})" if departments else ""
        where.append(f"(department IS NULL{listed})")
        params.extend(departments)
    condition, after = after_cursor_sql(cursor, "position", "event_id")
    where.append(condition)
    params.extend(after)
    with db.transaction() as tx:
        rows = tx.all(f"SELECT * FROM access_log WHERE {' AND '.join(where)} ORDER BY position, event_id LIMIT ?",
                      (*params, limit + 1))
    page = page_of(rows, limit, lambda r: (int(r["position"]), str(r["event_id"])))
    page["items"] = [{**r, "position": int(r["position"]), "categories": json.loads(r["categories"])}
                     for r in page["items"]]
    return page


def access_log(db: Database, subject_id: str | None = None, accessor_id: str | None = None,
               limit: int = 500) -> list[dict[str, Any]]:
    """Access-log rows, oldest first, optionally for one data subject and/or one accessor."""
    sql = "SELECT * FROM access_log WHERE 1 = 1"
    params: list[Any] = []
    if subject_id:
        sql += " AND subject_id = ?"
        params.append(subject_id)
    if accessor_id:
        sql += " AND accessor_id = ?"
        params.append(accessor_id)
    sql += " ORDER BY position LIMIT ?"
    params.append(limit)
    with db.transaction() as tx:
        rows = tx.all(sql, params)
    return [{**r, "position": int(r["position"]), "categories": json.loads(r["categories"])} for r in rows]
