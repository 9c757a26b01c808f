"""``delaktig up`` as a real process tree: broker, gunicorn services, workers; SIGTERM stops all."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from shared.auth import mint_token
from shared.kafka import read_all
from tests.platform.up_process import processes_with_env, start_up, stop_up, up_environment


@pytest.mark.slow
def test_up_runs_everything_and_stops_without_orphans(tmp_path: Path) -> None:
    data_dir = tmp_path / "up-data"
    up = up_environment(data_dir, demo=False)
    ports = up.settings.ports
    broker_port = int(up.env["BROKER_PORT"])
    proc, output = start_up(up.env, "--no-demo")
    try:
        assert f"http://127.0.0.1:{ports['participants']}/" in output
        assert "delaktig token" in output
        settings = up.settings
        token = mint_token(settings, roles=["coordinator"], departments=["socialforvaltningen"])
        r = requests.post(f"http://127.0.0.1:{ports['participants']}/participants",
                          json={"name": "Up Test", "departments": ["socialforvaltningen"]},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        deadline = time.monotonic() + 30
        seen = False
        while not seen and time.monotonic() < deadline:
            records = read_all(settings, "participants.events", timeout=5)
            seen = any(json.loads(m.value)["aggregate_id"] == pid for m in records)
            time.sleep(0.5)
        assert seen, "the worker's relay did not publish the registration"
        assert len(processes_with_env(f"DATA_DIR={data_dir}")) >= 3
    finally:
        stop_up(proc)
    time.sleep(0.5)
    assert processes_with_env(f"DATA_DIR={data_dir}") == []
    for port in [broker_port, *ports.values()]:
        assert subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"],
                              capture_output=True).returncode != 0, f"port {port} still open"
