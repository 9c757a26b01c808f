"""A full demo run (``delaktig up`` with the demo: real processes, real broker), checked as an outside
system would: every message on every topic is a valid message of the published AsyncAPI document
(``jsonschema``) with CloudEvents headers that say the same as its envelope; the dashboards' JSON
answers match their OpenAPI description; and the example payroll subscriber, killed with SIGKILL
midway and started again, applies every event exactly once and verifies the signed checkpoints."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import PUBLIC_TOPICS, read_all
from tests.contract.contract import ROOT, Contract
from tests.platform.up_process import start_up, stop_up, up_environment

PAYROLL = ROOT / "examples" / "subscriber" / "payroll.py"


def openapi_errors(spec: dict[str, Any], path: str, body: Any) -> list[str]:
    """Errors of a JSON answer against the 200 response schema of ``GET path`` (OpenAPI 3.0)."""
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    registry: Registry = Registry().with_resource("urn:openapi",
                                                  Resource.from_contents(spec, default_specification=DRAFT4))
    validator = OAS30Validator({"$ref": "urn:openapi#" + schema["$ref"][1:]}, registry=registry)
    error = best_match(validator.iter_errors(body))
    return [] if error is None else [f"{error.message} at {list(error.absolute_path)}"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """One ``delaktig up`` with the demo loaded, shared by this module's tests."""
    up = up_environment(tmp_path_factory.mktemp("demo") / "data", demo=True)
    up.env["CHECKPOINT_EVERY_EVENTS"] = "25"
    proc, output = start_up(up.env, timeout=240)
    try:
        assert "Demo loaded" in output and "skipped" not in output, output
        # The audit worker signs checkpoints as it catches up with the sources (every 25 events or
        # every few seconds); the tests read them, so wait until every source has one.
        deadline = time.monotonic() + 120
        while True:
            sources = {json.loads(r.value).get("source")
                       for r in read_all(up.settings, up.settings.topic("audit.checkpoints"), timeout=5)}
            if {"participants", "recruitments", "matching"} <= sources:
                break
            assert time.monotonic() < deadline, f"no checkpoint for every source after 120 s: {sources}"
            time.sleep(1)
        yield up.settings
    finally:
        stop_up(proc)


@pytest.mark.slow
def test_every_message_of_a_demo_run_is_a_valid_contract_message(demo: Settings) -> None:
    contract = Contract()
    seen: Counter[str] = Counter()
    problems: list[str] = []
    for logical in PUBLIC_TOPICS:
        records = read_all(demo, demo.topic(logical), timeout=30)
        assert records, f"nothing on {logical}"
        for record in records:
            errors = contract.errors(demo.topic(logical), record, demo.topic_prefix)
            problems += [f"{logical}@{record.partition}:{record.offset}: {e}" for e in errors]
            value = json.loads(record.value)
            seen[f"{logical}:{value.get('event_type', 'Checkpoint')}"] += 1
    assert problems == [], "\n".join(problems[:30])
    for needed in ("participants.events:UserRegistered", "matching.events:PanelAssigned",
                   "recruitments.events:InterviewScored", "participants.events:HonorariumPaid",
                   "audit.checkpoints:Checkpoint"):
        assert seen[needed] >= 1, seen
    assert len(seen) >= 30, seen  # most of the catalogue is exercised by the demo

    # The dashboards' JSON API answers as its OpenAPI document says.
    base = f"http://127.0.0.1:{demo.ports['dashboards']}"
    headers = {"Authorization": f"Bearer {mint_token(demo, sub='contract-test', roles=['administrator'])}"}
    spec = requests.get(f"{base}/openapi.json", timeout=10).json()
    overview = requests.get(f"{base}/api/overview", headers=headers, timeout=10)
    assert overview.status_code == 200, overview.text
    assert overview.json()["items"]
    assert openapi_errors(spec, "/api/overview", overview.json()) == []
    department = requests.get(f"{base}/api/departments/socialforvaltningen", headers=headers, timeout=10)
    assert department.status_code == 200, department.text
    assert openapi_errors(spec, "/api/departments/{code}", department.json()) == []
    # The demo imports three years of history (one recruitment a quarter): the trends span them.
    assert department.json()["imported"]["recruitments"] == 12
    assert len({m["month"][:4] for m in department.json()["effect"]["participants"]}) >= 3
    wrong = dict(department.json(), rotation={"in_bank": "many"})
    assert openapi_errors(spec, "/api/departments/{code}", wrong)  # the check can fail


def ledger_size(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT COALESCE(MAX(size), 0) FROM ledger").fetchone()
            return int(row[0])
    except sqlite3.OperationalError:  # tables not created yet
        return 0


@pytest.mark.slow
def test_payroll_subscriber_killed_midway_applies_every_event_once(demo: Settings, tmp_path: Path) -> None:
    # What a subscribing system is given: the public key (GET /public-key, auditor role) ...
    audit = f"http://127.0.0.1:{demo.ports['audit']}"
    auditor = {"Authorization": f"Bearer {mint_token(demo, sub='payroll-onboarding', roles=['auditor'])}"}
    key = requests.get(f"{audit}/public-key", headers=auditor, timeout=10)
    assert key.status_code == 200, key.text
    (tmp_path / "audit.pem").write_text(key.text)
    # ... and what the topic holds, to compare with at the end
    events = [json.loads(r.value) for r in read_all(demo, demo.topic("participants.events"), timeout=30)]
    checkpoints = [json.loads(r.value) for r in read_all(demo, demo.topic("audit.checkpoints"), timeout=30)]
    total = len({e["event_id"] for e in events})
    paid = {e["event_id"] for e in events if e["event_type"] == "HonorariumPaid"}
    assert total > 100 and paid

    db = tmp_path / "payroll.sqlite"
    command = [sys.executable, str(PAYROLL), "--bootstrap", demo.kafka_bootstrap, "--topic-prefix",
               demo.topic_prefix, "--group", "payroll-test", "--db", str(db), "--public-key",
               str(tmp_path / "audit.pem"), "--batch", "15", "--pause", "0.05"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while ledger_size(db) < total // 3:
            assert first.poll() is None, first.communicate()[0].decode()
            assert time.monotonic() < deadline, "the subscriber made no progress"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # no chance to clean up
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    applied_before = ledger_size(db)
    assert 0 < applied_before < total, (applied_before, total)

    second = subprocess.run([*command, "--batch", "200", "--pause", "0", "--exit-when-idle", "5"],
                            capture_output=True, text=True, timeout=180)
    assert second.returncode == 0, second.stdout + second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])

    with sqlite3.connect(db) as conn:
        applied = [r[0] for r in conn.execute("SELECT event_id FROM ledger ORDER BY size")]
        payments = [r[0] for r in conn.execute("SELECT event_id FROM payments")]
        verified = {r[0] for r in conn.execute("SELECT tree_size FROM checkpoints WHERE verified = 1")}
    assert len(applied) == len(set(applied)) == total  # every event once, none twice
    assert applied == [e["event_id"] for e in sorted(events, key=lambda e: e["position"])]
    assert sorted(payments) == sorted(paid)
    covered = {c["tree_size"] for c in checkpoints if c["source"] == "participants"}
    assert covered and covered <= verified, (covered - verified, summary)  # (a later one may be verified too)
