"""Test helpers: produce properly sealed envelopes of a source straight onto its topic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import Settings
from shared.envelope import Envelope
from tests.eventwriter import EventWriter

BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class SourceWriter:
    """Plays the part of one service's relay: seals and publishes envelopes in chain order,
    each acknowledged before the next, at fixed times (``minute`` after ``BASE_TIME``)."""

    def __init__(self, settings: Settings, source: str) -> None:
        self.source = source
        self.writer = EventWriter(settings)
        self.sent: list[Envelope] = []

    def emit(self, event_type: str, aggregate_id: str, payload: dict[str, Any], actor: dict[str, str],
             minute: int, department: str | None = "socialforvaltningen") -> Envelope:
        env = self.writer.emit(self.source, event_type, aggregate_id, payload, department, actor,
                               at=BASE_TIME + timedelta(minutes=minute))
        self.writer.flush()
        self.sent.append(env)
        return env

    @property
    def head(self) -> str:
        """The hash of the last event sent: the chain head a checkpoint must name."""
        return self.writer.heads[self.source]

    def close(self) -> None:
        self.writer.close()


def new_id() -> str:
    return str(uuid.uuid4())
