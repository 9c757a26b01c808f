"""Sign-in with OpenID Connect (authorization code + PKCE, via Authlib) and sign-out.

The session (a signed, HttpOnly cookie) holds the person's pseudonymous id, display name, roles,
departments and access token, and when it ends: after ``WEB_SESSION_MINUTES`` without activity
or when the token expires, whichever is first. Sign-out records the session's id as ended, so a
copied cookie stops working too, and then ends the session at the identity provider.
"""

from __future__ import annotations

import functools
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlparse

import requests
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, session, url_for
from werkzeug.exceptions import ServiceUnavailable

from shared import oidc
from shared.oidc import provider

F = TypeVar("F", bound=Callable[..., Any])
signin = Blueprint("signin", __name__)




class EndedSessions:
    """Ids of sessions that were signed out, until they would have expired anyway.

    Shared by the app's worker processes through one small SQLite file; holds no personal data.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.local = threading.local()
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS ended (sid TEXT PRIMARY KEY, until REAL NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self.local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self.local.db = db
        return db

    def end(self, sid: str, until: float) -> None:
        db = self._db()
        db.execute("INSERT OR REPLACE INTO ended VALUES (?, ?)", (sid, until))
        db.execute("DELETE FROM ended WHERE until < ?", (time.time(),))

    def ended(self, sid: str) -> bool:
        return self._db().execute("SELECT 1 FROM ended WHERE sid = ?", (sid,)).fetchone() is not None


def init_signin(app: Flask) -> None:
    """Register the identity provider and the sign-in routes."""
    config = app.config["WEB"]
    oidc.register(app, config.oidc_issuer, config.oidc_client_id, config.oidc_client_secret, config.scope)
    app.extensions["web.ended"] = EndedSessions(config.data_dir / "web" / "ended-sessions.sqlite")
    app.register_blueprint(signin)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return url_for("pages.home")
    return target


def session_alive() -> bool:
    """Whether the session is signed in, not idle too long, not expired and not signed out."""
    if "sub" not in session:
        return False
    now = time.time()
    minutes = current_app.config["WEB"].session_minutes
    if now > float(session.get("expires_at", 0)) or now - float(session.get("seen", 0)) > minutes * 60:
        return False
    ended: EndedSessions = current_app.extensions["web.ended"]
    return not ended.ended(str(session.get("sid", "")))


def signed_in(view: F) -> F:
    """Pages for a signed-in person: otherwise to the sign-in, and back here afterwards."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not session_alive():
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            return redirect(url_for("signin.login", next=request.full_path.rstrip("?")))
        session["seen"] = time.time()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def participant_only(view: F) -> F:
    """The service user's own pages: a signed-in participant."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if "participant" not in session.get("roles", []):
            abort(403)
        return view(*args, **kwargs)

    return signed_in(wrapper)  # type: ignore[return-value]


@signin.get("/logga-in")
def login() -> Any:
    """The sign-in page: one button to the identity provider (and the one-time code there)."""
    return render_template("login.html", next=_safe_next(request.args.get("next")))


@signin.post("/logga-in")
def start_login() -> Any:
    """Start the authorization code flow with PKCE; state and verifier wait in the session."""
    session["after_login"] = _safe_next(request.form.get("next"))
    try:
        return provider().authorize_redirect(url_for("signin.callback", _external=True))
    except requests.RequestException:
        raise ServiceUnavailable("the identity provider is not answering")


@signin.get("/auth/callback")
def callback() -> Any:
    """The identity provider sends the person back with a code: exchange it, start the session."""
    if "error" in request.args:
        return render_template("login.html", next=url_for("pages.home"), failed=True), 400
    try:
        token = provider().authorize_access_token()
    except Exception:  # Authlib raises several kinds (state mismatch, bad token): all mean "try again"
        current_app.logger.warning("sign-in failed at the callback")
        return render_template("login.html", next=url_for("pages.home"), failed=True), 400
    claims = token.get("userinfo") or {}
    config = current_app.config["WEB"]
    after = session.pop("after_login", url_for("pages.home"))
    lang = session.get("lang")
    session.clear()  # a fresh session at sign-in: nothing from before survives (session fixation)
    now = time.time()
    roles = claims.get(config.roles_claim, [])
    departments = claims.get(config.departments_claim, [])
    session.update({
        "sid": secrets.token_urlsafe(16),
        "sub": str(claims["sub"]),
        "name": str(claims.get("name") or ""),
        "roles": [str(r) for r in (roles if isinstance(roles, list) else [roles])],
        "departments": [str(d) for d in (departments if isinstance(departments, list) else [departments])],
        "access_token": token["access_token"],
        "expires_at": float(token.get("expires_at") or now + 3600),
        "seen": now,
    })
    if lang:
        session["lang"] = lang
    session.permanent = False
    return redirect(_safe_next(after))


def end_session() -> None:
    """Forget the session here, and record its id as ended so a copied cookie is refused too."""
    ended: EndedSessions = current_app.extensions["web.ended"]
    if "sid" in session:
        ended.end(str(session["sid"]), float(session.get("expires_at", time.time() + 3600)))
    session.clear()


@signin.post("/logga-ut")
def logout() -> Any:
    """End the session here (also for copies of the cookie) and at the identity provider."""
    lang = session.get("lang")
    end_session()
    if lang:
        session["lang"] = lang
    target = url_for("signin.signed_out", _external=True)
    try:
        end = provider().load_server_metadata().get("end_session_endpoint")
    except Exception:
        end = None
    if end:
        return redirect(f"{end}?{urlencode({'post_logout_redirect_uri': target})}", 303)
    return redirect(target, 303)


@signin.get("/utloggad")
def signed_out() -> Any:
    return render_template("signed_out.html")
