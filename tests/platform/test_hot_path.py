"""The registration hot path's shortcuts keep their guarantees: a remembered token still
expires, a forged one is never remembered, and data keys made ahead are stored before use and
erasable like any other."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from shared import auth
from shared.auth import TokenVerifier, mint_token
from shared.config import Settings
from shared.db import Database
from shared.errors import Unauthorized
from shared.vault import KEY_BATCH, KeyDestroyed, Vault


def test_a_remembered_token_stops_working_when_it_expires(sqlite_settings: Settings) -> None:
    verifier = TokenVerifier(sqlite_settings)
    token = mint_token(sqlite_settings, sub="co-1", roles=["coordinator"], ttl_seconds=2)
    assert verifier.verify(token).sub == "co-1"
    assert verifier.verify(token).sub == "co-1"  # from memory
    time.sleep(2.1)
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_a_forged_token_is_refused_every_time(sqlite_settings: Settings) -> None:
    verifier = TokenVerifier(sqlite_settings)
    forged = jwt.encode({"sub": "x", "roles": ["administrator"], "exp": int(time.time()) + 60},
                        ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verifier.verify(forged)


def test_the_token_memory_is_short_and_bounded(sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "VERIFIED_TOKEN_CACHE", 3)
    monkeypatch.setattr(auth, "VERIFIED_TOKEN_TTL", 0.0)
    verifier = TokenVerifier(sqlite_settings)
    tokens = [mint_token(sqlite_settings, sub=f"co-{i}", roles=["coordinator"]) for i in range(5)]
    for t in tokens:
        verifier.verify(t)
    assert len(verifier._verified) <= 3
    # With no time to live, every call verifies the signature again (and still succeeds).
    assert all(verifier._verified[t][0] <= time.time() for t in verifier._verified)
    assert verifier.verify(tokens[0]).sub == "co-0"


def test_keys_made_ahead_are_stored_before_use_and_erasable(settings: Settings) -> None:
    db = Database(settings, "vaulttest")
    vault = Vault(settings, db)
    subject = vault.new_subject()
    with db.transaction() as tx:
        stored = tx.scalar("SELECT COUNT(*) FROM data_keys WHERE wrapped_key IS NOT NULL")
    assert int(stored) == KEY_BATCH  # one commit made the whole batch
    token = vault.encrypt(subject, {"name": "Ada Lind"})
    # Another process (a second Vault on the same store) reads it through the stored key.
    other = Vault(settings, db)
    assert other.decrypt(subject, token) == {"name": "Ada Lind"}
    assert len({vault.new_subject() for _ in range(KEY_BATCH + 1)} | {subject}) == KEY_BATCH + 2
    assert other.destroy(subject, "erasure request")
    with pytest.raises(KeyDestroyed):
        vault.decrypt(subject, token)
    db.close()
