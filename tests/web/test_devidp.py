"""The development OpenID Connect provider: a real authorization code flow with PKCE whose access
token every service accepts, and one-time codes that cannot be guessed within their limit."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
from flask.testing import FlaskClient

from services.devidp.codes import MAX_ATTEMPTS, MAX_CODES_PER_WINDOW, CodeBook
from services.devidp.provider import create_app
from shared.auth import TokenVerifier
from shared.config import Settings

CALLBACK = "http://127.0.0.1:18080/auth/callback"
PERSON = {"sub": "0b7e6a52-3f0e-4a57-9d0e-3c0f6a1d2e11", "name": "Anna Lindqvist", "roles": ["participant"],
          "email": "anna.lindqvist@example.org", "phone": "070-000 12 34"}


@pytest.fixture
def idp(tmp_path: Path) -> tuple[FlaskClient, Settings]:
    people = tmp_path / "people.json"
    people.write_text(json.dumps([PERSON, {"sub": "coord-1", "name": "Samordnare", "roles": ["coordinator"],
                                           "departments": ["socialforvaltningen"]}]))
    settings = Settings(data_dir=tmp_path / "data")
    env = {"DEVIDP_PEOPLE": str(people), "DEVIDP_ISSUER": "http://idp.test", "OIDC_CLIENT_ID": "web",
           "OIDC_CLIENT_SECRET": "s3cret", "DEVIDP_REDIRECT_URIS": CALLBACK}
    return create_app(settings, env).test_client(), settings


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def start(client: FlaskClient, challenge: str, **extra: str) -> str:
    params = {"client_id": "web", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid profile",
              "state": "st4te", "nonce": "n0nce", "code_challenge": challenge, "code_challenge_method": "S256",
              **extra}
    r = client.get("/authorize", query_string=params)
    assert r.status_code == 303, r.data
    return parse_qs(urlparse(r.headers["Location"]).query)["request"][0]


def code_from(location: str) -> str:
    query = parse_qs(urlparse(location).query)
    assert location.startswith(CALLBACK) and query["state"] == ["st4te"]
    return query["code"][0]


def redeem(client: FlaskClient, code: str, verifier: str) -> Any:
    return client.post("/token", data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                                       "code_verifier": verifier}, auth=("web", "s3cret"))


def test_discovery_and_jwks_describe_a_pkce_provider(idp: tuple[FlaskClient, Settings]) -> None:
    client, _ = idp
    meta = client.get("/.well-known/openid-configuration").get_json()
    assert meta["issuer"] == "http://idp.test"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_endpoint"] == "http://idp.test/authorize"
    keys = client.get("/jwks").get_json()["keys"]
    assert keys[0]["kty"] == "EC" and keys[0]["alg"] == "ES256" and "d" not in keys[0]


def test_code_flow_issues_an_access_token_the_services_accept(idp: tuple[FlaskClient, Settings]) -> None:
    client, settings = idp
    verifier, challenge = pkce()
    request_id = start(client, challenge)
    page = client.get(f"/choose?request={request_id}").get_data(as_text=True)
    assert "Anna Lindqvist" in page and "Vem är du?" in page
    r = client.post("/choose", data={"request": request_id, "sub": PERSON["sub"]})
    code = code_from(r.headers["Location"])
    tokens = redeem(client, code, verifier).get_json()
    principal = TokenVerifier(settings).verify(tokens["access_token"])  # what every service does
    assert principal.sub == PERSON["sub"] and principal.roles == {"participant"}
    jwk = client.get("/jwks").get_json()["keys"][0]
    claims = jwt.decode(tokens["id_token"], jwt.PyJWK(jwk).key, algorithms=["ES256"], audience="web",
                        issuer="http://idp.test")
    assert claims["nonce"] == "n0nce" and claims["name"] == "Anna Lindqvist"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert info["sub"] == PERSON["sub"] and info["roles"] == ["participant"]
    # A code is redeemable once.
    assert redeem(client, code, verifier).status_code == 400


def test_pkce_client_secret_and_redirect_are_enforced(idp: tuple[FlaskClient, Settings]) -> None:
    client, _ = idp
    verifier, challenge = pkce()
    r = client.post("/choose", data={"request": start(client, challenge), "sub": PERSON["sub"]})
    code = code_from(r.headers["Location"])
    assert redeem(client, code, "wrong-" + verifier).get_json()["error"] == "invalid_grant"
    r = client.post("/choose", data={"request": start(client, challenge), "sub": PERSON["sub"]})
    form = {"grant_type": "authorization_code", "code": code_from(r.headers["Location"]), "redirect_uri": CALLBACK,
            "code_verifier": verifier}
    bad_secret = client.post("/token", data=form, auth=("web", "nope"))
    assert bad_secret.status_code == 401
    assert client.get("/authorize", query_string={"client_id": "web", "redirect_uri": "http://evil.test/cb",
                                                  "response_type": "code", "scope": "openid",
                                                  "code_challenge": challenge,
                                                  "code_challenge_method": "S256"}).status_code == 400
    no_pkce = client.get("/authorize", query_string={"client_id": "web", "redirect_uri": CALLBACK,
                                                     "response_type": "code", "scope": "openid"})
    assert no_pkce.status_code == 400
    assert client.post("/choose", data={"request": "made-up", "sub": PERSON["sub"]}).status_code == 400


def _ticket(location: str) -> str:
    return parse_qs(urlparse(location).query)["ticket"][0]


def test_one_time_code_signs_in_through_the_outbox(idp: tuple[FlaskClient, Settings]) -> None:
    client, settings = idp
    verifier, challenge = pkce()
    request_id = start(client, challenge)
    r = client.post("/code", data={"request": request_id, "address": "070-000 12 34"})
    ticket = _ticket(r.headers["Location"])
    outbox = client.get("/outbox").get_data(as_text=True)
    code = re.search(r'class="code">(\d{6})<', outbox)
    assert code is not None and "…1234" in outbox
    log = (settings.data_dir / "logs" / "devidp-outbox.log").read_text()
    assert code.group(1) in log and "070" not in log and "0700001234" not in log  # masked in the log
    r = client.post("/code/enter", data={"request": request_id, "ticket": ticket, "code": code.group(1)})
    tokens = redeem(client, code_from(r.headers["Location"]), verifier).get_json()
    assert TokenVerifier(settings).verify(tokens["access_token"]).sub == PERSON["sub"]


def test_one_time_code_cannot_be_guessed_within_its_rate_limit(idp: tuple[FlaskClient, Settings]) -> None:
    client, _ = idp
    _, challenge = pkce()
    request_id = start(client, challenge)
    r = client.post("/code", data={"request": request_id, "address": PERSON["email"]})
    ticket = _ticket(r.headers["Location"])
    right = re.search(r'class="code">(\d{6})<', client.get("/outbox").get_data(as_text=True))
    assert right is not None
    wrong = [f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" != right.group(1)]
    for guess in wrong[:MAX_ATTEMPTS]:
        answer = client.post("/code/enter", data={"request": request_id, "ticket": ticket, "code": guess})
        assert answer.status_code == 400
    # The limit is spent: even the right code no longer signs in.
    late = client.post("/code/enter", data={"request": request_id, "ticket": ticket, "code": right.group(1)})
    assert late.status_code == 400 and "gäller inte längre" in late.get_data(as_text=True)
    # And an address gets only a few codes per window.
    for _ in range(MAX_CODES_PER_WINDOW - 1):
        assert client.post("/code", data={"request": request_id, "address": PERSON["email"]}).status_code == 303
    assert client.post("/code", data={"request": request_id, "address": PERSON["email"]}).status_code == 429


def test_unknown_address_gets_the_same_answer_and_no_code(idp: tuple[FlaskClient, Settings]) -> None:
    client, _ = idp
    _, challenge = pkce()
    request_id = start(client, challenge)
    r = client.post("/code", data={"request": request_id, "address": "nobody@example.org"})
    assert r.status_code == 303 and "ticket=" in r.headers["Location"]
    assert "class=\"code\"" not in client.get("/outbox").get_data(as_text=True)


def test_code_book_expires_codes() -> None:
    book = CodeBook()
    issued = book.issue("p1", "a@example.org", now=1000.0)
    assert issued is not None
    ticket, code = issued
    assert book.check(ticket, code, now=1000.0 + 601) == (None, 0)
