"""Platform benchmark (issue 2), printed side by side in one run:

(a) participant registrations/s through HTTP (gunicorn, PostgreSQL event store) vs raw
    single-row durable PostgreSQL inserts at the same concurrency (4 clients), and beside both the
    framework ceiling: an empty Flask endpoint under the same gunicorn settings and clients;
(b) relay events/s to the broker vs a raw kafka-python producer sending the same bytes.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests

from services.participants.service import Participants
from shared.auth import mint_token
from shared.config import Settings
from shared.db import Database
from shared.kafka import free_port, producer, read_all, start_local_broker, total_messages
from shared.relay import OutboxRelay

PG = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLIENTS = 4
PER_CLIENT = int(os.environ.get("BENCH_REGISTRATIONS_PER_CLIENT", "1000"))
# gunicorn settings for the service and the ceiling alike. Sync workers (one request at a time,
# two per core) measured fastest here: threads in one worker hand the GIL back and forth on
# every database round trip. gthread is the default of infra/deploy/gunicorn.conf.py.
WORKER_CLASS = os.environ.get("BENCH_WORKER_CLASS", "sync")
WORKERS = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1))))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))


def _run_clients(work: Callable[[int], None]) -> float:
    """Seconds for CLIENTS threads to run ``work``; a client that fails fails the benchmark."""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            work(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} of {CLIENTS} clients failed") from errors[0]
    return elapsed


def raw_insert_floor(dbname: str, payload: str) -> float:
    conninfo = PG.rsplit("/", 1)[0] + "/" + dbname
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE raw_floor (id uuid PRIMARY KEY, body text NOT NULL)")

    def work(_: int) -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for _n in range(PER_CLIENT):
                conn.execute("INSERT INTO raw_floor (id, body) VALUES (%s, %s)", (uuid.uuid4(), payload))

    elapsed = _run_clients(work)
    return CLIENTS * PER_CLIENT / elapsed


def http_registrations(port: int, token: str) -> float:
    """Each client one keep-alive connection (http.client: the leanest client in the standard
    library, so the clients take as little of the machine from the server as the floor's do)."""
    body = json.dumps({"name": "Bench Person", "email": "bench@example.se", "phone": "+46700000000",
                       "preferred_language": "sv", "departments": ["socialforvaltningen"]})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def work(_: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for _n in range(PER_CLIENT):
                conn.request("POST", "/participants", body, headers)
                response = conn.getresponse()
                response.read()
                if response.status != 201:
                    raise RuntimeError(f"registration answered {response.status}")
        finally:
            conn.close()

    elapsed = _run_clients(work)
    return CLIENTS * PER_CLIENT / elapsed


def serve(wsgi_app: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """gunicorn with the benchmark's settings, once it answers /healthz (or any HTTP answer)."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(WORKERS), "--worker-class", WORKER_CLASS, "--threads", str(THREADS),
         "--log-level", "warning", "--no-control-socket",
         *(["--worker-tmp-dir", "/dev/shm"] if Path("/dev/shm").is_dir() else []),
         wsgi_app],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return process, port
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"gunicorn did not start {wsgi_app}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, 15)
    process.wait()


def main() -> None:
    dbname = f"delaktig_bench_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    tmp = Path(tempfile.mkdtemp(prefix="delaktig-bench-"))
    port = free_port()
    broker = start_local_broker("127.0.0.1", port)
    database_url = PG.rsplit("/", 1)[0] + "/" + dbname
    settings = Settings(data_dir=tmp, database_url=database_url, kafka_bootstrap=f"127.0.0.1:{port}",
                        topic_prefix="bench.")
    Participants.build(settings).close()  # create schemas and default departments once
    env = {**os.environ, "DATA_DIR": str(tmp), "DATABASE_URL": database_url,
           "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap, "TOPIC_PREFIX": "bench."}
    gunicorn, http_port = serve("services.participants.wsgi:app", env)
    try:
        token = mint_token(settings, roles=["coordinator"], departments=["socialforvaltningen"])
        http_rate = http_registrations(http_port, token)
        stop(gunicorn)
        ceiling_server, ceiling_port = serve("bench.ceiling_app:app", env)
        try:
            ceiling = http_registrations(ceiling_port, token)
        finally:
            stop(ceiling_server)
        floor = raw_insert_floor(dbname, "x" * 400)
        print(f"(a) registrations over HTTP, {CLIENTS} clients: {http_rate:8.0f}/s "
              f"(gunicorn {WORKER_CLASS}, {WORKERS} workers x {THREADS} threads)")
        print(f"    raw single-row durable PostgreSQL inserts:  {floor:8.0f}/s")
        print(f"    ratio {http_rate / floor:.0%} (target >= 50%)")
        print(f"    ceiling: empty Flask endpoint, same gunicorn: {ceiling:8.0f}/s "
              f"({ceiling / floor:.0%} of the floor; registrations reach {http_rate / ceiling:.0%} of it)")

        service = Participants.build(settings)
        relay = OutboxRelay(service.app, Database(settings, "participants"), batch=2000)
        n = service.app.max_position()
        relay.connect()  # connection set-up is not part of the rate, as for the raw producer
        start = time.perf_counter()
        relay.drain(timeout=300)
        relay_rate = total_messages(settings, settings.topic("participants.events")) / (time.perf_counter() - start)
        # the same bytes: key, value and the CloudEvents headers the relay adds
        values = [(m.key, m.value, m.headers) for m in read_all(settings, settings.topic("participants.events"))]
        raw = producer(settings)
        start = time.perf_counter()
        futures = [raw.send("bench.raw-floor", key=k, value=v, headers=h) for k, v, h in values]
        raw.flush()
        for f in futures:
            f.get(timeout=30)
        raw_rate = len(values) / (time.perf_counter() - start)
        raw.close()
        print(f"(b) relay to broker ({n} events):            {relay_rate:8.0f}/s")
        print(f"    raw kafka-python producer, same bytes:     {raw_rate:8.0f}/s")
        print(f"    ratio {relay_rate / raw_rate:.0%} (target >= 70%)")
        relay.close()
        service.close()
    finally:
        if gunicorn.poll() is None:
            stop(gunicorn)
        broker.kill()
        broker.wait()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
