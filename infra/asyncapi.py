"""The AsyncAPI document of the Kafka contract, generated from the event catalogues."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.events import CATALOGUES, EnvelopeSchema


def _json_schema(schema: Any) -> dict[str, Any]:
    spec = APISpec("x", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema("S", schema=schema)
    result: dict[str, Any] = spec.to_dict()["components"]["schemas"]["S"]
    return result


def asyncapi_document() -> dict[str, Any]:
    """AsyncAPI 2.6 with one channel per source and one message per event type and version."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    envelope = _json_schema(EnvelopeSchema)
    for source, catalogue in sorted(CATALOGUES.items()):
        refs = []
        for entry in catalogue.entries():
            key = f"{entry.event_type}.v{entry.schema_version}"
            body = dict(envelope)
            body["properties"] = dict(envelope["properties"])
            body["properties"]["payload"] = _json_schema(entry.schema)
            body["properties"]["event_type"] = {"type": "string", "const": entry.event_type}
            body["properties"]["schema_version"] = {"type": "integer", "const": entry.schema_version}
            messages[key] = {
                "name": entry.event_type,
                "title": f"{entry.event_type} v{entry.schema_version}",
                "summary": entry.description,
                "contentType": "application/json",
                "bindings": {"kafka": {"key": {"type": "string", "description": "aggregate id"}}},
                "payload": body,
            }
            refs.append({"$ref": f"#/components/messages/{key}"})
        channels[f"{source}.events"] = {
            "description": f"Events of the {source} service, key = aggregate id, ordered per key.",
            "subscribe": {"message": {"oneOf": refs}},
        }
    channels["audit.checkpoints"] = {
        "description": "Signed checkpoints of each source's history (services/audit/checkpoints.py): "
        "key = source. Ed25519 signature (base64) over the compact, key-sorted JSON without 'signature'.",
        "subscribe": {"message": {"$ref": "#/components/messages/Checkpoint.v1"}},
    }
    messages["Checkpoint.v1"] = {
        "name": "Checkpoint",
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "required": ["type", "version", "source", "tree_size", "position", "chain_head", "root", "time",
                         "key_id", "signature"],
            "properties": {
                "type": {"type": "string"},
                "version": {"type": "integer", "const": 1},
                "source": {"type": "string"},
                "tree_size": {"type": "integer", "description": "events covered (Merkle leaves)"},
                "position": {"type": "integer", "description": "position of the last covered event"},
                "chain_head": {"type": "string", "description": "hash of the last covered event"},
                "root": {"type": "string", "description": "RFC 6962 Merkle root (hex); leaves = event hashes"},
                "time": {"type": "string", "format": "date-time"},
                "key_id": {"type": "string"},
                "signature": {"type": "string", "description": "Ed25519, base64"},
            },
        },
    }
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "Delaktig events",
            "version": "1.0.0",
            "description": "Public event contract. Personal data travels only as ciphertext (enc:v1:...). "
            "Each envelope carries prev_hash/hash of its source's hash chain.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": messages},
    }
