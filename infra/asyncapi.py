"""The AsyncAPI 3.0 document of the Kafka contract, generated from the event catalogues.

Every schema a message refers to is in ``components.schemas`` (one apispec run over all the
marshmallow schemas, so nested ones such as ``Window`` or ``Member`` are there too, named per
service). Payload schemas are open (no ``additionalProperties: false``): the versioning policy
(docs/versioning.md) lets a new schema version add fields, and subscribers ignore what they do
not know. Messages carry the CloudEvents Kafka binding headers (binary content mode).
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.envelope import CLOUDEVENTS_SPECVERSION, CONTENT_TYPE, ce_source, ce_type
from shared.events import CATALOGUES, EnvelopeSchema, PublicEvent

# The document's own version (2: AsyncAPI 3.0, CloudEvents headers; 2.1: the participation text events;
# 2.2: ProcessingRestrictionChanged v2 with its reason, LegalHoldPlaced v2 with its ground).
CONTRACT_VERSION = "2.2.0"
KAFKA_BINDING = "0.5.0"
EVENT_TOPIC_PARTITIONS = 6  # production default of `delaktig topics --production`
REPLICAS = 3

ENVELOPE_DOC = {
    "event_id": "UUID, stable across re-publication: deduplicate on it",
    "event_type": "the event's name, e.g. HonorariumPaid",
    "schema_version": "version of this event type's payload (docs/versioning.md)",
    "source": "the service whose event store holds the event",
    "aggregate_id": "the stream (also the Kafka key)",
    "aggregate_version": "position in the stream, from 1",
    "position": "position in the source's log, strictly increasing per source",
    "occurred_at": "ISO 8601 UTC",
    "department": "department code, null for department-less events",
    "actor": "who did it: pseudonymous id and role",
    "payload": "the event's data; its schema depends on event_type and schema_version",
    "prev_hash": "hash of the previous event of this source (64 zeros for the first)",
    "hash": "sha256(prev_hash + canonical envelope without hash), hex",
}


def _schema_name(schema: Any) -> str:
    """Component name of a (nested) marshmallow schema, prefixed with its service so equal class
    names in two services (``LegalHoldPlacedV1``, ``MemberSchema``) never collide."""
    cls = schema if isinstance(schema, type) else type(schema)
    parts = cls.__module__.split(".")
    owner = parts[1] if parts[0] == "services" and len(parts) > 1 else parts[0]
    name = cls.__name__
    if name.endswith("Schema") and len(name) > len("Schema"):
        name = name[: -len("Schema")]
    return f"{owner}.{name}"


def _open(schema: Any) -> Any:
    """Drop ``additionalProperties: false`` everywhere (tolerant readers, additive versions)."""
    if isinstance(schema, dict):
        return {k: _open(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(schema, list):
        return [_open(v) for v in schema]
    return schema


def _payload_key(source: str, entry: PublicEvent) -> str:
    return f"{source}.{entry.event_type}.v{entry.schema_version}"


def _headers_schema(type_: str, source: str, subject: str) -> dict[str, Any]:
    return {
        "allOf": [
            {"$ref": "#/components/schemas/CloudEventsHeaders"},
            {
                "type": "object",
                "properties": {
                    "ce_type": {"type": "string", "const": type_},
                    "ce_source": {"type": "string", "const": source},
                    "ce_subject": {"type": "string", "description": subject},
                },
            },
        ]
    }


CLOUDEVENTS_HEADERS = {
    "type": "object",
    "description": "CloudEvents 1.0 Kafka protocol binding, binary content mode: the attributes are "
    "headers, the value is the JSON envelope (or checkpoint). Header values are UTF-8.",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": CLOUDEVENTS_SPECVERSION},
        "ce_id": {"type": "string", "description": "event_id (unique per ce_source)"},
        "ce_source": {"type": "string", "description": "urn:delaktig:<source>", "pattern": "^urn:delaktig:"},
        "ce_type": {"type": "string", "description": "se.delaktig.<source>.<event_type>.v<schema_version>"},
        "ce_time": {"type": "string", "format": "date-time", "description": "occurred_at"},
        "ce_subject": {"type": "string", "description": "aggregate_id (the Kafka key)"},
        "content-type": {"type": "string", "const": CONTENT_TYPE},
    },
}

CHECKPOINT = {
    "type": "object",
    "required": ["type", "version", "source", "tree_size", "position", "chain_head", "root", "time",
                 "key_id", "signature"],
    "properties": {
        "type": {"type": "string", "const": "delaktig.audit.checkpoint"},
        "version": {"type": "integer", "const": 1},
        "source": {"type": "string", "description": "the source whose chain this covers"},
        "tree_size": {"type": "integer", "description": "events covered (Merkle leaves)"},
        "position": {"type": "integer", "description": "position of the last covered event"},
        "chain_head": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "hash of the last covered event"},
        "root": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                 "description": "RFC 6962 Merkle root (hex); leaves = the events' chain hashes (32 raw bytes)"},
        "time": {"type": "string", "format": "date-time"},
        "key_id": {"type": "string", "description": "which audit signing key signed (see /public-key)"},
        "signature": {"type": "string", "description": "Ed25519 over the compact key-sorted JSON without "
                      "'signature', base64"},
    },
}


def _component_schemas() -> dict[str, Any]:
    """Every schema the messages refer to, from one apispec run (nested ones included)."""
    spec = APISpec("Delaktig events", CONTRACT_VERSION, "3.1.0",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)])
    spec.components.schema("Envelope", schema=EnvelopeSchema)
    done: set[str] = set()
    for _, catalogue in sorted(CATALOGUES.items()):
        for entry in catalogue.entries():
            name = _schema_name(entry.schema)
            if name not in done:  # one schema may serve two event types (ConsentGiven/Withdrawn)
                spec.components.schema(name, schema=entry.schema)
                done.add(name)
    schemas: dict[str, Any] = _open(spec.to_dict()["components"]["schemas"])
    envelope = schemas["Envelope"]
    for name, text in ENVELOPE_DOC.items():
        envelope["properties"][name]["description"] = text
    envelope["properties"]["occurred_at"]["format"] = "date-time"
    envelope["properties"]["prev_hash"]["pattern"] = envelope["properties"]["hash"]["pattern"] = "^[0-9a-f]{64}$"
    envelope["properties"]["schema_version"]["minimum"] = 1
    schemas["CloudEventsHeaders"] = CLOUDEVENTS_HEADERS
    schemas["Checkpoint"] = CHECKPOINT
    return dict(sorted(schemas.items()))


def _message(source: str, entry: PublicEvent, newer: int | None) -> dict[str, Any]:
    summary = entry.description or f"{entry.event_type} (version {entry.schema_version})"
    message: dict[str, Any] = {
        "name": entry.event_type,
        "title": f"{entry.event_type} v{entry.schema_version}",
        "summary": summary,
        "contentType": CONTENT_TYPE,
        "headers": _headers_schema(ce_type(source, entry.event_type, entry.schema_version), ce_source(source),
                                   "aggregate_id"),
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/Envelope"},
                {
                    "type": "object",
                    "properties": {
                        "source": {"type": "string", "const": source},
                        "event_type": {"type": "string", "const": entry.event_type},
                        "schema_version": {"type": "integer", "const": entry.schema_version},
                        "payload": {"$ref": f"#/components/schemas/{_schema_name(entry.schema)}"},
                    },
                },
            ]
        },
        "bindings": {"kafka": {"key": {"type": "string", "description": "aggregate id (UTF-8)"},
                               "bindingVersion": KAFKA_BINDING}},
    }
    if newer is not None:
        # Stored events keep the version they were written in (their bytes are in the hash chain),
        # so this version stays on the topic for history; see docs/versioning.md.
        message["description"] = (
            f"Superseded by v{newer} (an additive change: every v{entry.schema_version} field is in "
            f"v{newer} with the same meaning). Events stored before the change keep this version forever; "
            f"new events use v{newer}."
        )
        message["x-superseded-by"] = newer
    return message


def _channel_binding(topic: str, compacted: bool = False) -> dict[str, Any]:
    return {
        "kafka": {
            "topic": topic,
            "partitions": EVENT_TOPIC_PARTITIONS if not compacted else 1,
            "replicas": REPLICAS,
            "topicConfiguration": {"cleanup.policy": ["delete"], "retention.ms": -1},
            "bindingVersion": KAFKA_BINDING,
        }
    }


def asyncapi_document() -> dict[str, Any]:
    """AsyncAPI 3.0: one channel per topic, one message per (source, event type, schema version)."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for source, catalogue in sorted(CATALOGUES.items()):
        entries = list(catalogue.entries())
        latest = {e.event_type: e.schema_version for e in entries}
        for e in entries:
            latest[e.event_type] = max(latest[e.event_type], e.schema_version)
        channel_messages: dict[str, Any] = {}
        for entry in entries:
            key = _payload_key(source, entry)
            newest = latest[entry.event_type]
            messages[key] = _message(source, entry, newest if newest > entry.schema_version else None)
            channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
        topic = f"{source}.events"
        channels[topic] = {
            "address": topic,
            "title": f"{source} events",
            "description": f"Events of the {source} service. Key = aggregate id, ordered per key; the value is "
            "the JSON envelope; CloudEvents headers. Topic names may carry an environment prefix "
            "(TOPIC_PREFIX, e.g. `helsingborg.`).",
            "messages": channel_messages,
            "bindings": _channel_binding(topic),
        }
        operations[f"receive.{source}.events"] = {
            "action": "receive",
            "title": f"Subscribe to {source} events",
            "summary": "Use your own consumer group; deduplicate on event_id; verify the hash chain.",
            "channel": {"$ref": f"#/channels/{topic}"},
            "messages": [{"$ref": f"#/channels/{topic}/messages/{k}"} for k in channel_messages],
        }
    channels["audit.checkpoints"] = {
        "address": "audit.checkpoints",
        "title": "audit checkpoints",
        "description": "Signed checkpoints of each source's history (services/audit/checkpoints.py): key = "
        "source. Check them with the audit service's Ed25519 public key (GET /public-key).",
        "messages": {"Checkpoint.v1": {"$ref": "#/components/messages/Checkpoint.v1"}},
        "bindings": _channel_binding("audit.checkpoints"),
    }
    operations["receive.audit.checkpoints"] = {
        "action": "receive",
        "title": "Subscribe to signed checkpoints",
        "channel": {"$ref": "#/channels/audit.checkpoints"},
        "messages": [{"$ref": "#/channels/audit.checkpoints/messages/Checkpoint.v1"}],
    }
    messages["Checkpoint.v1"] = {
        "name": "Checkpoint",
        "title": "Checkpoint v1",
        "summary": "Ed25519-signed Merkle root over one source's chain",
        "contentType": CONTENT_TYPE,
        "headers": _headers_schema(ce_type("audit", "Checkpoint", 1), ce_source("audit"), "the covered source"),
        "payload": {"$ref": "#/components/schemas/Checkpoint"},
        "bindings": {"kafka": {"key": {"type": "string", "description": "the covered source"},
                               "bindingVersion": KAFKA_BINDING}},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Delaktig events",
            "version": CONTRACT_VERSION,
            "description": "Public event contract of Delaktig. Personal data travels only as ciphertext "
            "(`enc:v1:...`). Each envelope carries `prev_hash`/`hash` of its source's hash chain; signed "
            "checkpoints on `audit.checkpoints`. Every message also carries CloudEvents headers "
            "(binary content mode). Versioning: docs/versioning.md; payloads may gain fields in a new "
            "schema_version, so ignore fields you do not know.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "production": {
                "host": "kafka-0.kafka:9093",
                "protocol": "kafka-secure",
                "description": "Apache Kafka over TLS with SASL/SCRAM-SHA-512 (see docs/runbook.md)",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            },
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                      "description": "the embedded broker started by `make up`"},
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": _component_schemas(),
            "messages": dict(sorted(messages.items())),
            "securitySchemes": {"scram": {"type": "scramSha512", "description": "one SCRAM user per subscriber"}},
        },
    }
