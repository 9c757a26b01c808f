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
