"""A recruitment rig: the service over real HTTP, the real broker, and the people involved."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from services.recruitments.service import Recruitments
from shared.auth import mint_token
from shared.config import Settings
from shared.envelope import GENESIS_HASH, encode, iso_utc, seal
from shared.kafka import ensure_topics, producer
from tests.conftest import bearer

DEPARTMENT = "socialforvaltningen"
SCORECARD = [
    {"key": "motivation_user_participation", "label": "Motivation for user participation"},
    {"key": "empathy", "label": "Empathy and respect"},
    {"key": "collaboration", "label": "Collaboration"},
]


class Rig:
    """One recruitments service, its HTTP URL, tokens for each person, and matching's voice."""

    def __init__(self, settings: Settings, url: str, service: Recruitments, http: requests.Session) -> None:
        self.settings = settings
        self.url = url
        self.service = service
        self.http = http
        self.coordinator = "coord-anna"
        self.manager = "manager-bo"
        self.participants = [str(uuid.uuid4()) for _ in range(3)]
        self._matching_head = GENESIS_HASH
        self._matching_position = 0
        self._tokens: dict[tuple[str, str, tuple[str, ...]], str] = {}

    # -- tokens ---------------------------------------------------------------------
    def tok(self, role: str, sub: str, departments: tuple[str, ...] = (DEPARTMENT,)) -> dict[str, str]:
        key = (role, sub, departments)
        if key not in self._tokens:
            deps = () if role == "participant" else departments
            self._tokens[key] = mint_token(self.settings, sub=sub, roles=[role], departments=deps)
        return bearer(self._tokens[key])

    @property
    def coord(self) -> dict[str, str]:
        return self.tok("coordinator", self.coordinator)

    @property
    def hm(self) -> dict[str, str]:
        return self.tok("hiring_manager", self.manager)

    def p(self, i: int) -> dict[str, str]:
        return self.tok("participant", self.participants[i])

    # -- HTTP -----------------------------------------------------------------------
    def post(self, path: str, body: dict[str, Any] | None, who: dict[str, str], status: int) -> Any:
        r = self.http.post(f"{self.url}{path}", json=body or {}, headers=who)
        assert r.status_code == status, (path, r.status_code, r.text)
        return r.json()

    def get(self, path: str, who: dict[str, str], status: int = 200) -> Any:
        r = self.http.get(f"{self.url}{path}", headers=who)
        assert r.status_code == status, (path, r.status_code, r.text)
        return r.json()

    def refused(
        self, path: str, body: dict[str, Any] | None, who: dict[str, str], status: int, says: str
    ) -> dict[str, Any]:
        """A refused command: the status, a problem document and a detail that says why."""
        r = self.http.post(f"{self.url}{path}", json=body or {}, headers=who)
        assert r.status_code == status, (path, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        problem: dict[str, Any] = r.json()
        assert says in problem["detail"], problem
        return problem

    # -- the process ----------------------------------------------------------------
    def open(self, interview_format: str = "joint", **changes: Any) -> str:
        body = {
            "department": DEPARTMENT,
            "unit": "ekonomiskt-bistand",
            "position": "Socialsekreterare",
            "hiring_manager": self.manager,
            "interview_format": interview_format,
            "planned": {
                "advert_on": "2026-12-01",
                "interviews_from": "2027-01-10",
                "interviews_to": "2027-01-20",
                "decision_by": "2027-02-01",
            },
            "scorecard": SCORECARD,
            "needs": {"experience_areas": ["economic_assistance"], "languages": ["sv", "ar"]},
        }
        body.update(changes)
        return str(self.post("/recruitments", body, self.coord, 201)["id"])

    def publish(self, rid: str) -> None:
        self.post(
            f"/recruitments/{rid}/advert/publish", {"text": "Vi söker en socialsekreterare"}, self.coord, 200
        )

    def apply(self, rid: str, ats_ref: str, name: str | None = None, protected: bool = False) -> str:
        body: dict[str, Any] = {"ats_ref": ats_ref, "protected_identity": protected}
        if name:
            body.update(name=name, email=f"{ats_ref}@example.se", phone="+46701112233")
        return str(self.post(f"/recruitments/{rid}/applications", body, self.coord, 201)["id"])

    def matching_event(self, rid: str, event_type: str, payload: dict[str, Any]) -> None:
        """Publish a sealed matching.events envelope, as the matching service's relay would."""
        ensure_topics(self.settings)
        panel_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "panel:" + rid))
        self._matching_position += 1
        envelope = {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "schema_version": 1,
            "source": "matching",
            "aggregate_id": panel_id,
            "aggregate_version": self._matching_position,
            "position": self._matching_position,
            "occurred_at": iso_utc(datetime.now(UTC)),
            "department": DEPARTMENT,
            "actor": {"id": self.coordinator, "role": "coordinator"},
            "payload": {"recruitment_id": rid, **payload},
        }
        sealed = seal(envelope, self._matching_head)
        self._matching_head = sealed["hash"]
        self.send_matching(panel_id, encode(sealed))

    def send_matching(self, key: str, value: bytes) -> None:
        prod = producer(self.settings)
        try:
            prod.send(self.settings.topic("matching.events"), key=key.encode(), value=value).get(timeout=30)
        finally:
            prod.close()

    def assign_panel(self, rid: str, members: list[str] | None = None) -> None:
        self.matching_event(
            rid,
            "PanelAssigned",
            {"members": members or self.participants, "proposal_id": None, "overrides": []},
        )
        self.service.panel_feed().catch_up()

    def settle(self) -> None:
        """Publish what is stored and bring the recruitments list and the retention due-list read
        models up to date (the worker does this on its own; a test moves them on deterministically)."""
        self.service.relay().drain()
        self.service.recruitment_list().catch_up()
        self.service.recruitment_scoring().catch_up()
        self.service.retention_due_list().catch_up()

    def score(
        self,
        rid: str,
        cid: str,
        who: dict[str, str],
        values: tuple[int, int, int],
        rec: str,
        comment: str | None = None,
        declare: bool = True,
    ) -> None:
        if declare:
            self.post(f"/recruitments/{rid}/candidates/{cid}/conflicts", {"has_conflict": False}, who, 200)
        scores = dict(zip([a["key"] for a in SCORECARD], values, strict=True))
        self.post(
            f"/recruitments/{rid}/candidates/{cid}/scores",
            {"scores": scores, "recommendation": rec, "comment": comment},
            who,
            201,
        )


@pytest.fixture
def make_rig(serve: Callable[[Any], str], http: requests.Session) -> Iterator[Callable[[Settings], Rig]]:
    services: list[Recruitments] = []

    def make(settings: Settings) -> Rig:
        service = Recruitments.build(settings)
        services.append(service)
        return Rig(settings, serve(service.http()), service, http)

    yield make
    for service in services:
        service.close()
