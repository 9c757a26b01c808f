"""``delaktig up``: the whole system on one machine.

Starts the tansu broker (unless ``KAFKA_BOOTSTRAP_SERVERS`` is set), every service present under
gunicorn, and one worker process per service (relay + projections + scheduled jobs). Ctrl-C or
SIGTERM stops every process it started (each runs in its own process group, so gunicorn's
workers go too); nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shared.auth import ensure_dev_keys
from shared.config import Settings
from shared.kafka import ensure_topics, port_open, start_local_broker


class Processes:
    """The children of ``up``: started in their own process groups, stopped together."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        out = open(log, "ab")
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.children.append((name, proc))
        return proc

    def adopt(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        self.children.append((name, proc))

    def dead(self) -> list[str]:
        return [name for name, proc in self.children if proc.poll() is not None]

    def stop(self, timeout: float = 10.0) -> None:
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for _, proc in self.children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()


def wait_http(port: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return True
        time.sleep(0.2)
    return False


def up(settings: Settings, demo: bool = True) -> int:
    """Run everything until interrupted. Returns the exit code."""
    from infra.cli import available_services

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logs = settings.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    ensure_dev_keys(settings)
    procs = Processes()
    stopping = {"flag": False}

    def on_signal(signum: int, _frame: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    env = dict(os.environ)
    env["DATA_DIR"] = str(settings.data_dir)
    # Local development: the dashboards accept a pasted token (production signs in through OIDC).
    env.setdefault("DASHBOARDS_DEV_LOGIN", "1")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    try:
        if not bootstrap:
            port = int(os.environ.get("BROKER_PORT", "9092"))
            if port_open("127.0.0.1", port):
                print(f"port {port} is taken: set BROKER_PORT or KAFKA_BOOTSTRAP_SERVERS", file=sys.stderr)
                return 1
            procs.adopt("broker", start_local_broker("127.0.0.1", port, logs / "broker.log"))
            bootstrap = f"127.0.0.1:{port}"
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        settings = settings.with_(kafka_bootstrap=bootstrap)
        ensure_topics(settings)

        bindir = Path(sys.executable).parent
        services = available_services()
        workers = "2" if settings.uses_postgres else "1"
        for name in services:
            port = settings.ports[name]
            procs.start(name, [str(bindir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", workers,
                               "--threads", "8", "--timeout", "60", "--graceful-timeout", "5", "--no-control-socket",
                               f"services.{name}.wsgi:app"], env, logs / f"{name}.log")
            procs.start(f"{name}-worker", [str(bindir / "delaktig"), "worker", name], env,
                        logs / f"{name}-worker.log")
        for name in services:
            if not wait_http(settings.ports[name]):
                print(f"{name} did not start; see {logs / (name + '.log')}", file=sys.stderr)
                return 1
        if demo and os.environ.get("DELAKTIG_DEMO", "1") != "0":
            try:
                from infra.demo import load_demo

                print(load_demo(settings))
            except ModuleNotFoundError:
                pass
        store = settings.database_url or f"SQLite in {settings.data_dir}"
        lines = ["", "Delaktig is running.", f"  broker      {bootstrap}", f"  store       {store}"]
        lines += [f"  {name:<13}http://127.0.0.1:{settings.ports[name]}/  (OpenAPI: /openapi.json)"
                  for name in services]
        lines += [f"  logs        {logs}", "",
                  "Get a token:  .venv/bin/delaktig token --role coordinator --department socialforvaltningen",
                  "Stop:         Ctrl-C", ""]
        print("\n".join(lines), flush=True)  # one write: a reader never sees half the block
        while not stopping["flag"]:
            dead = procs.dead()
            if dead:
                print(f"stopped unexpectedly: {', '.join(dead)}; see {logs}", file=sys.stderr)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("stopping ...", flush=True)
        procs.stop()
