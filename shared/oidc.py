"""Signing people in with OpenID Connect (authorization code + PKCE, via Authlib), for the pages
of the web app and the dashboards.

Configured by ``OIDC_ISSUER`` (default: the development provider on ``DEVIDP_PORT``),
``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` and ``OIDC_SCOPE``; the session that carries the
flow's state and PKCE verifier is signed with ``WEB_SECRET_KEY`` (default: a key file in
``DATA_DIR/keys``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from shared.keyfiles import create_once


def issuer(env: dict[str, str] | None = None) -> str:
    env = dict(os.environ if env is None else env)
    return env.get("OIDC_ISSUER") or f"http://127.0.0.1:{env.get('DEVIDP_PORT', '8090')}"


def session_secret(data_dir: Path, env: dict[str, str] | None = None) -> str:
    """The key that signs session cookies (shared by every worker of every page app)."""
    env = dict(os.environ if env is None else env)
    return env.get("WEB_SECRET_KEY") or create_once(
        Path(data_dir) / "keys" / "web-session-secret", lambda: secrets.token_hex(32).encode()).decode()


def register(app: Flask, issuer_url: str, client_id: str, client_secret: str, scope: str = "openid profile") -> None:
    """Register the identity provider for this app (one client per app: tests run several)."""
    oauth = OAuth(app)
    oauth.register("idp", server_metadata_url=issuer_url.rstrip("/") + "/.well-known/openid-configuration",
                   client_id=client_id, client_secret=client_secret,
                   client_kwargs={"scope": scope, "code_challenge_method": "S256"})
    app.extensions["delaktig.oidc"] = oauth


def register_from_env(app: Flask, env: dict[str, str] | None = None) -> None:
    env = dict(os.environ if env is None else env)
    register(app, issuer(env), env.get("OIDC_CLIENT_ID") or "delaktig-web",
             env.get("OIDC_CLIENT_SECRET") or "development-secret", env.get("OIDC_SCOPE", "openid profile"))


def provider() -> Any:
    """The current app's client of the identity provider."""
    return current_app.extensions["delaktig.oidc"].idp
