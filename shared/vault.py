"""The crypto vault: one AES-256-GCM data key per data subject, wrapped by the master key.

Personal fields are stored (in events, on Kafka, in read models) only as tokens produced here.
Erasure destroys the subject's key: every copy of every token becomes unreadable at once, and
nothing else has to be rewritten, so hash chains over the ciphertext still verify.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.config import Settings
from shared.db import Database
from shared.keyfiles import create_once

TOKEN_PREFIX = "enc:v1:"  # noqa: S105 - a format marker, not a secret
# New subjects take their key from a batch stored ahead of time, so registering a person costs
# no commit of its own for the key. A batch left unused when the process stops is a few keys
# that never encrypted anything.
KEY_BATCH = 64

VAULT_DDL = """
CREATE TABLE IF NOT EXISTS data_keys (
    subject_id TEXT PRIMARY KEY,
    wrapped_key TEXT,
    created_at TEXT NOT NULL,
    destroyed_at TEXT,
    destroyed_reason TEXT
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.encode("ascii"))


class KeyDestroyed(Exception):
    """The subject's key is gone: their personal data is erased."""


class Vault:
    """Per-subject keys in the owning service's key store."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._master = AESGCM(load_master_key(settings))
        self.db = db
        db.migrate(VAULT_DDL)
        self._batch: list[tuple[str, bytes]] = []
        self._unused: dict[str, bytes] = {}
        self._batch_lock = threading.Lock()

    def _wrap(self, subject_id: str, key: bytes) -> str:
        nonce = secrets.token_bytes(12)
        return _b64(nonce + self._master.encrypt(nonce, key, subject_id.encode()))

    def new_subject(self) -> str:
        """A fresh subject id whose data key is already stored (taken from a batch made ahead)."""
        with self._batch_lock:
            if not self._batch:
                fresh = [(str(uuid.uuid4()), AESGCM.generate_key(bit_length=256)) for _ in range(KEY_BATCH)]
                now = datetime.now(UTC).isoformat()
                with self.db.transaction() as tx:
                    tx.executemany("INSERT INTO data_keys (subject_id, wrapped_key, created_at) VALUES (?, ?, ?)",
                                   [(sid, self._wrap(sid, key), now) for sid, key in fresh])
                self._batch = fresh
            subject_id, key = self._batch.pop()
            # Nobody else knows this id yet, so nobody can have destroyed its key: the first
            # encryption may use it without a read. (Bounded: a subject whose registration failed
            # is forgotten here; its key is still in the store.)
            self._unused[subject_id] = key
            if len(self._unused) > 4 * KEY_BATCH:
                self._unused.pop(next(iter(self._unused)))
        return subject_id

    def _unwrap(self, subject_id: str, wrapped: str) -> AESGCM:
        raw = _unb64(wrapped)
        return AESGCM(self._master.decrypt(raw[:12], raw[12:], subject_id.encode()))

    def _key(self, subject_id: str, create: bool) -> AESGCM:
        if self._unused and (fresh := self._unused.pop(subject_id, None)) is not None:
            return AESGCM(fresh)
        with self.db.transaction() as tx:
            if create:
                # One round trip for a new subject: insert, and fall back to reading on conflict.
                key = AESGCM.generate_key(bit_length=256)
                tx.execute(
                    "INSERT INTO data_keys (subject_id, wrapped_key, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (subject_id) DO NOTHING",
                    (subject_id, self._wrap(subject_id, key), datetime.now(UTC).isoformat()),
                )
                if tx.rowcount == 1:
                    return AESGCM(key)
            row = tx.one("SELECT wrapped_key FROM data_keys WHERE subject_id = ?", (subject_id,))
            if row is None or row["wrapped_key"] is None:
                raise KeyDestroyed(subject_id)
            # No caching across calls: another process may destroy the key at any moment.
            return self._unwrap(subject_id, row["wrapped_key"])

    def encrypt(self, subject_id: str, value: Any) -> str:
        """Encrypt any JSON value under the subject's key (created on first use)."""
        aes = self._key(subject_id, create=True)
        nonce = secrets.token_bytes(12)
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return TOKEN_PREFIX + _b64(nonce + aes.encrypt(nonce, plaintext, subject_id.encode()))

    def decrypt(self, subject_id: str, token: str | None) -> Any:
        """The plaintext value, or raise ``KeyDestroyed`` after erasure."""
        if token is None:
            return None
        if not token.startswith(TOKEN_PREFIX):
            raise ValueError("not a vault token")
        raw = _unb64(token[len(TOKEN_PREFIX) :])
        aes = self._key(subject_id, create=False)
        return json.loads(aes.decrypt(raw[:12], raw[12:], subject_id.encode()).decode("utf-8"))

    def decrypt_or(self, subject_id: str, token: str | None, erased: Any = None) -> Any:
        try:
            return self.decrypt(subject_id, token)
        except KeyDestroyed:
            return erased

    def destroy(self, subject_id: str, reason: str) -> bool:
        """Crypto-shred: destroy the key. Returns False if it was already gone."""
        now = datetime.now(UTC).isoformat()
        with self.db.transaction() as tx:
            row = tx.one("SELECT wrapped_key FROM data_keys WHERE subject_id = ?", (subject_id,))
            if row is None:
                tx.execute(
                    "INSERT INTO data_keys (subject_id, wrapped_key, created_at, destroyed_at, destroyed_reason) "
                    "VALUES (?, NULL, ?, ?, ?)",
                    (subject_id, now, now, reason),
                )
                return True
            if row["wrapped_key"] is None:
                return False
            tx.execute(
                "UPDATE data_keys SET wrapped_key = NULL, destroyed_at = ?, destroyed_reason = ? WHERE subject_id = ?",
                (now, reason, subject_id),
            )
        return True

    def is_destroyed(self, subject_id: str) -> bool:
        with self.db.transaction() as tx:
            row = tx.one("SELECT wrapped_key, destroyed_at FROM data_keys WHERE subject_id = ?", (subject_id,))
        return row is not None and row["wrapped_key"] is None
