"""Two more additive changes under docs/versioning.md: ``ProcessingRestrictionChanged`` v2 adds
``reason`` (a vault token) and ``LegalHoldPlaced`` v2 adds ``ground`` (a short vocabulary).

* An old store (both events written in the v1 shape) loads through the upcasts, and those events
  keep their public v1 form, byte for byte.
* New events with a reason or a ground are v2, valid in the published contract, and still valid
  v1 payloads for an old subscriber; the reason never travels in clear.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from services.participants.domain import Participant, UnknownHoldGround
from services.participants.service import Participants
from shared.auth import Principal
from shared.config import Settings
from shared.envelope import GENESIS_HASH, seal
from tests.contract.contract import Contract

DEP = "socialforvaltningen"
COORDINATOR = Principal("c-1", frozenset({"coordinator"}), frozenset({DEP}))
REASON = "Personen bestrider att adressen är riktig"


def person(service: Participants) -> uuid.UUID:
    return service.app.register_participant(COORDINATOR, name="Ada Berg", email=None, phone=None,
                                            preferred_language="sv", departments=[DEP])


def store_v1(service: Participants, pid: uuid.UUID, command: str, v2_field: str, **kwargs: Any) -> None:
    """Write one event exactly as the v1 code stored it (no ``v2_field``, no ``class_version``)."""
    app = service.app
    participant = app.participant(pid)
    getattr(participant, command)(**kwargs, actor=COORDINATOR.actor(), department=DEP)
    [event] = participant.collect_events()
    stored = app.mapper.to_stored_event(event)
    state = json.loads(stored.state)
    state.pop(v2_field)
    state.pop("class_version")
    app.recorder.insert_events([StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                                            json.dumps(state).encode())])


def published(service: Participants, event_type: str) -> list[dict[str, Any]]:
    return [e for e in service.app.envelopes() if e["event_type"] == event_type]


def v1_validator(contract: Contract, event_type: str) -> Draft7Validator:
    registry: Registry = Registry().with_resource("urn:c", Resource.from_contents(contract.document,
                                                                                  default_specification=DRAFT7))
    return Draft7Validator({"$ref": f"urn:c#/components/schemas/participants.{event_type}V1"}, registry=registry)


def test_old_restrictions_and_holds_load_and_keep_v1_new_ones_are_v2(settings: Settings) -> None:
    service = Participants.build(settings)
    try:
        pid = person(service)
        store_v1(service, pid, "change_restriction", "reason", restricted=True, reason=None)
        store_v1(service, pid, "place_legal_hold", "ground", hold_id="h-old", reason="an appeal, dnr 1",
                 ground=None)
        # The old store loads through the upcasts, and the service goes on on top of it.
        loaded = service.app.participant(pid)
        assert loaded.restricted is True and loaded.legal_holds == {"h-old": "an appeal, dnr 1"}
        assert loaded.grounds() == {"h-old": None}
        service.app.change_restriction(COORDINATOR, pid, False)
        service.app.change_restriction(COORDINATOR, pid, True, REASON)
        hold_id = service.app.place_legal_hold(COORDINATOR, pid, "an appeal, dnr 2", "legal_claim")
        record = service.app.read_participant(COORDINATOR, pid, "test")
        assert record["restriction_reason"] == REASON
        assert {h["hold_id"]: h["ground"] for h in record["legal_holds"]} == {"h-old": None, hold_id: "legal_claim"}

        old_r, lifted, new_r = published(service, "ProcessingRestrictionChanged")
        old_h, new_h = published(service, "LegalHoldPlaced")
        # Stored before the change, or without the new field: v1, exactly the v1 payload.
        assert (old_r["schema_version"], old_r["payload"]) == (1, {"restricted": True})
        assert (lifted["schema_version"], lifted["payload"]) == (1, {"restricted": False})
        assert (old_h["schema_version"], old_h["payload"]) == (1, {"hold_id": "h-old", "reason": "an appeal, dnr 1"})
        # With the new field: v2; the reason only as a vault token, never in clear.
        assert new_r["schema_version"] == 2 and new_r["payload"]["reason"].startswith("enc:v1:")
        assert REASON not in json.dumps(new_r)
        assert new_h["schema_version"] == 2 and new_h["payload"]["ground"] == "legal_claim"
        contract = Contract()
        for envelope in (old_r, new_r, old_h, new_h):
            key = f"participants.{envelope['event_type']}.v{envelope['schema_version']}"
            assert list(contract.validators(key)[0].iter_errors(seal(envelope, GENESIS_HASH))) == [], key
            assert service.app.catalogue.validate(seal(envelope, GENESIS_HASH)) is not None
        for event_type, new in (("ProcessingRestrictionChanged", new_r), ("LegalHoldPlaced", new_h)):
            messages = contract.document["components"]["messages"]
            assert messages[f"participants.{event_type}.v1"]["x-superseded-by"] == 2
            # An old subscriber checks the v2 payload with the v1 schema: additive, so valid.
            assert list(v1_validator(contract, event_type).iter_errors(new["payload"])) == []
    finally:
        service.close()


def test_without_the_upcasts_the_old_store_would_not_load(sqlite_settings: Settings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    service = Participants.build(sqlite_settings)
    try:
        pid = person(service)
        store_v1(service, pid, "place_legal_hold", "ground", hold_id="h-old", reason="an appeal", ground=None)
        monkeypatch.setattr(Participant.LegalHoldPlaced, "upcast_v1_v2", staticmethod(lambda state: None))
        with pytest.raises(TypeError, match="ground"):
            service.app.repository.get(pid)
    finally:
        service.close()


def test_a_hold_ground_outside_the_vocabulary_is_refused_and_records_nothing(sqlite_settings: Settings) -> None:
    service = Participants.build(sqlite_settings)
    try:
        pid = person(service)
        version = service.app.participant(pid).version
        with pytest.raises(UnknownHoldGround) as refused:
            service.app.place_legal_hold(COORDINATOR, pid, "an appeal", "a hunch")
        assert refused.value.field == "ground"
        assert service.app.participant(pid).version == version
    finally:
        service.close()
