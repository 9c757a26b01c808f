"""Who did it, for which department, and when are as protected as what was done: tampering with
``actor``, ``department`` or ``occurred_at`` of one event, on the topic or in a service's event
store, makes ``audit verify`` fail and name the place (source, position, event)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from services.audit.service import Audit
from services.audit.verify import Record, load_from_kafka, verify_records, verify_store
from services.participants.service import Participants
from shared.config import Settings
from shared.envelope import encode, seal
from tests.audit.test_store_tamper import RawStore
from tests.conftest import bearer

# Each edit changes one of the three fields of a published envelope, the way someone rewriting a
# message would; the stored-state edits do the same in the event store's own encoding.
TOPIC_EDITS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "actor": lambda e: {**e, "actor": {**e["actor"], "id": "someone-else"}},
    "department": lambda e: {**e, "department": "arbetsmarknadsforvaltningen"},
    "occurred_at": lambda e: {**e, "occurred_at": "2020" + e["occurred_at"][4:]},
}


def _register(settings: Settings, serve: Any, token: Any, http: Any) -> tuple[Participants, Audit, dict[str, Any]]:
    service = Participants.build(settings)
    url = serve(service.http())
    for name in ("Astrid Lindqvist", "Bo Ek"):
        r = http.post(f"{url}/participants", headers=bearer(token()),
                      json={"name": name, "email": "x@example.se", "phone": "+46700000000",
                            "preferred_language": "sv", "departments": ["socialforvaltningen"]})
        assert r.status_code == 201, r.text
    service.relay().drain()
    audit = Audit.build(settings)
    audit.catch_up()
    target = next(e for e in service.app.envelopes() if e["event_type"] == "UserRegistered")
    assert target["department"] == "socialforvaltningen" and target["actor"]["role"] == "coordinator"
    return service, audit, target


def test_tampered_fields_on_the_topic_and_in_the_store_are_pinpointed(
    settings: Settings, serve: Any, token: Any, http: Any
) -> None:
    service, audit, target = _register(settings, serve, token, http)
    public = audit.app.key.public_key()
    records = load_from_kafka(settings)
    report, history = verify_records(records, public)
    assert report.ok, report.first
    assert verify_store(service.app, history) == []
    where = ("participants", target["position"], target["event_id"])
    published = next(json.loads(r.value) for r in records
                     if r.topic == "participants.events" and target["event_id"].encode() in r.value)

    # On the topic: the message rewritten, its hash left as sealed.
    for field, edit in TOPIC_EDITS.items():
        tampered = [replace(r, value=encode(edit(json.loads(r.value))))
                    if target["event_id"].encode() in r.value and r.topic == "participants.events" else r
                    for r in records]
        assert sum(r.value != t.value for r, t in zip(records, tampered, strict=True)) == 1
        bad, _ = verify_records(tampered, public)
        assert not bad.ok, field
        assert bad.first is not None
        assert (bad.first.source, bad.first.position, bad.first.event_id, bad.first.kind) == (*where, "hash"), field

        # Re-sealed by the forger: the event's own hash is right, the next link and the signed
        # checkpoints are not.
        forged = seal(edit(published), published["prev_hash"])
        resealed = [Record(r.topic, r.partition, r.offset, r.key, encode(forged))
                    if target["event_id"].encode() in r.value and r.topic == "participants.events" else r
                    for r in records]
        bad, _ = verify_records(resealed, public)
        assert not bad.ok, field
        assert ("participants", target["position"] + 1, "chain-link") in {
            (p.source, p.position, p.kind) for p in bad.problems}, field

    # In the store: the stored event's actor, department or timestamp edited in place.
    store = RawStore(settings)
    position = target["position"]
    original = bytes(store.row(position)[3])
    actor_id = target["actor"]["id"]
    stored_time = target["occurred_at"].replace("Z", "+00:00")
    store_edits = {
        "actor.id": original.replace(f'"id":"{actor_id}"'.encode(), b'"id":"someone-else"'),
        "department": original.replace(b'"department":"socialforvaltningen"}',
                                       b'"department":"arbetsmarknadsforvaltningen"}'),
        "occurred_at": original.replace(stored_time.encode(), ("2020" + stored_time[4:]).encode()),
    }
    for field, state in store_edits.items():
        assert state != original, field
        store.run("UPDATE {T} SET state = ? WHERE {ID} = ?", (state, position))
        problems = verify_store(service.app, history)
        assert problems, field
        first = problems[0]
        assert (first.source, first.position, first.event_id, first.kind) == (*where, "store-edited"), field
        assert field in first.detail, (field, first.detail)
        assert any(p.kind == "store-checkpoint" for p in problems), field  # the signatures alone see it
        store.run("UPDATE {T} SET state = ? WHERE {ID} = ?", (original, position))
    assert verify_store(service.app, history) == []
    audit.close()
    service.close()
