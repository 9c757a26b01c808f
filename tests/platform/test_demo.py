"""``delaktig up`` loads the demo through the APIs, and another ``up`` on the same data adds nothing."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.auth import mint_token
from shared.config import SERVICE_PORTS, Settings
from shared.kafka import free_port
from tests.platform.test_launcher import processes_with_env

DEPARTMENTS = ("socialforvaltningen", "arbetsmarknadsforvaltningen", "skol-och-fritidsforvaltningen")


def start(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen([sys.executable, "-m", "infra.cli", "up"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = b""
    deadline = time.monotonic() + 90
    while b"Delaktig is running." not in output:
        assert proc.poll() is None, output.decode(errors="replace")
        assert time.monotonic() < deadline, output.decode(errors="replace")
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            output += os.read(proc.stdout.fileno(), 65536)
    return proc, output.decode(errors="replace")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 0


def census(settings: Settings, ports: dict[str, int]) -> dict[str, Any]:
    """What the demo left, counted through the public APIs with an administrator token."""
    headers = {"Authorization": f"Bearer {mint_token(settings, sub='test-admin', roles=['administrator'])}"}
    participants: set[str] = set()
    erased = json.loads((settings.data_dir / "demo-loaded.json").read_text())["erased"]
    for department in DEPARTMENTS:
        r = requests.get(f"http://127.0.0.1:{ports['participants']}/participants",
                         params={"department": department}, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        participants |= {p["id"] for p in r.json()}
    r = requests.get(f"http://127.0.0.1:{ports['recruitments']}/recruitments", headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    recruitments = r.json()["items"]
    decisions = 0
    for item in recruitments:
        view = requests.get(f"http://127.0.0.1:{ports['recruitments']}/recruitments/{item['id']}",
                            headers=headers, timeout=10).json()
        decisions += view.get("decision") is not None
    payments = []
    for pid in sorted(participants):
        r = requests.get(f"http://127.0.0.1:{ports['participants']}/participants/{pid}/honoraria",
                         params={"year": date.today().year}, headers=headers, timeout=10)
        if r.status_code == 409 and "erased" in r.text:
            continue
        assert r.status_code == 200, r.text
        payments += [p["payroll_ref"] for p in r.json()["payments"]]
    return {
        "erased_listed": erased in participants,
        "participants": len(participants),
        "recruitments": sorted((i["department"], i["stage"], i["candidates"], len(i["panel"])) for i in recruitments),
        "departments": {i["department"] for i in recruitments},
        "decisions": decisions,
        "payments": sorted(payments),
        "headers": headers,
    }


@pytest.mark.slow
def test_up_loads_the_demo_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo-data"
    broker_port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "BROKER_PORT": str(broker_port)}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "DELAKTIG_DEMO"):
        env.pop(name, None)
    ports = {name: free_port() for name in SERVICE_PORTS}
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
    settings = Settings(data_dir=data_dir, kafka_bootstrap=f"127.0.0.1:{broker_port}", ports=ports)

    proc, output = start(env)
    try:
        assert "Demo loaded" in output, output
        assert "skipped" not in output, output
        first = census(settings, ports)
        assert first["participants"] >= 25
        assert not first["erased_listed"]
        assert first["departments"] == set(DEPARTMENTS)
        assert first["decisions"] >= 1
        assert first["payments"], "no honorarium was paid"
        stages = {stage for _, stage, _, _ in first["recruitments"]}
        assert {"drafting", "advertised", "interviewing", "closed"} <= stages
        erased = json.loads((data_dir / "demo-loaded.json").read_text())["erased"]
        r = requests.get(f"http://127.0.0.1:{ports['participants']}/participants/{erased}",
                         headers=first["headers"], timeout=10)
        assert r.status_code == 404, r.text
    finally:
        stop(proc)

    proc, output = start(env)
    try:
        assert "Demo already loaded" in output, output
        second = census(settings, ports)
        assert {k: v for k, v in second.items() if k != "headers"} == {
            k: v for k, v in first.items() if k != "headers"}
    finally:
        stop(proc)

    # Without its progress file the demo runs every step again: idempotency keys, replays and
    # "already done" answers keep the services from duplicating anything.
    (data_dir / "demo-loaded.json").unlink()
    proc, output = start(env)
    try:
        assert "Demo loaded" in output and "skipped" not in output, output
        third = census(settings, ports)
        assert {k: v for k, v in third.items() if k != "headers"} == {
            k: v for k, v in first.items() if k != "headers"}
    finally:
        stop(proc)
    time.sleep(0.5)
    assert processes_with_env(f"DATA_DIR={data_dir}") == []
