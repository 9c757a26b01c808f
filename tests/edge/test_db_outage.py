"""Issue 11, item 4: PostgreSQL unreachable for the service -> 503 with Retry-After and a problem
body, never 500; retries with the same Idempotency-Key after the outage register nobody twice.

The service reaches PostgreSQL through a TCP proxy the test controls, so the outage is real for
the service (connections dropped, new ones refused) while the test itself still sees the data."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from services.participants.service import Participants
from shared.auth import mint_token
from shared.config import Settings
from tests.conftest import bearer
from tests.edge.conftest import PERSON, registrations
from tests.edge.faults import CuttableProxy

DEP = "socialforvaltningen"


@pytest.fixture
def proxy(pg_database: str) -> Iterator[CuttableProxy]:
    url = urlparse(pg_database)
    p = CuttableProxy((url.hostname or "127.0.0.1", url.port or 5432))
    yield p
    p.close()


def assert_unavailable(response: requests.Response, keyed: bool = True) -> dict[str, Any]:
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["Content-Type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == 503 and "database" in problem["detail"]
    if keyed:  # the retry with the same key is safe, and the problem says so
        assert "Idempotency-Key" in problem["detail"] and problem["retry_safe_with_idempotency_key"] is True
    else:
        assert "retry_safe_with_idempotency_key" not in problem
    return problem


def until_success(http: requests.Session, url: str, body: dict[str, Any], headers: dict[str, str],
                  statuses: list[int]) -> requests.Response:
    """Retry as a client should: same key, honouring Retry-After."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        r = http.post(url, json=body, headers=headers, timeout=60)
        statuses.append(r.status_code)
        if r.status_code < 500:
            return r
        assert_unavailable(r)
        time.sleep(float(r.headers["Retry-After"]))
    raise AssertionError(f"no success after the outage: {statuses}")


@pytest.mark.slow
@pytest.mark.postgres
def test_database_outage_is_503_and_retries_with_the_key_apply_once(pg_settings: Settings, proxy: CuttableProxy,
                                                                    serve, http) -> None:
    via_proxy = pg_settings.with_(database_url=f"postgresql://postgres@127.0.0.1:{proxy.port}/"
                                               f"{pg_settings.postgres_params()['dbname']}")
    service = Participants.build(via_proxy)
    observer = Participants.build(pg_settings)  # the test's own view of the store, not through the proxy
    statuses: list[int] = []
    try:
        url = serve(service.http())
        token = mint_token(pg_settings, roles=["coordinator"], departments=[DEP])
        first = http.post(f"{url}/participants", json=PERSON, headers={**bearer(token), "Idempotency-Key": "a"})
        assert first.status_code == 201

        # 1. The database goes away: commands, reads and readiness answer 503, never 500.
        proxy.cut()
        b = {**bearer(token), "Idempotency-Key": "b"}
        assert_unavailable(http.post(f"{url}/participants", json=PERSON, headers=b, timeout=60))
        plain = assert_unavailable(http.post(f"{url}/participants", json=PERSON, headers=bearer(token), timeout=60),
                                   keyed=False)
        assert "may have been stored" in plain["detail"]  # without a key, no promise that nothing happened
        assert_unavailable(http.get(f"{url}/participants/{first.json()['id']}?purpose=check", headers=bearer(token),
                                    timeout=60), keyed=False)
        assert http.get(f"{url}/readyz", timeout=60).status_code == 503
        proxy.restore()
        second = until_success(http, f"{url}/participants", PERSON, b, statuses)
        assert second.status_code == 201

        # 2. The database goes away in the middle of a command, after its events were written.
        application = service.app
        original_save = application.save
        cuts = {"left": 1}

        def save_then_lose_the_database(*objs: Any, **kwargs: Any) -> Any:
            result = original_save(*objs, **kwargs)
            if cuts["left"]:
                cuts["left"] -= 1
                proxy.cut()
            return result

        application.save = save_then_lose_the_database  # type: ignore[method-assign]
        c = {**bearer(token), "Idempotency-Key": "c"}
        problem = assert_unavailable(http.post(f"{url}/participants", json=PERSON, headers=c, timeout=60))
        assert "Nothing was stored" in problem["detail"] or "may or may not" in problem["detail"]
        proxy.restore()
        third = until_success(http, f"{url}/participants", PERSON, c, statuses)
        assert third.status_code == 201
        # Every retry after the outage answers as the first success did.
        for key, answer in (("a", first), ("b", second), ("c", third)):
            again = http.post(f"{url}/participants", json=PERSON, headers={**bearer(token), "Idempotency-Key": key})
            assert again.status_code == 201 and again.json() == answer.json()
        assert 500 not in statuses
        assert registrations(observer) == 3
    finally:
        proxy.restore()
        service.close()
        observer.close()
