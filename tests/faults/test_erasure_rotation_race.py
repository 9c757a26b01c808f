"""Key rotation never loses a key: subjects created and encrypted while other vaults (as other
processes would) rotate the KEK epoch again and again all decrypt afterwards, every stored key is
under the one surviving epoch, and the KEK file holds that epoch only."""

from __future__ import annotations

import json
import threading
import uuid

from shared.config import Settings
from shared.db import Database
from shared.vault import WRAP_PREFIX, Vault, kek_file


def test_keys_made_during_rotations_all_survive(settings: Settings) -> None:
    dbs = [Database(settings, "vaultrace") for _ in range(3)]
    writer, rotator, reader = (Vault(settings, db) for db in dbs)
    tokens: list[tuple[str, str, int]] = []
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(120):
                subject = writer.new_subject() if i % 2 else str(uuid.uuid4())
                tokens.append((subject, writer.encrypt(subject, i), i))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def rotate() -> None:
        try:
            for _ in range(6):
                rotator.rotate()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write), threading.Thread(target=rotate)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    epoch = reader.epoch()
    assert epoch >= 7
    assert [reader.decrypt(subject, token) for subject, token, _ in tokens] == [i for _, _, i in tokens]
    with dbs[0].transaction() as tx:
        wrapped = [r["wrapped_key"] for r in tx.all("SELECT wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL")]
    assert wrapped and all(w.startswith(f"{WRAP_PREFIX}{epoch}.") for w in wrapped)
    assert list(json.loads(kek_file(settings, "vaultrace").read_bytes())["epochs"]) == [str(epoch)]
    for db in dbs:
        db.close()


def test_keys_rotate_command_rotates_when_asked_or_due(sqlite_settings: Settings) -> None:
    import subprocess

    from tests.faults.conftest import delaktig, process_env

    db = Database(sqlite_settings, "participants")
    vault = Vault(sqlite_settings, db)
    subject = vault.new_subject()
    token = vault.encrypt(subject, "kvar")
    env = process_env(sqlite_settings)

    def rotate(*args: str) -> None:
        done = subprocess.run(delaktig("keys", "rotate", *args), env=env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    first = vault.epoch()
    rotate("--if-due")
    assert vault.epoch() == first  # no erasure since the last rotation: nothing to do
    rotate()
    assert vault.epoch() == first + 1
    vault.destroy(vault.new_subject(), "erasure request")
    rotate("--if-due")
    assert vault.epoch() == first + 2
    assert vault.decrypt(subject, token) == "kvar"
    db.close()
