"""Worker high availability (issue 11, item 10): two ``delaktig worker participants`` run; exactly
one holds the leader lock and runs the relay and the read models; after ``kill -9`` of the holder
the other takes over within 10 s; every registration reaches the topic and the read model, the
hash chain has no fork, and nothing is applied twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from services.participants.service import Participants
from shared.auth import mint_token
from shared.config import Settings
from shared.envelope import GENESIS_HASH, chain_hash
from shared.kafka import read_all
from tests.faults.conftest import delaktig, process_env
from tests.participants.support import DEP

TAKEOVER_SECONDS = 10.0


def _wait_log(path: Path, text: str, timeout: float, proc: subprocess.Popen[bytes]) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return time.monotonic()
        assert proc.poll() is None, path.read_text(errors="replace")
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {path} within {timeout} s:\n{path.read_text(errors='replace')}")


def _registrations(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in read_all(settings, settings.topic("participants.events"), timeout=5)
            if b'"UserRegistered"' in r.value]


def _wait_all(service: Participants, settings: Settings, ids: set[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        on_topic = {e["aggregate_id"] for e in _registrations(settings)}
        with service.db.transaction() as tx:
            applied = {r["participant_id"] for r in tx.all("SELECT participant_id FROM participant_directory")}
        if ids <= on_topic and ids <= applied:
            return
        assert time.monotonic() < deadline, f"missing: topic {len(ids - on_topic)}, read model {len(ids - applied)}"
        time.sleep(0.3)


@pytest.mark.slow
def test_standby_worker_takes_over_after_kill_9_of_the_leader(settings: Settings, tmp_path: Path,
                                                                serve: Any) -> None:
    service = Participants.build(settings)
    url = serve(service.http())
    http = requests.Session()
    token = mint_token(settings, roles=["coordinator"], departments=[DEP])
    env = process_env(settings)
    logs = {name: tmp_path / f"worker-{name}.log" for name in ("a", "b")}
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def register(n: int) -> set[str]:
        out = set()
        for i in range(n):
            r = http.post(f"{url}/participants", json={"name": f"HA {i}", "departments": [DEP]},
                          headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 201, r.text
            out.add(r.json()["id"])
        return out

    try:
        for name in ("a", "b"):
            with open(logs[name], "ab") as out:
                procs[name] = subprocess.Popen(delaktig("worker", "participants"), env=env, stdout=out,
                                               stderr=subprocess.STDOUT)
            if name == "a":
                _wait_log(logs["a"], "leader: running", 60, procs["a"])
        _wait_log(logs["b"], "standby: waiting", 60, procs["b"])
        first = register(10)
        _wait_all(service, settings, first)
        assert "leader: running" not in logs["b"].read_text(), "two leaders at once"

        os.kill(procs["a"].pid, signal.SIGKILL)
        killed = time.monotonic()
        second = register(10)  # accepted while nobody leads; published after the takeover
        took_over = _wait_log(logs["b"], "leader: running", TAKEOVER_SECONDS + 5, procs["b"])
        assert took_over - killed < TAKEOVER_SECONDS
        _wait_all(service, settings, first | second)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
    assert procs["b"].returncode == 0 and "worker stops: signal SIGTERM" in logs["b"].read_text()

    # Nothing lost, nothing doubled: one event per registration in the store, every one on the
    # topic (re-sent copies are byte-identical), one row each in the read model.
    stored = [e for e in service.app.envelopes() if e["event_type"] == "UserRegistered"]
    assert {e["aggregate_id"] for e in stored} == first | second and len(stored) == 20
    messages = [json.loads(r.value) for r in read_all(settings, settings.topic("participants.events"))]
    by_id: dict[str, dict[str, Any]] = {}
    for env_ in messages:
        assert by_id.setdefault(env_["event_id"], env_) == env_, "two different envelopes for one event: a fork"
    prev = GENESIS_HASH
    for env_ in sorted(by_id.values(), key=lambda e: e["position"]):
        assert env_["prev_hash"] == prev and env_["hash"] == chain_hash(prev, env_)
        prev = env_["hash"]
    assert len(by_id) == service.app.max_position()
    with service.db.transaction() as tx:
        assert int(tx.scalar("SELECT COUNT(*) FROM participant_directory")) == 20
    service.close()
