"""One real change under docs/versioning.md: ``HonorariumPaid`` v2 adds ``payee_ref``.

* An old store (payments written in the v1 shape, before the change) loads: the eventsourcing
  library upcasts the stored v1 events (``class_version = 2``, ``upcast_v1_v2``) and the service
  works on top of them.
* Old events keep their public v1 form, byte for byte (they are sealed into the hash chain and
  signed checkpoints); new payments are published as v2; the contract lists both.
* An old subscriber (one written against v1) keeps working on v2 messages: v2 only adds a field.
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

from services.participants.application import PAYMENT_TERMS_VERSION, payee_ref, today
from services.participants.domain import Participant
from services.participants.service import Participants
from shared.auth import Principal
from shared.config import Settings
from shared.envelope import GENESIS_HASH, seal
from shared.events import ENVELOPE_ATTRIBUTES
from tests.contract.contract import Contract

DEP = "socialforvaltningen"
V1_FIELDS = {"payroll_ref", "amount_ore", "period", "accrual_refs", "paid_on"}
COORDINATOR = Principal("c-1", frozenset({"coordinator"}), frozenset({DEP}))


def approved_participant(service: Participants, accruals: int) -> tuple[uuid.UUID, list[str]]:
    """A participant with ``accruals`` approved interview honoraria, through the application."""
    app = service.app
    pid = app.register_participant(COORDINATOR, name="Ada Berg", email="ada@example.se", phone=None,
                                   preferred_language="sv", departments=[DEP])
    me = Principal(str(pid), frozenset({"participant"}))
    app.answer_payment_terms(me, pid, PAYMENT_TERMS_VERSION, True, None)
    for _ in range(accruals):
        assert app.accrue_from_activity(str(pid), "interview", str(uuid.uuid4()), DEP, today(),
                                        {"id": "t", "role": "system"})
    refs = sorted(app.participant(pid).accruals)
    app.approve_honoraria(COORDINATOR, pid, refs)
    return pid, refs


def store_v1_payment(service: Participants, pid: uuid.UUID, ref: str) -> dict[str, Any]:
    """Write a HonorariumPaid exactly as the v1 code stored it (no ``payee_ref``, no ``class_version``)
    into the event store, as a database from before the change holds it. Returns its stored state."""
    app = service.app
    participant = app.participant(pid)
    amount = participant.payable_amount([ref])
    participant.record_payment(payroll_ref="PR-OLD", amount_ore=amount, period="2026-05", accrual_refs=[ref],
                               paid_on="2026-05-25", payee_ref=None, actor=COORDINATOR.actor(), department=DEP)
    [event] = participant.collect_events()
    stored = app.mapper.to_stored_event(event)
    state = json.loads(stored.state)
    state.pop("payee_ref")
    state.pop("class_version")
    app.recorder.insert_events([StoredEvent(stored.originator_id, stored.originator_version, stored.topic,
                                            json.dumps(state).encode())])
    return dict(state)


def envelopes_of(service: Participants, event_type: str) -> list[dict[str, Any]]:
    return [e for e in service.app.envelopes() if e["event_type"] == event_type]


def test_an_old_store_loads_and_keeps_its_published_form(settings: Settings) -> None:
    service = Participants.build(settings)
    try:
        pid, refs = approved_participant(service, 2)
        old_state = store_v1_payment(service, pid, refs[0])

        # The old store loads: the v1 event is upcast, and the service goes on on top of it.
        participant = service.app.participant(pid)
        assert participant.payments["PR-OLD"]["amount_ore"] == old_state["amount_ore"]
        result = service.app.record_payment(COORDINATOR, pid, "PR-NEW", "2026-06", [refs[1]])
        assert result["replayed"] is False
        year = int(today()[:4])
        assert {p["payroll_ref"] for p in service.app.honoraria(COORDINATOR, pid, year)["payments"]} >= {"PR-NEW"}

        old, new = envelopes_of(service, "HonorariumPaid")
        # Stored before the change: still v1, exactly the payload the v1 code published.
        assert old["schema_version"] == 1
        v1_rule = {k: v for k, v in old_state.items() if k not in ENVELOPE_ATTRIBUTES and k != "timestamp"}
        assert old["payload"] == v1_rule and set(old["payload"]) == V1_FIELDS
        # Recorded after the change: v2, with the payee reference of the payroll file.
        assert new["schema_version"] == 2 and new["payload"]["payee_ref"] == payee_ref(pid)
        assert set(new["payload"]) == V1_FIELDS | {"payee_ref"}
        # Both are valid messages of the published contract, and the contract lists both versions.
        contract = Contract()
        for envelope, key in ((old, "participants.HonorariumPaid.v1"), (new, "participants.HonorariumPaid.v2")):
            sealed = seal(envelope, GENESIS_HASH)
            assert list(contract.validators(key)[0].iter_errors(sealed)) == []
            assert service.app.catalogue.validate(sealed) is not None  # and of the service's own catalogue
        superseded = contract.document["components"]["messages"]["participants.HonorariumPaid.v1"]
        assert superseded["x-superseded-by"] == 2
    finally:
        service.close()


def test_without_the_upcast_the_old_store_would_not_load(sqlite_settings: Settings,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The upcast is what makes the old store load (the test above can fail)."""
    service = Participants.build(sqlite_settings)
    try:
        pid, refs = approved_participant(service, 1)
        store_v1_payment(service, pid, refs[0])
        monkeypatch.setattr(Participant.HonorariumPaid, "upcast_v1_v2", staticmethod(lambda state: None))
        with pytest.raises(TypeError, match="payee_ref"):
            service.app.repository.get(pid)
    finally:
        service.close()


def v1_schema_validator(contract: Contract) -> Draft7Validator:
    """What a subscriber built against v1 checks a payload with: the v1 payload schema."""
    registry: Registry = Registry().with_resource("urn:c", Resource.from_contents(contract.document,
                                                                                  default_specification=DRAFT7))
    return Draft7Validator({"$ref": "urn:c#/components/schemas/participants.HonorariumPaidV1"}, registry=registry)


def v1_subscriber(envelope: dict[str, Any], book: dict[str, int]) -> None:
    """An old subscriber: dispatches on event_type, reads the v1 fields, ignores the rest."""
    if envelope["event_type"] == "HonorariumPaid":
        book[envelope["payload"]["payroll_ref"]] = envelope["payload"]["amount_ore"]


def test_an_old_subscriber_keeps_working_on_v2(sqlite_settings: Settings) -> None:
    service = Participants.build(sqlite_settings)
    try:
        pid, refs = approved_participant(service, 1)
        service.app.record_payment(COORDINATOR, pid, "PR-7", "2026-06", refs)
        [v2] = envelopes_of(service, "HonorariumPaid")
        assert v2["schema_version"] == 2
        validator = v1_schema_validator(Contract())
        assert list(validator.iter_errors(v2["payload"])) == []  # additive: v2 is a valid v1 payload
        assert list(validator.iter_errors({**v2["payload"], "amount_ore": "12"}))  # (the check can fail)
        book: dict[str, int] = {}
        v1_subscriber(v2, book)
        assert book == {"PR-7": v2["payload"]["amount_ore"]}
    finally:
        service.close()
