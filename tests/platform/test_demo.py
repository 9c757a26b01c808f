"""``delaktig up`` loads the demo through the APIs, and another ``up`` on the same data adds nothing."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.auth import mint_token
from shared.config import Settings
from tests.platform.up_process import processes_with_env, start_up, stop_up, up_environment

DEPARTMENTS = ("socialforvaltningen", "arbetsmarknadsforvaltningen", "skol-och-fritidsforvaltningen")


def census(settings: Settings, ports: dict[str, int]) -> dict[str, Any]:
    """What the demo left, counted through the public APIs with an administrator token."""
    headers = {"Authorization": f"Bearer {mint_token(settings, sub='test-admin', roles=['administrator'])}"}
    participants: set[str] = set()
    erased = json.loads((settings.data_dir / "demo-loaded.json").read_text())["erased"]
    for department in DEPARTMENTS:
        cursor = None
        while True:  # every page of the department's bank
            r = requests.get(f"http://127.0.0.1:{ports['participants']}/participants",
                             params={"department": department, "limit": 200, "cursor": cursor},
                             headers=headers, timeout=10)
            assert r.status_code == 200, r.text
            participants |= {p["id"] for p in r.json()["items"]}
            cursor = r.json()["next_cursor"]
            if cursor is None:
                break
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
    up = up_environment(data_dir, demo=True)
    env, settings, ports = up.env, up.settings, up.settings.ports

    proc, output = start_up(env)
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
        stop_up(proc)

    proc, output = start_up(env)
    try:
        assert "Demo already loaded" in output, output
        second = census(settings, ports)
        assert {k: v for k, v in second.items() if k != "headers"} == {
            k: v for k, v in first.items() if k != "headers"}
    finally:
        stop_up(proc)

    # Without its progress file the demo runs every step again: idempotency keys, replays and
    # "already done" answers keep the services from duplicating anything.
    (data_dir / "demo-loaded.json").unlink()
    proc, output = start_up(env)
    try:
        assert "Demo loaded" in output and "skipped" not in output, output
        third = census(settings, ports)
        assert {k: v for k, v in third.items() if k != "headers"} == {
            k: v for k, v in first.items() if k != "headers"}
    finally:
        stop_up(proc)
    time.sleep(0.5)
    assert processes_with_env(f"DATA_DIR={data_dir}") == []


@pytest.mark.slow
@pytest.mark.postgres
def test_up_on_postgresql_starts_every_service_and_loads_the_demo(tmp_path: Path, pg_database: str) -> None:
    """``DATABASE_URL`` pointing at PostgreSQL: every service's gunicorn workers and its worker
    process create their schemas at the same moment, and the whole demo goes through."""
    data_dir = tmp_path / "demo-pg"
    up = up_environment(data_dir, demo=True)
    env = {**up.env, "DATABASE_URL": pg_database, "DB_NAMESPACE": f"up{uuid.uuid4().hex[:6]}_"}
    proc, output = start_up(env)
    try:
        assert "Demo loaded" in output and "skipped" not in output, output
        assert "postgresql://" in output
        counted = census(up.settings, up.settings.ports)
        assert counted["participants"] >= 25 and counted["decisions"] >= 1 and counted["payments"]
        assert counted["departments"] == set(DEPARTMENTS)
        assert proc.poll() is None, "a service stopped"
    finally:
        stop_up(proc)
    time.sleep(0.5)
    assert processes_with_env(f"DATA_DIR={data_dir}") == []
