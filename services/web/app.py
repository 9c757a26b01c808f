"""The web app's factory: security headers, CSRF on every form, sessions, language, errors."""

from __future__ import annotations

import logging
from typing import Any

import requests
from flask import Flask, Response, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from services.web.backend import SignInAgain
from services.web.config import WebConfig
from services.web.i18n import LANGUAGES, t
from services.web.signin import init_signin
from shared.auth import STAFF_ROLES as DASHBOARD_ROLES

log = logging.getLogger("delaktig.web")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self' {idp}; frame-ancestors 'none'")


class TlsAwareSessions(SecureCookieSessionInterface):
    """The session cookie is ``Secure`` whenever the request came over TLS (directly or, with
    ``WEB_PROXIES`` set, as the trusted proxy says), so development over plain HTTP still works."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure) or bool(app.config.get("SESSION_COOKIE_SECURE"))


def create_app(config: WebConfig | None = None) -> Flask:
    """The web app, configured from the environment unless given a config."""
    config = config or WebConfig.from_env()
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.config.update(
        WEB=config,
        SECRET_KEY=config.secret_key,
        SERVICE_URLS=config.service_urls,
        SESSION_COOKIE_NAME="delaktig_web",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # Lax: the identity provider's redirect back must carry it
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.session_interface = TlsAwareSessions()
    if config.proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxies, x_proto=config.proxies,  # type: ignore[method-assign]
                                x_host=config.proxies, x_prefix=config.proxies)
    app.extensions["web.http"] = requests.Session()
    CSRFProtect(app)
    init_signin(app)

    from services.web.pages import pages

    app.register_blueprint(pages)
    from services.web.staff import staff

    app.register_blueprint(staff)
    from services.web.staff_hiring import hiring

    app.register_blueprint(hiring)
    from services.web.staff_people import people

    app.register_blueprint(people)
    from services.web.cowrite import cowrite

    app.register_blueprint(cowrite)
    idp_origin = "/".join(config.oidc_issuer.split("/", 3)[:3])
    csp = CSP.format(idp=idp_origin)

    @app.before_request
    def language() -> None:
        wanted = request.args.get("lang")
        if wanted in LANGUAGES:
            session["lang"] = wanted

    @app.context_processor
    def helpers() -> dict[str, Any]:
        lang = session.get("lang", "sv")

        def switch_url() -> str:
            args: dict[str, Any] = {**(request.view_args or {}), **request.args, "lang": "en" if lang == "sv" else "sv"}
            return url_for(request.endpoint or "pages.home", **args)

        from services.web.staff import dashboards_url

        # One navigation: the dashboards are in the header for the roles they admit, in this language.
        dashboards = dashboards_url() if set(session.get("roles", [])) & set(DASHBOARD_ROLES) else None
        return {"t": lambda key, **kw: t(key, lang, **kw), "lang": lang, "switch_url": switch_url,
                "me": {"name": session.get("name"), "signed_in": "sub" in session},
                "dashboards_link": f"{dashboards}/overview?lang={lang}" if dashboards else None}

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if "sub" in session:
            response.headers["Cache-Control"] = "no-store"  # personal pages stay out of shared caches
        return response

    @app.errorhandler(SignInAgain)
    def sign_in_again(_error: SignInAgain) -> Any:
        session.clear()
        return redirect(url_for("signin.login", next=request.full_path.rstrip("?")))

    @app.errorhandler(CSRFError)
    def csrf_refused(_error: CSRFError) -> Any:
        return render_template("error.html", status=400, title_key="error_csrf_title",
                               body_key="error_csrf_body"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        keys = {403: "error_403", 404: "error_404", 503: "error_503"}
        key = keys.get(status, "error_other")
        return render_template("error.html", status=status, title_key=key + "_title", body_key=key + "_body"), status

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    return app


