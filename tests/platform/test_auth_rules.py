"""Who may call, as a security reviewer states it: a token is accepted only when its signature,
time window, issuer and audience hold; every refusal says in plain words what is wrong; a caller
acts in their strongest role and sees only their own departments (an administrator sees all).
In-process, against ``TokenVerifier`` and ``Principal`` directly."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from shared import auth
from shared.auth import (
    Principal,
    TokenVerifier,
    current_principal,
    ensure_dev_keys,
    mint_token,
    public,
    requires,
)
from shared.config import Settings
from shared.errors import Forbidden, Unauthorized
from shared.web import create_app

DEP = "socialforvaltningen"


def _claims(**extra: Any) -> dict[str, Any]:
    body = {"sub": "staff-1", "roles": ["coordinator"], "departments": [DEP], "exp": int(time.time()) + 600}
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


def _dev_key(settings: Settings) -> Any:
    return serialization.load_pem_private_key(ensure_dev_keys(settings)[0].read_bytes(), password=None)


def _refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(token)
    return str(caught.value)


def _pem(key: Any, path: Path) -> str:
    path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo))
    return str(path)


def test_a_development_token_names_its_caller_roles_and_departments(sqlite_settings: Settings) -> None:
    token = mint_token(sqlite_settings, sub="co-7", roles=["coordinator", "auditor", "coordinator"],
                       departments=[DEP, DEP])
    principal = TokenVerifier(sqlite_settings).verify(token)
    assert principal == Principal("co-7", frozenset({"coordinator", "auditor"}), frozenset({DEP}))
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    body = jwt.decode(token, options={"verify_signature": False})
    assert body["exp"] - body["iat"] == 8 * 3600  # a working day by default
    assert body["roles"] == ["auditor", "coordinator"] and body["departments"] == [DEP]
    anonymous = TokenVerifier(sqlite_settings).verify(mint_token(sqlite_settings))
    assert anonymous.sub.startswith("staff-") and anonymous.roles == {"coordinator"}


def test_every_refusal_says_what_is_wrong_with_the_token(sqlite_settings: Settings) -> None:
    verifier = TokenVerifier(sqlite_settings)
    key = _dev_key(sqlite_settings)

    def signed(**extra: Any) -> str:
        return jwt.encode(_claims(**extra), key, algorithm="ES256")

    assert "expired" in _refusal(verifier, signed(exp=int(time.time()) - 60))
    assert "not valid yet" in _refusal(verifier, signed(nbf=int(time.time()) + 600))
    assert "'exp'" in _refusal(verifier, jwt.encode({k: v for k, v in _claims().items() if k != "exp"},
                                                   key, algorithm="ES256"))
    assert "'sub'" in _refusal(verifier, jwt.encode({k: v for k, v in _claims().items() if k != "sub"},
                                                   key, algorithm="ES256"))
    assert "signature does not verify" in _refusal(
        verifier, jwt.encode(_claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"))
    assert "not a well-formed JWT" in _refusal(verifier, "no-token-at-all")
    assert "algorithm is not accepted" in _refusal(verifier, jwt.encode(_claims(), "s" * 32, algorithm="HS256"))
    assert "no configured key verifies ES384" in _refusal(
        verifier, jwt.encode(_claims(), ec.generate_private_key(ec.SECP384R1()), algorithm="ES384"))
    roles_message = "roles must be a non-empty list and departments a list"
    for bad in ({"roles": []}, {"roles": "coordinator"}, {"roles": [1]}, {"departments": DEP},
                {"departments": [1]}):
        assert roles_message in _refusal(verifier, signed(**bad))
    for bad in ({"sub": ""}, {"sub": 7}, {"exp": "soon"}):
        message = _refusal(verifier, signed(**bad))
        assert "sub must be a string and exp a number" in message or "cannot be verified" in message
    assert "sub must be a string" in _refusal(verifier, signed(sub=""))


def test_with_an_issuer_and_audience_only_their_tokens_pass(sqlite_settings: Settings) -> None:
    settings = sqlite_settings.with_(jwt_issuer="https://idp.example", jwt_audience="delaktig")
    verifier = TokenVerifier(settings)
    assert verifier.verify(mint_token(settings, sub="co-1")).sub == "co-1"
    key = _dev_key(settings)
    for wrong in ({"iss": "https://other.example", "aud": "delaktig"},
                  {"iss": "https://idp.example", "aud": "other"}):
        message = _refusal(verifier, jwt.encode(_claims(**wrong), key, algorithm="ES256"))
        assert "not issued for this service" in message
    # Without them configured, tokens carry neither.
    body = jwt.decode(mint_token(sqlite_settings), options={"verify_signature": False})
    assert "iss" not in body and "aud" not in body


def test_each_kind_of_key_verifies_its_own_algorithm(sqlite_settings: Settings, tmp_path: Path) -> None:
    p384, edkey = ec.generate_private_key(ec.SECP384R1()), ed25519.Ed25519PrivateKey.generate()
    p521 = ec.generate_private_key(ec.SECP521R1())
    settings = sqlite_settings.with_(jwt_public_keys=(_pem(p384, tmp_path / "p384.pem"),
                                                      _pem(edkey, tmp_path / "ed.pem"),
                                                      _pem(p521, tmp_path / "p521.pem")))
    verifier = TokenVerifier(settings)
    assert verifier.verify(jwt.encode(_claims(sub="a"), p384, algorithm="ES384")).sub == "a"
    assert verifier.verify(jwt.encode(_claims(sub="b"), edkey, algorithm="EdDSA")).sub == "b"
    assert verifier.verify(jwt.encode(_claims(sub="c"), p521, algorithm="ES512")).sub == "c"
    # With keys configured, the development key is not trusted.
    assert "no configured key verifies ES256" in _refusal(verifier, mint_token(sqlite_settings))
    unsupported = sqlite_settings.with_(jwt_public_keys=(_pem(x25519.X25519PrivateKey.generate(),
                                                               tmp_path / "x.pem"),))
    with pytest.raises(ValueError, match="unsupported public key type X25519PublicKey"):
        TokenVerifier(unsupported)


def test_a_remembered_token_is_remembered_no_longer_than_it_is_valid(sqlite_settings: Settings,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(sqlite_settings)
    token = mint_token(sqlite_settings, sub="co-2", ttl_seconds=3600)
    assert verifier.verify(token).sub == "co-2"
    until, _ = verifier._verified[token]
    assert until <= time.time() + auth.VERIFIED_TOKEN_TTL  # a withdrawn key stops working within 30 s
    # A full memory starts over instead of growing.
    monkeypatch.setattr(auth, "VERIFIED_TOKEN_CACHE", 2)
    for i in range(5):
        verifier.verify(mint_token(sqlite_settings, sub=f"co-{i}"))
        assert len(verifier._verified) <= 2


def test_a_caller_acts_in_the_strongest_of_their_roles() -> None:
    def role(*roles: str) -> str:
        return Principal("x", frozenset(roles)).role

    assert role("participant", "coordinator", "administrator") == "administrator"
    assert role("participant", "coordinator", "hiring_manager") == "coordinator"
    assert role("participant", "hiring_manager", "auditor") == "hiring_manager"
    assert role("researcher", "auditor", "participant") == "auditor"
    assert role("participant", "researcher") == "researcher"
    assert role("participant") == "participant"
    assert role("zeta", "alpha") == "alpha"
    assert role() == "unknown"
    assert Principal("co-3", frozenset({"coordinator"})).actor() == {"id": "co-3", "role": "coordinator"}
    assert Principal("co-3", frozenset({"coordinator"})).actor("hiring_manager")["role"] == "hiring_manager"


def test_staff_see_their_own_departments_and_an_administrator_sees_all() -> None:
    coordinator = Principal("co", frozenset({"coordinator"}), frozenset({DEP}))
    admin = Principal("ad", frozenset({"administrator"}))
    assert coordinator.can_see_department(DEP)
    assert not coordinator.can_see_department("arbetsmarknadsforvaltningen")
    assert not coordinator.can_see_department(None)
    assert admin.can_see_department("arbetsmarknadsforvaltningen") and admin.can_see_department(None)
    coordinator.check_department(DEP)
    with pytest.raises(Forbidden) as caught:
        coordinator.check_department("arbetsmarknadsforvaltningen")
    assert caught.value.field == "department" and "arbetsmarknadsforvaltningen" in str(caught.value)
    assert coordinator.has("auditor", "coordinator") and not coordinator.has("auditor")


class _ProbeIn(Schema):
    n = fields.Integer(required=True)


def _probe_app(settings: Settings) -> Any:
    """A service app whose endpoints are declared here, at test time, with ``@requires``."""
    blp = Blueprint("probe", __name__)

    @blp.route("/probe", methods=["POST"])
    @blp.arguments(_ProbeIn())
    @blp.response(201)
    @requires("coordinator", "auditor")
    def probe(body: dict[str, Any]) -> Any:
        return {"n": body["n"], "by": current_principal().sub}

    @blp.route("/open", methods=["GET"])
    @blp.response(200)
    def open_page() -> Any:
        return {"ok": True}

    @blp.route("/advert", methods=["GET"])
    @blp.doc(responses={"200": {"description": "a published advert"}})
    @public
    def advert() -> Any:  # public on purpose: anyone may read it
        return {"published": True}

    @blp.route("/whoami", methods=["GET"])
    @blp.response(200)
    def whoami() -> Any:  # asks for the caller without declaring roles
        return {"sub": current_principal().sub}

    return create_app("probe", settings, [blp])


def test_an_endpoint_declared_for_some_roles_admits_exactly_them(sqlite_settings: Settings, serve, http) -> None:
    url = serve(_probe_app(sqlite_settings))
    coordinator = {"Authorization": f"Bearer {mint_token(sqlite_settings, sub='co-9', roles=['coordinator'])}"}
    r = http.post(f"{url}/probe", json={"n": 1}, headers=coordinator)
    assert r.status_code == 201 and r.json() == {"n": 1, "by": "co-9"}
    auditor = {"Authorization": f"Bearer {mint_token(sqlite_settings, roles=['auditor'])}"}
    assert http.post(f"{url}/probe", json={"n": 2}, headers=auditor).status_code == 201
    researcher = {"Authorization": f"Bearer {mint_token(sqlite_settings, roles=['researcher'])}"}
    r = http.post(f"{url}/probe", json={"n": 3}, headers=researcher)
    assert r.status_code == 403 and "coordinator, auditor" in r.json()["detail"]
    r = http.post(f"{url}/probe", json={"n": 4})
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    assert http.post(f"{url}/probe", json={"n": 4}, headers={"Authorization": "Basic abc"}).status_code == 401
    # Without a valid token the answer is 401 even when the body is wrong too: who you are first.
    for body in ("{", '{"n": "x"}'):
        r = http.post(f"{url}/probe", data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 401, (body, r.status_code)
    assert http.get(f"{url}/open").json() == {"ok": True}  # undeclared: no token needed
    r = http.get(f"{url}/whoami")  # a view that asks who calls, without a caller: 401, never a 500
    assert r.status_code == 401 and "no bearer token" in r.json()["detail"]


def test_the_openapi_document_names_each_endpoints_roles(sqlite_settings: Settings, serve, http) -> None:
    url = serve(_probe_app(sqlite_settings))
    operation = http.get(f"{url}/openapi.json").json()["paths"]["/probe"]["post"]
    assert operation["x-roles"] == ["coordinator", "auditor"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation["responses"]["401"]["description"] == "missing or invalid token"
    assert operation["responses"]["403"]["description"] == "needs one of the roles: coordinator, auditor"
    assert "201" in operation["responses"] and "requestBody" in operation  # the view's own documentation kept


def test_a_public_endpoint_needs_no_token_and_its_documentation_says_so(sqlite_settings: Settings, serve,
                                                                        http) -> None:
    app = _probe_app(sqlite_settings)
    url = serve(app)
    assert http.get(f"{url}/advert").json() == {"published": True}
    operation = http.get(f"{url}/openapi.json").json()["paths"]["/advert"]["get"]
    assert operation["x-public"] is True
    assert operation["security"] == []  # overrides any default scheme: no token at all
    assert operation["responses"]["200"]["description"] == "a published advert"  # its own notes kept
    # The mark the every-endpoint audit (tests/platform/test_every_endpoint.py) reads to accept an
    # endpoint without roles.
    assert getattr(app.view_functions["probe.advert"], "_delaktig_public", False) is True


def test_the_development_signing_key_is_private_and_its_public_half_readable(sqlite_settings: Settings) -> None:
    private, public = ensure_dev_keys(sqlite_settings)
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(public).st_mode) == 0o644  # other tools on the host verify with it
    assert ensure_dev_keys(sqlite_settings) == (private, public)


def test_a_token_the_identity_providers_keys_do_not_know_is_refused_saying_so(sqlite_settings: Settings,
                                                                             serve) -> None:
    idp_key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(idp_key.public_key()))
    jwk.update({"kid": "idp-1", "use": "sig", "alg": "ES256"})
    idp = Flask("idp")
    idp.get("/jwks.json")(lambda: {"keys": [jwk]})
    verifier = TokenVerifier(sqlite_settings.with_(jwks_url=serve(idp) + "/jwks.json"))
    good = jwt.encode(_claims(sub="idp-7"), idp_key, algorithm="ES256", headers={"kid": "idp-1"})
    assert verifier.verify(good).sub == "idp-7"
    unknown = jwt.encode(_claims(), idp_key, algorithm="ES256", headers={"kid": "idp-2"})
    assert "no key of the identity provider matches it" in _refusal(verifier, unknown)
