"""Producing properly sealed public envelopes onto the test's topics (the producing services
are separate; the dashboards only ever see Kafka)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from shared.config import Settings
from shared.kafka import read_all
from tests.eventwriter import EventWriter as SharedWriter

SOURCES = {
    "participants": "participants.events",
    "recruitments": "recruitments.events",
    "matching": "matching.events",
}
STAFF = {"id": "staff-test", "role": "coordinator"}


class EventWriter(SharedWriter):
    """The shared writer, acting as staff unless told otherwise."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, STAFF)


def new_id() -> str:
    return str(uuid.uuid4())


def raw_events(settings: Settings) -> list[dict[str, Any]]:
    """Every envelope on the three public topics (the independent recount's input)."""
    out: list[dict[str, Any]] = []
    for topic in SOURCES.values():
        out.extend(json.loads(r.value) for r in read_all(settings, settings.topic(topic)))
    return out
