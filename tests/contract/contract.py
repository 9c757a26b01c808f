"""Checking Kafka records against the published AsyncAPI document with an outside JSON Schema
validator (``jsonschema``), and their CloudEvents headers against their envelope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from shared.envelope import headers_dict

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.json"
BASE = "urn:delaktig:asyncapi"


class Contract:
    """The AsyncAPI document as a set of JSON Schema validators, one per message."""

    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document if document is not None else json.loads(DOCUMENT.read_text())
        self.registry: Registry = Registry().with_resource(BASE, Resource.from_contents(self.document,
                                                                                        default_specification=DRAFT7))
        self._validators: dict[str, tuple[Draft7Validator, Draft7Validator]] = {}

    def validators(self, key: str) -> tuple[Draft7Validator, Draft7Validator]:
        """(payload validator, headers validator) of ``components.messages[key]``."""
        if key not in self._validators:
            if key not in self.document["components"]["messages"]:
                raise KeyError(f"no message {key} in the contract")
            pointer = f"{BASE}#/components/messages/{key}"
            self._validators[key] = (
                Draft7Validator({"$ref": f"{pointer}/payload"}, registry=self.registry),
                Draft7Validator({"$ref": f"{pointer}/headers"}, registry=self.registry),
            )
        return self._validators[key]

    def channel_of(self, topic: str, prefix: str = "") -> dict[str, Any]:
        address = topic.removeprefix(prefix)
        for channel in self.document["channels"].values():
            if channel["address"] == address:
                return dict(channel)
        raise KeyError(f"topic {topic} is not a channel of the contract")

    def message_key(self, topic: str, value: dict[str, Any], prefix: str = "") -> str:
        """Which of the channel's messages this record claims to be."""
        channel = self.channel_of(topic, prefix)
        if channel["address"] == "audit.checkpoints":
            return f"Checkpoint.v{value.get('version')}"
        key = f"{value.get('source')}.{value.get('event_type')}.v{value.get('schema_version')}"
        if key not in channel["messages"]:
            raise KeyError(f"{key} is not listed on channel {channel['address']}")
        return key

    def errors(self, topic: str, record: Any, prefix: str = "") -> list[str]:
        """Everything wrong with one Kafka record (empty list: it is a valid contract message)."""
        value = json.loads(record.value)
        try:
            key = self.message_key(topic, value, prefix)
            payload_validator, headers_validator = self.validators(key)
        except KeyError as error:
            return [str(error)]
        headers = headers_dict(record.headers)
        problems = [f"{key} value: {e.message} at {list(e.absolute_path)}"
                    for e in payload_validator.iter_errors(value)]
        problems += [f"{key} headers: {e.message}" for e in headers_validator.iter_errors(headers)]
        problems += cloudevents_mismatches(value, headers, record.key)
        return problems


def cloudevents_mismatches(value: dict[str, Any], headers: dict[str, str], key: bytes | None) -> list[str]:
    """Do the CloudEvents headers say the same as the envelope (or the checkpoint)?"""
    if value.get("type") == "delaktig.audit.checkpoint":
        expected = {"ce_source": "urn:delaktig:audit", "ce_type": f"se.delaktig.audit.Checkpoint.v{value['version']}",
                    "ce_time": value["time"], "ce_subject": value["source"]}
    else:
        expected = {
            "ce_id": value["event_id"],
            "ce_source": f"urn:delaktig:{value['source']}",
            "ce_type": f"se.delaktig.{value['source']}.{value['event_type']}.v{value['schema_version']}",
            "ce_time": value["occurred_at"],
            "ce_subject": value["aggregate_id"],
        }
        if key is not None and key.decode() != value["aggregate_id"]:
            return [f"record key {key!r} is not the aggregate id"]
    expected |= {"ce_specversion": "1.0", "content-type": "application/json"}
    return [f"{name}: header {headers.get(name)!r}, expected {want!r}"
            for name, want in expected.items() if headers.get(name) != want]
