"""The Flask application factory every service uses.

One JSON problem format (RFC 9457, ``application/problem+json``) for every error, naming the
field at fault; ``/healthz``, ``/readyz`` and ``/metrics``; OpenAPI at ``/openapi.json``
(flask-smorest); request logs as JSON without personal data; idempotency keys on POST.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import Api, Blueprint
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException

from shared import logs
from shared.auth import TokenVerifier, authorize_request
from shared.config import Settings
from shared.db import Database
from shared.errors import DomainError
from shared.openapi import ProblemResponses

log = logging.getLogger("delaktig.http")

PROBLEM = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024

IDEMPOTENCY_DDL = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    idem_key TEXT NOT NULL,
    principal TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (idem_key, principal)
)
"""


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    return response


def _flatten(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """``{"json": {"name": ["Missing data"]}}`` -> ``[{"name": "name", "reason": "Missing data"}]``."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            key = str(key)
            name = key if not prefix else f"{prefix}.{key}"
            if not prefix and key in ("json", "query", "form", "headers", "path", "files"):
                name = "" if key == "json" else key
            out.extend(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            out.append({"name": prefix or "body", "reason": message})
    elif isinstance(messages, list):
        for item in messages:
            out.extend(_flatten(item, prefix))
    else:
        out.append({"name": prefix or "body", "reason": str(messages)})
    return out


def _handle_http(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if messages:
        params = _flatten(messages)
        detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params)
        if status == 400 and "Invalid JSON" in detail:
            return problem(400, "Invalid JSON", "the request body is not valid JSON", invalid_params=params)
        return problem(status, "Invalid input", detail, invalid_params=params, field=params[0]["name"])
    if status == 413:
        return problem(413, "Request too large", f"request bodies are limited to {MAX_BODY_BYTES} bytes",
                       field="body")
    return problem(status, error.name, error.description or error.name)


def _handle_domain(error: DomainError) -> Response:
    extra = dict(error.extra)
    if error.field:
        extra.setdefault("invalid_params", [{"name": error.field, "reason": error.detail}])
    return problem(error.status, error.title, error.detail, field=error.field, **extra)


def _handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _handle_http(error)
    log.exception("unhandled error", extra={"path": request.path, "method": request.method})
    return problem(500, "Internal error", "the request failed; nothing was changed")


class ServiceApi(ProblemResponses, Api):  # type: ignore[misc]  # problems documented as problem+json
    def handle_http_exception(self, error: HTTPException) -> Response:
        return _handle_http(error)


def create_app(
    service: str,
    settings: Settings,
    blueprints: list[Blueprint],
    *,
    db: Database | None = None,
    description: str = "",
    readiness: Callable[[], None] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Flask:
    """Build a service's Flask app: problems, health, metrics, OpenAPI, logs, auth."""
    logs.configure()
    app = Flask(service)
    app.config.update(
        API_TITLE=f"Delaktig {service} API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={
            "info": {"description": description or f"The {service} service of Delaktig."},
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
        },
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["delaktig.settings"] = settings
    app.extensions["delaktig.verifier"] = TokenVerifier(settings)
    if db is not None:
        db.migrate(IDEMPOTENCY_DDL)
        app.extensions["delaktig.db"] = db
    for key, value in (extensions or {}).items():
        app.extensions[key] = value

    api = ServiceApi(app)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(DomainError, _handle_domain)
    app.register_error_handler(Exception, _handle_unexpected)

    registry = CollectorRegistry()
    requests_total = Counter("http_requests_total", "HTTP requests", ["method", "endpoint", "status"],
                             registry=registry)
    latency = Histogram("http_request_seconds", "HTTP request latency", ["endpoint"], registry=registry)

    @app.before_request
    def _start_timer() -> Response | None:
        g.started = time.perf_counter()
        authorize_request()
        return _idempotency_replay() if request.method == "POST" else None

    @app.after_request
    def _log_request(response: Response) -> Response:
        _idempotency_record(response)
        elapsed = time.perf_counter() - getattr(g, "started", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        requests_total.labels(request.method, endpoint, str(response.status_code)).inc()
        latency.labels(endpoint).observe(elapsed)
        if endpoint not in ("/healthz", "/metrics"):
            principal = getattr(g, "principal", None)
            log.info(
                "request",
                extra={
                    "service": service,
                    "method": request.method,
                    "path": endpoint,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    "actor": principal.sub if principal else None,
                },
            )
        return response

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok", "service": service}

    @app.get("/readyz")
    def readyz() -> Any:
        try:
            if db is not None:
                with db.transaction() as tx:
                    tx.execute("SELECT 1")
            if readiness is not None:
                readiness()
        except Exception as error:
            return problem(503, "Not ready", f"{type(error).__name__}")
        return {"status": "ready", "service": service}

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return app


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST endpoint as honouring ``Idempotency-Key``: the same key and body replay the
    first response; the same key with another body is refused. The work is done by request
    hooks in ``create_app``, so the decorator's position among the others does not matter.
    Responses stored this way must carry ids only, never personal data."""
    view._delaktig_idempotent = True  # type: ignore[attr-defined]
    return view


def _idempotency_scope() -> tuple[Database, str, str, str] | None:
    """(db, key, caller, request hash) when this request asks for idempotency."""
    key = request.headers.get("Idempotency-Key")
    view = current_app.view_functions.get(request.endpoint or "")
    if not key or view is None or not getattr(view, "_delaktig_idempotent", False):
        return None
    if len(key) > 200:
        raise DomainError("Idempotency-Key is longer than 200 characters", field="Idempotency-Key")
    db: Database = current_app.extensions["delaktig.db"]
    # Key the record on the caller authorize_request() already verified; without one, on the header.
    principal = getattr(g, "principal", None)
    header = request.headers.get("Authorization", "")
    caller = principal.sub if principal else hashlib.sha256(header.encode()).hexdigest()[:32]
    digest = hashlib.sha256(request.method.encode() + request.path.encode() + request.get_data()).hexdigest()
    return db, key, caller, digest


def _idempotency_replay() -> Response | None:
    scope = _idempotency_scope()
    if scope is None:
        return None
    db, key, caller, digest = scope
    with db.transaction() as tx:
        row = tx.one("SELECT request_hash, status, body FROM idempotency_keys WHERE idem_key = ? AND principal = ?",
                     (key, caller))
    if row is None:
        g.idempotency = scope
        return None
    if row["request_hash"] != digest:
        return problem(422, "Idempotency key reused", "this Idempotency-Key was used for another request",
                       field="Idempotency-Key")
    response = current_app.response_class(row["body"], status=int(row["status"]), mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotency_record(response: Response) -> None:
    scope = getattr(g, "idempotency", None)
    if scope is None or not 200 <= response.status_code < 300:
        return
    db, key, caller, digest = scope
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO idempotency_keys (idem_key, principal, request_hash, status, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key, caller, digest, response.status_code, response.get_data(as_text=True),
             time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
        )

