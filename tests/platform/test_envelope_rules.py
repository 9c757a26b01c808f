"""Envelope rules a reader of the contract states: times are UTC with a ``Z``, whatever clock or
zone produced them; a message is one JSON object; no floats anywhere in an envelope."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from shared.envelope import check_no_floats, decode, encode, event_id_for, iso_utc


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
