"""Envelope rules a reader of the contract states: times are UTC with a ``Z``, whatever clock or
zone produced them; a message is one JSON object; no floats anywhere in an envelope."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from shared.envelope import (
    CE_HEADERS,
    EVENT_ID_NAMESPACE,
    check_no_floats,
    checkpoint_headers,
    decode,
    encode,
    envelope_headers,
    event_id_for,
    headers_dict,
    iso_utc,
)


@pytest.fixture
def stockholm_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's local zone is not UTC (as on a municipality's servers)."""
    monkeypatch.setenv("TZ", "Europe/Stockholm")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_utc_with_z_whatever_the_zone(stockholm_clock: None) -> None:
    assert iso_utc(datetime(2026, 3, 2, 9, 0, 0)) == "2026-03-02T09:00:00Z"  # naive means UTC
    cet = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2026, 3, 2, 10, 0, 0, 500, tzinfo=cet)) == "2026-03-02T09:00:00.000500Z"
    assert iso_utc(datetime(2026, 7, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))) == "2026-07-01T05:30:00Z"


def test_a_message_is_one_json_object() -> None:
    envelope = {"event_id": "e", "payload": {"text": "smörgås ✓", "n": [1, None]}}
    assert decode(encode(envelope)) == envelope
    assert decode("{\"å\": 1}".encode()) == {"å": 1}
    for not_an_object in (b"[1, 2]", b"7", b'"text"', b"null"):
        with pytest.raises(ValueError, match=r"^envelope is not a JSON object$"):
            decode(not_an_object)


def test_floats_are_refused_and_named_by_path() -> None:
    check_no_floats({"amount_ore": 1500, "scores": [1, 2], "nested": {"ok": True, "none": None}})
    with pytest.raises(TypeError, match=r"float at payload\.amount: use integers"):
        check_no_floats({"amount": 12.5})
    with pytest.raises(TypeError, match=r"float at payload\.scores\[1\]"):
        check_no_floats({"scores": [1, 2.0]})
    with pytest.raises(TypeError, match=r"float at payload\.a\.b\[0\]\.c"):
        check_no_floats({"a": {"b": [{"c": 0.1}]}})


def test_the_same_stored_event_always_gets_the_same_id() -> None:
    first = event_id_for("participants", "a-1", 3)
    assert first == event_id_for("participants", "a-1", 3)
    assert len({first, event_id_for("participants", "a-1", 4), event_id_for("matching", "a-1", 3),
                event_id_for("participants", "a-2", 3)}) == 4


# -- CloudEvents Kafka binding (binary content mode): what a subscriber's router reads ----------
def test_every_event_message_carries_its_cloudevents_attributes_as_headers() -> None:
    """A subscriber that only reads headers (a router, a CloudEvents SDK) learns, without parsing
    the body: spec 1.0, the event's own id, where it comes from, its type and schema version, when
    it happened and about whom, and that the body is JSON."""
    envelope = {"event_id": "0b9a1c57-5a3e-4e0e-9f0e-2d7f4f3f6a01", "source": "participants",
                "event_type": "HonorariumPaid", "schema_version": 2, "occurred_at": "2026-03-02T09:00:00Z",
                "aggregate_id": "7c1e2f0a-0000-4000-8000-000000000001", "payload": {"amount_ore": 60000}}
    headers = envelope_headers(envelope)
    assert headers == [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"0b9a1c57-5a3e-4e0e-9f0e-2d7f4f3f6a01"),
        ("ce_source", b"urn:delaktig:participants"),
        ("ce_type", b"se.delaktig.participants.HonorariumPaid.v2"),
        ("ce_time", b"2026-03-02T09:00:00Z"),
        ("ce_subject", b"7c1e2f0a-0000-4000-8000-000000000001"),
        ("content-type", b"application/json"),
    ]
    assert [name for name, _ in headers] == list(CE_HEADERS)  # the names the contract lists, in order
    assert all(isinstance(value, bytes) for _, value in headers)  # Kafka header values are bytes


def test_a_checkpoint_message_has_a_stable_id_and_names_the_source_it_covers() -> None:
    """The same signed checkpoint always has the same id (a redelivered copy is recognised), another
    tree size or another covered source gets another; its subject is the covered source."""
    checkpoint = {"source": "recruitments", "tree_size": 1200, "time": "2026-03-02T10:00:00Z", "version": 1}
    headers = headers_dict(checkpoint_headers(checkpoint))
    assert headers == {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid5(EVENT_ID_NAMESPACE, "checkpoint:recruitments:1200")),
        "ce_source": "urn:delaktig:audit",
        "ce_type": "se.delaktig.audit.Checkpoint.v1",
        "ce_time": "2026-03-02T10:00:00Z",
        "ce_subject": "recruitments",
        "content-type": "application/json",
    }
    assert headers_dict(checkpoint_headers(dict(checkpoint)))["ce_id"] == headers["ce_id"]
    assert headers_dict(checkpoint_headers({**checkpoint, "tree_size": 1201}))["ce_id"] != headers["ce_id"]
    assert headers_dict(checkpoint_headers({**checkpoint, "source": "matching"}))["ce_id"] != headers["ce_id"]
    # A checkpoint written before checkpoints had versions reads as version 1.
    unversioned = {k: v for k, v in checkpoint.items() if k != "version"}
    assert headers_dict(checkpoint_headers(unversioned))["ce_type"] == "se.delaktig.audit.Checkpoint.v1"
    version_2 = headers_dict(checkpoint_headers({**checkpoint, "version": 2}))
    assert version_2["ce_type"] == "se.delaktig.audit.Checkpoint.v2"


def test_record_headers_read_back_as_text_and_a_record_without_headers_has_none() -> None:
    assert headers_dict([("ce_id", b"abc"), ("ce_subject", "å".encode())]) == {"ce_id": "abc", "ce_subject": "å"}
    assert headers_dict([("empty", None)]) == {"empty": ""}  # kafka-python gives None for an empty value
    assert headers_dict(None) == {} and headers_dict([]) == {}
