"""The audit signing key (Ed25519): from ``AUDIT_SIGNING_KEY`` (a PEM file) or a development key
generated under ``<data_dir>/keys``. The public key is exported as PEM for outside verifiers."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.config import Settings
from shared.keyfiles import create_once


def signing_key_path(settings: Settings) -> Path:
    return settings.audit_signing_key or Path(settings.data_dir) / "keys" / "audit-signing-ed25519.pem"


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The private key; a development key is created on first use when none is configured."""
    path = signing_key_path(settings)
    if not path.exists():
        if settings.audit_signing_key is not None:
            raise FileNotFoundError(f"AUDIT_SIGNING_KEY {path} does not exist")
        create_once(path, lambda: Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """A short fingerprint: the first 16 hex digits of SHA-256 over the raw public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
