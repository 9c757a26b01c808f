"""The vault's promises, as a data-protection auditor states them: a token shows nothing of the
value and opens only for its own person; an erased person's data can never be read again, not
even from old copies of the key store once the key epoch has rotated; and the key store is
useless without its master key. Each test drives the public ``Vault`` API on a real SQLite store."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
import shutil
import stat
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.config import Settings
from shared.db import Database
from shared.vault import KEY_BATCH, KeyDestroyed, KeyUnavailable, Vault, kek_file, load_master_key

NAME = {"first": "Åsa", "last": "Öberg-Lind"}


@pytest.fixture
def store(sqlite_settings: Settings):
    db = Database(sqlite_settings, "vaultrules")
    yield sqlite_settings, db
    db.close()


def _row(db: Database, subject: str) -> str | None:
    with db.transaction() as tx:
        row = tx.one("SELECT wrapped_key FROM data_keys WHERE subject_id = ?", (subject,))
    return None if row is None else row["wrapped_key"]


def _put_row(db: Database, subject: str, wrapped: str | None) -> None:
    with db.transaction() as tx:
        tx.execute("UPDATE data_keys SET wrapped_key = ? WHERE subject_id = ?", (wrapped, subject))


def test_a_token_shows_nothing_and_opens_only_for_its_own_person(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    ada, bo = str(uuid.uuid4()), vault.new_subject()
    token = vault.encrypt(ada, NAME)
    assert token.startswith("enc:v1:")
    assert "Åsa" not in token and "Öberg" not in token and "first" not in token
    # Two encryptions of one value differ (a fresh nonce), so equal names are not linkable.
    assert vault.encrypt(ada, NAME) != token
    # Another process (a second vault on the same store) reads it through the stored key.
    assert Vault(settings, db).decrypt(ada, token) == NAME
    vault.encrypt(bo, "x")
    with pytest.raises(InvalidTag):  # the authenticated encryption refuses: nothing opens
        vault.decrypt(bo, token)
    assert vault.decrypt(ada, None) is None
    with pytest.raises(ValueError, match="not a vault token"):
        vault.decrypt(ada, "Åsa Öberg-Lind")


def test_reading_for_someone_without_a_key_reads_as_erased_and_makes_no_key(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    token = vault.encrypt(str(uuid.uuid4()), NAME)
    stranger = str(uuid.uuid4())
    assert vault.decrypt_or(stranger, token, erased="[raderad]") == "[raderad]"
    with pytest.raises(KeyDestroyed):
        vault.decrypt(stranger, token)
    assert _row(db, stranger) is None
    with db.transaction() as tx:
        assert tx.one("SELECT 1 FROM data_keys WHERE subject_id = ?", (stranger,)) is None


def test_a_key_moved_to_another_person_opens_nothing(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    ada, bo = str(uuid.uuid4()), str(uuid.uuid4())
    token = vault.encrypt(ada, NAME)
    vault.encrypt(bo, "Bo")
    _put_row(db, bo, _row(db, ada))  # someone with database access copies Ada's key row onto Bo
    with pytest.raises(InvalidTag):
        Vault(settings, db).decrypt(bo, token)


@pytest.mark.parametrize("made_ahead", [True, False])
def test_an_erased_person_can_never_be_read_or_written_again(store, made_ahead: bool) -> None:
    settings, db = store
    vault = Vault(settings, db)
    other = Vault(settings, db)
    ada = vault.new_subject() if made_ahead else str(uuid.uuid4())
    living = str(uuid.uuid4())
    token = vault.encrypt(ada, NAME)
    kept = vault.encrypt(living, "Bo")
    assert not vault.is_destroyed(ada)
    assert other.destroy(ada, "erasure request") is True
    assert vault.is_destroyed(ada) and other.is_destroyed(ada)
    for v in (vault, other):
        with pytest.raises(KeyDestroyed):
            v.decrypt(ada, token)
        assert v.decrypt_or(ada, token, erased="[raderad]") == "[raderad]"
        with pytest.raises(KeyDestroyed):  # no fresh key for an erased person
            v.encrypt(ada, NAME)
    assert other.destroy(ada, "again") is False  # reported once: it was already gone
    assert not vault.is_destroyed(living) and vault.decrypt(living, kept) == "Bo"
    with db.transaction() as tx:
        row = tx.one("SELECT destroyed_at, destroyed_reason FROM data_keys WHERE subject_id = ?", (ada,))
    assert row["destroyed_at"].endswith("+00:00") and row["destroyed_reason"] == "erasure request"  # UTC


def test_a_key_made_ahead_and_erased_before_first_use_is_never_used(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    ada = vault.new_subject()
    assert vault.destroy(ada, "erasure request") is True
    with pytest.raises(KeyDestroyed):
        vault.encrypt(ada, NAME)


def test_a_key_stored_before_key_epochs_still_opens_and_is_rewrapped_by_the_first_rotation(store) -> None:
    """Rows written before key epochs existed hold the data key wrapped by the master key itself
    (base64url of nonce + AES-GCM, the subject id as associated data); tokens are
    ``enc:v1:`` + base64url(nonce + AES-GCM of the JSON value). Both formats are documented."""
    settings, db = store
    vault = Vault(settings, db)
    ada, data_key = str(uuid.uuid4()), AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(12)
    legacy = base64.urlsafe_b64encode(
        nonce + AESGCM(load_master_key(settings)).encrypt(nonce, data_key, ada.encode())).decode()
    with db.transaction() as tx:
        tx.execute("INSERT INTO data_keys (subject_id, wrapped_key, created_at) VALUES (?, ?, ?)",
                   (ada, legacy, "2025-01-01T00:00:00+00:00"))
    nonce = secrets.token_bytes(12)
    token = "enc:v1:" + base64.urlsafe_b64encode(
        nonce + AESGCM(data_key).encrypt(nonce, json.dumps(NAME).encode(), ada.encode())).decode()
    assert vault.decrypt(ada, token) == NAME
    epoch = vault.rotate()
    assert (_row(db, ada) or "").startswith(f"wk1.{epoch}.")
    assert Vault(settings, db).decrypt(ada, token) == NAME


def test_erasing_someone_never_seen_before_stops_any_later_data(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    ghost = str(uuid.uuid4())
    assert not vault.is_destroyed(ghost)
    assert vault.destroy(ghost, "erasure request") is True
    assert vault.is_destroyed(ghost)
    with pytest.raises(KeyDestroyed):
        vault.encrypt(ghost, NAME)
    assert vault.destroy(ghost, "again") is False


def test_after_an_erasure_the_rotation_makes_old_copies_of_the_key_useless(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    ada, bo, cy = str(uuid.uuid4()), str(uuid.uuid4()), vault.new_subject()
    token, kept, kept_c = vault.encrypt(ada, NAME), vault.encrypt(bo, "Bo"), vault.encrypt(cy, "Cy")
    backup = _row(db, ada)  # what a WAL, a dead tuple or a backup still holds
    path = kek_file(settings, db.store)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    epoch = vault.epoch()
    assert vault.rotate_if_due() is None  # nothing erased yet: nothing due
    assert vault.epoch() == epoch
    with open(path, "rb") as old_file:  # the KEK file as it is before the rotation
        vault.destroy(ada, "erasure request")
        assert Vault(settings, db).rotate_if_due() == epoch + 1
        leftover = old_file.read()
    assert vault.epoch() == epoch + 1
    assert vault.rotate_if_due() is None  # done: not due again
    # The replaced file's old bytes (the old KEKs) were overwritten with zeros.
    assert leftover and set(leftover) == {0}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # The living keep their data, through this vault and a fresh one.
    for v in (vault, Vault(settings, db)):
        assert v.decrypt(bo, kept) == "Bo" and v.decrypt(cy, kept_c) == "Cy"
    assert str(epoch + 1) in (_row(db, bo) or "")
    # Restoring the erased key's old row opens nothing: its epoch's KEK is gone everywhere.
    _put_row(db, ada, backup)
    for v in (vault, Vault(settings, db)):
        with pytest.raises(KeyUnavailable):
            v.decrypt(ada, token)


def test_a_forced_rotation_keeps_every_key_and_new_keys_use_the_new_epoch(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    people = [str(uuid.uuid4()) for _ in range(3)]
    tokens = [vault.encrypt(p, p[:4]) for p in people]
    epoch = vault.epoch()
    assert vault.rotate() == epoch + 1
    assert Vault(settings, db).rotate() == epoch + 2
    newcomer = vault.new_subject()
    fresh = vault.encrypt(newcomer, "Ny")
    for v in (vault, Vault(settings, db)):
        assert [v.decrypt(p, t) for p, t in zip(people, tokens, strict=True)] == [p[:4] for p in people]
        assert v.decrypt(newcomer, fresh) == "Ny"
    for p in [*people, newcomer]:
        assert (_row(db, p) or "").startswith(f"wk1.{epoch + 2}.")


def test_the_key_store_does_not_start_without_its_kek_file(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    ada = str(uuid.uuid4())
    vault.encrypt(ada, NAME)
    kek_file(settings, db.store).unlink()
    with pytest.raises(KeyUnavailable, match="restore the KEK file that belongs to this store"):
        Vault(settings, db)


def test_a_new_store_starts_at_key_epoch_one(store) -> None:
    settings, db = store
    assert Vault(settings, db).epoch() == 1
    assert Vault(settings, db).epoch() == 1  # a second process on the store makes no epoch of its own


def test_a_kek_file_opens_only_for_its_own_store(store) -> None:
    """The KEK file is bound to its store: copied over another store's file, it does not open."""
    settings, db = store
    Vault(settings, db)
    other_db = Database(settings, "vaultother")
    try:
        Vault(settings, other_db)
        kek_file(settings, other_db.store).write_bytes(kek_file(settings, db.store).read_bytes())
        with pytest.raises(InvalidTag):
            Vault(settings, other_db)
    finally:
        other_db.close()


def test_a_kek_file_read_while_it_is_being_replaced_is_read_again(store) -> None:
    """A reader that meets the file in the moment between its rename and the zeroing of the old
    copy reads again (briefly) instead of failing."""
    settings, db = store
    vault = Vault(settings, db)
    ada = str(uuid.uuid4())
    token = vault.encrypt(ada, NAME)
    path = kek_file(settings, db.store)
    good = path.read_bytes()
    path.write_bytes(b"\0" * len(good))
    restore = threading.Timer(0.15, path.write_bytes, (good,))
    restore.start()
    try:
        assert Vault(settings, db).decrypt(ada, token) == NAME
    finally:
        restore.join()


def test_the_kek_file_is_replaced_whole_wherever_the_temporary_folder_is(store, monkeypatch) -> None:
    """Written beside its final name, then renamed: atomic on that filesystem, even when the
    process's temporary folder is on another one (here a tmpfs)."""
    settings, db = store
    if not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm")
    elsewhere = Path(tempfile.mkdtemp(dir="/dev/shm"))
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    try:
        vault = Vault(settings, db)
        ada = str(uuid.uuid4())
        token = vault.encrypt(ada, NAME)
        assert vault.rotate() == 2
        assert Vault(settings, db).decrypt(ada, token) == NAME
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)


def test_making_many_subjects_without_using_them_keeps_working(store) -> None:
    settings, db = store
    vault = Vault(settings, db)
    made = [vault.new_subject() for _ in range(4 * KEY_BATCH + 3)]
    assert len(set(made)) == len(made)
    # The earliest ones are no longer remembered in memory; their stored keys still serve.
    token = vault.encrypt(made[0], NAME)
    assert Vault(settings, db).decrypt(made[0], token) == NAME


def test_the_key_store_is_useless_without_its_master_key(sqlite_settings: Settings) -> None:
    master = base64.b64encode(secrets.token_bytes(32)).decode()
    settings = dataclasses.replace(sqlite_settings, master_key=master)
    db = Database(settings, "vaultmaster")
    try:
        ada = str(uuid.uuid4())
        token = Vault(settings, db).encrypt(ada, NAME)
        assert load_master_key(settings) == base64.b64decode(master)
        assert not (settings.data_dir / "keys" / "master.key").exists()  # the configured key is used
        assert Vault(settings, db).decrypt(ada, token) == NAME
        wrong = dataclasses.replace(settings, master_key=base64.b64encode(secrets.token_bytes(32)).decode())
        with pytest.raises(InvalidTag):  # the KEK file does not open
            Vault(wrong, db).decrypt(ada, token)
    finally:
        db.close()
    short = dataclasses.replace(sqlite_settings, master_key=base64.b64encode(b"k" * 16).decode())
    with pytest.raises(ValueError, match="32 bytes"):
        load_master_key(short)


def test_the_development_master_key_is_made_once_and_kept(sqlite_settings: Settings) -> None:
    first = load_master_key(sqlite_settings)
    assert len(first) == 32
    path = sqlite_settings.data_dir / "keys" / "master.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_master_key(sqlite_settings) == first
