"""``delaktig up``: the whole system on one machine.

Starts the tansu broker (unless ``KAFKA_BOOTSTRAP_SERVERS`` is set), every service present under
gunicorn, and one worker process per service (relay + projections + scheduled jobs), and
supervises them: a child that exits is logged with its exit code or signal and restarted with
backoff. Only Ctrl-C, SIGTERM or a crash loop stop the system; then every process it started
goes (each runs in its own process group, so gunicorn's workers go too); nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.auth import ensure_dev_keys
from shared.config import Settings
from shared.kafka import ensure_topics, port_open, start_local_broker

GUNICORN_CONF = Path(__file__).resolve().parent / "deploy" / "gunicorn.conf.py"


CRASH_LOOP_EXITS = int(os.environ.get("SUPERVISOR_CRASH_LOOP_EXITS", "5"))
CRASH_LOOP_WINDOW = float(os.environ.get("SUPERVISOR_CRASH_LOOP_SECONDS", "60"))
BACKOFF_FIRST = float(os.environ.get("SUPERVISOR_BACKOFF_SECONDS", "1"))
BACKOFF_MAX = 30.0


def describe_exit(returncode: int) -> str:
    """``exit code 1`` or ``signal SIGKILL``: how a child ended."""
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit code {returncode}"


@dataclass
class Child:
    """One supervised process and its recent history."""

    name: str
    launch: Callable[[], subprocess.Popen[bytes]]
    proc: subprocess.Popen[bytes] | None = None
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    restarts: int = 0


class Processes:
    """The children of ``up``, supervised as systemd's ``Restart=on-failure`` would: a child that
    exits is logged with its exit code or signal and started again after a backoff (1 s, doubling
    to 30 s); ``CRASH_LOOP_EXITS`` exits within ``CRASH_LOOP_WINDOW`` seconds is a crash loop,
    which stops everything and names the process. Each child runs in its own process group, so
    stopping one stops its own children too (gunicorn's workers)."""

    def __init__(self, journal: Path | None = None, crash_loop_exits: int = CRASH_LOOP_EXITS,
                 crash_loop_window: float = CRASH_LOOP_WINDOW, backoff_first: float = BACKOFF_FIRST,
                 quiet: bool = False) -> None:
        self.children: list[Child] = []
        self.journal = journal
        self.crash_loop_exits = crash_loop_exits
        self.crash_loop_window = crash_loop_window
        self.backoff_first = backoff_first
        self.quiet = quiet

    def note(self, message: str) -> None:
        """A supervisor event, on stderr and in ``logs/supervisor.log``."""
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} supervisor: {message}"
        if not self.quiet:
            print(line, file=sys.stderr, flush=True)
        if self.journal is not None:
            with open(self.journal, "a") as f:
                f.write(line + "\n")

    def start(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        def launch() -> subprocess.Popen[bytes]:
            with open(log, "ab") as out:
                return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

        return self.supervise(name, launch)

    def supervise(self, name: str, launch: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        child = Child(name, launch, launch())
        self.children.append(child)
        assert child.proc is not None
        return child.proc

    def pids(self) -> dict[str, int]:
        """The current process id of every running child."""
        return {c.name: c.proc.pid for c in self.children if c.proc is not None and c.proc.poll() is None}

    def check(self, now: float | None = None) -> str | None:
        """Record exits, restart what is due; the name of a child in a crash loop, if any."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.proc is not None and (code := child.proc.poll()) is not None:
                child.proc = None
                child.crashes.append(now)
                while child.crashes and now - child.crashes[0] > self.crash_loop_window:
                    child.crashes.popleft()
                if len(child.crashes) >= self.crash_loop_exits:
                    self.note(f"{child.name} exited ({describe_exit(code)}); crash loop: "
                              f"{len(child.crashes)} exits in {self.crash_loop_window:g} s")
                    return child.name
                delay = min(BACKOFF_MAX, self.backoff_first * 2 ** (len(child.crashes) - 1))
                child.restart_at = now + delay
                self.note(f"{child.name} exited ({describe_exit(code)}); restarting in {delay:g} s")
            if child.proc is None and child.restart_at is not None and now >= child.restart_at:
                try:
                    child.proc = child.launch()
                except Exception as exc:  # e.g. the broker's port still held: count it as a crash
                    self.note(f"{child.name} did not start ({type(exc).__name__}); trying again")
                    child.crashes.append(now)
                    child.restart_at = now + min(BACKOFF_MAX, self.backoff_first * 2 ** len(child.crashes))
                    continue
                child.restart_at = None
                child.restarts += 1
                self.note(f"{child.name} restarted (pid {child.proc.pid}, restart {child.restarts})")
        return None

    def stop(self, timeout: float = 10.0) -> None:
        for child in reversed(self.children):
            if child.proc is not None and child.proc.poll() is None:
                try:
                    os.killpg(child.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout
        for child in self.children:
            proc = child.proc
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.note(f"{child.name} did not stop in {timeout:g} s; killing it")
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
            if proc.returncode not in (0, -signal.SIGTERM):
                self.note(f"{child.name} stopped with {describe_exit(proc.returncode)}")
            # Whatever the child left in its group (a worker that ignored the arbiter) goes too.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def wait_http(port: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return True
        time.sleep(0.2)
    return False


# -- the web app and the development identity provider (issue 12) ---------------------------
def start_web(procs: Processes, env: dict[str, str], bindir: Path, logs: Path) -> tuple[int, list[int]]:
    """Start the web app on ``WEB_PORT`` and, unless ``OIDC_ISSUER`` points at a real identity
    provider, the development one on ``DEVIDP_PORT``. Returns the web port and every port to wait for."""
    web_port = int(env.get("WEB_PORT", "8080"))
    ports = [web_port]
    if not env.get("OIDC_ISSUER"):
        idp_port = int(env.get("DEVIDP_PORT", "8090"))
        env.setdefault("DEVIDP_PORT", str(idp_port))
        # One worker: the development provider keeps its codes in memory.
        procs.start("devidp", [str(bindir / "gunicorn"), "--bind", f"127.0.0.1:{idp_port}", "--workers", "1",
                               "--threads", "4", "--no-control-socket", "services.devidp.wsgi:app"],
                    env, logs / "devidp.log")
        ports.append(idp_port)
    procs.start("web", [str(bindir / "gunicorn"), "--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--threads",
                        "4", "--timeout", "60", "--no-control-socket", "services.web.wsgi:app"], env, logs / "web.log")
    return web_port, ports


def up(settings: Settings, demo: bool = True) -> int:
    """Run everything until interrupted. Returns the exit code."""
    from infra.cli import available_services

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logs = settings.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    ensure_dev_keys(settings)
    procs = Processes(logs / "supervisor.log")
    stopping: dict[str, Any] = {"flag": False, "signal": "?"}

    def on_signal(signum: int, _frame: Any) -> None:
        stopping["flag"] = True
        stopping["signal"] = signal.Signals(signum).name

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    env = dict(os.environ)
    env["DATA_DIR"] = str(settings.data_dir)
    # gunicorn renames its processes with setproctitle when it is installed; without this it
    # overwrites /proc/<pid>/environ, and nobody (an operator, the tests) could tell which
    # installation a process belongs to.
    env.setdefault("SPT_NOENV", "1")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    try:
        if not bootstrap:
            port = int(os.environ.get("BROKER_PORT", "9092"))
            if port_open("127.0.0.1", port):
                print(f"port {port} is taken: set BROKER_PORT or KAFKA_BOOTSTRAP_SERVERS", file=sys.stderr)
                return 1
            broker_port = port
            procs.supervise("broker", lambda: start_local_broker("127.0.0.1", broker_port, logs / "broker.log"))
            bootstrap = f"127.0.0.1:{port}"
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        settings = settings.with_(kafka_bootstrap=bootstrap)
        ensure_topics(settings)

        bindir = Path(sys.executable).parent
        services = available_services()
        workers = "2" if settings.uses_postgres else "1"
        for name in services:
            port = settings.ports[name]
            procs.start(name, [str(bindir / "gunicorn"), "--config", str(GUNICORN_CONF),
                               "--bind", f"127.0.0.1:{port}", "--workers", workers,
                               "--threads", "8", "--timeout", "60", "--graceful-timeout", "5", "--no-control-socket",
                               f"services.{name}.wsgi:app"], env, logs / f"{name}.log")
            procs.start(f"{name}-worker", [str(bindir / "delaktig"), "worker", name], env,
                        logs / f"{name}-worker.log")
        for name in services:
            if not wait_http(settings.ports[name]):
                print(f"{name} did not start; see {logs / (name + '.log')}", file=sys.stderr)
                return 1
        web_port, web_ports = start_web(procs, env, bindir, logs)
        if not all(wait_http(port) for port in web_ports):
            print(f"the web app did not start; see {logs / 'web.log'}", file=sys.stderr)
            return 1
        if demo and os.environ.get("DELAKTIG_DEMO", "1") != "0":
            try:
                from infra.demo import load_demo

                print(load_demo(settings))
            except ModuleNotFoundError:
                pass
        store = settings.database_url or f"SQLite in {settings.data_dir}"
        lines = ["", f"open http://127.0.0.1:{web_port}/", "", "Delaktig is running.", f"  broker      {bootstrap}",
                 f"  store       {store}", f"  {'web':<13}http://127.0.0.1:{web_port}/  (sign in as a demo person)"]
        lines += [f"  {name:<13}http://127.0.0.1:{settings.ports[name]}/  (OpenAPI: /openapi.json)"
                  for name in services]
        lines += [f"  logs        {logs}", "",
                  "Get a token:  .venv/bin/delaktig token --role coordinator --department socialforvaltningen",
                  "Stop:         Ctrl-C", ""]
        print("\n".join(lines), flush=True)  # one write: a reader never sees half the block
        while not stopping["flag"]:
            looped = procs.check()
            if looped:
                print(f"{looped} crash-looped ({CRASH_LOOP_EXITS} exits in {CRASH_LOOP_WINDOW:g} s): "
                      f"stopping everything; see {logs / 'supervisor.log'} and {logs}", file=sys.stderr)
                return 1
            time.sleep(0.2)
        procs.note(f"stopping on {stopping['signal']}")
        return 0
    finally:
        print("stopping ...", flush=True)
        procs.stop()
