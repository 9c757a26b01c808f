"""Calls to the services' public HTTP APIs with the signed-in person's access token.

Answers map to what a page does: 401 → sign in again, 403/404 → the page does not exist for
this person, 400/409/422 → a message to show beside the form, anything else → "try later".
"""

from __future__ import annotations

from typing import Any

import requests
from flask import current_app, session
from werkzeug.exceptions import Forbidden, NotFound, ServiceUnavailable

TIMEOUT = 15.0


class SignInAgain(Exception):
    """The service no longer accepts the session's token."""


class Refused(Exception):
    """The service refused the command; ``detail`` says why, ``field`` names the input at fault."""

    def __init__(self, status: int, detail: str, field: str | None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field


def _http() -> requests.Session:
    http: requests.Session = current_app.extensions["web.http"]
    return http


def call(method: str, service: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
         raw: bool = False, idempotency_key: str | None = None) -> Any:
    """One request as the signed-in person; the decoded JSON (or the response when ``raw``).
    With ``idempotency_key`` the service runs the command at most once, however often it is sent
    (a double click, a reload of the answer)."""
    base = current_app.config["SERVICE_URLS"][service]
    headers = {"Authorization": f"Bearer {session.get('access_token', '')}", "Accept": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    try:
        r = _http().request(method, base + path, json=json, params=params, headers=headers, timeout=TIMEOUT)
    except requests.RequestException:
        raise ServiceUnavailable(f"{service} is not answering")
    if r.status_code == 401:
        raise SignInAgain()
    if r.status_code == 403:
        raise Forbidden()
    if r.status_code == 404 and method == "GET":
        raise NotFound()
    if r.status_code in (400, 404, 409, 422):
        body = r.json() if r.headers.get("Content-Type", "").endswith("json") else {}
        field = body.get("field") or next((p.get("name") for p in body.get("invalid_params", []) or []), None)
        raise Refused(r.status_code, str(body.get("detail") or r.reason), field)
    if r.status_code >= 500:
        raise ServiceUnavailable(f"{service} answered {r.status_code}")
    if raw:
        return r
    return r.json() if r.content else None


def get(service: str, path: str, **params: Any) -> Any:
    return call("GET", service, path, params=params or None)


def items(service: str, path: str, **params: Any) -> list[Any]:
    """Every item of a paginated list, following ``next_cursor`` at the largest page size. Only
    for lists bounded by one record (one recruitment's candidates, one person's assignments)."""
    found: list[Any] = []
    cursor: str | None = None
    while True:
        page = get(service, path, limit=200, **({"cursor": cursor} if cursor else {}), **params)
        found.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def post(service: str, path: str, body: Any = None, idempotency_key: str | None = None) -> Any:
    return call("POST", service, path, json=body if body is not None else {}, idempotency_key=idempotency_key)


def put(service: str, path: str, body: Any) -> Any:
    return call("PUT", service, path, json=body)
