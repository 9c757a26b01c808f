"""Test helper: other services' events, produced as properly sealed envelopes onto the broker.

Participants and recruitments are written by colleagues; matching only ever sees their Kafka
events, so the tests play those sources here (contract in docs/events-contract.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from shared.config import Settings
from shared.envelope import GENESIS_HASH, encode, event_id_for, iso_utc, seal
from shared.kafka import ensure_topics, producer

DEPARTMENT = "socialforvaltningen"
FROM, TO = "2030-03-04", "2030-03-06"
ALL_YEAR = [{"start": "2030-01-01", "end": "2030-12-31"}]
STAFF = {"id": "staff-feed", "role": "coordinator"}


class Feed:
    """Produces participants.events / recruitments.events envelopes, chained per source."""

    def __init__(self, settings: Settings, **producer_overrides: Any) -> None:
        self.settings = settings
        ensure_topics(settings)
        self.producer = producer(settings, **producer_overrides)
        self.heads: dict[str, str] = {}
        self.positions: dict[str, int] = {}
        self.versions: dict[str, int] = {}

    def emit(self, source: str, event_type: str, aggregate_id: str, payload: dict[str, Any],
             department: str | None = None, actor: dict[str, str] | None = None) -> dict[str, Any]:
        version = self.versions.get(aggregate_id, 0) + 1
        self.versions[aggregate_id] = version
        position = self.positions.get(source, 0) + 1
        self.positions[source] = position
        envelope = seal({
            "event_id": event_id_for(source, aggregate_id, version),
            "event_type": event_type,
            "schema_version": 1,
            "source": source,
            "aggregate_id": aggregate_id,
            "aggregate_version": version,
            "position": position,
            "occurred_at": iso_utc(datetime.now(UTC)),
            "department": department,
            "actor": actor or STAFF,
            "payload": payload,
        }, self.heads.get(source, GENESIS_HASH))
        self.heads[source] = envelope["hash"]
        self.producer.send(self.settings.topic(f"{source}.events"), key=aggregate_id.encode(),
                           value=encode(envelope))
        return envelope

    def flush(self) -> None:
        self.producer.flush()

    def close(self) -> None:
        self.producer.close(timeout=5)

    # -- participants.events ---------------------------------------------------------------
    def participant(self, pid: str | None = None, *, tags: Iterable[str] = ("ekonomiskt-bistand",),
                    languages: Iterable[str] = ("sv",), consents: Iterable[str] = ("recruitment", "matching"),
                    department: str = DEPARTMENT, confidentiality: bool = True, training: bool = True,
                    windows: list[dict[str, str]] | None = None, excluded_units: Iterable[str] = (),
                    status: str | None = None, until: str | None = None) -> str:
        """A participant as the participants service would announce them."""
        pid = pid or str(uuid.uuid4())
        p = "participants"
        self.emit(p, "UserRegistered", pid, {"personal": "enc:v1:opaque", "preferred_language": "sv",
                                             "departments": [department]}, department)
        for purpose in consents:
            self.emit(p, "ConsentGiven", pid, {"purpose": purpose, "department": department}, department)
        self.emit(p, "ProfileUpdated", pid, {"experience": "enc:v1:opaque", "shared_tags": sorted(tags),
                                             "languages": sorted(languages), "accessibility": "enc:v1:opaque",
                                             "excluded_units": sorted(excluded_units)}, department)
        if confidentiality:
            self.emit(p, "ConfidentialityUndertakingSigned", pid,
                      {"signed_on": "2026-01-10", "text_version": "1"}, department)
        if training:
            self.emit(p, "IntroductionTrainingCompleted", pid, {"completed_on": "2026-01-12"}, department)
        self.emit(p, "AvailabilityChanged", pid, {"windows": ALL_YEAR if windows is None else windows}, department)
        if status:
            self.emit(p, "ContactStatusChanged", pid, {"status": status, "until": until, "reason": None}, department)
        return pid

    def withdraw(self, pid: str, purpose: str, department: str = DEPARTMENT) -> None:
        self.emit("participants", "ConsentWithdrawn", pid, {"purpose": purpose, "department": department},
                  department)

    def forget(self, pid: str) -> None:
        self.emit("participants", "ParticipantForgotten", pid,
                  {"legal_basis": "GDPR art. 17", "erased": ["personal"], "kept": []}, None)

    def department_limit(self, max_engagements: int, period_days: int = 365, code: str = DEPARTMENT) -> None:
        self.emit("participants", "DepartmentSettingsChanged", str(uuid.uuid5(uuid.NAMESPACE_URL, code)),
                  {"code": code, "participation_limit": {"max_engagements": max_engagements,
                                                         "period_days": period_days}}, code)

    # -- recruitments.events --------------------------------------------------------------
    def recruitment(self, rid: str | None = None, *, department: str = DEPARTMENT, unit: str = "ekb-norr",
                    areas: Iterable[str] = ("ekonomiskt-bistand",), languages: Iterable[str] = (),
                    panel_size: int = 3, interviews: tuple[str, str] = (FROM, TO)) -> str:
        """A recruitment as the recruitments service would announce it."""
        rid = rid or str(uuid.uuid4())
        self.emit("recruitments", "RecruitmentOpened", rid, {
            "unit": unit, "position": "Socialsekreterare", "hiring_manager": "staff-hm", "coordinator": "staff-c",
            "interview_format": "joint",
            "planned": {"advert_on": "2030-01-10", "interviews_from": interviews[0],
                        "interviews_to": interviews[1], "decision_by": "2030-03-20"},
            "scorecard": [{"key": "motivation", "label": "Motivation"}],
            "needs": {"experience_areas": sorted(areas), "languages": sorted(languages), "panel_size": panel_size},
        }, department)
        return rid
