"""Register a participant over real HTTP; the event reaches participants.events encrypted."""

from __future__ import annotations

import json

from services.participants.service import Participants
from shared.config import Settings
from shared.envelope import GENESIS_HASH, chain_hash
from shared.kafka import read_all
from tests.conftest import bearer


def test_register_reaches_kafka_encrypted(settings: Settings, serve, token, http) -> None:
    service = Participants.build(settings)
    url = serve(service.http())
    body = {"name": "Astrid Lindqvist", "email": "astrid@example.se", "phone": "+46701234567",
            "preferred_language": "sv", "departments": ["socialforvaltningen"]}
    r = http.post(f"{url}/participants", json=body, headers=bearer(token()))
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    relay = service.relay()
    relay.drain()
    records = read_all(settings, settings.topic("participants.events"))
    raw = b"".join(rec.value for rec in records)
    assert b"Astrid" not in raw and b"astrid@example.se" not in raw and b"701234567" not in raw
    envelopes = sorted((json.loads(rec.value) for rec in records), key=lambda e: e["position"])
    registered = [e for e in envelopes if e["event_type"] == "UserRegistered"]
    assert [e["aggregate_id"] for e in registered] == [pid]
    assert registered[0]["payload"]["personal"].startswith("enc:v1:")
    prev = GENESIS_HASH
    for env in envelopes:
        assert env["prev_hash"] == prev
        assert env["hash"] == chain_hash(prev, env)
        prev = env["hash"]
    got = http.get(f"{url}/participants/{pid}", headers=bearer(token()))
    assert got.status_code == 200
    assert got.json()["name"] == "Astrid Lindqvist"
    other = http.get(f"{url}/participants/{pid}",
                     headers=bearer(token(departments=("arbetsmarknadsforvaltningen",))))
    assert other.status_code == 404
    assert other.headers["Content-Type"].startswith("application/problem+json")
    service.close()
