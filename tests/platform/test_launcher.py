"""``delaktig up`` as a real process tree: broker, gunicorn services, workers; SIGTERM stops all."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from shared.auth import mint_token
from shared.config import SERVICE_PORTS, Settings
from shared.kafka import free_port, read_all


def processes_with_env(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_up_runs_everything_and_stops_without_orphans(tmp_path: Path) -> None:
    data_dir = tmp_path / "up-data"
    broker_port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "BROKER_PORT": str(broker_port), "DELAKTIG_DEMO": "0"}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.pop("DATABASE_URL", None)
    ports = {name: free_port() for name in SERVICE_PORTS}
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
    proc = subprocess.Popen([sys.executable, "-m", "infra.cli", "up", "--no-demo"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = b""
    deadline = time.monotonic() + 120
    while b"Delaktig is running." not in output:
        assert proc.poll() is None, output.decode(errors="replace")
        assert time.monotonic() < deadline, output.decode(errors="replace")
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            output += os.read(proc.stdout.fileno(), 65536)
    try:
        assert f"http://127.0.0.1:{ports['participants']}/".encode() in output
        assert b"delaktig token" in output
        settings = Settings(data_dir=data_dir, kafka_bootstrap=f"127.0.0.1:{broker_port}")
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
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    time.sleep(0.5)
    assert processes_with_env(f"DATA_DIR={data_dir}") == []
    for port in [broker_port, *ports.values()]:
        assert subprocess.run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"],
                              capture_output=True).returncode != 0, f"port {port} still open"
