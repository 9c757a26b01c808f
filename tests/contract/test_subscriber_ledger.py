"""The example subscriber's ledger (examples/subscriber/payroll.py) without a broker: events arriving
out of order are applied once, in chain order; tampered events, forged or mismatching checkpoints
stop it. (tests/contract/test_demo_run.py runs it against the real broker, killed midway.)"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from examples.subscriber.payroll import IntegrityFailure, PayrollLedger, key_id
from services.audit.checkpoints import sign_checkpoint
from services.audit.merkle import root
from shared.envelope import GENESIS_HASH, seal


def chain(n: int) -> list[dict[str, Any]]:
    """``n`` sealed participants envelopes; every third one is an HonorariumPaid (v1, then v2)."""
    out, head = [], GENESIS_HASH
    for i in range(1, n + 1):
        paid = i % 3 == 0
        payload: dict[str, Any] = {"note": i}
        if paid:
            payload = {"payroll_ref": f"PR-{i}", "amount_ore": 100 * i, "period": "2026-05", "accrual_refs": ["a"],
                       "paid_on": "2026-05-25"}
            if i > n // 2:
                payload["payee_ref"] = f"P-{i}"
        envelope = {"event_id": str(uuid.uuid4()), "event_type": "HonorariumPaid" if paid else "ConsentGiven",
                    "schema_version": 2 if paid and i > n // 2 else 1, "source": "participants",
                    "aggregate_id": f"p{i % 4}", "aggregate_version": i, "position": i,
                    "occurred_at": "2026-05-25T10:00:00Z", "department": "socialforvaltningen",
                    "actor": {"id": "c", "role": "coordinator"}, "payload": payload}
        sealed = seal(envelope, head)
        head = sealed["hash"]
        out.append(sealed)
    return out


def checkpoint_for(key: Ed25519PrivateKey, events: list[dict[str, Any]], size: int) -> dict[str, Any]:
    leaves = [bytes.fromhex(e["hash"]) for e in events[:size]]
    return sign_checkpoint(key, "participants", size, size, events[size - 1]["hash"], root(leaves).hex())


def ledger(tmp_path: Path, key: Ed25519PrivateKey) -> PayrollLedger:
    public = key.public_key()
    return PayrollLedger(tmp_path / "payroll.sqlite", {key_id(public): public})


def feed(book: PayrollLedger, envelopes: list[dict[str, Any]] = (), checkpoints: list[dict[str, Any]] = ()) -> None:
    book.begin()
    try:
        for envelope in envelopes:
            book.receive_event(envelope)
        for checkpoint in checkpoints:
            book.receive_checkpoint(checkpoint)
        book.commit()
    except BaseException:
        book.rollback()
        raise


def test_out_of_order_and_repeated_events_are_applied_once_in_chain_order(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    events = chain(12)
    book = ledger(tmp_path, key)
    early_checkpoint = checkpoint_for(key, events, 8)
    feed(book, events[6:], [early_checkpoint])  # the second half first: parked, nothing applied
    assert book.summary()["events"] == 0 and book.summary()["checkpoints_verified"] == 0
    feed(book, events[:7] + events[3:5])  # the rest, with repeats
    feed(book, events, [checkpoint_for(key, events, 12)])  # everything again
    summary = book.summary()
    assert summary["events"] == 12 and summary["checkpoints_verified"] == 2 and summary["verified_up_to"] == 12
    rows = book.db.execute("SELECT event_id FROM ledger ORDER BY size").fetchall()
    assert [r[0] for r in rows] == [e["event_id"] for e in events]
    payments = book.db.execute("SELECT payroll_ref, payee_ref, schema_version FROM payments ORDER BY seq").fetchall()
    assert [tuple(p) for p in payments] == [("PR-3", None, 1), ("PR-6", None, 1), ("PR-9", "P-9", 2),
                                            ("PR-12", "P-12", 2)]


def test_a_changed_event_stops_the_subscriber(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    events = chain(4)
    book = ledger(tmp_path, key)
    forged = {**events[2], "payload": {**events[2]["payload"], "amount_ore": 999_999}}
    with pytest.raises(IntegrityFailure, match="hash does not match"):
        feed(book, [events[0], events[1], forged])
    assert book.summary()["events"] == 0  # the whole batch was rolled back: nothing booked


def test_a_rewritten_history_or_a_forged_checkpoint_stops_the_subscriber(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    events = chain(6)
    book = ledger(tmp_path, key)
    feed(book, events)
    other = chain(6)  # a different, internally consistent history
    with pytest.raises(IntegrityFailure, match="does not match the events"):
        feed(book, [], [checkpoint_for(key, other, 5)])
    with pytest.raises(IntegrityFailure, match="signature"):
        feed(book, [], [checkpoint_for(Ed25519PrivateKey.generate(), events, 5)])
    tampered = {**checkpoint_for(key, events, 5), "tree_size": 4}
    with pytest.raises(IntegrityFailure, match="signature"):
        feed(book, [], [tampered])
    feed(book, [], [checkpoint_for(key, events, 5)])
    assert book.summary()["checkpoints_verified"] == 1
