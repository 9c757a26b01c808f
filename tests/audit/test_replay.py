"""Replay rebuilds read models from offset zero into fresh databases and finds any difference."""

from __future__ import annotations

import pytest

from infra.cli import main
from services.audit.projections import AccessLogProjection
from services.audit.replay import replay
from services.audit.service import Audit
from services.participants.service import Participants
from shared.config import Settings
from shared.consumer import ConsumerLoop, Projection
from shared.db import Database, Tx
from shared.envelope import Envelope
from tests.audit.helpers import SourceWriter, new_id
from tests.conftest import bearer


class TypeCounts(Projection):
    """A second, unrelated projection: event counts per type and per actor role."""

    name = "test-type-counts"
    topics = ("recruitments.events",)

    def migrate(self, db: Database) -> None:
        db.migrate("CREATE TABLE IF NOT EXISTS type_counts (event_type TEXT PRIMARY KEY, n BIGINT NOT NULL);"
                   "CREATE TABLE IF NOT EXISTS role_counts (role TEXT PRIMARY KEY, n BIGINT NOT NULL)")

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        tx.execute("INSERT INTO type_counts (event_type, n) VALUES (?, 1) ON CONFLICT (event_type) "
                   "DO UPDATE SET n = type_counts.n + 1", (envelope["event_type"],))
        tx.execute("INSERT INTO role_counts (role, n) VALUES (?, 1) ON CONFLICT (role) "
                   "DO UPDATE SET n = role_counts.n + 1", (envelope["actor"]["role"],))


def _env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap)
    monkeypatch.setenv("TOPIC_PREFIX", settings.topic_prefix)
    monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("DB_NAMESPACE", settings.db_namespace)


def test_replay_reproduces_read_models(settings: Settings, serve, token, http,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    service = Participants.build(settings)
    url = serve(service.http())
    r = http.post(f"{url}/participants", headers=bearer(token()),
                  json={"name": "Sara Berg", "email": "s@example.se", "phone": "+46700000001",
                        "preferred_language": "sv", "departments": ["socialforvaltningen"]})
    pid = r.json()["id"]
    for sub in ("co-1", "co-2"):
        assert http.get(f"{url}/participants/{pid}", headers=bearer(token(sub=sub))).status_code == 200
    service.vault.destroy(pid, "GDPR art. 17")  # erased is erased in both
    service.relay().drain()
    writer = SourceWriter(settings, "recruitments")
    rid = new_id()
    for i in range(7):
        writer.emit("InterviewScored" if i % 2 else "ApplicationAssessed", rid, {"n": i},
                    {"id": f"p{i}", "role": "participant" if i % 3 else "hiring_manager"}, minute=i)
    writer.close()
    audit = Audit.build(settings)
    audit.catch_up()
    counts_db = Database(settings, "testcounts")
    ConsumerLoop(settings, counts_db, TypeCounts()).catch_up()

    results = replay([(AccessLogProjection, audit.db), (TypeCounts, counts_db)])
    assert [(r.projection, r.identical) for r in results] == [("audit-access-log", True), ("test-type-counts", True)]
    assert results[0].rows == 2 and results[1].tables == ["role_counts", "type_counts"]
    assert len(audit.app.access_log(pid, None)) == 2

    _env(monkeypatch, settings)
    assert main(["audit", "replay"]) == 0

    with audit.db.transaction() as tx:
        tx.execute("UPDATE access_log SET purpose = 'tampered' WHERE accessor_id = 'co-2'")
    with counts_db.transaction() as tx:
        tx.execute("DELETE FROM role_counts WHERE role = 'hiring_manager'")
    results = replay([(AccessLogProjection, audit.db), (TypeCounts, counts_db)])
    access, counts = results
    assert not access.identical and access.diffs[0].table == "access_log"
    assert dict(access.diffs[0].only_live[0])["purpose"] == "tampered"
    assert not counts.identical and counts.diffs[0].table == "role_counts"
    assert dict(counts.diffs[0].only_replayed[0])["role"] == "hiring_manager"
    assert main(["audit", "replay"]) == 1
    counts_db.close()
    audit.close()
    service.close()
