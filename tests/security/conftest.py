"""The security tests share one running world per module (see world.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from shared.config import Settings
from tests.security.world import World, start_world


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, broker: str) -> Iterator[World]:
    """The running world on SQLite, or on PostgreSQL when parametrised with "postgres"."""
    from tests.conftest import LiveServer, _settings

    backend = getattr(request, "param", "sqlite")
    database = request.getfixturevalue("pg_database") if backend == "postgres" else None
    settings: Settings = _settings(tmp_path_factory.mktemp("matrix"), broker, database)
    servers: list[LiveServer] = []

    def serve(app: Any) -> str:
        servers.append(LiveServer(app))
        return servers[-1].url

    mp = pytest.MonkeyPatch()
    for key, value in {"DATA_DIR": str(settings.data_dir), "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
                       "TOPIC_PREFIX": settings.topic_prefix, "DATABASE_URL": settings.database_url or "",
                       "DB_NAMESPACE": settings.db_namespace}.items():
        mp.setenv(key, value)
    with requests.Session() as http:
        built, _ = start_world(settings, serve, http)
        yield built
    for server in servers:
        server.close()
    for service in built.services.values():
        service.close()
    mp.undo()


