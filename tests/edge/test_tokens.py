"""Tokens (issue 17, item 2; findings 1 and 16): whatever the token, a refusal is a 401 problem."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.participants.service import Participants
from shared.auth import dev_key_paths, ensure_dev_keys
from shared.config import Settings
from tests.conftest import bearer
from tests.edge.conftest import PERSON

DEP = "socialforvaltningen"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any] | Any, claims: dict[str, Any], sign: Any = None) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = sign(head.encode()) if sign else b""
    return head + "." + b64(signature)


def claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "staff-9", "roles": ["coordinator"], "departments": [DEP], "exp": int(time.time()) + 600, **extra}


def pem_public(key: Any, path: Path) -> Path:
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def assert_401(response: Any) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    detail = response.json()["detail"]
    for internal in ("Error", "Traceback", "jwt", "PyJWT", "algorithm not allowed", "object", "NoneType"):
        assert internal not in detail, detail


@pytest.fixture
def service(sqlite_settings: Settings):
    svc = Participants.build(sqlite_settings)
    yield svc
    svc.close()


def test_tokens_with_foreign_algorithms_are_401_never_500(service: Participants, serve, http,
                                                           sqlite_settings: Settings) -> None:
    """Finding 1: ``alg: RS256`` against the EC key raised PyJWT's TypeError (500)."""
    url = serve(service.http())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = dev_key_paths(sqlite_settings)[1].read_bytes()
    variants = [
        jwt.encode(claims(), rsa_key, algorithm="RS256"),
        jwt.encode(claims(), ec.generate_private_key(ec.SECP384R1()), algorithm="ES384"),
        raw_token({"alg": "none", "typ": "JWT"}, claims()),
        raw_token({"alg": "HS256", "typ": "JWT"}, claims(),
                  lambda m: hmac.new(public_pem, m, hashlib.sha256).digest()),
        raw_token({"alg": "RS256"}, claims(), lambda m: b"\x00" * 256),
        raw_token({"alg": "ES256"}, claims(), lambda m: b"\x01" * 7),
        raw_token({"alg": ["ES256"]}, claims()),
        raw_token(["not", "an", "object"], claims()),
        raw_token({"alg": "EdDSA"}, claims(), lambda m: b"x" * 64),
        "abc", "a.b.c", "...", "e30.e30.", "\u00e5\u00e4\u00f6.x.y", "eyJhbGciOiJFUzI1NiJ9." + "A" * 5000 + ".x",
    ]
    for token in variants:
        assert_401(http.post(f"{url}/participants", json=PERSON, headers=bearer(token)))
        assert_401(http.get(f"{url}/participants/{'0' * 8}-0000-0000-0000-{'0' * 12}", headers=bearer(token)))


def test_tokens_without_roles_or_departments_are_401(service: Participants, serve, http,
                                                     sqlite_settings: Settings) -> None:
    """Finding 16: such tokens got 403/404 instead of 401."""
    url = serve(service.http())
    key = serialization.load_pem_private_key(ensure_dev_keys(sqlite_settings)[0].read_bytes(), password=None)
    for bad in ({"roles": None}, {"departments": None}, {"roles": []}, {"roles": "coordinator"},
                {"departments": DEP}, {"sub": 7}):
        body = {k: v for k, v in claims(**bad).items() if v is not None}
        token = jwt.encode(body, key, algorithm="ES256")  # type: ignore[arg-type]
        assert_401(http.post(f"{url}/participants", json=PERSON, headers=bearer(token)))
    good = jwt.encode(claims(), key, algorithm="ES256")  # type: ignore[arg-type]
    assert http.post(f"{url}/participants", json=PERSON, headers=bearer(good)).status_code == 201


def test_mixed_rsa_and_ec_keys_each_verify_their_own_algorithm(sqlite_settings: Settings, tmp_path: Path,
                                                                serve, http) -> None:
    """Finding 1, second half: with RSA and EC keys configured, valid ES256 tokens failed (500)."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    settings = sqlite_settings.with_(jwt_public_keys=(str(pem_public(rsa_key, tmp_path / "rsa.pem")),
                                                      str(pem_public(ec_key, tmp_path / "ec.pem"))))
    svc = Participants.build(settings)
    try:
        url = serve(svc.http())
        for token in (jwt.encode(claims(), ec_key, algorithm="ES256"),
                      jwt.encode(claims(sub="staff-10"), rsa_key, algorithm="RS256")):
            r = http.post(f"{url}/participants", json=PERSON, headers=bearer(token))
            assert r.status_code == 201, r.text
        # The EC key's token relabelled RS256, and an RSA-signed token relabelled ES256: refused.
        ec_token = jwt.encode(claims(), ec_key, algorithm="ES256")
        _head, body, sig = ec_token.split(".")
        relabelled = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()) + "." + body + "." + sig
        assert_401(http.post(f"{url}/participants", json=PERSON, headers=bearer(relabelled)))
        assert_401(http.post(f"{url}/participants", json=PERSON,
                             headers=bearer(jwt.encode(claims(), rsa.generate_private_key(65537, 2048),
                                                       algorithm="RS256"))))
    finally:
        svc.close()
