"""Gunicorn entry point: ``gunicorn services.audit.wsgi:app``."""

from __future__ import annotations

from services.audit.service import build
from shared.config import Settings

service = build(Settings.from_env())
app = service.http()
