"""Fixtures for the matching tests: the service over real HTTP, a feed of the other sources'
events onto the real broker, and ``sync()`` to move every event through deterministically."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from services.matching.service import Matching
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.relay import OutboxRelay
from tests.conftest import bearer
from tests.matching.feed import DEPARTMENT, Feed


@dataclass
class Bench:
    """One running matching service and the handles a test needs."""

    settings: Settings
    service: Matching
    url: str
    feed: Feed
    relay: OutboxRelay
    loop: ConsumerLoop
    http: requests.Session
    auth: dict[str, str]

    def sync(self) -> None:
        """Feed -> broker, our events -> broker, broker -> read model."""
        self.feed.flush()
        self.relay.drain()
        self.loop.catch_up()

    def post(self, path: str, body: dict[str, Any] | None = None, auth: dict[str, str] | None = None) -> Any:
        return self.http.post(f"{self.url}{path}", json=body or {}, headers=auth or self.auth)

    def get(self, path: str, auth: dict[str, str] | None = None) -> Any:
        return self.http.get(f"{self.url}{path}", headers=auth or self.auth)

    def propose(self, rid: str, **body: Any) -> dict[str, Any]:
        r = self.post(f"/recruitments/{rid}/proposals", body)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    def members(self, rid: str) -> list[str]:
        return [m["participant_id"] for m in self.propose(rid)["members"]]


def _bench(settings: Settings, serve: Callable[[Any], str], token: Callable[..., str],
           http: requests.Session) -> Iterator[Bench]:
    service = Matching.build(settings)
    feed = Feed(settings)
    loop = service.consumer()
    bench = Bench(settings, service, serve(service.http()), feed, service.relay(), loop, http,
                  bearer(token(departments=(DEPARTMENT,))))
    yield bench
    loop.close()
    bench.relay.close()
    feed.close()
    service.close()


@pytest.fixture
def matching(sqlite_settings: Settings, serve: Callable[[Any], str], token: Callable[..., str],
             http: requests.Session) -> Iterator[Bench]:
    """The matching service on SQLite."""
    yield from _bench(sqlite_settings, serve, token, http)


@pytest.fixture
def matching_both(settings: Settings, serve: Callable[[Any], str], token: Callable[..., str],
                  http: requests.Session) -> Iterator[Bench]:
    """The matching service on each backend."""
    yield from _bench(settings, serve, token, http)
