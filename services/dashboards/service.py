"""Assembly of the dashboards service: its read model, the three projections and their consumer
loops (each refreshing the figures of the departments its batches touched), the daily refresh
(``worker``), and the web pages (``http``), which read the stored figures only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask
from kafka import TopicPartition
from werkzeug.middleware.proxy_fix import ProxyFix

from services.dashboards.figures import (
    COMPUTED_DDL,
    FIGURES_DDL,
    FiguresProjection,
    FiguresRefresher,
    Refreshing,
    figure_factories,
    utc_today,
)
from services.dashboards.projections import all_projections
from shared.config import Settings
from shared.consumer import CONSUMER_DDL, ConsumerLoop
from shared.db import Database
from shared.kafka import consumer, partitions_of
from shared.runtime import Runnable, Worker

NAME = "dashboards"
REFRESH_EVERY_SECONDS = 60.0  # how often the worker looks for figures of an earlier day


class LagProbe:
    """How far each projection is behind its topic: end offsets on the broker minus the
    positions the projection stored. Used by the pages (which may run in another process than
    the consumer loops); its own Kafka client, guarded by a lock, cached for a second."""

    def __init__(self, settings: Settings, db: Database, projections: list[tuple[str, str]]) -> None:
        self.settings = settings
        self.db = db
        self.projections = projections  # (projection name, logical topic)
        self._client: Any = None
        self._partitions: dict[str, list[TopicPartition]] = {}
        self._lock = threading.Lock()
        self._cached: tuple[float, list[dict[str, Any]]] = (0.0, [])

    def snapshot(self) -> list[dict[str, Any]]:
        """``[{projection, topic, lag}]``; ``lag`` is None when the broker cannot be asked."""
        with self._lock:
            at, value = self._cached
            if value and time.monotonic() - at < 1.0:
                return value
            value = self._measure()
            self._cached = (time.monotonic(), value)
            return value

    def _measure(self) -> list[dict[str, Any]]:
        with self.db.transaction() as tx:
            rows = tx.all("SELECT consumer, topic, partition_no, next_offset FROM consumer_offsets")
        stored = {(r["consumer"], r["topic"], int(r["partition_no"])): int(r["next_offset"]) for r in rows}
        out = []
        for name, logical in self.projections:
            topic = self.settings.topic(logical)
            try:
                ends = self._ends(topic)
                lag: int | None = sum(
                    max(0, end - stored.get((name, topic, tp.partition), 0)) for tp, end in ends.items()
                )
            except Exception:
                self.close()
                lag = None
            out.append({"projection": name, "topic": logical, "lag": lag})
        return out

    def _ends(self, topic: str) -> dict[TopicPartition, int]:
        if self._client is None:
            self._client = consumer(self.settings, request_timeout_ms=5000)
        wanted = self._partitions.get(topic)
        if not wanted:
            # A fresh client learns topic metadata lazily: wait briefly for it.
            wanted = partitions_of(self._client, topic, timeout=2.0)
            self._partitions[topic] = wanted
        return dict(self._client.end_offsets(wanted)) if wanted else {}

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None
                self._partitions = {}


@dataclass
class Dashboards:
    settings: Settings
    db: Database
    loops: list[ConsumerLoop] = field(default_factory=list)
    lag: LagProbe | None = None
    refresher: FiguresRefresher = field(default_factory=FiguresRefresher)
    # ``audit replay`` rebuilds the figures as consumer ``dashboards.figures`` of all three topics;
    # in this database that consumer applies nothing (the loops above keep the figures), but the
    # worker keeps its position current, so replay and ``audit verify`` find it caught up.
    figures_position: ConsumerLoop | None = None

    @classmethod
    def build(cls, settings: Settings, today: Callable[[], date] = utc_today) -> Dashboards:
        """``today``: the date the figures are computed for (tests move it on)."""
        db = Database(settings, NAME)
        db.migrate(CONSUMER_DDL)
        db.migrate(FIGURES_DDL)
        db.migrate(COMPUTED_DDL)
        refresher = FiguresRefresher(today)
        projections = all_projections()
        loops = [ConsumerLoop(settings, db, Refreshing(p, refresher)) for p in projections]
        lag = LagProbe(settings, db, [(p.name, t) for p in projections for t in p.topics])
        return cls(settings, db, loops, lag, refresher, ConsumerLoop(settings, db, FiguresProjection()))

    def http(self) -> Flask:
        from services.dashboards.openapi import document_json_api
        from services.dashboards.pages import pages
        from shared.web import create_app

        app = create_app(
            NAME,
            self.settings,
            [],
            db=self.db,
            description="Department dashboards (HTML pages) built from the Kafka topics.",
            extensions={"delaktig.lag": self.lag},
        )
        app.register_blueprint(pages)
        document_json_api(app)
        # Behind the municipality's TLS-terminating ingress: trust its X-Forwarded-Proto/-Host
        # (one proxy hop), so the session cookie is Secure and redirects keep the public host.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
        return app

    def catch_up(self, timeout: float = 30.0) -> None:
        """Apply everything on the topics now (tests and the research export)."""
        for loop in self.loops:
            loop.catch_up(timeout)
        self.refresh_stale()

    def refresh_stale(self) -> list[str]:
        """Recompute the figures of an earlier day (and any department without figures yet)."""
        return self.refresher.refresh_stale(self.db)

    def projections(self) -> list[tuple[Any, Database]]:
        """Read models for ``delaktig audit replay`` (projection factory, live database): the
        three fact projections and the figures (``figures.FiguresProjection``)."""
        return [(factory, self.db) for factory in figure_factories()]

    def worker(self) -> Worker:
        self.refresh_stale()  # a database from before the figures read model gets them at once
        parts: list[Runnable] = [*self.loops, *([self.figures_position] if self.figures_position else [])]
        return Worker(NAME, parts=parts, periodic=[(REFRESH_EVERY_SECONDS, self.refresh_stale)])

    def close(self) -> None:
        for loop in [*self.loops, *([self.figures_position] if self.figures_position else [])]:
            loop.close()
        if self.lag is not None:
            self.lag.close()
        self.db.close()


build = Dashboards.build
