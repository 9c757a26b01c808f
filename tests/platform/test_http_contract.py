"""Bad input, authentication and the service's operational endpoints, over real HTTP."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask

from services.participants.service import Participants
from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import read_all
from tests.conftest import bearer

GOOD = {"name": "Bertil Ek", "email": "bertil@example.se", "phone": "+46 70 111 22 33",
        "preferred_language": "sv", "departments": ["socialforvaltningen"]}


@pytest.fixture
def participants(settings: Settings):
    service = Participants.build(settings)
    yield service
    service.close()


BAD_BODIES = [
    ({k: v for k, v in GOOD.items() if k != "name"}, "name"),
    ({**GOOD, "shoe_size": 42}, "shoe_size"),
    ({**GOOD, "name": "x" * 201}, "name"),
    ({**GOOD, "name": 12}, "name"),
    ({**GOOD, "departments": "socialforvaltningen"}, "departments"),
    ({**GOOD, "email": "not-an-email"}, "email"),
    ({**GOOD, "departments": ["ingen-sadan-forvaltning"]}, "departments"),
    ({**GOOD, "phone": "call me"}, "phone"),
]


def test_bad_input_is_refused_naming_the_field_and_nothing_is_kept(participants: Participants, serve, token,
                                                                    http, settings: Settings) -> None:
    url = serve(participants.http())
    before = participants.app.max_position()
    for body, field in BAD_BODIES:
        r = http.post(f"{url}/participants", json=body, headers=bearer(token()))
        assert 400 <= r.status_code < 500, (body, r.status_code)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        problem = r.json()
        assert problem["status"] == r.status_code
        assert field in [p["name"] for p in problem["invalid_params"]], problem
    r = http.post(f"{url}/participants", data="{not json", headers={**bearer(token()),
                                                                      "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["title"] == "Invalid JSON"
    r = http.post(f"{url}/participants", data=json.dumps({**GOOD, "name": "y" * 70000}),
                  headers={**bearer(token()), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["field"] == "body"
    assert participants.app.max_position() == before  # nothing stored
    participants.relay().drain()
    published = read_all(settings, settings.topic("participants.events"))
    types = {json.loads(m.value)["event_type"] for m in published}
    assert "DepartmentOnboarded" in types and "UserRegistered" not in types  # nothing published


def test_authentication_and_roles(participants: Participants, serve, token, http, settings: Settings) -> None:
    url = serve(participants.http())
    assert http.post(f"{url}/participants", json=GOOD).status_code == 401
    assert http.post(f"{url}/participants", json=GOOD, headers=bearer("abc.def.ghi")).status_code == 401
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode({"sub": "x", "roles": ["coordinator"], "departments": ["socialforvaltningen"],
                         "exp": int(time.time()) + 60}, stranger, algorithm="ES256")
    r = http.post(f"{url}/participants", json=GOOD, headers=bearer(forged))
    assert r.status_code == 401 and r.headers["Content-Type"].startswith("application/problem+json")
    expired = mint_token(settings, roles=["coordinator"], departments=["socialforvaltningen"], ttl_seconds=-10)
    assert http.post(f"{url}/participants", json=GOOD, headers=bearer(expired)).status_code == 401
    assert http.post(f"{url}/participants", json=GOOD, headers=bearer(token(role="researcher"))).status_code == 403
    wrong_dep = token(departments=("arbetsmarknadsforvaltningen",))
    assert http.post(f"{url}/participants", json=GOOD, headers=bearer(wrong_dep)).status_code == 403
    assert http.post(f"{url}/participants", json=GOOD, headers=bearer(token())).status_code == 201


def test_jwks_url_verifies_tokens_of_an_identity_provider(sqlite_settings: Settings, serve, http) -> None:
    idp_key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(idp_key.public_key()))
    jwk.update({"kid": "idp-1", "use": "sig", "alg": "ES256"})
    idp = Flask("idp")
    idp.get("/jwks.json")(lambda: {"keys": [jwk]})
    jwks_url = serve(idp) + "/jwks.json"
    service = Participants.build(sqlite_settings.with_(jwks_url=jwks_url))
    url = serve(service.http())
    claims = {"sub": "idp-user-7", "roles": ["coordinator"], "departments": ["socialforvaltningen"],
              "exp": int(time.time()) + 60}
    good = jwt.encode(claims, idp_key, algorithm="ES256", headers={"kid": "idp-1"})
    assert http.post(f"{url}/participants", json=GOOD, headers=bearer(good)).status_code == 201
    other = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                       headers={"kid": "idp-1"})
    assert http.post(f"{url}/participants", json=GOOD, headers=bearer(other)).status_code == 401
    service.close()


def test_idempotency_key_replays_and_refuses_reuse(participants: Participants, serve, token, http) -> None:
    url = serve(participants.http())
    tok = token(sub="coordinator-1")
    headers = {**bearer(tok), "Idempotency-Key": "reg-0001"}
    first = http.post(f"{url}/participants", json=GOOD, headers=headers)
    again = http.post(f"{url}/participants", json=GOOD, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = http.post(f"{url}/participants", json={**GOOD, "name": "Cecilia"}, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    registered = [e for e in participants.app.envelopes() if e["event_type"] == "UserRegistered"]
    assert len(registered) == 1


def test_health_readiness_metrics_and_openapi(participants: Participants, serve, http) -> None:
    url = serve(participants.http())
    assert http.get(f"{url}/healthz").json()["status"] == "ok"
    assert http.get(f"{url}/readyz").json()["status"] == "ready"
    assert "http_requests_total" in http.get(f"{url}/metrics").text
    spec = http.get(f"{url}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/participants" in spec["paths"] and "post" in spec["paths"]["/participants"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    missing = http.get(f"{url}/no/such/thing")
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("application/problem+json")


def test_logs_are_json_without_personal_data(participants: Participants, serve, token, http,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    url = serve(participants.http())
    r = http.post(f"{url}/participants", json={**GOOD, "name": "Dagny Loggström"}, headers=bearer(token()))
    pid = r.json()["id"]
    http.get(f"{url}/participants/{pid}", headers=bearer(token()))
    http.post(f"{url}/participants", json={**GOOD, "email": "dagny@@bad"}, headers=bearer(token()))
    out, err = capfd.readouterr()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(line.get("path") == "/participants" and line.get("status") == 201 for line in lines)
    assert "Dagny" not in out + err and "bertil@example.se" not in out + err and "dagny@@bad" not in out + err


