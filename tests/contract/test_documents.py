"""The published contracts are complete and valid to outside tools: the AsyncAPI document (npm
``@asyncapi/parser``, and every schema a draft-07 JSON Schema whose references resolve) and every
service's OpenAPI document (``openapi-spec-validator``), including the dashboards' JSON API."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from openapi_spec_validator import validate

from infra.asyncapi import asyncapi_document
from infra.cli import available_services, build_service
from shared.config import Settings
from shared.events import CATALOGUES
from tests.contract.contract import DOCUMENT, Contract

PUBLIC_SOURCES = ("participants", "recruitments", "matching")


def generated() -> dict[str, Any]:
    available_services()  # imports every service: their catalogues register themselves
    document = asyncapi_document()
    # tests/platform/counter_app.py registers a test-only catalogue when imported in the same run
    for name in [k for k in document["channels"] if k.startswith("counters")]:
        del document["channels"][name]
    for section in ("operations",):
        document[section] = {k: v for k, v in document[section].items() if "counters" not in k}
    document["components"]["messages"] = {k: v for k, v in document["components"]["messages"].items()
                                          if not k.startswith("counters.")}
    # ... and its payload schemas: keep only the schemas the remaining document reaches.
    schemas = document["components"]["schemas"]
    reached: set[str] = set()
    todo = [r for r in refs({k: v for k, v in document.items() if k != "components"})
            + refs(document["components"]["messages"])]
    while todo:
        name = todo.pop().rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
        if name in schemas and name not in reached:
            reached.add(name)
            todo.extend(refs(schemas[name]))
    document["components"]["schemas"] = {k: v for k, v in schemas.items() if k in reached}
    return document


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref}: no {part!r}"
        node = node[part]
    return node


def test_committed_document_is_generated_from_the_schemas() -> None:
    committed = json.loads(DOCUMENT.read_text())
    assert committed == generated(), "docs/asyncapi.json is stale: run `delaktig asyncapi > docs/asyncapi.json`"


def test_every_reference_resolves_and_every_schema_is_json_schema() -> None:
    document = generated()
    found = refs(document)
    assert len(found) > 100
    for ref in found:
        resolve(document, ref)
    for name, schema in document["components"]["schemas"].items():
        Draft7Validator.check_schema(schema)  # raises SchemaError naming the problem
        assert name.replace(".", "").replace("_", "").isalnum()


def test_every_public_event_is_a_message_on_its_channel() -> None:
    document = generated()
    messages = document["components"]["messages"]
    for source in PUBLIC_SOURCES:
        channel = document["channels"][f"{source}.events"]
        for entry in CATALOGUES[source].entries():
            key = f"{source}.{entry.event_type}.v{entry.schema_version}"
            assert key in channel["messages"], key
            payload = messages[key]["payload"]["allOf"][1]["properties"]
            assert payload["event_type"]["const"] == entry.event_type
            assert payload["schema_version"]["const"] == entry.schema_version
            assert messages[key]["headers"]["allOf"][1]["properties"]["ce_type"]["const"] == \
                f"se.delaktig.{source}.{entry.event_type}.v{entry.schema_version}"
    for key in ("participants.UserRegistered.v1", "matching.PanelAssigned.v1", "recruitments.InterviewScored.v1",
                "participants.HonorariumPaid.v1", "Checkpoint.v1"):
        assert key in messages
    # both departments' legal holds are there: same event name in two sources, no collision
    assert {"participants.LegalHoldPlaced.v1", "recruitments.LegalHoldPlaced.v1"} <= set(messages)
    assert document["channels"]["audit.checkpoints"]["address"] == "audit.checkpoints"


def test_the_outside_asyncapi_parser_accepts_the_document(node_tools: Path, tmp_path: Path) -> None:
    result = subprocess.run(["node", "validate_asyncapi.mjs", str(DOCUMENT)], cwd=node_tools, capture_output=True,
                            text=True, timeout=120)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["parsed"] and report["errors"] == [], result.stdout + result.stderr


def test_the_outside_parser_rejects_a_broken_document(node_tools: Path, tmp_path: Path) -> None:
    """The check can fail: a dangling schema reference (what the old document had) is an error."""
    document = json.loads(DOCUMENT.read_text())
    del document["components"]["schemas"]["participants.Window"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    result = subprocess.run(["node", "validate_asyncapi.mjs", str(broken)], cwd=node_tools, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert any("Window" in e["message"] or "Window" in e["path"] for e in json.loads(result.stdout)["errors"]), \
        result.stdout


def test_json_schema_validation_can_fail() -> None:
    contract = Contract()
    payload_validator, headers_validator = contract.validators("participants.HonorariumPaid.v1")
    envelope = {"event_id": "8f8f3a3c-6c1e-4c07-9d8e-0c1b5f0e6c11", "event_type": "HonorariumPaid", "schema_version": 1,
                "source": "participants", "aggregate_id": "a", "aggregate_version": 3, "position": 9,
                "occurred_at": "2026-01-02T03:04:05Z", "department": None, "actor": {"id": "x", "role": "coordinator"},
                "payload": {"payroll_ref": "p", "amount_ore": 100, "period": "2026-01", "accrual_refs": [],
                            "paid_on": "2026-01-02"},
                "prev_hash": "0" * 64, "hash": "a" * 64}
    assert list(payload_validator.iter_errors(envelope)) == []
    bad = {**envelope, "payload": {**envelope["payload"], "amount_ore": "100"}}
    assert [e.message for e in payload_validator.iter_errors(bad)]
    assert list(headers_validator.iter_errors({"ce_specversion": "1.0"}))


@pytest.mark.parametrize("name", ["participants", "recruitments", "matching", "audit", "dashboards"])
def test_openapi_documents_are_valid(name: str, sqlite_settings: Settings) -> None:
    assert name in available_services()
    service = build_service(name, sqlite_settings)
    try:
        client = service.http().test_client()
        response = client.get("/openapi.json")
        assert response.status_code == 200
        spec = response.get_json()
        validate(spec)  # openapi-spec-validator: raises on the first violation
        assert spec["paths"], f"{name} documents no paths"
        for ref in refs(spec):
            resolve(spec, ref)
        if name == "dashboards":
            assert {"/api/overview", "/api/departments/{code}"} <= set(spec["paths"])
    finally:
        service.close()
