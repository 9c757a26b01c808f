"""The public event envelope and the per-source hash chain (see ARCHITECTURE.md).

``hash = sha256(prev_hash.encode("ascii") + canonical(envelope without hash)).hexdigest()``;
the first event of a source chains from 64 zeros. Envelopes hold no floats.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
EVENT_ID_NAMESPACE = uuid.UUID("5b0c3c2e-8a0d-4f4e-9d61-6c1c2f0d1a11")

ENVELOPE_FIELDS = (
    "event_id",
    "event_type",
    "schema_version",
    "source",
    "aggregate_id",
    "aggregate_version",
    "position",
    "occurred_at",
    "department",
    "actor",
    "payload",
    "prev_hash",
    "hash",
)

Envelope = dict[str, Any]


def event_id_for(source: str, aggregate_id: str, aggregate_version: int) -> str:
    """A UUID that is the same every time the same stored event is published."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}:{aggregate_id}:{aggregate_version}"))


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical(envelope: Envelope) -> bytes:
    """The exact bytes the chain hash covers: the envelope without ``hash``."""
    body = {k: v for k, v in envelope.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, envelope: Envelope) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(envelope)).hexdigest()


def seal(envelope: Envelope, prev_hash: str) -> Envelope:
    """Return the envelope with ``prev_hash`` and ``hash`` set."""
    sealed = dict(envelope)
    sealed["prev_hash"] = prev_hash
    sealed.pop("hash", None)
    sealed["hash"] = chain_hash(prev_hash, sealed)
    return sealed


def _members(obj: dict[str, Any]) -> str:
    """The canonical JSON of an object without its braces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)[1:-1]


def seal_encoded(envelope: Envelope, prev_hash: str) -> tuple[Envelope, bytes]:
    """``seal`` and ``encode`` in one, encoding the content once (the relay's hot path). With
    sorted keys the message is the canonical bytes with the ``hash`` member put where "hash"
    sorts: after the members whose keys sort before it, before the others."""
    sealed = {k: v for k, v in envelope.items() if k != "hash"}
    sealed["prev_hash"] = prev_hash
    before = _members({k: v for k, v in sealed.items() if k < "hash"})
    after = _members({k: v for k, v in sealed.items() if k > "hash"})
    body = ",".join(m for m in (before, after) if m)
    digest = hashlib.sha256(prev_hash.encode("ascii") + ("{" + body + "}").encode("utf-8")).hexdigest()
    sealed["hash"] = digest
    message = ",".join(m for m in (before, f'"hash":"{digest}"', after) if m)
    return sealed, ("{" + message + "}").encode("utf-8")


def encode(envelope: Envelope) -> bytes:
    """The Kafka message value: compact JSON, UTF-8."""
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(value: bytes) -> Envelope:
    data = json.loads(value.decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError("envelope is not a JSON object")
    return data


# --- CloudEvents Kafka protocol binding (binary content mode) --------------------------------
# The message value stays the JSON envelope (its bytes are what the hash chain covers); the
# CloudEvents attributes travel as ``ce_*`` headers, so generic event tooling can route and
# trace Delaktig's messages without knowing the envelope. ``content-type`` describes the value.

CLOUDEVENTS_SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
CE_TYPE_PREFIX = "se.delaktig"
CE_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type")

Headers = list[tuple[str, bytes]]


def ce_source(source: str) -> str:
    """The CloudEvents ``source`` (a URI) of one Delaktig source, e.g. ``urn:delaktig:participants``."""
    return f"urn:delaktig:{source}"


def ce_type(source: str, event_type: str, schema_version: int) -> str:
    """The CloudEvents ``type``: reverse-DNS, the schema version last, so a router can pick a version,
    e.g. ``se.delaktig.participants.HonorariumPaid.v2``."""
    return f"{CE_TYPE_PREFIX}.{source}.{event_type}.v{schema_version}"


def cloudevent_headers(*, id: str, source: str, type: str, time: str, subject: str) -> Headers:
    """The Kafka headers of one message in CloudEvents binary content mode (values UTF-8)."""
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", type.encode()),
        ("ce_time", time.encode()),
        ("ce_subject", subject.encode()),
        ("content-type", b"application/json"),
    ]


def envelope_headers(envelope: Envelope) -> Headers:
    """CloudEvents headers mapped from a public envelope: id = ``event_id``, source = the
    envelope's ``source`` as a URN, type = event type and schema version, time = ``occurred_at``,
    subject = ``aggregate_id``."""
    return cloudevent_headers(
        id=str(envelope["event_id"]),
        source=ce_source(str(envelope["source"])),
        type=ce_type(str(envelope["source"]), str(envelope["event_type"]), int(envelope["schema_version"])),
        time=str(envelope["occurred_at"]),
        subject=str(envelope["aggregate_id"]),
    )


def checkpoint_headers(checkpoint: dict[str, Any]) -> Headers:
    """CloudEvents headers of a signed checkpoint on ``audit.checkpoints``: id derived from the
    covered source and tree size (the same checkpoint always has the same id), subject = the
    covered source, time = the checkpoint's time."""
    covered = str(checkpoint["source"])
    return cloudevent_headers(
        id=str(uuid.uuid5(EVENT_ID_NAMESPACE, f"checkpoint:{covered}:{checkpoint['tree_size']}")),
        source=ce_source("audit"),
        type=ce_type("audit", "Checkpoint", int(checkpoint.get("version", 1))),
        time=str(checkpoint["time"]),
        subject=covered,
    )


def headers_dict(headers: Any) -> dict[str, str]:
    """Kafka record headers (``[(name, bytes)]``) as a dict of strings."""
    return {name: (value or b"").decode("utf-8") for name, value in (headers or [])}


def check_no_floats(value: Any, path: str = "payload") -> None:
    """Envelopes must hash the same everywhere: amounts in öre, scores as integers."""
    if isinstance(value, float):
        raise TypeError(f"float at {path}: use integers (öre, points)")
    if isinstance(value, dict):
        for k, v in value.items():
            check_no_floats(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_no_floats(v, f"{path}[{i}]")
