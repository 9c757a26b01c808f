"""Assembly of the recruitments service from configuration: the application, its stores,
the HTTP app (``wsgi``), and the background worker (relay, panel feed from matching,
read models, daily retention from its due-list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.recruitments.api import blp
from services.recruitments.application import RecruitmentsApp, latest_start, today
from services.recruitments.projections import (
    DecisionInfluence,
    PublicAdverts,
    RecruitmentList,
    RecruitmentScoring,
    RetentionDueList,
)
from services.recruitments.reactions import PanelFeed
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.runtime import Worker
from shared.service import EventSourcedService
from shared.vault import Vault

NAME = "recruitments"
RETENTION_EVERY_SECONDS = 24 * 3600.0


@dataclass
class Recruitments(EventSourcedService):
    name = NAME
    description = "Recruitments: stages, scorecards, scores, decisions, feedback, retention."
    blueprints = (blp,)

    settings: Settings
    db: Database
    vault: Vault
    app: RecruitmentsApp

    @classmethod
    def build(cls, settings: Settings) -> Recruitments:
        db = Database(settings, NAME)
        for read_model in (DecisionInfluence(), PublicAdverts(), RecruitmentList(), RecruitmentScoring(),
                           RetentionDueList()):
            read_model.migrate(db)  # the API reads them before the worker has consumed anything
        vault = Vault(settings, db)
        app = RecruitmentsApp(settings, vault)
        return cls(settings, db, vault, app)

    def panel_feed(self) -> ConsumerLoop:
        """Consumes matching.events and applies panels to recruitments."""
        return ConsumerLoop(self.settings, self.db, PanelFeed(self.app))

    def decision_influence(self, db: Database | None = None) -> ConsumerLoop:
        """The who-said-what / decision-influence read model, fed from recruitments.events."""
        return ConsumerLoop(self.settings, db or self.db, DecisionInfluence())

    def public_adverts(self, db: Database | None = None) -> ConsumerLoop:
        """The published adverts anyone may read, fed from recruitments.events."""
        return ConsumerLoop(self.settings, db or self.db, PublicAdverts())

    def recruitment_list(self, db: Database | None = None) -> ConsumerLoop:
        """The recruitments list read model (``GET /recruitments``), fed from recruitments.events."""
        return ConsumerLoop(self.settings, db or self.db, RecruitmentList())

    def recruitment_scoring(self, db: Database | None = None) -> ConsumerLoop:
        """How many candidates of each recruitment still lack scores (the list's ``unscored``)."""
        return ConsumerLoop(self.settings, db or self.db, RecruitmentScoring())

    def retention_due_list(self, db: Database | None = None) -> ConsumerLoop:
        """Which recruitments have candidates left to shred, and since when, from recruitments.events."""
        return ConsumerLoop(self.settings, db or self.db, RetentionDueList())

    def run_retention(self, on: date | None = None) -> list[str]:
        """Shred what the retention rule says is due ``on`` (today unless told): the due-list read
        model names the recruitments whose period has run out, each one's aggregate confirms."""
        day = on or today()
        cutoff = latest_start(day, self.settings.retention_years_candidates).isoformat()
        return self.app.run_retention(day, RetentionDueList.due(self.db, cutoff))

    def projections(self) -> list[tuple[Any, Database]]:
        """Pure read models, for ``delaktig audit replay`` (projection factory, live database)."""
        return [(DecisionInfluence, self.db), (PublicAdverts, self.db), (RecruitmentList, self.db),
                (RecruitmentScoring, self.db), (RetentionDueList, self.db)]

    def worker(self) -> Worker:
        return Worker(
            NAME,
            parts=[self.relay(), self.panel_feed(), self.decision_influence(), self.public_adverts(),
                   self.recruitment_list(), self.recruitment_scoring(), self.retention_due_list()],
            periodic=[(RETENTION_EVERY_SECONDS, self.run_retention)],
        )



build = Recruitments.build
