"""The authorisation matrix covers every operation of every OpenAPI document, names no operation
that does not exist, uses only known roles and scopes, and the matrix test has a request for each."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cli import available_services, build_service
from shared.auth import ROLES
from shared.config import Settings
from tests.security.test_authorization_matrix import BUILDERS
from tests.security.world import load_matrix

SCOPES = {"any", "department", "subject", "panel", "assigned"}


def operations(name: str, tmp_path: Path) -> dict[str, list[str]]:
    service = build_service(name, Settings(data_dir=tmp_path / name, kafka_bootstrap="127.0.0.1:1"))
    try:
        spec = service.http().test_client().get("/openapi.json").get_json()
    finally:
        service.close()
    return {f"{method.upper()} {path}": op.get("x-roles") or []
            for path, ops in spec["paths"].items() for method, op in ops.items() if method != "parameters"}


@pytest.mark.parametrize("name", available_services())
def test_every_operation_has_a_matrix_row(name: str, tmp_path: Path) -> None:
    matrix = load_matrix()
    documented = operations(name, tmp_path)
    rows = matrix.get(name, {})
    assert documented, f"{name} documents no operation"
    assert sorted(set(documented) - set(rows)) == [], f"{name}: operations without a matrix row"
    assert sorted(set(rows) - set(documented)) == [], f"{name}: matrix rows for no operation"
    for operation, row in rows.items():
        assert set(row["allow"]) <= set(ROLES), (name, operation)
        assert set(row["allow"].values()) <= SCOPES, (name, operation)
        assert row.get("owner"), (name, operation)
        # The route's role guard and the matrix agree: no role the route refuses is in the matrix.
        assert set(row["allow"]) <= set(documented[operation]), (name, operation, documented[operation])
        assert (name, operation) in BUILDERS, f"the matrix test sends no request for {name} {operation}"
