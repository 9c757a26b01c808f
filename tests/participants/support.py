"""Helpers for the participants tests: a running service and messages from other services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.participants.service import Participants
from shared.config import Settings
from shared.envelope import GENESIS_HASH, encode, event_id_for, seal
from shared.kafka import ensure_topics, producer
from tests.conftest import bearer

DEP = "socialforvaltningen"
OTHER_DEP = "arbetsmarknadsforvaltningen"

PERSON: dict[str, Any] = {
    "name": "Fatima Eriksdotter-Lund", "email": "fatima.lund@example.se", "phone": "+46 70 555 12 34",
    "preferred_language": "sv", "departments": [DEP],
}
FREE_TEXT = "Behöver hörslinga och pauser var trettionde minut"


def register(http: Any, url: str, tok: str, person: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> str:
    """Register a participant; return the id."""
    r = http.post(f"{url}/participants", json=person or PERSON, headers={**bearer(tok), **(headers or {})})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def make_ready(http: Any, url: str, coordinator: str, me: str, pid: str) -> None:
    """Consent, readiness: what a participant needs before assignment."""
    for purpose in ("recruitment", "matching"):
        r = http.post(f"{url}/participants/{pid}/consents", json={"purpose": purpose, "department": DEP},
                      headers=bearer(me))
        assert r.status_code == 200, r.text
    r = http.post(f"{url}/participants/{pid}/confidentiality",
                  json={"signed_on": "2026-11-01", "text_version": "tystnadsplikt-v3"}, headers=bearer(me))
    assert r.status_code == 200, r.text
    r = http.post(f"{url}/participants/{pid}/training", json={"completed_on": "2026-11-02"},
                  headers=bearer(coordinator))
    assert r.status_code == 200, r.text


def recruitment_envelope(event_type: str, recruitment_id: str, version: int, payload: dict[str, Any],
                         actor: dict[str, str] | None = None, department: str = DEP,
                         source: str = "recruitments") -> dict[str, Any]:
    """A sealed envelope as the recruitments (or matching) relay would publish it."""
    envelope = {
        "event_id": event_id_for(source, recruitment_id, version),
        "event_type": event_type,
        "schema_version": 1,
        "source": source,
        "aggregate_id": recruitment_id,
        "aggregate_version": version,
        "position": version,
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "department": department,
        "actor": actor or {"id": "staff-1", "role": "coordinator"},
        "payload": payload,
    }
    return seal(envelope, GENESIS_HASH)


def publish(settings: Settings, envelopes: list[dict[str, Any]]) -> None:
    """Put envelopes on this test's topic of their source (recruitments.events, matching.events)."""
    ensure_topics(settings)
    client = producer(settings)
    try:
        for env in envelopes:
            topic = settings.topic(f"{env['source']}.events")
            client.send(topic, key=env["aggregate_id"].encode(), value=encode(env))
        client.flush()
    finally:
        client.close()


def interview_scored(recruitment_id: str, version: int, pid: str) -> dict[str, Any]:
    return recruitment_envelope(
        "InterviewScored", recruitment_id, version,
        {"candidate_id": str(uuid.uuid4()), "member": {"id": pid, "role": "participant"},
         "scores": {"motivation": 4}, "recommendation": "hire", "comment": "enc:v1:AAAA"},
        actor={"id": pid, "role": "participant"},
    )


def catch_up_bank(service: Participants) -> None:
    """Publish the service's events and let the bank's read model apply them."""
    service.relay().drain()
    loop = service.bank()
    try:
        loop.catch_up()
    finally:
        loop.close()


def build(settings: Settings) -> Participants:
    return Participants.build(settings)


def panel_assigned(recruitment_id: str, pid: str) -> dict[str, Any]:
    """matching.events PanelAssigned seating ``pid`` on the recruitment's panel."""
    panel_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "panel:" + recruitment_id))
    return recruitment_envelope(
        "PanelAssigned", panel_id, 2,
        {"recruitment_id": recruitment_id, "members": [pid], "proposal_id": None, "overrides": []},
        source="matching",
    )
