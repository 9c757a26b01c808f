"""The audit API's incremental topic reader after a broker loss: a topic created again is read
again from zero, even when it now holds more messages than were read before."""

from __future__ import annotations

from services.audit.follower import TopicFollower
from shared.config import Settings
from shared.envelope import encode
from tests.audit.helpers import SourceWriter, new_id
from tests.faults.support import own_broker

ACTOR = {"id": "staff-1", "role": "coordinator"}


def test_follower_rereads_a_recreated_topic(sqlite_settings: Settings) -> None:
    with own_broker(sqlite_settings) as (broker, settings):
        writer = SourceWriter(settings, "participants")
        sent = [writer.emit("UserRegistered", new_id(), {"n": i}, ACTOR, minute=i) for i in range(12)]
        writer.close()
        follower = TopicFollower(settings)
        assert [r.value for r in follower.records()] != [] and len(follower.records()) == 12
        broker.lose_everything()
        writer = SourceWriter(settings, "participants")
        for env in sent[9:] + sent[6:] + sent[:6]:  # duplicates first, then the history in another order
            writer.writer.producer.send(settings.topic("participants.events"), key=env["aggregate_id"].encode(),
                                        value=encode(env))
        writer.writer.flush()
        writer.close()
        records = follower.records()
        assert len(records) == 15
        assert sorted(r.value for r in records) == sorted(encode(e) for e in sent + sent[9:])
