"""Public event catalogue: marshmallow schemas per ``event_type``/``schema_version``.

Internal domain events (eventsourcing aggregate events) stay inside a service; what goes on
Kafka is the public event built by the one mapping here, ``EventCatalogue.to_envelope``.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields

from shared.envelope import Envelope, check_no_floats, event_id_for, iso_utc

# Attributes every domain event carries that are envelope fields, not payload.
ENVELOPE_ATTRIBUTES = frozenset(
    {"originator_id", "originator_version", "originator_topic", "timestamp", "actor", "department"}
)


_PLAIN = (str, int, bool, type(None))


def jsonable(value: Any) -> Any:
    """Plain JSON values from what the eventsourcing transcoder gives back."""
    if type(value) in _PLAIN:  # most values: decided in one test
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    return value


class ActorSchema(Schema):
    id = fields.String(required=True)
    role = fields.String(required=True)


class EnvelopeSchema(Schema):
    """The public envelope. Payloads are checked by their own schema."""

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True)
    schema_version = fields.Integer(required=True)
    source = fields.String(required=True)
    aggregate_id = fields.String(required=True)
    aggregate_version = fields.Integer(required=True)
    position = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    department = fields.String(required=True, allow_none=True)
    actor = fields.Nested(ActorSchema, required=True)
    payload = fields.Dict(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


ENVELOPE_SCHEMA = EnvelopeSchema()  # one instance: building a schema costs more than a load


@dataclass(frozen=True)
class PublicEvent:
    event_type: str
    schema_version: int
    schema: type[Schema]
    domain_event: type
    payload: Callable[[Any], dict[str, Any]] | None = None
    description: str = ""
    when: Callable[[Any], bool] | None = None  # which stored events this version describes

    @functools.cached_property
    def validator(self) -> Schema:
        """One schema instance per event type (instantiating marshmallow schemas is not free)."""
        return self.schema()


class EventCatalogue:
    """The public events of one source (``participants``, ``recruitments`` ...)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._by_domain: dict[type, list[PublicEvent]] = {}
        self._by_type: dict[tuple[str, int], PublicEvent] = {}
        CATALOGUES[source] = self

    def register(
        self,
        domain_event: type,
        event_type: str,
        schema: type[Schema],
        *,
        version: int = 1,
        payload: Callable[[Any], dict[str, Any]] | None = None,
        description: str = "",
        when: Callable[[Any], bool] | None = None,
    ) -> None:
        """Declare the public form of a domain event class. One class may have several public
        versions (docs/versioning.md): a stored event is published in the version it was recorded
        in, chosen by ``when``; the version registered without ``when`` takes the rest."""
        entry = PublicEvent(event_type, version, schema, domain_event, payload, description, when)
        entries = [e for e in self._by_domain.get(domain_event, []) if e.schema_version != version] + [entry]
        self._by_domain[domain_event] = sorted(entries, key=lambda e: e.when is None)  # guarded first
        self._by_type[(event_type, version)] = entry

    def public(self, event: Any) -> PublicEvent:
        entries = self._by_domain.get(type(event))
        if not entries:
            raise LookupError(f"{type(event).__qualname__} has no public event in {self.source}")
        for entry in entries:
            if entry.when is None or entry.when(event):
                return entry
        raise LookupError(f"no public version of {type(event).__qualname__} fits this event")

    def payload_of(self, event: Any, validate: bool = True) -> dict[str, Any]:
        """The public payload of a domain event; validated against its schema unless the
        event was already validated when it was stored (relay and verification paths)."""
        entry = self.public(event)
        if entry.payload is not None:
            raw = entry.payload(event)
        else:
            raw = {k: v for k, v in vars(event).items() if k not in ENVELOPE_ATTRIBUTES}
        payload = jsonable(raw)
        if validate:
            errors = entry.validator.validate(payload)
            if errors:
                raise ValidationError(errors)
            check_no_floats(payload)
        return payload

    def to_envelope(self, event: Any, position: int) -> Envelope:
        """The one mapping from a stored domain event to its public envelope (unsealed)."""
        entry = self.public(event)
        aggregate_id = str(event.originator_id)
        return {
            "event_id": event_id_for(self.source, aggregate_id, event.originator_version),
            "event_type": entry.event_type,
            "schema_version": entry.schema_version,
            "source": self.source,
            "aggregate_id": aggregate_id,
            "aggregate_version": event.originator_version,
            "position": position,
            "occurred_at": iso_utc(event.timestamp),
            "department": getattr(event, "department", None),
            "actor": jsonable(getattr(event, "actor", None) or {"id": "system", "role": "system"}),
            "payload": self.payload_of(event, validate=False),  # validated when it was stored
        }

    def validate(self, envelope: Envelope) -> dict[str, Any]:
        """Check an incoming envelope and its payload; return the loaded payload."""
        ENVELOPE_SCHEMA.load(envelope)
        entry = self._by_type.get((envelope["event_type"], envelope["schema_version"]))
        if entry is None:
            raise ValidationError({"event_type": [f"unknown {envelope['event_type']} v{envelope['schema_version']}"]})
        result: dict[str, Any] = entry.validator.load(envelope["payload"])
        return result

    def entries(self) -> Iterable[PublicEvent]:
        return sorted(self._by_type.values(), key=lambda e: (e.event_type, e.schema_version))


CATALOGUES: dict[str, EventCatalogue] = {}
