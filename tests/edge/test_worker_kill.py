"""Issue 11, item 1: a gunicorn worker killed with SIGKILL in the middle of requests; every client
retries with its Idempotency-Key until it gets an answer; each person is registered exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from services.participants.service import Participants
from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import free_port
from tests.conftest import bearer
from tests.edge.conftest import PERSON, registrations
from tests.edge.faults import worker_pids

CLIENTS = 4
PER_CLIENT = 4
KILLS = 6


def gunicorn(settings: Settings, port: int, marks: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EDGE_SLOW_APP": "1", "EDGE_SLOW_SECONDS": "0.2", "EDGE_MARK_DIR": str(marks),
           "DATA_DIR": str(settings.data_dir),
           "DB_NAMESPACE": settings.db_namespace, "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
           "TOPIC_PREFIX": settings.topic_prefix}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--worker-class", "sync", "--timeout", "30", "--graceful-timeout", "1", "--log-level", "warning",
         "--no-control-socket", "tests.edge.faults:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.slow
def test_worker_killed_mid_request_registers_each_person_once(settings: Settings, tmp_path: Path) -> None:
    Participants.build(settings).close()  # schema and departments exist before the workers start
    port = free_port()
    marks = tmp_path / "marks"
    marks.mkdir()
    server = gunicorn(settings, port, marks)
    url = f"http://127.0.0.1:{port}"
    token = mint_token(settings, roles=["coordinator"], departments=["socialforvaltningen"])
    outcomes: dict[str, list[int | str]] = {}
    answers: dict[str, str] = {}
    stop = threading.Event()
    kills = [0]
    killed_in: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200 and len(worker_pids(server.pid)) == 2:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)

        def killer() -> None:
            """Kill a worker while it is in one of the two windows (events saved, not committed;
            answer committed, not sent), alternating, then let a new worker boot."""
            rng = random.Random(7)
            wanted = "saved"
            while not stop.is_set() and kills[0] < KILLS:
                found = [m for m in marks.glob(f"*.{wanted}")]
                if not found:
                    time.sleep(0.005)
                    continue
                mark = rng.choice(found)
                stop.wait(rng.uniform(0.0, 0.1))
                try:
                    os.kill(int(mark.stem), signal.SIGKILL)
                    kills[0] += 1
                    killed_in.append(wanted)
                except (ProcessLookupError, ValueError):
                    continue
                mark.unlink(missing_ok=True)
                wanted = "answered" if wanted == "saved" else "saved"

        def client(n: int) -> None:
            with requests.Session() as http:
                i = -1
                while (i := i + 1) < PER_CLIENT or (kills[0] < KILLS and i < 80):  # until the killer is done
                    key = f"kill-{n}-{i}"
                    seen = outcomes.setdefault(key, [])
                    until = time.monotonic() + 60
                    while time.monotonic() < until:
                        try:
                            r = http.post(f"{url}/participants", json={**PERSON, "name": f"Person {n} {i}"},
                                          headers={**bearer(token), "Idempotency-Key": key}, timeout=20)
                        except requests.RequestException as error:
                            seen.append(type(error).__name__)
                            http.close()
                            time.sleep(0.2)
                            continue
                        seen.append(r.status_code)
                        if r.status_code == 201:
                            answers[key] = r.json()["id"]
                            break
                        time.sleep(float(r.headers.get("Retry-After", "0.2")))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        kill_thread = threading.Thread(target=killer)
        kill_thread.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stop.set()
        kill_thread.join()
    finally:
        stop.set()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    failures = sum(1 for seen in outcomes.values() for o in seen if o != 201)
    # The faults really hit requests, in both windows.
    assert kills[0] == KILLS and failures >= KILLS and set(killed_in) == {"saved", "answered"}, outcomes
    assert len(answers) == len(outcomes) >= CLIENTS * PER_CLIENT, outcomes
    assert all(o in (201, 409, 503) or isinstance(o, str) for seen in outcomes.values() for o in seen), outcomes
    assert len(set(answers.values())) == len(answers)
    service = Participants.build(settings)
    try:
        assert registrations(service) == len(answers), outcomes
        ids = {str(e["aggregate_id"]) for e in service.app.envelopes() if e["event_type"] == "UserRegistered"}
        assert ids == set(answers.values())
    finally:
        service.close()
