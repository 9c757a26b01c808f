"""Running ``delaktig up`` as a real process tree in a test: environment, start, stop, survivors."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from shared.config import SERVICE_PORTS, Settings
from shared.kafka import free_port


@dataclass
class UpEnvironment:
    env: dict[str, str]
    settings: Settings  # where the test finds the broker, ports and dev keys of that `up`


def up_environment(data_dir: Path, demo: bool) -> UpEnvironment:
    """Free ports for the broker and every service, the embedded store, demo on or off."""
    broker_port = free_port()
    env = {**os.environ, "DATA_DIR": str(data_dir), "BROKER_PORT": str(broker_port)}
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "DELAKTIG_DEMO"):
        env.pop(name, None)
    if not demo:
        env["DELAKTIG_DEMO"] = "0"
    ports = {name: free_port() for name in SERVICE_PORTS}
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
    for name in ("WEB_PORT", "DEVIDP_PORT"):  # the web app and the development identity provider
        env[name] = str(free_port())
    for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "DEVIDP_PEOPLE", "DEVIDP_REDIRECT_URIS"):
        env.pop(name, None)
    return UpEnvironment(env, Settings(data_dir=data_dir, kafka_bootstrap=f"127.0.0.1:{broker_port}", ports=ports))


def start_up(env: dict[str, str], *args: str, timeout: float = 120.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``delaktig up`` and wait until it has printed the whole "running" block (which ends
    with how to stop it); return it and what it printed."""
    proc = subprocess.Popen([sys.executable, "-m", "infra.cli", "up", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = b""
    deadline = time.monotonic() + timeout
    while b"Delaktig is running." not in output or b"Stop:" not in output.split(b"Delaktig is running.")[-1]:
        assert proc.poll() is None, output.decode(errors="replace")
        assert time.monotonic() < deadline, output.decode(errors="replace")
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            output += os.read(proc.stdout.fileno(), 65536)
    return proc, output.decode(errors="replace")


def stop_up(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as Ctrl-C or a service manager would; ``up`` must exit cleanly."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 0


def processes_with_env(marker: str) -> list[int]:
    """Processes whose environment contains ``marker`` (e.g. ``DATA_DIR=...``): survivors of an ``up``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
