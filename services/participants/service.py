"""Assembly of the participants service from configuration: the application, its stores,
the HTTP app (``wsgi``), and the background worker (relay + projections)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.participants.api import blp, departments_blp, honoraria_blp
from services.participants.application import ParticipantsApp, today
from services.participants.domain import retention_cutoff
from services.participants.projections import ParticipantBank, ParticipantDirectory, inactive_people
from services.participants.reactions import ParticipationFromOtherServices
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.runtime import Worker
from shared.service import EventSourcedService
from shared.vault import Vault

NAME = "participants"
RETENTION_EVERY_SECONDS = 24 * 3600.0


@dataclass
class Participants(EventSourcedService):
    name = NAME
    description = "The brukarbank: participants, consent, profiles, availability, honoraria, data rights."
    blueprints = (blp, honoraria_blp, departments_blp)

    settings: Settings
    db: Database
    vault: Vault
    app: ParticipantsApp

    @classmethod
    def build(cls, settings: Settings) -> Participants:
        db = Database(settings, NAME)
        vault = Vault(settings, db)
        app = ParticipantsApp(settings, vault)
        app.ensure_default_departments()
        for read_model in (ParticipantDirectory(), ParticipantBank()):
            read_model.migrate(db)  # the API reads them before the worker's first event arrives
        return cls(settings, db, vault, app)

    def directory(self) -> ConsumerLoop:
        """The coordinators' list and the payroll ledger, from participants.events."""
        return ConsumerLoop(self.settings, self.db, ParticipantDirectory())

    def bank(self) -> ConsumerLoop:
        """The department lists, the access log and the retention facts, from participants.events."""
        return ConsumerLoop(self.settings, self.db, ParticipantBank())

    def run_retention(self, on: date | None = None) -> list[str]:
        """Erase whoever the retention rules say is due ``on`` (today unless told): the bank's
        read model names the inactive, each one's aggregate confirms it."""
        day = on or date.fromisoformat(today())
        return self.app.run_retention(day, inactive_people(self.db, retention_cutoff(day, 1)))

    def participation(self) -> ConsumerLoop:
        """Honoraria from recruitments.events and panel seats from matching.events."""
        return ConsumerLoop(self.settings, self.db, ParticipationFromOtherServices(self.app))

    def projections(self) -> list[tuple[Any, Database]]:
        """Pure read models, for ``delaktig audit replay`` (projection factory, live database)."""
        return [(ParticipantDirectory, self.db), (ParticipantBank, self.db)]

    def worker(self) -> Worker:
        return Worker(NAME, parts=[self.relay(), self.directory(), self.bank(), self.participation()],
                      periodic=[(RETENTION_EVERY_SECONDS, self.run_retention)])

build = Participants.build
