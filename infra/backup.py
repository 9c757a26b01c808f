"""``delaktig backup DEST``: a consistent copy of every store, without any key.

SQLite stores are copied with SQLite's online backup (a transactionally consistent snapshot,
WAL content included, no ``-wal`` file); on PostgreSQL the project's schemas are dumped with
``pg_dump``. Keys are never in a backup: the master key comes from configuration and the KEK
files (``keys/*.keks``) are backed up, if at all, with the secrets (see README, "Backups and
erasure"). A key rotation that an erasure made due runs first, so a backup never holds an erased
person's data key under a live key epoch.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.config import Settings
from shared.db import Database
from shared.vault import Vault

VAULT_STORES = ("participants", "recruitments")


def _vault_stores(settings: Settings) -> list[str]:
    """The stores that hold data keys in this installation."""
    found = []
    for store in VAULT_STORES:
        if not settings.uses_postgres and not (settings.data_dir / f"{settings.schema(store)}.sqlite").exists():
            continue
        db = Database(settings, store)
        try:
            if "vault_state" in db.tables():
                found.append(store)
        finally:
            db.close()
    return found


def rotate_due(settings: Settings, force: bool = False) -> dict[str, int]:
    """Run the key rotations that are due (all of them with ``force``); the epoch per store."""
    epochs = {}
    for store in _vault_stores(settings):
        db = Database(settings, store)
        try:
            vault = Vault(settings, db)
            vault.rotate(force=True) if force else vault.rotate_if_due()
            epochs[store] = vault.epoch()
        finally:
            db.close()
    return epochs


def backup(settings: Settings, dest: Path) -> dict[str, Any]:
    """Write a backup of every store to ``dest`` (a new or empty folder); returns the manifest."""
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    epochs = rotate_due(settings)
    files: list[str] = []
    if settings.uses_postgres:
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise RuntimeError("pg_dump is not installed (Debian: postgresql-client)")
        p = settings.postgres_params()
        conninfo = " ".join(f"{k}={v}" for k, v in p.items() if v)
        argv = [pg_dump, "--dbname", conninfo, "--no-owner", "--file", str(dest / "postgres.sql")]
        if settings.db_namespace:
            argv += ["--schema", f"{settings.db_namespace}*"]
        subprocess.run(argv, check=True)
        files.append("postgres.sql")
    for path in sorted(settings.data_dir.glob("*.sqlite")):
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(dest / path.name)) as target:
            source.backup(target)
        files.append(path.name)
    manifest = {
        "taken_at": datetime.now(UTC).isoformat(),
        "backend": "postgresql" if settings.uses_postgres else "sqlite",
        "files": files,
        "key_epochs": epochs,
        "keys_included": False,
        "note": "Personal data in this backup is readable only with the master key and the KEK file of "
                "the key epochs above; the next key rotation after an erasure destroys that epoch.",
    }
    (dest / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
