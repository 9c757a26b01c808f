"""Schemathesis against every service's OpenAPI document, with valid tokens and the real ids of a
running world (so generated requests reach real state): no answer is a 5xx, and every answer
matches the documented schema and content type (issue 17, item 4 and finding 17).

Bounded: a few generated requests per operation and mode, derandomised, so the suite stays fast
and a failure repeats."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from tests.security.world import OWN, World

POSITIVE_EXAMPLES = 6
NEGATIVE_EXAMPLES = 3
SERVICES = ("participants", "recruitments", "matching", "audit", "dashboards")


def _headers(world: World, roles: list[str]) -> dict[str, str]:
    """The most capable token the operation accepts (a participant's for participant-only ones)."""
    if "administrator" in roles:
        return world.admin
    if "hiring_manager" in roles:
        return world.staff("hiring_manager", "own")  # the world's recruitments' own manager
    if "auditor" in roles:
        return world.staff("auditor", "own")
    return world.me(world.ids["subject"])


def _path_parameters(world: World, names: list[str]) -> dict[str, str]:
    c1, _ = world.ensure_candidates()
    hold = world.ids.setdefault("fuzz_hold", world.ok(
        "POST", "participants", f"/participants/{world.ids['subject']}/legal-holds", world.admin,
        json={"reason": "fuzzing needs a hold"})["hold_id"])
    known = {"participant_id": world.ids["subject"], "rid": world.ids["rec"], "recruitment_id": world.ids["rec"],
             "cid": c1, "hold_id": hold, "code": OWN}
    return {name: known[name] for name in names}


def _refused_headers(world: World, roles: list[str]) -> dict[str, str] | None:
    """A valid token of a role the operation does not accept (None when every role may call it)."""
    for role in ("researcher", "auditor", "participant", "hiring_manager", "coordinator"):
        if role not in roles:
            return world.me(world.ids["stranger"]) if role == "participant" else world.staff(role, "other")
    return None


def _run(world: World, service: str, operation: Any, mode: GenerationMode, examples: int,
         checks: list[Any], headers: dict[str, str] | None = None, expect: tuple[int, ...] = ()) -> list[str]:
    """Up to ``examples`` generated requests; every failure, described."""
    failures: list[str] = []
    names = [p.name for p in operation.path_parameters]
    if headers is None:
        headers = _headers(world, operation.definition.raw.get("x-roles") or [])
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=_path_parameters(world, names),
                                     headers=headers)

    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def send(case: Any) -> None:
        response = case.call(base_url=world.urls[service], session=world.http, timeout=20)
        if expect and response.status_code not in expect:
            failures.append(f"{service} {operation.label}: {response.status_code}, expected one of {expect}")
        try:
            case.validate_response(response, checks=checks)
        except Exception as error:  # every check failure, not only the first
            failures.append(f"{service} {operation.label} [{mode.value}] -> {response.status_code}: "
                            f"{str(error)[:600]}")

    try:
        send()
    except Unsatisfiable:
        pass  # nothing to generate in this mode (e.g. no parameter to make invalid)
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("service", SERVICES)
def test_generated_requests_get_documented_answers_and_never_a_5xx(world: World, service: str) -> None:
    spec = requests.get(f"{world.urls[service]}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    # Destructive operations last, so that the others meet real state.
    operations.sort(key=lambda op: ("erasure" in op.path or "close" in op.path or op.method == "delete"))
    for operation in operations:
        failures += _run(world, service, operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES,
                         [not_a_server_error, content_type_conformance, response_schema_conformance])
        failures += _run(world, service, operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES,
                         [not_a_server_error, content_type_conformance])
        # Without a token, and with a role the operation refuses: documented problems, never a 5xx.
        every = [not_a_server_error, content_type_conformance, response_schema_conformance]
        if operation.definition.raw.get("x-public"):  # anyone may call it: no role to refuse
            failures += _run(world, service, operation, GenerationMode.POSITIVE, 1, every, headers={})
            continue
        failures += _run(world, service, operation, GenerationMode.POSITIVE, 1, every, headers={}, expect=(401,))
        refused = _refused_headers(world, operation.definition.raw.get("x-roles") or [])
        if refused is not None:
            failures += _run(world, service, operation, GenerationMode.POSITIVE, 1, every, headers=refused,
                             expect=(403, 404))
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_the_documented_scorecard_example_opens_a_recruitment(world: World) -> None:
    """The scorecard rule (3-6 attributes, unique keys, motivation included) is in the schema and
    its example is a scorecard the service accepts."""
    spec = requests.get(f"{world.urls['recruitments']}/openapi.json", timeout=10).json()
    body = spec["components"]["schemas"]["OpenRecruitmentIn"]["properties"]["scorecard"]
    assert (body["minItems"], body["maxItems"], body["uniqueItems"]) == (3, 6, True)
    assert "motivation_user_participation" in body["description"]
    r = world.http.post(f"{world.urls['recruitments']}/recruitments", headers=world.coord, json={
        "department": OWN, "unit": "u", "position": "Kurator", "hiring_manager": "hm", "interview_format": "joint",
        "scorecard": body["example"]})
    assert r.status_code == 201, r.text
    too_few, repeated = body["example"][:2], [*body["example"], *body["example"][:1]]
    without_motivation = [*body["example"][1:], {"key": "calm", "label": "Lugn"}]
    for wrong in (too_few, repeated, without_motivation):
        r = world.http.post(f"{world.urls['recruitments']}/recruitments", headers=world.coord, json={
            "department": OWN, "unit": "u", "position": "Kurator", "hiring_manager": "hm",
            "interview_format": "joint", "scorecard": wrong})
        assert r.status_code == 422 and r.json()["field"] == "scorecard", r.text
