"""Assembly of the matching service from configuration: the application, its read model, the HTTP
app (``wsgi``), and the background worker (relay + the read model's consumer loop)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.matching.api import blp
from services.matching.application import MatchingApp
from services.matching.projections import InvitationsProjection, MatchingProjection, ReadModel
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.runtime import Worker
from shared.service import EventSourcedService

NAME = "matching"


@dataclass
class Matching(EventSourcedService):
    name = NAME
    description = "Fair, explainable panels from the brukarbank: proposals, assignments, fairness."
    blueprints = (blp,)

    settings: Settings
    db: Database
    readmodel: ReadModel
    app: MatchingApp

    @classmethod
    def build(cls, settings: Settings) -> Matching:
        db = Database(settings, NAME)
        readmodel = ReadModel(db)
        return cls(settings, db, readmodel, MatchingApp(settings, readmodel))

    def consumer(self) -> ConsumerLoop:
        """The loop that keeps the read model up to date from the three topics."""
        return ConsumerLoop(self.settings, self.db, MatchingProjection())

    def invitations_consumer(self) -> ConsumerLoop:
        """The loop that keeps the panels' invitations (seats, answers, replacements) up to date."""
        return ConsumerLoop(self.settings, self.db, InvitationsProjection())

    def consumers(self) -> list[ConsumerLoop]:
        return [self.consumer(), self.invitations_consumer()]

    def projections(self) -> list[tuple[Any, Database]]:
        """Pure read models, for ``delaktig audit replay`` (projection factory, live database)."""
        return [(MatchingProjection, self.db), (InvitationsProjection, self.db)]

    def worker(self) -> Worker:
        return Worker(NAME, parts=[self.relay(), *self.consumers()])



build = Matching.build
