"""Assembly of the participants service from configuration: the application, its stores,
the HTTP app (``wsgi``), and the background worker (relay + projections)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from services.participants.api import blp, departments_blp
from services.participants.application import ParticipantsApp
from shared.config import Settings
from shared.db import Database
from shared.relay import OutboxRelay
from shared.runtime import Worker
from shared.vault import Vault

NAME = "participants"


@dataclass
class Participants:
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
        return cls(settings, db, vault, app)

    def http(self) -> Flask:
        from shared.web import create_app

        return create_app(
            NAME,
            self.settings,
            [blp, departments_blp],
            db=self.db,
            description="The brukarbank: participants, consent, profiles, availability, honoraria, data rights.",
            extensions={"delaktig.app": self.app},
        )

    def relay(self) -> OutboxRelay:
        return OutboxRelay(self.app, self.db)

    def worker(self) -> Worker:
        return Worker(NAME, parts=[self.relay()])

    def close(self) -> None:
        self.app.close()
        self.db.close()
build = Participants.build
