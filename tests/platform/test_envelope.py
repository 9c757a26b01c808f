"""The relay's one-pass sealing gives exactly the bytes of the reference definition
(ARCHITECTURE.md: hash over the canonical envelope without ``hash``; message = the sealed
envelope as compact sorted JSON), whatever the envelope holds."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from shared.envelope import GENESIS_HASH, canonical, encode, seal, seal_encoded
from shared.events import jsonable


def _envelopes() -> list[dict[str, Any]]:
    base = {"event_id": "5b0c3c2e-8a0d-4f4e-9d61-6c1c2f0d1a11", "event_type": "UserRegistered",
            "schema_version": 1, "source": "participants", "aggregate_id": "a-1", "aggregate_version": 1,
            "position": 1, "occurred_at": "2026-03-02T09:00:00.000000Z", "department": None,
            "actor": {"id": 'q"uote\\', "role": "coordinator"},
            "payload": {"personal": "enc:v1:abc", "text": "smörgås ✓\n", "hash": "nested is payload's own",
                        "list": [3, 1, {"b": 1, "a": [None, True]}]}}
    only_early = {"actor": {"id": "x", "role": "y"}, "event_id": "e"}
    only_late = {"position": 7, "source": "matching"}
    with_old_hash = {**base, "hash": "f" * 64}
    return [base, only_early, only_late, {}, with_old_hash]


def test_one_pass_sealing_matches_the_reference() -> None:
    head = GENESIS_HASH
    for envelope in _envelopes():
        sealed, message = seal_encoded(envelope, head)
        reference = seal(envelope, head)
        assert sealed == reference
        assert message == encode(reference)
        assert sealed["hash"] == hashlib.sha256(head.encode() + canonical(reference)).hexdigest()
        assert json.loads(message) == reference
        head = sealed["hash"]


def test_jsonable_keeps_plain_values_and_converts_the_rest() -> None:
    import uuid
    from datetime import UTC, date, datetime

    u = uuid.uuid4()
    value = {"s": "x", "i": 3, "b": False, "n": None, "u": u, "d": date(2026, 1, 2),
             "t": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "set": {"b", "a"}, "tuple": (1, u)}
    assert jsonable(value) == {"s": "x", "i": 3, "b": False, "n": None, "u": str(u), "d": "2026-01-02",
                               "t": "2026-01-02T03:04:05Z", "set": ["a", "b"], "tuple": [1, str(u)]}
