"""No input reaches a 500 (issue 17, item 3; findings 9, 10, 12, 13, 15), on every service.

The checks live once in ``shared/web.py`` and run before webargs parses a body, so each service
gets them; these tests send the hostile inputs to a body-taking endpoint of each service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from services.dashboards.service import Dashboards
from services.matching.service import Matching
from services.participants.service import Participants
from services.recruitments.service import Recruitments
from shared.auth import mint_token
from shared.config import Settings
from tests.conftest import bearer
from tests.edge.conftest import PERSON, registrations

DEP = "socialforvaltningen"
RID = "7d1f6a52-0a4e-4c61-9a35-4c8e3f0b9d11"


@pytest.fixture
def services(sqlite_settings: Settings, serve) -> Iterator[dict[str, tuple[str, str]]]:
    """service -> (base url, a POST path that takes a JSON body); participants also as ``"app"``."""
    built = [Participants.build(sqlite_settings), Recruitments.build(sqlite_settings),
             Matching.build(sqlite_settings)]
    paths = ["/participants", "/recruitments", f"/recruitments/{RID}/proposals"]
    urls = {svc.name: (serve(svc.http()), path) for svc, path in zip(built, paths, strict=True)}
    urls["app"] = built[0]  # type: ignore[assignment]
    yield urls
    for svc in built:
        svc.close()


def web_services(services: dict[str, Any]) -> list[tuple[str, tuple[str, str]]]:
    return [(name, value) for name, value in services.items() if name != "app"]


def auth(settings: Settings) -> dict[str, str]:
    return bearer(mint_token(settings, roles=["coordinator"], departments=[DEP]))


def post_raw(http: Any, url: str, data: bytes | str, headers: dict[str, str],
             content_type: str | None = "application/json") -> Any:
    if content_type:
        headers = {**headers, "Content-Type": content_type}
    return http.post(url, data=data, headers=headers)


def problem_of(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_deep_nesting_is_refused_before_parsing(services, http, sqlite_settings: Settings) -> None:
    """Finding 9: JSON nested 10,000 deep -> RecursionError -> 500."""
    headers = auth(sqlite_settings)
    for name, (url, path) in web_services(services):
        for body in ("[" * 10_000 + "]" * 10_000, '{"name": ' + "[" * 10_000 + "]" * 10_000 + "}",
                     '{"a":' * 5_000 + "1" + "}" * 5_000, "[" * 10_000):
            problem = problem_of(post_raw(http, url + path, body, headers), 400, 413)
            assert problem["field"] == "body", (name, problem)


def test_lone_surrogates_and_nul_bytes_are_422_naming_the_field(services, http, sqlite_settings: Settings) -> None:
    """Findings 10 and 13: a lone surrogate -> UnicodeEncodeError -> 500; NUL bytes accepted."""
    headers = auth(sqlite_settings)
    url, path = services["participants"]
    for raw, field in (('"Bertil \\ud800 Ek"', "name"), ('"Bertil \\udfff"', "name"),
                       ('"Bertil\\u0000Ek"', "name")):
        body = json.dumps({**PERSON, "name": "@@"}).replace('"@@"', raw)
        problem = problem_of(post_raw(http, url + path, body, headers), 422)
        assert problem["field"] == field and problem["invalid_params"][0]["name"] == field
    body = json.dumps({**PERSON, "departments": ["@@"]}).replace('"@@"', '"soc\\ud83d"')
    assert problem_of(post_raw(http, url + path, body, headers), 422)["field"] == "departments.0"
    body = json.dumps(PERSON)[:-1] + ', "\\ud800x": 1}'
    assert "surrogate" in problem_of(post_raw(http, url + path, body, headers), 422)["invalid_params"][0]["reason"]
    # Escaped characters that are fine stay fine: a surrogate pair and ordinary escapes.
    ok = json.dumps({**PERSON, "name": "Åsa 😀 \"Ek\"\n"}, ensure_ascii=True)
    assert post_raw(http, url + path, ok, headers).status_code == 201
    for name, (other, other_path) in web_services(services):
        body = '{"text": "a\\ud800", "panel_size": 3, "title": "\\u0000"}'
        assert problem_of(post_raw(http, other + other_path, body, headers), 422), name


def test_duplicate_keys_are_refused(services, http, sqlite_settings: Settings) -> None:
    """Finding 13: duplicate JSON keys were accepted (last wins)."""
    headers = auth(sqlite_settings)
    url, path = services["participants"]
    body = json.dumps(PERSON)[:-1] + ', "name": "Another Name"}'
    problem = problem_of(post_raw(http, url + path, body, headers), 422)
    assert problem["field"] == "name" and "more than once" in problem["detail"]
    nested = '{"panel_size": 3, "x": {"a": 1, "a": 2}}'
    for name, (other, other_path) in web_services(services):
        assert problem_of(post_raw(http, other + other_path, nested, headers), 422)["field"] == "a", name


def test_other_content_types_are_415_and_missing_bodies_422(services, http, sqlite_settings: Settings) -> None:
    """Finding 12: a wrong content type or no body counted as an empty body (PUT contact-details as
    text/plain -> 200 and an empty event; POST proposals with no body -> 201)."""
    headers = auth(sqlite_settings)
    url, path = services["participants"]
    created = http.post(url + path, json=PERSON, headers=headers)
    assert created.status_code == 201
    pid = created.json()["id"]
    contact = f"{url}/participants/{pid}/contact-details"
    before = services["app"].app.max_position()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/xml", "text/json"):
        r = http.put(contact, data=json.dumps({"phone": "+46 70 000 00 00"}),
                     headers={**headers, "Content-Type": content_type})
        assert problem_of(r, 415)["field"] == "Content-Type", content_type
    r = http.put(contact, data=json.dumps({"phone": "+46 70 000 00 00"}), headers=headers)  # no Content-Type
    assert problem_of(r, 415)["field"] == "Content-Type"
    assert services["app"].app.max_position() == before  # no empty change was stored
    for name, (other, other_path) in web_services(services):
        for r in (http.post(other + other_path, headers=headers),
                  post_raw(http, other + other_path, "", headers),
                  post_raw(http, other + other_path, "  \n", headers)):
            assert problem_of(r, 422)["field"] == "body", name
    assert http.put(contact, json={"phone": "+46 70 000 00 00"}, headers=headers).status_code == 200
    # application/problem+json style suffixes and a charset are JSON too.
    r = post_raw(http, url + path, json.dumps(PERSON), headers, "application/json; charset=utf-8")
    assert r.status_code == 201


def test_control_characters_in_query_values_are_422_never_500(sqlite_settings: Settings, serve, http) -> None:
    """Finding 15: ``next`` holding LF or CRLF -> 500 (and finding 2's tab in ``next``)."""
    dashboards = Dashboards.build(sqlite_settings)
    participants = Participants.build(sqlite_settings)
    try:
        token = mint_token(sqlite_settings, roles=["coordinator"], departments=[DEP])
        dash = serve(dashboards.http())
        for value in ("/overview%0d%0aSet-Cookie:%20x=1", "/overview%0a", "/%09/evil.example", "%00"):
            r = http.get(f"{dash}/login?token={token}&next={value}", allow_redirects=False)
            assert r.status_code == 422, (value, r.status_code)
            assert r.json()["field"] == "next"
            r = http.post(f"{dash}/login", data=f"token={token}&next={value}", allow_redirects=False,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert r.status_code < 500 and "Set-Cookie: x" not in str(r.headers), value
        url = serve(participants.http())
        r = http.get(f"{url}/participants?department=soc%0d%0aX", headers=bearer(token))
        assert problem_of(r, 422)["field"] == "department"
        assert registrations(participants) == 0
    finally:
        dashboards.close()
        participants.close()
