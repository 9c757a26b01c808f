"""Time travel: the history as it stood at a moment (``delaktig audit replay --until``, the
decision record's ``?as_of=``).

A moment is compared with each event's ``occurred_at``, the one clock that all topics share
(positions are per source, so "position 120" names no moment across participants, recruitments
and matching). Within one aggregate ``occurred_at`` grows with the version, so the events up to
a moment are a prefix of every aggregate's history, and a read model rebuilt from them is the
read model as it was then. Imported history carries its original dates (docs/history-import.md):
it appears in every moment after those dates, as the record of what happened then.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from shared.consumer import Projection
from shared.db import Database, Tx
from shared.envelope import Envelope


def parse_moment(text: str) -> datetime:
    """An ISO 8601 moment: a date means the end of that day (UTC), a time without a zone is UTC.
    Raises ``ValueError`` for anything else."""
    text = text.strip()
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def occurred_by(envelope: Envelope, moment: datetime | None) -> bool:
    """Whether the event had happened at ``moment`` (every event, without one)."""
    if moment is None:
        return True
    return datetime.fromisoformat(str(envelope["occurred_at"]).replace("Z", "+00:00")) <= moment


class AsOf(Projection):
    """A projection that applies only the events that had happened at ``moment``."""

    def __init__(self, inner: Projection, moment: datetime) -> None:
        self.inner = inner
        self.moment = moment
        self.name = inner.name
        self.topics = inner.topics
        # A read model that computes figures "as of today" (the dashboards' figures) computes them
        # as of the moment's date: the figures an auditor would have seen that day.
        refresher = getattr(inner, "refresher", None)
        if refresher is not None and hasattr(refresher, "today"):
            refresher.today = moment.date

    def migrate(self, db: Database) -> None:
        self.inner.migrate(db)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        if occurred_by(envelope, self.moment):
            self.inner.apply(tx, envelope)

    def after_batch(self, tx: Tx, caught_up: bool) -> None:
        self.inner.after_batch(tx, caught_up)
