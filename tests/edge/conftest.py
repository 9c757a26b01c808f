"""Fixtures for the HTTP edge tests: a participants service on each backend, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from services.participants.service import Participants
from shared.config import Settings

PERSON: dict[str, Any] = {"name": "Bertil Ek", "email": "bertil@example.se", "phone": "+46 70 111 22 33",
                          "preferred_language": "sv", "departments": ["socialforvaltningen"]}


@pytest.fixture
def participants(settings: Settings) -> Iterator[Participants]:
    service = Participants.build(settings)
    yield service
    service.close()


def registrations(service: Participants) -> int:
    """UserRegistered events in the participants event store."""
    return sum(1 for e in service.app.envelopes() if e["event_type"] == "UserRegistered")
