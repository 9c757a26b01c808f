"""Erasure by crypto-shredding: afterwards no store, file, topic or log line holds the person's
name, e-mail, phone or free text — and the hash chain on participants.events still verifies."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from services.participants.service import Participants
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.envelope import GENESIS_HASH, chain_hash
from shared.kafka import read_all
from tests.conftest import bearer
from tests.participants.support import (
    DEP,
    FREE_TEXT,
    PERSON,
    build,
    interview_scored,
    make_ready,
    panel_assigned,
    publish,
    register,
)

DECLINE_TEXT = "Jag får försörjningsstöd och vill inte riskera det"
STATUS_TEXT = "Bad om uppehåll efter sjukhusvistelse"


def secrets_of(person: dict[str, Any]) -> list[bytes]:
    phone_digits = person["phone"].replace(" ", "")
    return [s.encode("utf-8") for s in (person["name"], "Eriksdotter", person["email"], person["phone"],
                                         phone_digits, phone_digits[3:], FREE_TEXT, DECLINE_TEXT, STATUS_TEXT)]


def store_dump(service: Participants, settings: Settings) -> bytes:
    """Every row of every table of the participants store, and on SQLite the raw file bytes."""
    out = []
    tables = service.db.tables()
    assert "participant_directory" in tables and "data_keys" in tables
    if settings.uses_postgres:  # the event store lives in the same schema
        assert any("event" in t for t in tables), tables
    with service.db.transaction() as tx:
        for table in tables:
            for row in tx.all(f'SELECT * FROM "{table}"'):
                for value in row.values():
                    out.append(bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode())
    if not settings.uses_postgres:
        for path in sorted(Path(settings.data_dir).glob("*.sqlite*")):
            out.append(path.read_bytes())
            if path.suffix == ".sqlite":
                with sqlite3.connect(path) as conn:
                    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                        for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
                            out.extend(bytes(v) if isinstance(v, bytes) else str(v).encode() for v in row)
    return b"\n".join(out)


def test_erasure_leaves_nothing_readable(settings: Settings, serve, token, http, capfd, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    service = build(settings)
    url = serve(service.http())
    coordinator = token()
    pid = register(http, url, coordinator)
    me = token(role="participant", departments=(), sub=pid)
    make_ready(http, url, coordinator, me, pid)
    r = http.put(f"{url}/participants/{pid}/profile", headers=bearer(me), json={
        "experience_areas": ["mental_ill_health"], "shared_tags": [], "languages": ["sv"],
        "accessibility": FREE_TEXT, "excluded_units": []})
    assert r.status_code == 200, r.text
    r = http.put(f"{url}/participants/{pid}/contact-status", headers=bearer(coordinator),
                 json={"status": "do_not_contact", "reason": STATUS_TEXT})
    assert r.status_code == 200, r.text
    r = http.post(f"{url}/participants/{pid}/payment-terms/answer", headers=bearer(me),
                  json={"text_version": "2026-1", "accept": False, "reason": DECLINE_TEXT})
    assert r.status_code == 200, r.text
    recruitment = str(uuid.uuid4())
    publish(settings, [panel_assigned(recruitment, pid), interview_scored(recruitment, 1, pid)])
    ConsumerLoop(settings, service.db, service.participation().projection).catch_up()

    # Before: readable, and the access request shows the free text and the read log.
    report = http.get(f"{url}/participants/{pid}/data-export", headers=bearer(me)).json()
    assert report["subject"]["name"] == PERSON["name"] and report["subject"]["accessibility"] == FREE_TEXT
    assert report["contact_status"]["reason"] == STATUS_TEXT
    assert any(entry["purpose"].startswith("data subject access") for entry in report["read_log"])
    service.relay().drain()
    directory = ConsumerLoop(settings, service.db, service.bank().projection)
    directory.catch_up()
    assert [p["id"] for p in http.get(f"{url}/participants", params={"department": DEP},
                                      headers=bearer(coordinator)).json()["items"]] == [pid]

    # A legal hold blocks erasure until released.
    r = http.post(f"{url}/participants/{pid}/legal-holds", headers=bearer(coordinator),
                  json={"reason": "discrimination claim pending on recruitment 2026-17 (DiskL 2 kap. 4 §)"})
    assert r.status_code == 201, r.text
    hold_id = r.json()["hold_id"]
    blocked = http.post(f"{url}/participants/{pid}/erasure", json={}, headers=bearer(me))
    assert blocked.status_code == 409 and "discrimination claim" in blocked.json()["detail"]
    assert http.delete(f"{url}/participants/{pid}/legal-holds/{hold_id}", headers=bearer(coordinator)).ok

    r = http.post(f"{url}/participants/{pid}/erasure", json={}, headers=bearer(me))
    assert r.status_code == 200 and r.json()["status"] == "erased", r.text
    assert {"panel_participation", "honoraria_and_payments"} <= set(r.json()["kept"])
    again = http.post(f"{url}/participants/{pid}/erasure", json={}, headers=bearer(me))
    assert again.status_code == 200 and again.json()["status"] == "already_erased"
    assert http.get(f"{url}/participants/{pid}", headers=bearer(coordinator)).status_code == 404

    service.relay().drain()
    directory.catch_up()
    assert http.get(f"{url}/participants", params={"department": DEP},
                    headers=bearer(coordinator)).json() == {"items": [], "next_cursor": None}

    records = read_all(settings, settings.topic("participants.events"))
    raw_topic = b"".join(rec.value for rec in records)
    logs = capfd.readouterr()
    log_text = logs.out + logs.err + caplog.text
    assert "request" in caplog.text  # the request log was captured, so its absence of data means something
    haystacks = {"store": store_dump(service, settings), "kafka": raw_topic, "logs": log_text.encode("utf-8")}
    for where, haystack in haystacks.items():
        for secret in secrets_of(PERSON):
            assert secret not in haystack, f"{secret!r} found in {where}"

    envelopes = sorted((json.loads(rec.value) for rec in records), key=lambda e: e["position"])
    # Every copy of the ciphertext is now unreadable: the key is gone.
    registered = next(e for e in envelopes if e["event_type"] == "UserRegistered" and e["aggregate_id"] == pid)
    assert service.vault.decrypt_or(pid, registered["payload"]["personal"], erased="gone") == "gone"
    forgotten = [e for e in envelopes if e["event_type"] == "ParticipantForgotten"]
    assert len(forgotten) == 1 and forgotten[0]["payload"]["legal_basis"].startswith("GDPR Art. 17")
    prev = GENESIS_HASH
    for env in envelopes:
        assert env["prev_hash"] == prev and env["hash"] == chain_hash(prev, env)
        prev = env["hash"]
    # The honorarium stays, pseudonymously, as records law requires.
    assert any(e["event_type"] == "HonorariumAccrued" and e["aggregate_id"] == pid for e in envelopes)
    service.close()
