"""Issue 11, item 4: the broker being unavailable is a 503 with Retry-After, never a 500 (the audit
service reads Kafka while answering a decision record)."""

from __future__ import annotations

import uuid

import pytest

from services.audit.service import Audit
from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import free_port
from tests.conftest import bearer


@pytest.mark.slow
def test_broker_unavailable_is_503_with_retry_after(sqlite_settings: Settings, serve, http) -> None:
    nowhere = sqlite_settings.with_(kafka_bootstrap=f"127.0.0.1:{free_port()}")  # nothing listens there
    service = Audit.build(nowhere)
    try:
        url = serve(service.http())
        token = mint_token(nowhere, roles=["auditor"], departments=["socialforvaltningen"])
        r = http.get(f"{url}/recruitments/{uuid.uuid4()}/decision-record", headers=bearer(token), timeout=120)
        assert r.status_code == 503, (r.status_code, r.text)
        assert int(r.headers["Retry-After"]) > 0
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert "broker" in r.json()["detail"] and "Nothing was changed" in r.json()["detail"]
    finally:
        service.close()
