"""The crypto vault: one AES-256-GCM data key per data subject, in a three-level key hierarchy.

    master key (configuration)  ─wraps─►  key-encryption key of the current epoch (KEK file)
                                           ─wraps─►  each subject's data key (``data_keys`` rows)

Personal fields are stored (in events, on Kafka, in read models) only as tokens produced here.
Erasure destroys the subject's data-key row: every copy of every token becomes unreadable, and
nothing else has to be rewritten, so hash chains over the ciphertext still verify.

Why the middle level: the destroyed row's old bytes live on where a database keeps history (the
SQLite ``-wal``, PostgreSQL's WAL and dead tuples, backups). They were wrapped under the KEK of
their epoch. After an erasure the worker *rotates* (``rotate_if_due``, every few seconds): a new
epoch's KEK is made, every surviving data key is re-wrapped under it, and the old KEK is
destroyed. From then on no key the system holds opens any old copy of the erased key.

KEKs live in one small file per store (``DATA_DIR/keys/<store>.keks``, wrapped by the master
key), not in the database, because a database keeps old row versions and a replaced file does
not: the file is rewritten whole, fsynced, renamed over the old one, and the old inode is
overwritten with zeros before it is let go.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import secrets
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.config import Settings
from shared.db import Database, Tx
from shared.keyfiles import create_once

log = logging.getLogger("delaktig.vault")

TOKEN_PREFIX = "enc:v1:"  # noqa: S105 - a format marker, not a secret
# A wrapped data key as stored: ``wk1.<epoch>.<base64url(nonce 12 + AES-GCM(data key 32) + tag 16)>``,
# the subject id as associated data. Rows written before key epochs existed hold the bare base64
# (wrapped by the master key itself); the first rotation re-wraps them.
WRAP_PREFIX = "wk1."
WRAPPED_B64_CHARS = 80  # base64url of 60 bytes
# New subjects take their key from a batch stored ahead of time, so registering a person costs
# no commit of its own for the key. A batch left unused when the process stops is a few keys
# that never encrypted anything.
KEY_BATCH = 64
# The worker looks this often whether an erasure made a rotation due (the documented delay
# after which an erased person's key is unrecoverable from every old byte).
ROTATE_CHECK_SECONDS = 5.0

VAULT_DDL = """
CREATE TABLE IF NOT EXISTS data_keys (
    subject_id TEXT PRIMARY KEY,
    wrapped_key TEXT,
    created_at TEXT NOT NULL,
    destroyed_at TEXT,
    destroyed_reason TEXT
);
CREATE TABLE IF NOT EXISTS vault_state (
    id INTEGER PRIMARY KEY,
    epoch BIGINT NOT NULL,
    rotation_due INTEGER NOT NULL,
    rotated_at TEXT NOT NULL
)
"""


def load_master_key(settings: Settings) -> bytes:
    """The master key from ``MASTER_KEY`` (base64 of 32 bytes), or a development key file."""
    if settings.master_key:
        key = base64.b64decode(settings.master_key)
    else:
        path = Path(settings.data_dir) / "keys" / "master.key"
        key = base64.b64decode(create_once(path, lambda: base64.b64encode(secrets.token_bytes(32))).strip())
    if len(key) != 32:
        raise ValueError("MASTER_KEY must be 32 bytes, base64-encoded")
    return key


def kek_file(settings: Settings, store: str) -> Path:
    """Where a store's key-encryption keys live (beside the development master key)."""
    return Path(settings.data_dir) / "keys" / f"{settings.schema(store)}.keks"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


def _now() -> str:
    return datetime.now(UTC).isoformat()


class KeyDestroyed(Exception):
    """The subject's key is gone: their personal data is erased."""


class KeyUnavailable(RuntimeError):
    """A data key is wrapped under a KEK epoch this machine does not have (a lost KEK file,
    or a store restored from a backup of an epoch since destroyed). Not an erasure: loud."""


def _seal(aes: AESGCM, plaintext: bytes, aad: bytes) -> str:
    nonce = secrets.token_bytes(12)
    return _b64(nonce + aes.encrypt(nonce, plaintext, aad))


def _open(aes: AESGCM, sealed: str, aad: bytes) -> bytes:
    raw = _unb64(sealed)
    return aes.decrypt(raw[:12], raw[12:], aad)


class KekFile:
    """The KEK epochs of one store, as one small file replaced whole on every change."""

    def __init__(self, path: Path, master: AESGCM, store: str) -> None:
        self.path = path
        self.master = master
        self.store = store

    def _aad(self, epoch: int) -> bytes:
        return f"kek:{self.store}:{epoch}".encode()

    def read(self) -> dict[int, bytes]:
        """Every epoch's KEK in the file (empty when there is no file yet)."""
        for attempt in range(50):
            try:
                doc = json.loads(self.path.read_bytes())
            except FileNotFoundError:
                return {}
            except ValueError:
                # Caught between the rename and the zeroing of the old inode: read again.
                time.sleep(0.01 * (attempt + 1))
                continue
            return {int(e): _open(self.master, w, self._aad(int(e))) for e, w in doc["epochs"].items()}
        raise KeyUnavailable(f"unreadable KEK file {self.path}")

    def write(self, keks: dict[int, bytes]) -> None:
        """Replace the file: written aside, fsynced, renamed into place; then the old inode is
        overwritten with zeros so its KEKs are not left in the freed blocks we can reach."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"store": self.store, "epochs": {str(e): _seal(self.master, k, self._aad(e)) for e, k in keks.items()}}
        data = json.dumps(doc, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            old = None
            with contextlib.suppress(FileNotFoundError):
                old = open(self.path, "r+b")  # closed below, after the rename
            os.replace(tmp, self.path)
            if old is not None:
                with old:
                    size = os.fstat(old.fileno()).st_size
                    old.seek(0)
                    old.write(b"\0" * size)
                    old.flush()
                    os.fsync(old.fileno())
            dirfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dirfd)
            finally:
                os.close(dirfd)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


class Vault:
    """Per-subject keys in the owning service's key store."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._master = AESGCM(load_master_key(settings))
        self._file = KekFile(kek_file(settings, db.store), self._master, settings.schema(db.store))
        self._keks: dict[int, AESGCM] = {}
        self._keks_lock = threading.Lock()
        db.migrate(VAULT_DDL)
        self._batch: list[tuple[str, bytes]] = []
        self._unused: dict[str, bytes] = {}
        self._batch_lock = threading.Lock()
        self._ensure_epoch()

    # -- key-encryption keys ---------------------------------------------------------------

    @contextlib.contextmanager
    def _rotation_lock(self) -> Iterator[None]:
        """One KEK change at a time: a file lock beside the KEK file (processes on this machine)
        and, on PostgreSQL, an advisory lock (processes anywhere)."""
        lock_path = self._file.path.with_suffix(".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                if not self.db.postgres:
                    yield
                    return
                import psycopg

                key = zlib.crc32(f"vault:{self._file.store}".encode())
                params = self.settings.postgres_params()
                with psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=True) as conn:
                    conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                    try:
                        yield
                    finally:
                        conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _load_keks(self) -> None:
        # Replaces the whole memory: epochs destroyed on disk are forgotten here too.
        keks = {epoch: AESGCM(key) for epoch, key in self._file.read().items()}
        with self._keks_lock:
            self._keks = keks

    def _kek(self, epoch: int) -> AESGCM | None:
        kek = self._keks.get(epoch)
        if kek is None or epoch < max(self._keks, default=0):
            self._load_keks()
            kek = self._keks.get(epoch)
        return kek

    def _ensure_epoch(self) -> None:
        """The first epoch of a new store; refuse to run on a store whose KEK file is missing."""
        with self.db.transaction() as tx:
            row = tx.one("SELECT epoch FROM vault_state WHERE id = 1")
        if row is None:
            with self._rotation_lock():
                with self.db.transaction() as tx:
                    row = tx.one("SELECT epoch FROM vault_state WHERE id = 1")
                if row is None:
                    keks = self._file.read()
                    epoch = max(keks, default=0) + 1
                    self._file.write({**keks, epoch: AESGCM.generate_key(bit_length=256)})
                    with self.db.transaction() as tx:
                        tx.execute("INSERT INTO vault_state (id, epoch, rotation_due, rotated_at) VALUES (1, ?, 0, ?) "
                                   "ON CONFLICT (id) DO NOTHING", (epoch, _now()))
                        row = tx.one("SELECT epoch FROM vault_state WHERE id = 1")
        assert row is not None
        if self._kek(int(row["epoch"])) is None:
            raise KeyUnavailable(
                f"the key-encryption key of epoch {row['epoch']} is not in {self._file.path}: "
                "restore the KEK file that belongs to this store (see README, Backups)")

    def _current(self, tx: Tx, lock: str = "FOR SHARE") -> tuple[int, AESGCM]:
        """The current epoch and its KEK, read in ``tx`` so a rotation cannot slip in between
        (it waits for this transaction on PostgreSQL; SQLite transactions are serial)."""
        suffix = f" {lock}" if self.db.postgres and lock else ""
        epoch = int(tx.scalar(f"SELECT epoch FROM vault_state WHERE id = 1{suffix}"))
        kek = self._kek(epoch)
        if kek is None:
            raise KeyUnavailable(f"no KEK for epoch {epoch} in {self._file.path}")
        return epoch, kek

    def _wrap(self, subject_id: str, key: bytes, epoch: int, kek: AESGCM) -> str:
        return f"{WRAP_PREFIX}{epoch}.{_seal(kek, key, subject_id.encode())}"

    def _unwrap_raw(self, subject_id: str, wrapped: str) -> bytes | None:
        """The data key, or None when the row's epoch is no longer on this machine."""
        if not wrapped.startswith(WRAP_PREFIX):
            return _open(self._master, wrapped, subject_id.encode())  # before key epochs
        epoch, sealed = wrapped[len(WRAP_PREFIX):].split(".", 1)
        kek = self._kek(int(epoch))
        return None if kek is None else _open(kek, sealed, subject_id.encode())

    def rotate_if_due(self) -> int | None:
        """Rotate when an erasure happened since the last rotation (the worker's job)."""
        with self.db.transaction() as tx:
            due = tx.scalar("SELECT rotation_due FROM vault_state WHERE id = 1")
        return self.rotate(force=False) if due else None

    def rotate(self, force: bool = True) -> int | None:
        """A new KEK epoch: re-wrap every surviving data key under it and destroy the old KEKs.
        Returns the new epoch (None when not ``force``d and nothing was due)."""
        with self._rotation_lock():
            keks = self._file.read()
            with self.db.transaction() as tx:
                state = tx.one("SELECT epoch, rotation_due FROM vault_state WHERE id = 1")
            assert state is not None
            if not force and not state["rotation_due"]:
                return None
            epoch = max([*keks, int(state["epoch"])]) + 1
            new_key = AESGCM.generate_key(bit_length=256)
            # The new KEK is on disk before any row refers to it.
            self._file.write({**keks, epoch: new_key})
            self._load_keks()
            new_kek = AESGCM(new_key)
            with self.db.transaction() as tx:
                # The state row first: erasures and new keys take it too, so nothing interleaves.
                tx.execute("UPDATE vault_state SET epoch = ?, rotation_due = 0, rotated_at = ? WHERE id = 1",
                           (epoch, _now()))
                rows = tx.all("SELECT subject_id, wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL")
                rewrapped = []
                for row in rows:
                    key = self._unwrap_raw(row["subject_id"], row["wrapped_key"])
                    if key is None:
                        raise KeyUnavailable(f"a data key is wrapped under a KEK missing from {self._file.path}")
                    rewrapped.append((self._wrap(row["subject_id"], key, epoch, new_kek), row["subject_id"]))
                tx.executemany("UPDATE data_keys SET wrapped_key = ? WHERE subject_id = ? AND wrapped_key IS NOT NULL",
                               rewrapped)
            # Every row is under the new epoch: the old KEKs go, and with them every old copy.
            self._file.write({epoch: new_key})
            self._load_keks()
        self._compact()
        log.info("key epoch rotated", extra={"source": self.db.store, "position": epoch, "count": len(rewrapped)})
        return epoch

    def _compact(self) -> None:
        """Drop the database's own copies of old row versions where it lets us: SQLite's WAL is
        checkpointed and truncated (``secure_delete`` zeroes freed cells), PostgreSQL vacuums the
        key table. Defence in depth: the rotation is what makes the copies useless."""
        try:
            if self.db.postgres:
                self.db.vacuum("data_keys")
            else:
                self.db.checkpoint()
        except Exception:
            log.warning("compaction after key change failed; the rotation still holds", exc_info=True)

    # -- data keys -------------------------------------------------------------------------

    def new_subject(self) -> str:
        """A fresh subject id whose data key is already stored (taken from a batch made ahead)."""
        with self._batch_lock:
            if not self._batch:
                fresh = [(str(uuid.uuid4()), AESGCM.generate_key(bit_length=256)) for _ in range(KEY_BATCH)]
                now = _now()
                with self.db.transaction() as tx:
                    epoch, kek = self._current(tx)
                    tx.executemany("INSERT INTO data_keys (subject_id, wrapped_key, created_at) VALUES (?, ?, ?)",
                                   [(sid, self._wrap(sid, key, epoch, kek), now) for sid, key in fresh])
                self._batch = fresh
            subject_id, key = self._batch.pop()
            # Nobody else knows this id yet, so nobody can have destroyed its key: the first
            # encryption may use it without a read. (Bounded: a subject whose registration failed
            # is forgotten here; its key is still in the store.)
            self._unused[subject_id] = key
            if len(self._unused) > 4 * KEY_BATCH:
                self._unused.pop(next(iter(self._unused)))
        return subject_id

    def _key(self, subject_id: str, create: bool) -> AESGCM:
        if self._unused and (fresh := self._unused.pop(subject_id, None)) is not None:
            return AESGCM(fresh)
        for _ in range(3):
            with self.db.transaction() as tx:
                if create:
                    # One round trip for a new subject: insert, and fall back to reading on conflict.
                    key = AESGCM.generate_key(bit_length=256)
                    epoch, kek = self._current(tx)
                    tx.execute(
                        "INSERT INTO data_keys (subject_id, wrapped_key, created_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (subject_id) DO NOTHING",
                        (subject_id, self._wrap(subject_id, key, epoch, kek), _now()),
                    )
                    if tx.rowcount == 1:
                        return AESGCM(key)
                row = tx.one("SELECT wrapped_key FROM data_keys WHERE subject_id = ?", (subject_id,))
            if row is None or row["wrapped_key"] is None:
                raise KeyDestroyed(subject_id)
            # No caching across calls: another process may destroy the key at any moment.
            raw = self._unwrap_raw(subject_id, row["wrapped_key"])
            if raw is not None:
                return AESGCM(raw)
            # Read just before a rotation committed and the old KEK went: read the row again.
        raise KeyUnavailable(f"the data key of {subject_id} is wrapped under a KEK not in {self._file.path}")

    def encrypt(self, subject_id: str, value: Any) -> str:
        """Encrypt any JSON value under the subject's key (created on first use)."""
        aes = self._key(subject_id, create=True)
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return TOKEN_PREFIX + _seal(aes, plaintext, subject_id.encode())

    def decrypt(self, subject_id: str, token: str | None) -> Any:
        """The plaintext value, or raise ``KeyDestroyed`` after erasure."""
        if token is None:
            return None
        if not token.startswith(TOKEN_PREFIX):
            raise ValueError("not a vault token")
        aes = self._key(subject_id, create=False)
        return json.loads(_open(aes, token[len(TOKEN_PREFIX):], subject_id.encode()).decode("utf-8"))

    def decrypt_or(self, subject_id: str, token: str | None, erased: Any = None) -> Any:
        try:
            return self.decrypt(subject_id, token)
        except KeyDestroyed:
            return erased

    def destroy(self, subject_id: str, reason: str) -> bool:
        """Crypto-shred: destroy the key and make a key-epoch rotation due (the worker runs it
        within ``ROTATE_CHECK_SECONDS``). Returns False if it was already gone."""
        now = _now()
        with self.db.transaction() as tx:
            # The state row first, as a rotation does: the two never deadlock, never interleave.
            tx.execute("UPDATE vault_state SET rotation_due = 1 WHERE id = 1")
            row = tx.one("SELECT wrapped_key FROM data_keys WHERE subject_id = ?", (subject_id,))
            if row is None:
                tx.execute(
                    "INSERT INTO data_keys (subject_id, wrapped_key, created_at, destroyed_at, destroyed_reason) "
                    "VALUES (?, NULL, ?, ?, ?)",
                    (subject_id, now, now, reason),
                )
            elif row["wrapped_key"] is None:
                return False
            else:
                tx.execute(
                    "UPDATE data_keys SET wrapped_key = NULL, destroyed_at = ?, destroyed_reason = ? "
                    "WHERE subject_id = ?",
                    (now, reason, subject_id),
                )
        with self._batch_lock:
            self._unused.pop(subject_id, None)
        self._compact()
        return True

    def is_destroyed(self, subject_id: str) -> bool:
        with self.db.transaction() as tx:
            row = tx.one("SELECT wrapped_key, destroyed_at FROM data_keys WHERE subject_id = ?", (subject_id,))
        return row is not None and row["wrapped_key"] is None

    def epoch(self) -> int:
        """The current key epoch of this store."""
        with self.db.transaction() as tx:
            return int(tx.scalar("SELECT epoch FROM vault_state WHERE id = 1"))
