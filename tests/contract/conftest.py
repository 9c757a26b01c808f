"""Fixtures of the contract tests: the outside validators (npm ``@asyncapi/parser`` and the Compose
spec schema, pinned in ``tests/contract/node/package.json``), installed on first use with ``npm ci``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """The directory with the pinned node_modules (``npm ci`` when missing; needs node >= 18)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            raise RuntimeError("node and npm are required under CI (make test installs them with apt)")
        pytest.skip("node/npm not installed: `make test` installs them (apt), or install Node.js 20")
    if not (NODE_DIR / "node_modules" / "@asyncapi" / "parser").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True,
                       timeout=300)
    return NODE_DIR
