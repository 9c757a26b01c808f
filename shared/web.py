"""The Flask application factory every service uses.

One JSON problem format (RFC 9457, ``application/problem+json``) for every error, naming the
field at fault; ``/healthz``, ``/readyz`` and ``/metrics`` (``METRICS_ALLOW`` only); OpenAPI at
``/openapi.json`` (flask-smorest); request logs as JSON without personal data; security headers
on every answer; JSON bodies checked strictly before any view parses them; a database or broker
outage answered 503 with ``Retry-After``; exactly-once commands with ``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import Api, Blueprint
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from werkzeug.exceptions import HTTPException

from shared import logs
from shared.auth import TokenVerifier, authorize_request
from shared.config import Settings
from shared.db import Database
from shared.errors import DomainError

log = logging.getLogger("delaktig.http")

PROBLEM = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024
# JSON bodies nested deeper than this are refused before they are parsed (the parser recurses).
MAX_JSON_DEPTH = 32
# How long a client should wait before retrying after a 503 (seconds).
RETRY_AFTER_SECONDS = 2

# Security headers on every answer. JSON needs no sources at all; HTML pages get a policy
# without any script (no inline script either) that an app may replace via
# ``app.config["DELAKTIG_HTML_CSP"]`` (or by setting the header on its own response).
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
HTML_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

_IDEMPOTENT_SAFE = ("A retry with the same Idempotency-Key is safe: the command is applied at most once "
                    "and the retry answers as the first success did.")
_BAD_STRING = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    """An RFC 9457 problem response; ``None`` extras are left out."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM
    return response


def _unavailable(title: str, detail: str, **extra: Any) -> Response:
    response = problem(503, title, detail, **extra)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
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


def _outage(error: BaseException) -> str | None:
    """What is unavailable when ``error`` (or what caused it) is a database or broker outage:
    connection refused or lost, admin shutdown, pool or lock timeouts, a locked SQLite file."""
    from eventsourcing import persistence

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        module = type(current).__module__
        if isinstance(current, sqlite3.OperationalError):
            message = str(current).lower()
            if any(word in message for word in ("locked", "busy", "unable to open", "disk i/o", "full")):
                return "database"
        elif module.startswith(("psycopg", "psycopg_pool")):
            import psycopg

            if isinstance(current, psycopg.OperationalError | psycopg.InterfaceError):
                return "database"
        elif isinstance(current, persistence.OperationalError | persistence.InterfaceError |
                        persistence.ConnectionUnavailableError | persistence.ConnectionPoolClosedError):
            cause = current.__cause__
            if not isinstance(cause, sqlite3.OperationalError) or _outage(cause):
                return "database"
        elif module.startswith("kafka"):
            return "broker"
        current = current.__cause__ or current.__context__
    return None


def _handle_unexpected(error: Exception) -> Response:
    if isinstance(error, HTTPException):
        return _handle_http(error)
    writes = request.method not in ("GET", "HEAD", "OPTIONS")
    # An open atomic scope is about to be rolled back (the answer is not a success).
    atomic = g.get("atomic_outcome") or ("rolled back" if "atomic" in g else None)
    if atomic == "rolled back":
        outcome = "Nothing was stored: the whole command was undone. " + _IDEMPOTENT_SAFE
    elif atomic == "unknown":
        outcome = "The database failed while storing the command, so it may or may not be stored. " + _IDEMPOTENT_SAFE
    elif writes:
        outcome = ("A change may have been stored before the failure. Send commands with an Idempotency-Key: "
                   + _IDEMPOTENT_SAFE)
    else:
        outcome = "Nothing was changed."
    what = _outage(error)
    if what is not None:
        log.warning("%s unavailable", what, extra={"path": request.path, "method": request.method,
                                                   "error": type(error).__name__})
        return _unavailable("Service unavailable", f"The {what} is unavailable; try again shortly. {outcome}",
                            retry_safe_with_idempotency_key=True if writes else None)
    log.exception("unhandled error", extra={"path": request.path, "method": request.method})
    return problem(500, "Internal error", f"The request failed. {outcome}")


class ServiceApi(Api):  # type: ignore[misc]
    def handle_http_exception(self, error: HTTPException) -> Response:
        return _handle_http(error)


def _metrics_networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in settings.metrics_allow]


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
    """Build a service's Flask app: problems, health, metrics, OpenAPI, logs, auth, hardening."""
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
        DELAKTIG_HTML_CSP=HTML_CSP,
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
        app.extensions["delaktig.db"] = db
    for key, value in (extensions or {}).items():
        app.extensions[key] = value
    metrics_networks = _metrics_networks(settings)

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
    if db is not None:  # events parked by this service's consumers (`delaktig deadletters`)
        from shared.consumer import dead_letter_count

        Gauge("delaktig_dead_letters", "Events parked as dead letters by this service's consumers",
              registry=registry).set_function(lambda: dead_letter_count(db))

    @app.before_request
    def _start_timer() -> Response | None:
        g.started = time.perf_counter()
        refused = _check_query()
        if refused is not None:
            return refused
        authorize_request()
        refused = _check_body()
        if refused is not None:
            return refused
        return _idempotency_begin() if request.method == "POST" else None

    # after_request hooks run last-registered first: the log sees the answer the client gets.
    @app.after_request
    def _log_request(response: Response) -> Response:
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

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        if "Content-Security-Policy" not in headers:
            html = response.mimetype == "text/html"
            headers["Content-Security-Policy"] = current_app.config["DELAKTIG_HTML_CSP"] if html else JSON_CSP
        # Answers may carry personal data: no cache (browser or proxy) may keep them.
        headers.setdefault("Cache-Control", "no-store")
        return response

    @app.after_request
    def _idempotency_end(response: Response) -> Response:
        return _idempotency_finish(response)

    @app.teardown_request
    def _idempotency_cleanup(_error: BaseException | None) -> None:
        scope = g.pop("atomic", None)
        if scope is not None:
            scope.rollback()

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
            return _unavailable("Not ready", f"{_outage(error) or 'a dependency'} is not available")
        if db is not None:
            from shared.consumer import dead_letter_count

            parked = dead_letter_count(db)
            if parked:  # serving, but some events never reached a read model: an operator must look
                return {"status": "degraded", "service": service, "dead_letters": parked}
        return {"status": "ready", "service": service}

    @app.get("/metrics")
    def metrics() -> Response:
        try:
            client = ipaddress.ip_address((request.remote_addr or "").split("%")[0])
        except ValueError:
            client = None
        if client is None or not any(client in network for network in metrics_networks):
            return problem(404, "Not Found", "The requested URL was not found on the server.")
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return app


# -- input checks that run before any view parses the request --------------------------------
def _check_query() -> Response | None:
    """Control characters (CR, LF, TAB, NUL ...) have no place in a query parameter: they only
    serve header injection and open redirects (``next=/%09/evil``), so refuse them early."""
    if not request.args and request.mimetype != "application/x-www-form-urlencoded":
        return None
    sources = [request.args]
    if request.mimetype == "application/x-www-form-urlencoded":
        sources.append(request.form)
    for source in sources:
        for name, values in source.lists():
            for value in (name, *values):
                if _CONTROL.search(value):
                    return problem(422, "Invalid input", f"{name}: control characters are not allowed",
                                   field=name, invalid_params=[{"name": name,
                                                                "reason": "control characters are not allowed"}])
    return None


_JSON_BODY_ENDPOINTS: dict[Any, bool] = {}


def _takes_json_body(app: Flask, endpoint: str | None) -> bool:
    """Whether the endpoint declares a JSON body (flask-smorest ``@arguments`` in ``json``)."""
    key = (id(app), endpoint)
    known = _JSON_BODY_ENDPOINTS.get(key)
    if known is None:
        view = app.view_functions.get(endpoint or "")
        parameters = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
        known = any(p.get("in") == "json" for p in parameters)
        _JSON_BODY_ENDPOINTS[key] = known
    return known


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def _check_body() -> Response | None:
    """Content type, presence, depth, duplicate keys and invalid strings of a JSON body, checked
    once for every service before webargs parses it (webargs would take another content type as
    an empty body, a duplicate key as the last one, and recurse into any depth)."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not _takes_json_body(current_app, request.endpoint):
        return None
    raw = request.get_data(cache=True)  # MAX_CONTENT_LENGTH: larger bodies are refused (413) here
    if request.mimetype and not _is_json(request.mimetype):
        return problem(415, "Unsupported media type", "send the body as application/json", field="Content-Type")
    if not raw.strip():
        return problem(422, "Invalid input", "a JSON body is required", field="body",
                       invalid_params=[{"name": "body", "reason": "a JSON body is required"}])
    if not request.mimetype:
        return problem(415, "Unsupported media type", "send the body with Content-Type: application/json",
                       field="Content-Type")
    return _check_json(raw)


def _json_depth(raw: bytes) -> int:
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # cannot be deeper than the limit: skip the scan
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _bad_string(value: Any, path: str) -> tuple[str, str] | None:
    """The first string (value or key) holding a NUL or a lone surrogate, and why."""
    if isinstance(value, str):
        match = _BAD_STRING.search(value)
        if match:
            return path or "body", ("contains a NUL character" if match.group() == "\x00"
                                    else "contains invalid Unicode (a lone surrogate)")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            found = _bad_string(key, name) or _bad_string(item, name)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_string(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def _invalid(field: str, reason: str, status: int = 422) -> Response:
    return problem(status, "Invalid input" if status == 422 else "Invalid JSON", f"{field}: {reason}", field=field,
                   invalid_params=[{"name": field, "reason": reason}])


def _check_json(raw: bytes) -> Response | None:
    if _json_depth(raw) > MAX_JSON_DEPTH:
        return _invalid("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels", 400)
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except _DuplicateKey as duplicate:
        return _invalid(duplicate.key, "this key appears more than once")
    except (UnicodeDecodeError, ValueError, RecursionError):
        return problem(400, "Invalid JSON", "the request body is not valid JSON", field="body",
                       invalid_params=[{"name": "body", "reason": "not valid JSON (UTF-8)"}])
    if b"\\u" in raw:  # NUL and lone surrogates can only arrive escaped (strict UTF-8 and JSON)
        found = _bad_string(value, "")
        if found:
            return _invalid(*found)
    return None


# -- exactly-once commands --------------------------------------------------------------------
def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST endpoint as honouring ``Idempotency-Key``.

    With a key, the whole command runs in one transaction of the service's event store: the
    key is claimed first (a concurrent request with the same key waits for the first to finish,
    then answers as it did; ``409`` if it takes too long), the events are stored, and the answer
    is recorded beside them, committed together. A retry after any failure therefore either finds
    the recorded answer (and replays it, ``Idempotent-Replayed: true``) or finds nothing stored
    and runs anew. The same key with another body is refused (422). Errors (non-2xx) store
    nothing. Responses stored this way must carry ids only, never personal data."""
    view._delaktig_idempotent = True  # type: ignore[attr-defined]
    return view


def _idempotency_scope() -> tuple[str, str, str] | None:
    """(key, caller, request hash) when this request asks for idempotency."""
    key = request.headers.get("Idempotency-Key")
    view = current_app.view_functions.get(request.endpoint or "")
    if not key or view is None or not getattr(view, "_delaktig_idempotent", False):
        return None
    if len(key) > 200 or _CONTROL.search(key):
        raise DomainError("Idempotency-Key must be at most 200 printable characters", field="Idempotency-Key")
    # Key the record on the caller authorize_request() already verified; without one, on the header.
    principal = getattr(g, "principal", None)
    header = request.headers.get("Authorization", "")
    caller = principal.sub if principal else hashlib.sha256(header.encode()).hexdigest()[:32]
    digest = hashlib.sha256(request.method.encode() + request.full_path.encode() + b"\n" +
                            request.get_data()).hexdigest()
    return key, caller, digest


def _replay(row: dict[str, Any], digest: str) -> Response:
    if row["request_hash"] != digest:
        return problem(422, "Idempotency key reused", "this Idempotency-Key was used for another request",
                       field="Idempotency-Key")
    response = current_app.response_class(row["body"], status=int(row["status"]), mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _idempotency_begin() -> Response | None:
    """Claim the key inside a new atomic scope of the event store, or answer from the record."""
    scope = _idempotency_scope()
    if scope is None:
        return None
    key, caller, digest = scope
    application = current_app.extensions.get("delaktig.app")
    if application is None:
        raise RuntimeError("@idempotent needs the service's application in app.extensions['delaktig.app']")
    table = application.idempotency_table
    atomic = application.begin_atomic()
    g.atomic = atomic
    try:
        claimed = atomic.tx.execute(
            f"INSERT INTO {table} (idem_key, principal, request_hash, status, body, created_at) "
            "VALUES (?, ?, ?, 0, '', ?) ON CONFLICT (idem_key, principal) DO NOTHING",
            (key, caller, digest, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
        ).rowcount
        row = None if claimed == 1 else atomic.tx.one(
            f"SELECT request_hash, status, body FROM {table} WHERE idem_key = ? AND principal = ?", (key, caller))
    except Exception as error:
        g.pop("atomic", None)
        atomic.rollback()
        if _lock_timeout(error):
            response = problem(409, "Request in progress",
                               "a request with this Idempotency-Key is still running; retry shortly",
                               field="Idempotency-Key")
            response.headers["Retry-After"] = "1"
            return response
        g.atomic_outcome = "rolled back"
        raise
    if claimed == 1:
        g.idempotency = (key, caller, table)
        return None
    g.pop("atomic", None)
    atomic.rollback()
    if row is None:  # claimed by a transaction that then rolled back; cannot happen after the wait
        return problem(409, "Request in progress", "retry shortly", field="Idempotency-Key")
    return _replay(row, digest)


def _lock_timeout(error: BaseException) -> bool:
    current: BaseException | None = error
    while current is not None:
        if type(current).__name__ == "LockNotAvailable":
            return True
        current = current.__cause__
    return False


def _idempotency_finish(response: Response) -> Response:
    """Commit the command's events with its answer (2xx), or undo everything (any other status)."""
    atomic = g.pop("atomic", None)
    if atomic is None:
        return response
    if not 200 <= response.status_code < 300:
        atomic.rollback()
        return response
    key, caller, table = g.idempotency
    try:
        atomic.tx.execute(f"UPDATE {table} SET status = ?, body = ? WHERE idem_key = ? AND principal = ?",
                          (response.status_code, response.get_data(as_text=True), key, caller))
    except Exception as error:
        atomic.rollback()
        g.atomic_outcome = "rolled back"
        return _handle_unexpected(error)
    try:
        atomic.commit()
    except Exception as error:
        g.atomic_outcome = "unknown"
        return _handle_unexpected(error)
    return response
