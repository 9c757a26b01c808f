"""One-time sign-in codes: six digits, expiring, with a small number of guesses.

A code is valid for ``CODE_TTL`` seconds and accepts ``MAX_ATTEMPTS`` wrong guesses before it is
void, so a guesser has ``MAX_ATTEMPTS / 10**6`` chance per code; at most ``MAX_CODES_PER_WINDOW``
codes per address in ``WINDOW`` seconds caps the chances per address and hour. Codes are kept as
salted hashes only, in memory (one provider process).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

CODE_TTL = 600.0
MAX_ATTEMPTS = 5
MAX_CODES_PER_WINDOW = 3
WINDOW = 900.0


@dataclass
class _Code:
    sub: str
    digest: bytes
    salt: bytes
    expires: float
    attempts: int = 0


@dataclass
class CodeBook:
    """Issued codes by ticket (an unguessable id the browser carries between the two pages)."""

    codes: dict[str, _Code] = field(default_factory=dict)
    issued: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _hash(salt: bytes, code: str) -> bytes:
        return hashlib.sha256(salt + code.encode("ascii", "replace")).digest()

    def issue(self, sub: str, address: str, now: float | None = None) -> tuple[str, str] | None:
        """A new ``(ticket, code)``; ``None`` when the address had too many codes lately."""
        now = time.time() if now is None else now
        with self.lock:
            recent = [t for t in self.issued.get(address, []) if now - t < WINDOW]
            if len(recent) >= MAX_CODES_PER_WINDOW:
                self.issued[address] = recent
                return None
            self.issued[address] = [*recent, now]
            code = f"{secrets.randbelow(10**6):06d}"
            salt = secrets.token_bytes(16)
            ticket = secrets.token_urlsafe(24)
            self.codes[ticket] = _Code(sub, self._hash(salt, code), salt, now + CODE_TTL)
            return ticket, code

    def ticket_for(self, address: str, now: float | None = None) -> str:
        """A decoy ticket for an unknown address, indistinguishable from a real one to the browser."""
        ticket = secrets.token_urlsafe(24)
        now = time.time() if now is None else now
        with self.lock:
            self.codes[ticket] = _Code("", b"", b"", now + CODE_TTL)
        return ticket

    def check(self, ticket: str, guess: str, now: float | None = None) -> tuple[str | None, int]:
        """``(sub, attempts_left)``: the person's id when the guess is right, else ``None``."""
        now = time.time() if now is None else now
        with self.lock:
            entry = self.codes.get(ticket)
            if entry is None or now > entry.expires or entry.attempts >= MAX_ATTEMPTS:
                return None, 0
            entry.attempts += 1
            if entry.sub and hmac.compare_digest(entry.digest, self._hash(entry.salt, guess.strip())):
                del self.codes[ticket]  # one use only
                return entry.sub, 0
            return None, MAX_ATTEMPTS - entry.attempts
