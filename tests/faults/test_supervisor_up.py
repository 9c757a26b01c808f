"""``delaktig up`` supervises (issue 11, items 8 and 9): a killed child is logged with its signal
and restarted with backoff, the system keeps serving; a gunicorn worker killed is replaced and
its exit logged; a crash loop stops everything and names the process that looped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from shared.auth import mint_token
from shared.kafka import read_all
from tests.platform.up_process import processes_with_env, start_up, stop_up, up_environment


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def find(marker: str, needle: str, parent_needle: str | None = None) -> int:
    """The one process of this ``up`` whose command line holds ``needle``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = []
        for pid in processes_with_env(marker):
            if needle not in _cmdline(pid):
                continue
            if parent_needle is not None:
                ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent_needle not in _cmdline(ppid):
                    continue
            found.append(pid)
        if len(found) == 1:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no single process with {needle!r}")


def wait_for(path: Path, text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {path}:\n{content}")


@pytest.mark.slow
def test_up_restarts_a_killed_child_and_stops_on_a_crash_loop(tmp_path: Path) -> None:
    data_dir = tmp_path / "up-data"
    up = up_environment(data_dir, demo=False)
    up.env.update({"SUPERVISOR_CRASH_LOOP_EXITS": "3", "SUPERVISOR_BACKOFF_SECONDS": "0.5"})
    marker = f"DATA_DIR={data_dir}"
    journal = data_dir / "logs" / "supervisor.log"
    port = up.settings.ports["participants"]
    proc, _ = start_up(up.env, "--no-demo")
    try:
        worker = find(marker, "worker participants")
        os.kill(worker, signal.SIGKILL)
        wait_for(journal, "participants-worker exited (signal SIGKILL); restarting in 0.5 s")
        wait_for(journal, "participants-worker restarted")
        assert proc.poll() is None, "up stopped instead of restarting one process"
        restarted = find(marker, "worker participants")
        assert restarted != worker

        # A gunicorn worker (a child of the service's gunicorn master) killed mid-life: the arbiter
        # replaces it and says so; up is not involved and keeps running.
        gunicorn_worker = find(marker, "services.participants.wsgi", parent_needle="services.participants.wsgi")
        os.kill(gunicorn_worker, signal.SIGKILL)
        wait_for(data_dir / "logs" / "participants.log", f"Worker (pid:{gunicorn_worker}) was sent SIGKILL")

        # The system still works end to end with the restarted worker's relay.
        token = mint_token(up.settings, roles=["coordinator"], departments=["socialforvaltningen"])
        deadline = time.monotonic() + 30
        while True:
            try:
                r = requests.post(f"http://127.0.0.1:{port}/participants", timeout=10,
                                  json={"name": "Efter Omstart", "departments": ["socialforvaltningen"]},
                                  headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 201:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "participants did not answer after its worker was replaced"
            time.sleep(0.3)
        pid = r.json()["id"]
        deadline = time.monotonic() + 30
        while not any(json.loads(m.value)["aggregate_id"] == pid
                      for m in read_all(up.settings, "participants.events", timeout=5)):
            assert time.monotonic() < deadline, "the restarted worker did not publish"
            time.sleep(0.5)

        # A crash loop: the same child dies again and again; up gives up and names it.
        for _ in range(2):
            victim = find(marker, "worker participants")
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while victim in processes_with_env(marker) and time.monotonic() < deadline:
                time.sleep(0.1)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 1
        text = out.decode(errors="replace")
        assert "participants-worker crash-looped (3 exits in 60 s)" in text, text
        assert "crash loop: 3 exits" in journal.read_text()
    finally:
        if proc.poll() is None:
            stop_up(proc)
    time.sleep(0.5)
    assert processes_with_env(marker) == []


@pytest.mark.slow
def test_a_worker_thread_that_dies_takes_its_process_down_loudly(tmp_path: Path) -> None:
    """No half-alive process: an exception in any thread is logged and exits non-zero (70)."""
    code = ("from shared import logs; from shared.lifecycle import install_exit_logging; import threading, time\n"
            "logs.configure(); install_exit_logging('probe')\n"
            "def boom():\n    raise RuntimeError('a relay thread fails')\n"
            "threading.Thread(target=boom, name='relay').start(); time.sleep(30)\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 70 and time.monotonic() - started < 20
    line = json.loads(next(ln for ln in done.stderr.decode().splitlines() if "thread died" in ln))
    assert line["level"] == "critical" and line["error"] == "RuntimeError" and line["consumer"] == "relay"
