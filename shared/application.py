"""The base of every service's eventsourcing ``Application``.

It picks the event store from configuration (SQLite embedded, PostgreSQL in production),
refuses to store an event whose public form would not validate, turns version conflicts into
409s, and presents the notification log as public envelopes for the relay and the auditors.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification

from shared.config import Settings
from shared.db import ddl_lock, ensure_schema
from shared.envelope import Envelope
from shared.errors import ConcurrentModification, NotFound
from shared.events import EventCatalogue


class ServiceApplication(Application[UUID]):
    """An event-sourced service. Subclasses set ``source`` and ``catalogue``."""

    source: ClassVar[str]
    catalogue: ClassVar[EventCatalogue]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        with ddl_lock(settings):  # eventsourcing creates its tables and functions here
            if settings.uses_postgres:
                ensure_schema(settings, settings.schema(self.source))
            super().__init__(env=settings.eventstore_env(self.source))

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        for obj in objs:
            if obj is None:
                continue
            for event in list(getattr(obj, "_pending_events", [obj])):
                self.catalogue.payload_of(event)  # refuse what could not be published
        try:
            return super().save(*objs, **kwargs)
        except IntegrityError as error:
            raise ConcurrentModification(
                "someone else changed this record at the same time; reload and try again"
            ) from error

    def get(self, aggregate_id: UUID, kind: type | None = None, what: str = "record") -> Any:
        """Load an aggregate or raise ``NotFound``."""
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(f"no {what} with id {aggregate_id}") from None
        if kind is not None and not isinstance(aggregate, kind):
            raise NotFound(f"no {what} with id {aggregate_id}")
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def max_position(self) -> int:
        return int(self.recorder.max_notification_id() or 0)

    def notifications(self, after: int, limit: int) -> list[Notification]:
        return list(self.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False))

    def envelope_of(self, notification: Notification) -> Envelope:
        event = self.mapper.to_domain_event(notification)
        return self.catalogue.to_envelope(event, notification.id)

    def envelopes(self, after: int = 0, batch: int = 500) -> Iterator[Envelope]:
        """Every public envelope (unsealed) after ``after``, in log order."""
        while True:
            page = self.notifications(after, batch)
            if not page:
                return
            for notification in page:
                yield self.envelope_of(notification)
            after = page[-1].id
