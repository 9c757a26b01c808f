"""The development OpenID Connect provider (authorization code + PKCE, ES256 tokens).

Tokens are signed with the development JWT key in ``DATA_DIR/keys`` that every service already
trusts, so the access token issued here is accepted by the services as it is; its claims are the
services' (``sub``, ``roles``, ``departments``). Configuration: ``DEVIDP_ISSUER`` (default
``http://127.0.0.1:<DEVIDP_PORT>``), ``OIDC_CLIENT_ID`` / ``OIDC_CLIENT_SECRET`` (the one client),
``DEVIDP_REDIRECT_URIS`` (comma-separated; default the callbacks of the web app on ``WEB_PORT``
and of the dashboards on ``DASHBOARDS_PORT``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from flask import Flask, Response, abort, jsonify, redirect, render_template, request

from services.devidp.codes import MAX_ATTEMPTS, CodeBook
from services.devidp.people import Person, find_by_contact, load_people, normalise
from shared.auth import ensure_dev_keys
from shared.config import Settings

log = logging.getLogger("delaktig.devidp")

AUTH_CODE_TTL = 60.0
PENDING_TTL = 900.0
ACCESS_TOKEN_TTL = 3600
DEFAULT_CLIENT_ID = "delaktig-web"
DEFAULT_CLIENT_SECRET = "development-secret"  # noqa: S105 - the development provider's well-known secret


@dataclass
class Pending:
    """An authorization request waiting for the person to say who they are."""

    client_id: str
    redirect_uri: str
    state: str
    nonce: str | None
    challenge: str
    expires: float


@dataclass
class Grant:
    """An issued authorization code, redeemable once at the token endpoint."""

    sub: str
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str
    expires: float


@dataclass
class ProviderState:
    pending: dict[str, Pending] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    outbox: list[dict[str, str]] = field(default_factory=list)
    codes: CodeBook = field(default_factory=CodeBook)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a code verifier (RFC 7636)."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def masked(address: str) -> str:
    """``anna.lindqvist@example.org`` -> ``an…@example.org``: enough to recognise, not to read."""
    if "@" in address:
        local, domain = address.split("@", 1)
        return f"{local[:2]}…@{domain}"
    return f"…{address[-4:]}"


def create_app(settings: Settings | None = None, environ: dict[str, str] | None = None) -> Flask:
    """The provider as a Flask app (one process: its codes live in memory)."""
    settings = settings or Settings.from_env(environ)
    env = dict(os.environ if environ is None else environ)
    port = int(env.get("DEVIDP_PORT", "8090"))
    issuer = env.get("DEVIDP_ISSUER") or f"http://127.0.0.1:{port}"
    client_id = env.get("OIDC_CLIENT_ID") or DEFAULT_CLIENT_ID
    client_secret = env.get("OIDC_CLIENT_SECRET") or DEFAULT_CLIENT_SECRET
    # The web app and the dashboards sign in here (same client; each has its own callback).
    app_ports = (env.get("WEB_PORT", "8080"), str(settings.ports.get("dashboards", 8000)))
    redirect_uris = [u.strip() for u in env.get("DEVIDP_REDIRECT_URIS", "").split(",") if u.strip()] or [
        f"http://{host}:{port}/auth/callback" for port in app_ports for host in ("127.0.0.1", "localhost")]
    logout_prefixes = [u.rsplit("/auth/callback", 1)[0] + "/" for u in redirect_uris]
    # Chrome applies form-action to the redirect after a POST too: allow the clients' origins.
    client_origins = " ".join(sorted({"/".join(u.split("/", 3)[:3]) for u in redirect_uris}))
    private_path, public_path = ensure_dev_keys(settings)
    private_key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    public_jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(
        serialization.load_pem_public_key(public_path.read_bytes())))  # type: ignore[arg-type]
    thumb = json.dumps({k: public_jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    kid = _b64(hashlib.sha256(thumb.encode()).digest())
    public_jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
    outbox_log = Path(settings.data_dir) / "logs" / "devidp-outbox.log"
    state = ProviderState()

    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.extensions["devidp.state"] = state

    def people() -> list[Person]:
        return load_people(settings, env)

    def person(sub: str) -> Person | None:
        return next((p for p in people() if p.sub == sub), None)

    def sign(claims: dict[str, Any]) -> str:
        return jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": kid})  # type: ignore[arg-type]

    def pending_or_400(pid: str) -> Pending:
        with state.lock:
            found = state.pending.get(pid)
        if found is None or found.expires < time.time():
            abort(400, "this sign-in has expired: start again from the service")
        return found

    def finish(pid: str, sub: str) -> Any:
        """The person is known: hand the browser back to the client with an authorization code."""
        with state.lock:
            req = state.pending.pop(pid, None)
            if req is None:
                abort(400, "this sign-in has expired: start again from the service")
            code = secrets.token_urlsafe(32)
            state.grants[code] = Grant(sub, req.client_id, req.redirect_uri, req.nonce, req.challenge,
                                       time.time() + AUTH_CODE_TTL)
        return redirect(f"{req.redirect_uri}?{urlencode({'code': code, 'state': req.state})}", 303)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {client_origins}; "
            "frame-ancestors 'none'; base-uri 'none'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        return jsonify({
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/authorize",
            "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo",
            "jwks_uri": f"{issuer}/jwks",
            "end_session_endpoint": f"{issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email", "phone"],
            "claims_supported": ["sub", "name", "email", "phone_number", "roles", "departments"],
        })

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify({"keys": [public_jwk]})

    @app.get("/authorize")
    def authorize() -> Any:
        args = request.args
        if args.get("client_id") != client_id:
            abort(400, "unknown client_id")
        redirect_uri = args.get("redirect_uri", "")
        if redirect_uri not in redirect_uris:
            abort(400, "redirect_uri is not registered for this client")
        if args.get("response_type") != "code" or "openid" not in args.get("scope", "").split():
            abort(400, "only response_type=code with scope openid")
        if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
            abort(400, "PKCE with code_challenge_method=S256 is required")
        pid = secrets.token_urlsafe(24)
        with state.lock:
            now = time.time()
            for stale in [k for k, v in state.pending.items() if v.expires < now]:
                del state.pending[stale]
            state.pending[pid] = Pending(client_id, redirect_uri, args.get("state", ""), args.get("nonce"),
                                         args["code_challenge"], now + PENDING_TTL)
        return redirect(f"/choose?request={pid}", 303)

    @app.get("/choose")
    def choose() -> Any:
        pid = request.args.get("request", "")
        pending_or_400(pid)
        everyone = people()
        return render_template("choose.html", request_id=pid,
                               participants=[p for p in everyone if "participant" in p.roles],
                               staff=[p for p in everyone if "participant" not in p.roles])

    @app.post("/choose")
    def chosen() -> Any:
        # The request id is unguessable and single-use: it also serves as this form's CSRF token.
        pid = request.form.get("request", "")
        pending_or_400(pid)
        sub = request.form.get("sub", "")
        if person(sub) is None:
            abort(400, "choose one of the people listed")
        return finish(pid, sub)

    @app.get("/code")
    def code_form() -> Any:
        pid = request.args.get("request", "")
        pending_or_400(pid)
        return render_template("code_address.html", request_id=pid, error=None, address="")

    @app.post("/code")
    def send_code() -> Any:
        pid = request.form.get("request", "")
        pending_or_400(pid)
        address = request.form.get("address", "").strip()
        if not address:
            return render_template("code_address.html", request_id=pid, address=address,
                                   error="Skriv din e-postadress eller ditt mobilnummer."), 400
        key = normalise(address)
        found = find_by_contact(people(), address)
        if found is None:
            ticket = state.codes.ticket_for(key)  # the same answer as for a known address
        else:
            issued = state.codes.issue(found.sub, key)
            if issued is None:
                return render_template("code_address.html", request_id=pid, address=address,
                                       error="Du har bett om för många koder. Vänta en kvart och försök igen."), 429
            ticket, code = issued
            entry = {"to": masked(key), "code": code, "at": time.strftime("%H:%M:%S")}
            with state.lock:
                state.outbox.insert(0, entry)
                del state.outbox[20:]
            outbox_log.parent.mkdir(parents=True, exist_ok=True)
            with outbox_log.open("a") as out:  # development only: stands in for the SMS / e-mail
                out.write(f"{entry['at']} to {entry['to']}: your Delaktig code is {code}\n")
        return redirect(f"/code/enter?request={pid}&ticket={ticket}", 303)

    @app.get("/code/enter")
    def enter_code() -> Any:
        pid = request.args.get("request", "")
        pending_or_400(pid)
        return render_template("code_enter.html", request_id=pid, ticket=request.args.get("ticket", ""), error=None)

    @app.post("/code/enter")
    def check_code() -> Any:
        pid = request.form.get("request", "")
        pending_or_400(pid)
        ticket = request.form.get("ticket", "")
        sub, left = state.codes.check(ticket, request.form.get("code", ""))
        if sub is not None:
            return finish(pid, sub)
        error = (f"Koden stämmer inte. Du kan försöka {left} gång(er) till." if left else
                 "Koden gäller inte längre. Be om en ny kod.")
        return render_template("code_enter.html", request_id=pid, ticket=ticket, error=error,
                               expired=not left), 400

    @app.get("/outbox")
    def outbox() -> Any:
        with state.lock:
            messages = list(state.outbox)
        return render_template("outbox.html", messages=messages)

    def client_authenticated() -> bool:
        auth = request.authorization
        given_id, given_secret = (auth.username, auth.password) if auth and auth.type == "basic" else (
            request.form.get("client_id"), request.form.get("client_secret"))
        return given_id == client_id and hmac.compare_digest(str(given_secret or ""), client_secret)

    def token_error(error: str, description: str, status: int = 400) -> Any:
        response = jsonify({"error": error, "error_description": description})
        response.status_code = status
        return response

    @app.post("/token")
    def token() -> Any:
        if not client_authenticated():
            return token_error("invalid_client", "client authentication failed", 401)
        if request.form.get("grant_type") != "authorization_code":
            return token_error("unsupported_grant_type", "only authorization_code")
        with state.lock:
            grant = state.grants.pop(request.form.get("code", ""), None)
        if grant is None or grant.expires < time.time():
            return token_error("invalid_grant", "unknown, used or expired code")
        if grant.redirect_uri != request.form.get("redirect_uri") or grant.client_id != client_id:
            return token_error("invalid_grant", "redirect_uri does not match")
        if not hmac.compare_digest(s256(request.form.get("code_verifier", "")), grant.challenge):
            return token_error("invalid_grant", "PKCE verification failed")
        who = person(grant.sub)
        if who is None:
            return token_error("invalid_grant", "this person is no longer known")
        now = int(time.time())
        access: dict[str, Any] = {"sub": who.sub, "roles": sorted(who.roles), "departments": sorted(who.departments),
                                  "iat": now, "exp": now + ACCESS_TOKEN_TTL, "jti": secrets.token_hex(8)}
        if settings.jwt_issuer:
            access["iss"] = settings.jwt_issuer
        if settings.jwt_audience:
            access["aud"] = settings.jwt_audience
        id_claims: dict[str, Any] = {"iss": issuer, "aud": client_id, "iat": now, "exp": now + ACCESS_TOKEN_TTL,
                                     "auth_time": now, "name": who.name, "sub": who.sub,
                                     "roles": sorted(who.roles), "departments": sorted(who.departments)}
        if grant.nonce:
            id_claims["nonce"] = grant.nonce
        return jsonify({"access_token": sign(access), "token_type": "Bearer", "expires_in": ACCESS_TOKEN_TTL,
                        "id_token": sign(id_claims), "scope": "openid profile"})

    @app.get("/userinfo")
    def userinfo() -> Any:
        header = request.headers.get("Authorization", "")
        try:
            claims = jwt.decode(header.removeprefix("Bearer ").strip(), private_key.public_key(),  # type: ignore[arg-type]
                                algorithms=["ES256"], options={"verify_aud": False})
        except jwt.PyJWTError:
            return token_error("invalid_token", "send the access token", 401)
        who = person(str(claims["sub"]))
        if who is None:
            return token_error("invalid_token", "unknown person", 401)
        return jsonify({k: v for k, v in who.claims().items() if v is not None})

    @app.get("/logout")
    def logout() -> Any:
        target = request.args.get("post_logout_redirect_uri", "")
        if target and any(target.startswith(prefix) for prefix in logout_prefixes):
            return redirect(target, 303)
        return render_template("logged_out.html")

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app


__all__ = ["MAX_ATTEMPTS", "create_app", "s256"]
