"""Commands run in one long transaction must not let the relay pass over their events: keyed
(atomic) and unkeyed registrations at the same time, then every stored event is on the topic."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from services.participants.service import Participants
from shared.config import Settings
from shared.kafka import read_all
from tests.conftest import bearer
from tests.edge.conftest import PERSON


@pytest.mark.postgres
def test_relay_publishes_every_event_of_concurrent_atomic_and_plain_commands(pg_settings: Settings, serve,
                                                                              token) -> None:
    service = Participants.build(pg_settings)
    relay = service.relay()
    stop = threading.Event()
    try:
        url = serve(service.http())
        headers = bearer(token())

        def follow() -> None:  # the relay publishes while the commands are being stored
            while not stop.is_set():
                relay.publish_once()

        def client(n: int) -> None:
            with requests.Session() as http:
                for i in range(15):
                    extra = {"Idempotency-Key": f"k-{n}-{i}"} if n % 2 == 0 else {}
                    r = http.post(f"{url}/participants", json=PERSON, headers={**headers, **extra}, timeout=60)
                    assert r.status_code == 201, r.text

        follower = threading.Thread(target=follow)
        follower.start()
        clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for t in clients:
            t.start()
        for t in clients:
            t.join()
        stop.set()
        follower.join()
        relay.drain()
        stored = {str(e["event_id"]) for e in service.app.envelopes()}
        published = {json.loads(m.value)["event_id"] for m in read_all(pg_settings,
                                                                      pg_settings.topic("participants.events"))}
        assert len(stored) >= 60 and stored == published
    finally:
        stop.set()
        relay.close()
        service.close()
