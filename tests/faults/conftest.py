"""Fault-suite fixtures: a private PostgreSQL cluster that a test may restart, kill or read the
raw files of (Debian's ``initdb``/``pg_ctl``, as the ``postgres`` user, on a free port in a
temporary folder), and helpers to run the real ``delaktig`` processes."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from bench.chaos import process_env  # noqa: F401 - shared with the tests of this suite
from shared.config import Settings
from shared.kafka import free_port


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@dataclass
class PgCluster:
    """A PostgreSQL server of the test's own."""

    bindir: Path
    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *argv], check=check, capture_output=True, timeout=120)

    def _options(self) -> list[str]:
        # The server log goes to a file: a server holding our stdout pipe would hang pg_ctl's caller.
        return ["-l", str(self.datadir / "server.log"), "-w", "-t", "60",
                "-o", f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"]

    def start(self) -> None:
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *self._options(), "start")

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, *self._options(),
                          "restart")

    def postmaster_pid(self) -> int:
        return int((self.datadir / "postmaster.pid").read_text().split()[0])

    def kill9(self) -> None:
        """``kill -9`` of the postmaster (its backends follow); then crash recovery on start."""
        pid = self.postmaster_pid()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        # Orphaned backends hold the shared memory until they notice the postmaster is gone.
        time.sleep(1.0)

    def sql(self, query: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(query)  # type: ignore[arg-type]

    def files(self) -> Iterator[Path]:
        """Every file of the cluster (heap, WAL, everything), as an attacker with disk access reads it."""
        for path in self.datadir.rglob("*"):
            if path.is_file():
                yield path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = _pg_bindir()
    if bindir is None or shutil.which("runuser") is None:
        if os.environ.get("CI"):
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are required under CI")
        pytest.skip("PostgreSQL server binaries not installed")
    root = Path(tempfile.mkdtemp(prefix="delaktig-pg-"))
    datadir = root / "data"
    datadir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(datadir, "postgres", "postgres")
    cluster = PgCluster(bindir, datadir, free_port())
    cluster._as_postgres(str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres", "--no-sync",
                         "-E", "UTF8")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


def cluster_settings(tmp_path: Path, broker: str, url: str | None) -> Settings:
    """Settings for a test of this suite (its own data folder, topics and schemas)."""
    from tests.conftest import _settings

    return _settings(tmp_path, broker, url)


def delaktig(*args: str) -> list[str]:
    """argv for the ``delaktig`` command of this virtualenv."""
    return [sys.executable, "-m", "infra.cli", *args]
