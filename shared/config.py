"""Configuration from the environment.

The embedded default keeps everything under ``DATA_DIR`` (SQLite files, development keys);
setting ``DATABASE_URL=postgresql://...`` switches every store to PostgreSQL, one schema per
service (prefixed by ``DB_NAMESPACE`` when several installations share one database).

Production security (docs/runbook.md): Kafka over TLS and/or SASL (SCRAM) with ``KAFKA_SECURITY_PROTOCOL``,
``KAFKA_SASL_*`` and ``KAFKA_SSL_*``; PostgreSQL over TLS with libpq's own ``PGSSLMODE``,
``PGSSLROOTCERT``, ``PGSSLCERT`` and ``PGSSLKEY`` (read here for our connections, and by libpq itself
for the event stores' connections, so every connection of the process uses the same TLS settings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

DEFAULT_DEPARTMENTS = (
    ("socialforvaltningen", "Socialförvaltningen"),
    ("arbetsmarknadsforvaltningen", "Arbetsmarknadsförvaltningen"),
    ("skol-och-fritidsforvaltningen", "Skol- och fritidsförvaltningen"),
)

KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")
# libpq connection parameter -> the environment variable libpq itself reads for it
PG_SSL_VARIABLES = (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT"), ("sslcert", "PGSSLCERT"),
                    ("sslkey", "PGSSLKEY"))

# Secrets that may also be given as NAME_FILE (a path), so they never sit in the environment listing.
SECRET_VARIABLES = ("DATABASE_URL", "MASTER_KEY", "KAFKA_SASL_PASSWORD")

SERVICE_PORTS = {
    "dashboards": 8000,
    "participants": 8001,
    "recruitments": 8002,
    "matching": 8003,
    "audit": 8004,
}


@dataclass(frozen=True)
class Settings:
    """Everything a service, relay or worker needs to know about where things are."""

    data_dir: Path = Path("var")
    database_url: str | None = None
    db_namespace: str = ""
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    master_key: str | None = None
    jwt_public_keys: tuple[str, ...] = ()
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    dev_jwt_private_key: Path | None = None
    relay_poll_interval: float = 0.2
    checkpoint_every_events: int = 100
    checkpoint_every_seconds: float = 30.0
    audit_signing_key: Path | None = None
    retention_years_candidates: int = 2
    # Who may read /metrics: client addresses or networks (default: this machine only).
    metrics_allow: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    topic_partitions: int = 3
    ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    pg_ssl: tuple[tuple[str, str], ...] = ()  # libpq sslmode / sslrootcert / sslcert / sslkey

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        for name in SECRET_VARIABLES:  # NAME_FILE: the secret is in a mounted file (Compose/Kubernetes secrets)
            path = env.get(f"{name}_FILE")
            if path and not env.get(name):
                env[name] = Path(path).read_text().strip()
        data_dir = Path(env.get("DATA_DIR", "var")).resolve()
        keys = tuple(k for k in env.get("JWT_PUBLIC_KEYS", "").split(",") if k.strip())
        ports = dict(SERVICE_PORTS)
        for name in ports:
            value = env.get(f"{name.upper()}_PORT")
            if value:
                ports[name] = int(value)
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL") or None,
            db_namespace=env.get("DB_NAMESPACE", ""),
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            topic_prefix=env.get("TOPIC_PREFIX", ""),
            master_key=env.get("MASTER_KEY") or None,
            jwt_public_keys=keys,
            jwks_url=env.get("JWKS_URL") or None,
            jwt_issuer=env.get("JWT_ISSUER") or None,
            jwt_audience=env.get("JWT_AUDIENCE") or None,
            dev_jwt_private_key=Path(env["DEV_JWT_PRIVATE_KEY"]) if env.get("DEV_JWT_PRIVATE_KEY") else None,
            relay_poll_interval=float(env.get("RELAY_POLL_INTERVAL", "0.2")),
            checkpoint_every_events=int(env.get("CHECKPOINT_EVERY_EVENTS", "100")),
            checkpoint_every_seconds=float(env.get("CHECKPOINT_EVERY_SECONDS", "30")),
            audit_signing_key=Path(env["AUDIT_SIGNING_KEY"]) if env.get("AUDIT_SIGNING_KEY") else None,
            retention_years_candidates=int(env.get("RETENTION_YEARS_CANDIDATES", "2")),
            metrics_allow=tuple(a.strip() for a in env.get("METRICS_ALLOW", "127.0.0.1/32,::1/128").split(",")
                                if a.strip()),
            topic_partitions=int(env.get("TOPIC_PARTITIONS", "3")),
            ports=ports,
            kafka_security_protocol=env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper(),
            kafka_sasl_mechanism=env.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512").upper(),
            kafka_sasl_username=env.get("KAFKA_SASL_USERNAME") or None,
            kafka_sasl_password=env.get("KAFKA_SASL_PASSWORD") or None,
            kafka_ssl_cafile=env.get("KAFKA_SSL_CAFILE") or None,
            kafka_ssl_certfile=env.get("KAFKA_SSL_CERTFILE") or None,
            kafka_ssl_keyfile=env.get("KAFKA_SSL_KEYFILE") or None,
            pg_ssl=tuple((key, env[var]) for key, var in PG_SSL_VARIABLES if env.get(var)),
        )

    def kafka_security(self) -> dict[str, Any]:
        """The TLS / SASL keyword arguments of every kafka-python client (producer, consumer,
        admin). PLAINTEXT (the default, the embedded broker) adds nothing. Raises ``ValueError``
        naming the variable when the combination cannot work, so a process fails at start."""
        protocol = self.kafka_security_protocol
        if protocol not in KAFKA_PROTOCOLS:
            raise ValueError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(KAFKA_PROTOCOLS)}, not {protocol!r}")
        if protocol == "PLAINTEXT":
            return {}
        kwargs: dict[str, Any] = {"security_protocol": protocol}
        if protocol in ("SSL", "SASL_SSL"):
            kwargs["ssl_check_hostname"] = True  # never off: a broker must prove its name
            for name, value in (("ssl_cafile", self.kafka_ssl_cafile), ("ssl_certfile", self.kafka_ssl_certfile),
                                ("ssl_keyfile", self.kafka_ssl_keyfile)):
                if value:
                    kwargs[name] = value
        if protocol.startswith("SASL_"):
            if self.kafka_sasl_mechanism not in SASL_MECHANISMS:
                raise ValueError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}")
            if not self.kafka_sasl_username or not self.kafka_sasl_password:
                raise ValueError("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required with SASL")
            kwargs.update(sasl_mechanism=self.kafka_sasl_mechanism, sasl_plain_username=self.kafka_sasl_username,
                          sasl_plain_password=self.kafka_sasl_password)
        return kwargs

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url and self.database_url.startswith(("postgres://", "postgresql://")))

    def topic(self, name: str) -> str:
        """The Kafka topic name for e.g. ``participants.events`` in this environment."""
        return f"{self.topic_prefix}{name}"

    def schema(self, store: str) -> str:
        """The PostgreSQL schema (or SQLite file stem) of one store, e.g. ``participants``."""
        return f"{self.db_namespace}{store}".replace("-", "_")

    def sqlite_path(self, store: str) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / f"{self.schema(store)}.sqlite"

    def postgres_params(self) -> dict[str, str]:
        assert self.database_url
        url = urlparse(self.database_url)
        return {
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 5432),
            "user": url.username or "postgres",
            "password": url.password or "",
            "dbname": (url.path or "/postgres").lstrip("/") or "postgres",
            **dict(self.pg_ssl),
        }

    def eventstore_env(self, service: str) -> dict[str, str]:
        """Environment for an eventsourcing ``Application`` owned by ``service``."""
        if self.uses_postgres:
            p = self.postgres_params()
            return {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": p["dbname"],
                "POSTGRES_HOST": p["host"],
                "POSTGRES_PORT": p["port"],
                "POSTGRES_USER": p["user"],
                "POSTGRES_PASSWORD": p["password"],
                "POSTGRES_SCHEMA": self.schema(service),
                "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
                "POSTGRES_POOL_SIZE": "1",  # one held open; more opened under load (up to 12)
                "POSTGRES_MAX_OVERFLOW": "11",
                "CREATE_TABLE": "y",
            }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.data_dir / f"{self.schema(service)}-events.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": "y",
        }
