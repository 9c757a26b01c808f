"""Assembly of the audit service: the checkpointer, access-log and decision-record projections, the checkpoint
publisher, the read-only HTTP API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from services.audit.application import AuditApp
from services.audit.checkpoints import CheckpointProjection, CheckpointPublisher
from services.audit.decision_model import DecisionRecordProjection
from services.audit.keys import load_signing_key
from services.audit.projections import AccessLogProjection
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from shared.runtime import Worker

NAME = "audit"


@dataclass
class Audit:
    settings: Settings
    db: Database
    app: AuditApp
    checkpointer: CheckpointProjection
    publisher: CheckpointPublisher
    loops: list[ConsumerLoop] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings) -> Audit:
        db = Database(settings, NAME)
        key = load_signing_key(settings)
        checkpointer = CheckpointProjection(settings, key)
        checkpointer.migrate(db)
        AccessLogProjection().migrate(db)
        DecisionRecordProjection().migrate(db)
        return cls(settings, db, AuditApp(settings, db, key), checkpointer, CheckpointPublisher(settings, db))

    def http(self) -> Flask:
        from services.audit.api import blp
        from shared.web import create_app

        return create_app(NAME, self.settings, [blp], db=self.db,
                          description="Read-only audit: checkpoints, decision-influence records, access log.",
                          extensions={"delaktig.audit": self.app})

    def consumer_loops(self) -> list[ConsumerLoop]:
        """The checkpointer, the access-log and the decision-record projections (created once)."""
        if not self.loops:
            self.loops = [ConsumerLoop(self.settings, self.db, self.checkpointer),
                          ConsumerLoop(self.settings, self.db, AccessLogProjection()),
                          ConsumerLoop(self.settings, self.db, DecisionRecordProjection())]
        return self.loops

    def catch_up(self, force_checkpoint: bool = True) -> int:
        """Apply everything on the topics, cut due checkpoints (all, when forced), publish them."""
        for loop in self.consumer_loops():
            try:
                loop.catch_up()
            finally:
                loop.close()  # fresh broker clients on the next call
        self.checkpointer.cut_due(self.db, force=force_checkpoint)
        return self.publisher.publish()

    def tick(self) -> Any:
        """Periodic job: time-based checkpoints and publishing."""
        self.checkpointer.cut_due(self.db)
        return self.publisher.publish()

    def projections(self) -> list[tuple[Any, Database]]:
        """(projection factory, live database) pairs for ``delaktig audit replay``."""
        return [(AccessLogProjection, self.db), (DecisionRecordProjection, self.db)]

    def worker(self) -> Worker:
        interval = max(0.2, min(self.settings.checkpoint_every_seconds, 5.0))
        return Worker(NAME, parts=list(self.consumer_loops()), periodic=[(interval, self.tick)])

    def close(self) -> None:
        for loop in self.loops:
            loop.close()
        self.publisher.close()
        self.db.close()


build = Audit.build
