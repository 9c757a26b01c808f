"""The AsyncAPI document covers every public event and the committed copy is current."""

from __future__ import annotations

import json
from pathlib import Path

from infra.asyncapi import asyncapi_document
from infra.cli import available_services, build_service  # noqa: F401 - imports register the catalogues
from shared.events import CATALOGUES

DOC = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"


def test_asyncapi_lists_every_event_and_is_committed() -> None:
    import importlib

    for name in available_services():
        importlib.import_module(f"services.{name}.service")
    document = asyncapi_document()
    messages = document["components"]["messages"]
    for source, catalogue in CATALOGUES.items():
        if source == "counters":
            continue  # the test-only catalogue of tests/platform/counter_app.py
        assert f"{source}.events" in document["channels"]
        for entry in catalogue.entries():
            message = messages[f"{entry.event_type}.v{entry.schema_version}"]
            assert message["payload"]["properties"]["event_type"]["const"] == entry.event_type
    for required in ("UserRegistered.v1", "PanelAssigned.v1", "InterviewScored.v1", "HonorariumPaid.v1"):
        assert required in messages
    committed = json.loads(DOC.read_text())
    document["channels"] = {k: v for k, v in document["channels"].items() if not k.startswith("counters")}
    assert "audit.checkpoints" in document["channels"]
    document["components"]["messages"] = {k: v for k, v in messages.items() if not k.startswith("Counter")}
    assert committed == document, "docs/asyncapi.json is stale: run `delaktig asyncapi > docs/asyncapi.json`"
