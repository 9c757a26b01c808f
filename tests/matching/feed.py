"""Test helper: other services' events, produced as properly sealed envelopes onto the broker.

Participants and recruitments are written by colleagues; matching only ever sees their Kafka
events, so the tests play those sources here (contract in docs/events-contract.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from shared.config import Settings
from tests.eventwriter import EventWriter

DEPARTMENT = "socialforvaltningen"
FROM, TO = "2030-03-04", "2030-03-06"
ALL_YEAR = [{"start": "2030-01-01", "end": "2030-12-31"}]
STAFF = {"id": "staff-feed", "role": "coordinator"}


class Feed(EventWriter):
    """Produces participants.events / recruitments.events envelopes, chained per source."""

    def __init__(self, settings: Settings, **producer_overrides: Any) -> None:
        super().__init__(settings, STAFF, **producer_overrides)

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
