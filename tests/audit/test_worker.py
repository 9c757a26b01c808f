"""The audit worker cuts time-based checkpoints and publishes them to audit.checkpoints."""

from __future__ import annotations

import threading
import time

from services.audit.service import Audit
from services.audit.verify import load_from_kafka, verify_records
from shared.config import Settings
from tests.audit.helpers import SourceWriter, new_id


def test_worker_checkpoints_by_time(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.with_(checkpoint_every_events=1000, checkpoint_every_seconds=0.5)
    writer = SourceWriter(settings, "matching")
    for i in range(3):
        writer.emit("PanelProposed", new_id(), {"recruitment_id": new_id()}, {"id": "co", "role": "coordinator"},
                    minute=i)
    writer.close()
    audit = Audit.build(settings)
    stop = threading.Event()
    thread = threading.Thread(target=audit.worker().run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not audit.app.checkpoints("matching"):
            time.sleep(0.2)
        checkpoint = audit.app.checkpoints("matching")[0]
        assert checkpoint["tree_size"] == 3 and checkpoint["chain_head"] == writer.head
        while time.monotonic() < deadline:
            report, history = verify_records(load_from_kafka(settings), audit.app.key.public_key())
            if history.checkpoints["matching"]:
                break
            time.sleep(0.2)
        assert report.ok and report.checkpoints_checked == 1
    finally:
        stop.set()
        thread.join(timeout=15)
        audit.close()
