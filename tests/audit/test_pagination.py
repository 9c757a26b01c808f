"""The audit lists (``/access-log``, ``/checkpoints``) page with the one cursor convention, on
both backends: a walk while reads are logged meanwhile serves nothing twice and misses nothing
present at its start; an auditor sees reads of their departments and reads made in none."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from marshmallow import ValidationError

from services.audit.checkpoints import CHECKPOINT_DDL, checkpoints_page
from services.audit.projections import AccessLogProjection, access_log_page
from services.audit.schemas import AccessLogQuery, CheckpointsQuery
from shared.config import Settings
from shared.db import Database

SOC, ARB = "socialforvaltningen", "arbetsmarknadsforvaltningen"


class Log:
    """The access-log read model, fed envelopes as the consumer loop would."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.position = 0
        AccessLogProjection().migrate(db)

    def read(self, subject: str, department: str | None) -> str:
        self.position += 1
        event_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "event_id": event_id, "event_type": "PersonalDataAccessed", "position": self.position,
            "occurred_at": "2026-03-01T09:00:00Z", "department": department,
            "actor": {"id": "coord-1", "role": "coordinator"},
            "payload": {"subject_id": subject, "purpose": "brukarbank", "categories": ["name"]},
        }
        with self.db.transaction() as tx:
            AccessLogProjection().apply(tx, envelope)
        return event_id


def walk(db: Database, departments: tuple[str, ...] | None, between: Any = None) -> list[str]:
    served: list[str] = []
    cursor = None
    while True:
        page = access_log_page(db, subject_id=None, accessor_id=None, departments=departments, limit=2,
                               cursor=cursor)
        served += [row["event_id"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return served
        if between is not None:
            between()


def test_the_access_log_pages_while_reads_are_logged(settings: Settings) -> None:
    db = Database(settings, "audit")
    try:
        log = Log(db)
        present = [log.read(f"p{i}", SOC if i % 3 else None) for i in range(7)]
        elsewhere = log.read("p-other", ARB)
        meanwhile: list[str] = []
        served = walk(db, (SOC,), lambda: meanwhile.append(log.read("p-new", SOC)))
        assert len(served) == len(set(served))
        assert served[: len(present)] == present  # in log order, none missed
        assert elsewhere not in served  # another department's reads are not this auditor's
        assert set(served) - set(present) <= set(meanwhile)
        assert elsewhere in walk(db, None)  # every department (an administrator)
        assert walk(db, ()) == [e for i, e in enumerate(present) if i % 3 == 0]  # only reads in no department
    finally:
        db.close()


def test_checkpoints_page_per_source_then_size(settings: Settings) -> None:
    db = Database(settings, "audit")
    try:
        db.migrate(CHECKPOINT_DDL)
        with db.transaction() as tx:
            for source in ("recruitments", "matching"):
                for size in (1, 2, 10):
                    tx.execute("INSERT INTO audit_checkpoints (source, tree_size, body, published) VALUES (?, ?, ?, 1)",
                               (source, size, json.dumps({"source": source, "tree_size": size})))
        served: list[tuple[str, int]] = []
        cursor = None
        while True:
            page = checkpoints_page(db, None, 4, cursor)
            served += [(c["source"], c["tree_size"]) for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert served == [(s, n) for s in ("matching", "recruitments") for n in (1, 2, 10)]
        assert [c["tree_size"] for c in checkpoints_page(db, "matching", 50)["items"]] == [1, 2, 10]
    finally:
        db.close()


def test_limits_and_cursors_are_refused_naming_the_field() -> None:
    for schema in (AccessLogQuery(), CheckpointsQuery()):
        for bad, field in (({"limit": "201"}, "limit"), ({"cursor": "%%%"}, "cursor"),
                           ({"cursor": "WzFd"}, "cursor")):  # [1]: a key of one part, not two
            with pytest.raises(ValidationError) as refused:
                schema.load(bad)
            assert field in refused.value.messages
