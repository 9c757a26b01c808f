"""Test session fixtures: a real Kafka-protocol broker (tansu, started here) and a real
PostgreSQL (127.0.0.1:5432, user postgres). Under CI a missing PostgreSQL fails the run loudly.

Each test gets its own ``Settings``: a fresh SQLite directory or a fresh PostgreSQL schema
namespace, and its own topic prefix, so tests never see each other's events.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from werkzeug.serving import make_server

from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import free_port, start_local_broker

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_up() -> bool:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


POSTGRES_UP = _postgres_up()
if os.environ.get("CI") and not POSTGRES_UP:
    raise RuntimeError(f"PostgreSQL is required under CI and is not reachable at {PG_URL}")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tansu broker on a free loopback port for the whole session."""
    port = free_port()
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    proc = start_local_broker("127.0.0.1", port, log)
    yield f"127.0.0.1:{port}"
    # Clients left open by finished tests would log every failed reconnect once the broker is gone.
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except Exception:
        proc.kill()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One scratch PostgreSQL database for the session (schemas per test inside it)."""
    if not POSTGRES_UP:
        pytest.skip("PostgreSQL not reachable (allowed outside CI only)")
    name = f"delaktig_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _settings(tmp_path: Path, broker: str, database_url: str | None) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        db_namespace=f"t{tag}_" if database_url else "",
        kafka_bootstrap=broker,
        topic_prefix=f"t{tag}.",
        relay_poll_interval=0.05,
        checkpoint_every_events=10,
        checkpoint_every_seconds=1.0,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path, broker: str) -> Settings:
    """Settings for one test, on each backend."""
    url = request.getfixturevalue("pg_database") if request.param == "postgres" else None
    return _settings(tmp_path, broker, url)


@pytest.fixture
def sqlite_settings(tmp_path: Path, broker: str) -> Settings:
    return _settings(tmp_path, broker, None)


@pytest.fixture
def pg_settings(tmp_path: Path, broker: str, pg_database: str) -> Settings:
    return _settings(tmp_path, broker, pg_database)


class LiveServer:
    """A real HTTP server on a loopback port (werkzeug, threaded) around a Flask app."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def serve() -> Iterator[Callable[[Any], str]]:
    """``url = serve(flask_app)`` runs the app over real HTTP for this test."""
    servers: list[LiveServer] = []

    def start(app: Any) -> str:
        server = LiveServer(app)
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def token(settings_for_token: Settings) -> Callable[..., str]:
    def make(role: str = "coordinator", departments: tuple[str, ...] = ("socialforvaltningen",),
             sub: str | None = None) -> str:
        return mint_token(settings_for_token, sub=sub, roles=[role], departments=departments)

    return make


@pytest.fixture
def settings_for_token(request: pytest.FixtureRequest) -> Settings:
    for name in ("settings", "sqlite_settings", "pg_settings"):
        if name in request.fixturenames:
            value: Settings = request.getfixturevalue(name)
            return value
    raise RuntimeError("token fixture needs one of the settings fixtures")


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


# -- distribution over pytest-xdist workers (`make test` runs two) --------------------------------
# Each test file stays on one worker (its module fixtures start once). The tests that run the whole
# system on PostgreSQL (every service, its workers and its gunicorn processes: 50-90 connections
# each) share one scope, so two of them never run at once against the server's 100 connections.
# The web tests share one `delaktig up` per session (tests/web/conftest.py) and build on each
# other's journeys in file order (the staff workspace reads the panel that scored in the hiring
# manager's journey): they run as one scope, in that order, on one worker.
WHOLE_SYSTEM_FILES = ("tests/test_cross_service.py", "tests/platform/test_demo.py",
                      "tests/security/test_authorization_matrix.py", "tests/contract/test_demo_run.py",
                      "tests/audit/test_replay.py", "tests/audit/test_seed.py")


def scope_of(nodeid: str) -> str:
    """The scope a test runs in: its file, the web tests, or the whole system on PostgreSQL."""
    path = nodeid.split("::", 1)[0]
    if path.startswith("tests/web/"):
        return "web-system"
    if path in WHOLE_SYSTEM_FILES and "postgres" in nodeid:
        return "whole-system-on-postgresql"
    return path


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # pytest-xdist's hook (before its own default)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope`` with the scopes above: a file, or a named group of files, runs whole on
    one worker, in collection order. (xdist's own ``loadgroup`` with ``xdist_group`` marks did not
    group here under pytest 9.2: marked tests of one group still went to both workers.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class FileOrGroup(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return FileOrGroup(config, log)
