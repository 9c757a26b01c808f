"""Development key files that several processes may create at the same moment (``make up``
starts every service's gunicorn workers and worker process together on a fresh data folder).

A key file appears whole or not at all: it is written under a temporary name and then linked to
its final name, which fails if another process got there first; then that process's key is the
key. Nobody ever reads a half-written file or overwrites a key another process already uses."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def create_once(path: Path, make: Callable[[], bytes], mode: int = 0o600) -> bytes:
    """The contents of ``path``, created from ``make()`` if it does not exist yet."""
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(make())
            f.flush()
            os.fsync(f.fileno())
        # Fails when another process made it first: then theirs is the key, read below.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_bytes()
