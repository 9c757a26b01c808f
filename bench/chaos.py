"""``make chaos``: the system as real processes under a registration load, with random
``kill -9``s of its parts, and a count of what became of every acknowledged command.

The rig (also used by ``tests/faults/test_kills_*.py``): its own tansu broker, the participants
service under gunicorn (2 workers), two participants workers (one leads the relay and the
read models, one stands by), and the dashboards worker (a second read model, fed by Kafka), all
supervised as ``delaktig up`` supervises them. Clients register people, each command with its
own ``Idempotency-Key``, and retry with the same key after a connection error or a 5xx until
acknowledged. Kinds of kill: ``service`` (a gunicorn worker), ``relay`` (the leading
participants worker), ``projection`` (the dashboards worker), ``broker``.

Counted at the end: commands acknowledged; UserRegistered events in the store, on the topic and
in each read model; duplicate effects (one command registered more than once); lost (an
acknowledged command missing from the store, a stored event missing downstream); 5xx answers
other than 503. The promise: 0 lost, 0 duplicates, 0 non-503 5xx.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from infra.launcher import GUNICORN_CONF, Processes, wait_http
from shared.auth import mint_token
from shared.config import Settings
from shared.db import Database
from shared.kafka import ensure_topics, free_port, read_all, start_local_broker

KINDS = ("service", "relay", "projection", "broker")
DEP = "socialforvaltningen"


def process_env(settings: Settings) -> dict[str, str]:
    """The environment a ``delaktig`` process needs to see ``settings``."""
    env = {**os.environ, "DATA_DIR": str(settings.data_dir), "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
           "TOPIC_PREFIX": settings.topic_prefix, "DB_NAMESPACE": settings.db_namespace,
           "RELAY_POLL_INTERVAL": str(settings.relay_poll_interval),
           "CHECKPOINT_EVERY_EVENTS": str(settings.checkpoint_every_events),
           "CHECKPOINT_EVERY_SECONDS": str(settings.checkpoint_every_seconds)}
    env.pop("DATABASE_URL", None)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return env


@dataclass
class Counts:
    """What became of the load: the figures ``make chaos`` prints and the tests assert on."""

    backend: str
    kills: Counter[str] = field(default_factory=Counter)
    commands: int = 0
    acknowledged: int = 0
    retries: int = 0
    gave_up: int = 0
    http_503: int = 0
    http_5xx_other: int = 0
    store: int = 0
    topic: int = 0
    topic_copies: int = 0
    read_models: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_lost(self) -> int:
        return sum(self.lost.values())

    def rows(self) -> list[tuple[str, str]]:
        kills = ", ".join(f"{k} {n}" for k, n in sorted(self.kills.items())) or "0"
        out = [("backend", self.backend), ("kills", kills),
               ("commands sent", str(self.commands)), ("acknowledged", str(self.acknowledged)),
               ("retries", str(self.retries)), ("gave up (not acknowledged)", str(self.gave_up)),
               ("503 answers", str(self.http_503)), ("5xx other than 503", str(self.http_5xx_other)),
               ("UserRegistered in the store", str(self.store)),
               ("on the topic (distinct / messages)", f"{self.topic} / {self.topic_copies}")]
        out += [(f"applied in {name}", str(n)) for name, n in sorted(self.read_models.items())]
        out += [("duplicate effects", str(self.duplicates))]
        out += [(f"lost: {where}", str(n)) for where, n in sorted(self.lost.items())]
        out += [("seconds", f"{self.seconds:.0f}")]
        return out

    def table(self) -> str:
        width = max(len(k) for k, _ in self.rows())
        lines = [f"{'what':<{width}}  count", f"{'-' * width}  -----"]
        lines += [f"{k:<{width}}  {v}" for k, v in self.rows()]
        return "\n".join(lines)


class ChaosRig:
    """The system as real, supervised processes on free ports, and the means to kill them."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.broker_port = free_port()
        self.settings = settings.with_(kafka_bootstrap=f"127.0.0.1:{self.broker_port}")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Kills are the point here: never give up on a child (no crash-loop stop), restart fast.
        self.procs = Processes(self.logs / "supervisor.log", crash_loop_exits=10**9, backoff_first=0.2, quiet=True)
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    def start(self) -> None:
        bindir = Path(sys.executable).parent
        env = process_env(self.settings)
        self.procs.supervise("broker", lambda: start_local_broker("127.0.0.1", self.broker_port,
                                                                  self.logs / "broker.log"))
        ensure_topics(self.settings)
        self.procs.start("participants", [str(bindir / "gunicorn"), "--config", str(GUNICORN_CONF),
                                          "--bind", f"127.0.0.1:{self.port}", "--workers", "2", "--threads", "4",
                                          "--timeout", "30", "--graceful-timeout", "5", "--no-control-socket",
                                          "services.participants.wsgi:app"], env, self.logs / "participants.log")
        for name in ("participants-worker-a", "participants-worker-b"):
            self.procs.start(name, [str(bindir / "delaktig"), "worker", "participants"], env,
                             self.logs / f"{name}.log")
        self.procs.start("dashboards-worker", [str(bindir / "delaktig"), "worker", "dashboards"], env,
                         self.logs / "dashboards-worker.log")
        if not wait_http(self.port, timeout=60):
            raise RuntimeError(f"participants did not start; see {self.logs}")
        self._watch = threading.Thread(target=self._supervise, daemon=True)
        self._watch.start()
        # The port opens before gunicorn's workers have booted: wait until they answer.
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"participants did not answer; see {self.logs}")
            time.sleep(0.2)
        return
        self._watch = threading.Thread(target=self._supervise, daemon=True)
        self._watch.start()

    def _supervise(self) -> None:
        while not self._stop.wait(0.1):
            self.procs.check()

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join(timeout=5)
        self.procs.stop()

    def _pid(self, name: str) -> int | None:
        return self.procs.pids().get(name)

    def _leading_worker(self) -> int | None:
        """The participants worker that holds the leader lock (it logs so, with its pid)."""
        for name in ("participants-worker-a", "participants-worker-b"):
            pid = self._pid(name)
            path = self.logs / f"{name}.log"
            if pid is not None and path.exists() and \
                    f'"msg": "leader: running relay and consumers", "service": "participants", "pid": {pid}}}' \
                    in path.read_text(errors="replace"):
                return pid
        return None

    def _gunicorn_worker(self) -> int | None:
        master = self._pid("participants")
        if master is None:
            return None
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    children.append(int(entry.name))
        return random.choice(children) if children else None

    def kill(self, kind: str) -> bool:
        """``kill -9`` one process of ``kind``; False when none was running at that moment."""
        pid = {"service": self._gunicorn_worker, "relay": self._leading_worker,
               "projection": lambda: self._pid("dashboards-worker"), "broker": lambda: self._pid("broker")}[kind]()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True


class Load:
    """Clients registering people, each command retried with its own Idempotency-Key until acknowledged."""

    def __init__(self, rig: ChaosRig, counts: Counts, clients: int = 4, give_up_after: float = 60.0) -> None:
        self.rig = rig
        self.counts = counts
        self.clients = clients
        self.give_up_after = give_up_after
        self.token = mint_token(rig.settings, roles=["coordinator"], departments=[DEP], ttl_seconds=3600)
        self.acknowledged: dict[str, str] = {}  # name -> participant id answered
        self._lock = threading.Lock()
        self._sending = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._sending.set()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.clients)]
        for t in self._threads:
            t.start()

    def finish(self) -> None:
        """Send no new commands; wait for the ones in flight to be acknowledged or given up."""
        self._sending.clear()
        for t in self._threads:
            t.join(timeout=self.give_up_after + 30)

    def _client(self) -> None:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {self.token}"}
        while self._sending.is_set():
            key = str(uuid.uuid4())
            name = f"Chaos {key[:13]}"
            body = {"name": name, "departments": [DEP]}
            with self._lock:
                self.counts.commands += 1
            deadline = time.monotonic() + self.give_up_after
            first = True
            while True:
                if not first:
                    with self._lock:
                        self.counts.retries += 1
                first = False
                try:
                    r = session.post(f"{self.rig.url}/participants", json=body, timeout=15,
                                     headers={**headers, "Idempotency-Key": key})
                except requests.RequestException:
                    session = requests.Session()  # a connection cut by the kill: a new one
                    r = None
                if r is not None and r.status_code in (200, 201):
                    with self._lock:
                        self.counts.acknowledged += 1
                        self.acknowledged[name] = r.json()["id"]
                    break
                if r is not None and r.status_code >= 500:
                    with self._lock:
                        if r.status_code == 503:
                            self.counts.http_503 += 1
                        else:
                            self.counts.http_5xx_other += 1
                elif r is not None:
                    raise RuntimeError(f"registration refused: {r.status_code} {r.text[:200]}")
                if time.monotonic() > deadline:
                    with self._lock:
                        self.counts.gave_up += 1
                    break
                time.sleep(0.2)


def _stored(settings: Settings) -> dict[str, list[str]]:
    """Registered participants in the event store: decrypted name -> participant ids."""
    from services.participants.service import Participants

    service = Participants.build(settings)
    try:
        out: dict[str, list[str]] = {}
        for envelope in service.app.envelopes():
            if envelope["event_type"] == "UserRegistered":
                pid = envelope["aggregate_id"]
                personal = service.vault.decrypt_or(pid, envelope["payload"]["personal"], erased=None) or {}
                out.setdefault(str(personal.get("name")), []).append(pid)
        return out
    finally:
        service.close()


def _applied(settings: Settings) -> dict[str, set[str]]:
    found = {}
    for store, table, column in (("participants", "participant_directory", "participant_id"),
                                 ("dashboards", "dash_participants", "participant_id")):
        db = Database(settings, store)
        try:
            with db.transaction() as tx:
                found[f"{store} read model"] = {r[column] for r in tx.all(f"SELECT {column} FROM {table}")}
        except Exception:
            found[f"{store} read model"] = set()
        finally:
            db.close()
    return found


def _on_topic(settings: Settings) -> tuple[set[str], int]:
    records = read_all(settings, settings.topic("participants.events"), timeout=5)
    ids = [json.loads(r.value)["aggregate_id"] for r in records if b'"UserRegistered"' in r.value]
    return set(ids), len(ids)


def count(rig: ChaosRig, load: Load, counts: Counts, settle: float = 60.0) -> Counts:
    """Wait (up to ``settle`` seconds) for every stored event to reach the topic and both read
    models, then count."""
    settings = rig.settings
    deadline = time.monotonic() + settle
    while True:
        stored = _stored(settings)
        ids = {pid for pids in stored.values() for pid in pids}
        try:
            topic, copies = _on_topic(settings)
        except Exception:
            topic, copies = set(), 0
        applied = _applied(settings)
        if (ids <= topic and all(ids <= a for a in applied.values())) or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    counts.store = len(ids)
    counts.topic, counts.topic_copies = len(topic & ids), copies
    counts.read_models = {name: len(a & ids) for name, a in applied.items()}
    counts.duplicates = sum(len(pids) - 1 for name, pids in stored.items() if name.startswith("Chaos "))
    counts.lost = {"acknowledged, not in the store": sum(1 for name in load.acknowledged if name not in stored),
                   "stored, not on the topic": len(ids - topic)}
    counts.lost.update({f"stored, not in the {name}": len(ids - a) for name, a in applied.items()})
    return counts


def run(settings: Settings, workdir: Path, kills: int, kinds: tuple[str, ...] = KINDS, every: float = 1.5,
        clients: int = 4, settle: float = 60.0, seed: int | None = None) -> Counts:
    """Start the rig, load it, make ``kills`` random kills of ``kinds`` about every ``every``
    seconds, stop the load, and count."""
    rng = random.Random(seed)
    counts = Counts("postgresql" if settings.uses_postgres else "sqlite")
    rig = ChaosRig(settings, workdir)
    started = time.monotonic()
    rig.start()
    load = Load(rig, counts, clients=clients)
    try:
        load.start()
        time.sleep(every)
        done = 0
        while done < kills:
            kind = rng.choice(kinds)
            if rig.kill(kind):
                counts.kills[kind] += 1
                done += 1
            time.sleep(rng.uniform(0.5 * every, 1.5 * every))
        time.sleep(every)
        load.finish()
        count(rig, load, counts, settle=settle)
    finally:
        rig.stop()
    counts.seconds = time.monotonic() - started
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make chaos", description=__doc__)
    p.add_argument("--kills", type=int, default=100)
    p.add_argument("--every", type=float, default=1.5, help="mean seconds between kills")
    p.add_argument("--kinds", default=",".join(KINDS))
    p.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                   help="PostgreSQL URL (default: SQLite in a temporary folder)")
    p.add_argument("--seed", type=int)
    p.add_argument("--settle", type=float, default=300.0,
                   help="seconds to wait for the relay (which republishes the history after each broker loss) "
                        "and the read models to catch up before counting")
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="delaktig-chaos-"))
    tag = uuid.uuid4().hex[:8]
    settings = Settings(data_dir=workdir / "data", database_url=args.database_url,
                        db_namespace=f"chaos{tag}_" if args.database_url else "", topic_prefix=f"chaos{tag}.",
                        relay_poll_interval=0.05)
    counts = run(settings, workdir, args.kills, tuple(args.kinds.split(",")), every=args.every, seed=args.seed,
                 settle=args.settle)
    print(counts.table())
    print(f"\nlogs: {workdir / 'logs'}")
    ok = counts.total_lost == 0 and counts.duplicates == 0 and counts.http_5xx_other == 0
    print("PROMISE HELD" if ok else "PROMISE BROKEN: see the counts above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
