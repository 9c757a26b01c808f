"""PostgreSQL restarted under load (issue 11): ``pg_ctl restart -m fast``, then ``kill -9`` of
the postmaster and crash recovery, on a private cluster, while clients register and retry with
the same Idempotency-Key. Only 503s may be seen; nothing lost, nothing doubled, the workers come
back by themselves (supervised)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bench.chaos import ChaosRig, Counts, Load, count
from tests.faults.conftest import PgCluster, cluster_settings


@pytest.mark.slow
def test_postgres_restart_and_crash_under_load(pg_cluster: PgCluster, broker: str, tmp_path: Path) -> None:
    settings = cluster_settings(tmp_path, broker, pg_cluster.url)
    counts = Counts("postgresql")
    rig = ChaosRig(settings, tmp_path / "rig")
    rig.start()
    load = Load(rig, counts, clients=3)
    try:
        load.start()
        time.sleep(3.0)
        pg_cluster.restart("fast")
        counts.kills["postgres restart"] += 1
        time.sleep(3.0)
        pg_cluster.kill9()
        counts.kills["postgres kill -9"] += 1
        started = threading.Thread(target=pg_cluster.start)
        started.start()
        started.join(timeout=90)
        time.sleep(6.0)
        load.finish()
        count(rig, load, counts, settle=45.0)
    finally:
        rig.stop()
    report = "\n" + counts.table() + f"\nlogs: {tmp_path / 'rig' / 'logs'}"
    assert counts.acknowledged > 20 and counts.gave_up == 0, report
    assert counts.http_5xx_other == 0, report
    assert counts.duplicates == 0, report
    assert counts.lost == {k: 0 for k in counts.lost}, report
    assert set(counts.read_models.values()) == {counts.store}, report
