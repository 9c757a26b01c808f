"""Processes that start together (gunicorn's workers, a service's worker process) create the same
schemas and tables at the same moment without failing: on PostgreSQL ``CREATE ... IF NOT EXISTS``
alone is not safe against that, so schema changes are serialised by an advisory lock."""

from __future__ import annotations

import multiprocessing
import uuid
from pathlib import Path

import pytest

from shared.config import Settings

PROCESSES = 6
ROUNDS = 4
DDL = """
CREATE TABLE IF NOT EXISTS racing (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS racing_by_body ON racing (body)
"""


def _start(settings: Settings, barrier: multiprocessing.synchronize.Barrier, app: bool) -> None:
    from services.participants.application import ParticipantsApp
    from shared.db import Database
    from shared.vault import Vault

    barrier.wait(timeout=60)
    db = Database(settings, "racing")
    db.migrate(DDL)
    if app:  # eventsourcing's own tables and functions too
        ParticipantsApp(settings, Vault(settings, db)).close()
    db.close()


@pytest.mark.postgres
def test_processes_starting_together_create_their_stores_without_failing(tmp_path: Path, pg_database: str) -> None:
    context = multiprocessing.get_context("spawn")
    for round_ in range(ROUNDS):
        settings = Settings(data_dir=tmp_path / str(round_), database_url=pg_database,
                            db_namespace=f"r{uuid.uuid4().hex[:6]}_")
        barrier = context.Barrier(PROCESSES)
        procs = [context.Process(target=_start, args=(settings, barrier, i % 2 == 0)) for i in range(PROCESSES)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0] * PROCESSES, f"round {round_}: a process failed to start"


def _make_key(path: str, barrier: multiprocessing.synchronize.Barrier, out: multiprocessing.Queue) -> None:
    import secrets

    from shared.keyfiles import create_once

    barrier.wait(timeout=60)
    out.put(create_once(Path(path), lambda: secrets.token_bytes(32)))


def test_a_key_file_made_by_processes_at_once_is_one_key(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    for round_ in range(ROUNDS):
        path = tmp_path / f"r{round_}" / "master.key"
        barrier, out = context.Barrier(PROCESSES), context.Queue()
        procs = [context.Process(target=_make_key, args=(str(path), barrier, out)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        keys = {out.get(timeout=60) for _ in procs}
        for p in procs:
            p.join(timeout=60)
        assert len(keys) == 1 and keys == {path.read_bytes()} and len(path.read_bytes()) == 32
        assert oct(path.stat().st_mode & 0o777) == oct(0o600)
        assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]  # no temporary left
