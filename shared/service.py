"""The assembly every event-sourced service shares: its HTTP app, its relay, closing down.

A service's ``service.py`` is a dataclass with ``settings``, ``db`` and ``app`` that also
inherits this, naming its blueprints and description; what differs (consumer loops,
periodic jobs, read models) stays in the service."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from flask import Flask
from flask_smorest import Blueprint

from shared.relay import OutboxRelay

if TYPE_CHECKING:
    from shared.application import ServiceApplication
    from shared.config import Settings
    from shared.db import Database


class EventSourcedService:
    name: ClassVar[str]
    description: ClassVar[str]
    blueprints: ClassVar[tuple[Blueprint, ...]]
    settings: Settings
    db: Database
    app: ServiceApplication

    def http(self) -> Flask:
        """The service's Flask app (served by gunicorn through ``wsgi.py``)."""
        from shared.web import create_app

        return create_app(self.name, self.settings, list(self.blueprints), db=self.db,
                          description=self.description, extensions={"delaktig.app": self.app})

    def relay(self) -> OutboxRelay:
        """The outbox relay that publishes this service's events."""
        return OutboxRelay(self.app, self.db)

    def close(self) -> None:
        self.app.close()
        self.db.close()
