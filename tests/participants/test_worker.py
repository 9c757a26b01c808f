"""The participants worker runs the relay, the directory, the bank and the participation consumer."""

from __future__ import annotations

import threading
import time
import uuid

from shared.config import Settings
from tests.conftest import bearer
from tests.participants.support import DEP, build, interview_scored, make_ready, publish, register


def test_worker_accrues_and_updates_the_directory(sqlite_settings: Settings, serve, token, http) -> None:
    service = build(sqlite_settings)
    url = serve(service.http())
    coordinator = token()
    pid = register(http, url, coordinator)
    make_ready(http, url, coordinator, token(role="participant", departments=(), sub=pid), pid)
    worker = service.worker()
    assert {type(p).__name__ for p in worker.parts} == {"OutboxRelay", "ConsumerLoop"} and len(worker.parts) == 4
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        publish(sqlite_settings, [interview_scored(str(uuid.uuid4()), 1, pid)])
        deadline = time.monotonic() + 30
        listed: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            accrued = bool(service.app.participant(uuid.UUID(pid)).accruals)
            listed = http.get(f"{url}/participants", params={"department": DEP},
                              headers=bearer(coordinator)).json()["items"]
            if accrued and listed and listed[0]["ready"] and listed[0]["honoraria_this_year"]:
                break
            time.sleep(0.2)
        assert service.app.participant(uuid.UUID(pid)).accruals, "the worker did not accrue the interview"
        assert [p["id"] for p in listed] == [pid] and listed[0]["ready"] is True
        # The interview (half a day at the default rate) is this year's honoraria, today the last engagement.
        assert listed[0]["honoraria_this_year"] == 103100 and listed[0]["last_engaged"] is not None
    finally:
        stop.set()
        thread.join(timeout=15)
        service.close()
