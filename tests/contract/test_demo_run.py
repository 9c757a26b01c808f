"""Every message a full demo run (``delaktig up`` with the demo, real processes, real broker) puts on
every topic is a valid message of the published AsyncAPI document (checked with ``jsonschema``) and
carries CloudEvents headers that say the same as its envelope; the dashboards' JSON answers match
their OpenAPI description."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from shared.auth import mint_token
from shared.kafka import PUBLIC_TOPICS, read_all
from tests.contract.contract import Contract
from tests.platform.up_process import start_up, stop_up, up_environment


def openapi_errors(spec: dict[str, Any], path: str, body: Any) -> list[str]:
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    registry: Registry = Registry().with_resource("urn:openapi", Resource.from_contents(spec,
                                                                                        default_specification=DRAFT4))
    validator = OAS30Validator({"$ref": "urn:openapi#" + schema["$ref"][1:]}, registry=registry)
    error = best_match(validator.iter_errors(body))
    return [] if error is None else [f"{error.message} at {list(error.absolute_path)}"]


@pytest.mark.slow
def test_every_message_of_a_demo_run_is_a_valid_contract_message(tmp_path: Path) -> None:
    up = up_environment(tmp_path / "demo", demo=True)
    up.env["CHECKPOINT_EVERY_EVENTS"] = "25"
    proc, output = start_up(up.env, timeout=240)
    try:
        assert "Demo loaded" in output and "skipped" not in output, output
        settings = up.settings
        contract = Contract()
        seen: Counter[str] = Counter()
        problems: list[str] = []
        for logical in PUBLIC_TOPICS:
            records = read_all(settings, settings.topic(logical), timeout=30)
            assert records, f"nothing on {logical}"
            for record in records:
                errors = contract.errors(settings.topic(logical), record, settings.topic_prefix)
                problems += [f"{logical}@{record.partition}:{record.offset}: {e}" for e in errors]
                value = json.loads(record.value)
                seen[f"{logical}:{value.get('event_type', 'Checkpoint')}"] += 1
        assert problems == [], "\n".join(problems[:30])
        for needed in ("participants.events:UserRegistered", "matching.events:PanelAssigned",
                       "recruitments.events:InterviewScored", "participants.events:HonorariumPaid",
                       "audit.checkpoints:Checkpoint"):
            assert seen[needed] >= 1, seen

        # The dashboards' JSON API answers as its OpenAPI document says.
        base = f"http://127.0.0.1:{settings.ports['dashboards']}"
        token = mint_token(settings, sub="contract-test", roles=["administrator"])
        spec = requests.get(f"{base}/openapi.json", timeout=10).json()
        headers = {"Authorization": f"Bearer {token}"}
        overview = requests.get(f"{base}/api/overview", headers=headers, timeout=10)
        assert overview.status_code == 200, overview.text
        assert overview.json()["departments"]
        assert openapi_errors(spec, "/api/overview", overview.json()) == []
        department = requests.get(f"{base}/api/departments/socialforvaltningen", headers=headers, timeout=10)
        assert department.status_code == 200, department.text
        assert openapi_errors(spec, "/api/departments/{code}", department.json()) == []
        wrong = dict(department.json(), rotation={"in_bank": "many"})
        assert openapi_errors(spec, "/api/departments/{code}", wrong)  # the check can fail
    finally:
        stop_up(proc)
