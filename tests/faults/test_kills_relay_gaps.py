"""The relay never passes over an event on PostgreSQL. Notification ids come from a sequence
before commit, so a later id can be visible while an earlier one's transaction is still open
(found by the kill tests: one registration never published). Here a transaction takes an id and
stays open: the relay must hold back what follows it, and once that transaction rolled back it
must pass over the id that never committed and publish the rest, chain intact."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg
import pytest

from services.participants.service import Participants
from shared.config import Settings
from shared.envelope import GENESIS_HASH, chain_hash
from shared.kafka import read_all
from shared.relay import GAP_GRACE_SECONDS
from tests.participants.support import PERSON, register


@pytest.mark.slow
def test_relay_waits_at_an_open_gap_and_passes_a_final_one(pg_settings: Settings, serve: Any, token: Any,
                                                           http: Any) -> None:
    service = Participants.build(pg_settings)
    url = serve(service.http())
    coordinator = token()
    relay = service.relay()
    register(http, url, coordinator, PERSON)
    relay.drain()
    schema = pg_settings.schema("participants")
    with psycopg.connect(pg_settings.database_url or "", autocommit=True) as conn:
        table = conn.execute("SELECT table_name FROM information_schema.columns WHERE table_schema = %s "
                             "AND column_name = 'notification_id'", (schema,)).fetchone()
        assert table is not None
        sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'notification_id')",
                                (f'"{schema}"."{table[0]}"',)).fetchone()
        assert sequence is not None and sequence[0]
        # An insert in flight: it has a transaction id and has taken the next notification id.
        conn.execute("BEGIN")
        conn.execute("SELECT txid_current()")
        held = conn.execute("SELECT nextval(%s)", (sequence[0],)).fetchone()
        assert held is not None
        later = register(http, url, coordinator, {**PERSON, "name": "Efter Luckan"})
        assert service.app.max_position() == held[0] + 1
        before = relay.state().position
        deadline = time.monotonic() + GAP_GRACE_SECONDS + 1.5
        while time.monotonic() < deadline:
            assert relay.publish_once() == 0, "published past a gap that may still fill"
            time.sleep(0.2)
        assert relay.state().position == before
        conn.execute("ROLLBACK")
    time.sleep(GAP_GRACE_SECONDS + 0.2)
    relay.drain()
    envelopes = sorted((json.loads(r.value) for r in read_all(pg_settings, pg_settings.topic("participants.events"))),
                       key=lambda e: e["position"])
    assert later in {e["aggregate_id"] for e in envelopes}
    prev = GENESIS_HASH
    for envelope in envelopes:
        assert envelope["prev_hash"] == prev and envelope["hash"] == chain_hash(prev, envelope)
        prev = envelope["hash"]
    service.close()
