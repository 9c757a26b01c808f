"""Issue 11, item 4: the broker being unavailable is never a 500. The audit service answers a
decision record from its read model (issue 14), so with the broker gone it still answers: the
record of a recruitment it has applied, with its proofs, and "not found" for one it never saw."""

from __future__ import annotations

import uuid

import pytest

from services.audit.service import Audit
from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import free_port
from tests.audit.test_decision_record import _recruitment
from tests.conftest import bearer


@pytest.mark.slow
def test_broker_unavailable_the_decision_record_still_answers(sqlite_settings: Settings, serve, http) -> None:
    case = _recruitment(sqlite_settings)
    audit = Audit.build(sqlite_settings)
    audit.catch_up()
    audit.close()
    nowhere = sqlite_settings.with_(kafka_bootstrap=f"127.0.0.1:{free_port()}")  # nothing listens there
    service = Audit.build(nowhere)
    try:
        url = serve(service.http())
        token = bearer(mint_token(nowhere, roles=["auditor"], departments=["socialforvaltningen"]))
        r = http.get(f"{url}/recruitments/{case['id']}/decision-record", headers=token, timeout=120)
        assert r.status_code == 200, (r.status_code, r.text)
        assert r.json()["decided"] and r.json()["proofs_verified"] and r.json()["history_verified"]
        r = http.get(f"{url}/recruitments/{uuid.uuid4()}/decision-record", headers=token, timeout=120)
        assert r.status_code == 404, (r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
    finally:
        service.close()
