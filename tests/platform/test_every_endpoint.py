"""Across every service present: each endpoint declares its roles, refuses a missing token with
a 401 problem, and appears in the service's OpenAPI document with those roles."""

from __future__ import annotations

import pytest

from infra.cli import available_services, build_service
from shared.config import Settings

PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/static/<path:filename>"}


@pytest.mark.parametrize("name", available_services())
def test_endpoints_declare_roles_and_are_documented(name: str, sqlite_settings: Settings, serve, http) -> None:
    service = build_service(name, sqlite_settings)
    app = service.http()
    url = serve(app)
    spec = http.get(f"{url}/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC or rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "_delaktig_roles", None)
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None
        guarded = bool(blueprint and app.before_request_funcs.get(blueprint))
        if rule.rule in ("/login", "/logout"):
            continue  # the sign-in pages themselves
        if getattr(view, "_delaktig_public", False):
            # Public on purpose (a published advert): documented as needing no token.
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                path = "/".join("{" + p.split(":")[-1].rstrip(">") + "}" if p.startswith("<") else p
                                for p in rule.rule.split("/"))
                operation = spec["paths"][path][method.lower()]
                assert operation.get("x-public") is True and operation.get("security") == [], (name, path)
            continue
        assert roles or guarded, f"{name} {rule.rule} declares no role and has no guard"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = rule.rule.replace("<", "{").replace(">", "}")
            path = "/".join(p.split(":")[-1] if p.startswith("{") else p for p in path.split("/"))
            path = "/".join("{" + p.split(":")[-1] if p.startswith("{") else p for p in path.split("/"))
            operation = spec["paths"].get(path, {}).get(method.lower())
            if operation is not None and roles:
                assert operation.get("x-roles") == list(roles), (name, path, method)
            target = rule.rule
            for arg in rule.arguments:
                target = target.replace(f"<{arg}>", "x")
                for conv in ("uuid", "int", "string", "path"):
                    target = target.replace(f"<{conv}:{arg}>", "00000000-0000-0000-0000-000000000000")
            response = http.request(method, f"{url}{target}", json={}, allow_redirects=False)
            if response.status_code == 302:  # a web page sends the browser to sign in
                assert response.headers["Location"].startswith("/login"), (name, target)
            else:
                assert response.status_code == 401, (name, method, target, response.status_code)
                assert response.headers["Content-Type"].startswith("application/problem+json")
            checked += 1
    assert checked > 0
    service.close()
