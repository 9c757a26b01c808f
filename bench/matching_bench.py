"""Matching benchmark: a bank of 10,000 participants and 1,000 open recruitments.

Starts its own tansu broker on a free port and keeps SQLite stores in a temporary directory.
Feeds participants.events and recruitments.events through the broker as sealed envelopes, then
measures, in the same run:

- the read model's catch-up rate (events/s applied by matching's ConsumerLoop) beside a raw
  kafka-python consumer reading the same topics (target: at least 50% of the raw rate);
- the p95 time of a panel proposal (filter, rank, explain, store ``PanelProposed``; target < 100 ms),
  through the use case and over real HTTP (werkzeug, loopback).

Run: ``.venv/bin/python -m bench.matching_bench``.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from services.matching.service import Matching
from shared.auth import Principal, mint_token
from shared.config import DEFAULT_DEPARTMENTS, Settings
from shared.consumer import ConsumerLoop
from shared.envelope import GENESIS_HASH, encode, event_id_for, iso_utc, seal
from shared.kafka import consumer, ensure_topics, free_port, partitions_of, producer, start_local_broker

PARTICIPANTS = 10_000
RECRUITMENTS = 1_000
PROPOSALS = 300
HTTP_PROPOSALS = 200
AREAS = ("ekonomiskt-bistand", "missbruk", "hemloshet", "vald-i-nara-relationer", "barn-och-unga",
         "funktionsnedsattning", "psykisk-ohalsa", "arbetsloshet", "forsorjning", "boende")
LANGUAGES = ("ar", "so", "fa", "en", "ti", "fi")
UNITS = tuple(f"unit-{i}" for i in range(40))
DEPARTMENTS = tuple(code for code, _ in DEFAULT_DEPARTMENTS)


class Source:
    """Seals and sends one source's envelopes (hash chain and positions as the real relay)."""

    def __init__(self, settings: Settings, name: str, client: Any) -> None:
        self.topic = settings.topic(f"{name}.events")
        self.name = name
        self.client = client
        self.head = GENESIS_HASH
        self.position = 0
        self.versions: dict[str, int] = {}
        self.sent = 0

    def emit(self, event_type: str, aggregate_id: str, payload: dict[str, Any], department: str | None) -> None:
        version = self.versions.get(aggregate_id, 0) + 1
        self.versions[aggregate_id] = version
        self.position += 1
        envelope = seal({
            "event_id": event_id_for(self.name, aggregate_id, version), "event_type": event_type,
            "schema_version": 1, "source": self.name, "aggregate_id": aggregate_id,
            "aggregate_version": version, "position": self.position,
            "occurred_at": iso_utc(datetime.now(UTC)), "department": department,
            "actor": {"id": "bench", "role": "coordinator"}, "payload": payload,
        }, self.head)
        self.head = envelope["hash"]
        self.client.send(self.topic, key=aggregate_id.encode(), value=encode(envelope))
        self.sent += 1


def feed_bank(settings: Settings, rng: random.Random) -> tuple[int, list[str]]:
    """Produce the bank and the open recruitments; return (events sent, recruitment ids)."""
    client = producer(settings, acks=1, linger_ms=20)
    people = Source(settings, "participants", client)
    for code in DEPARTMENTS:
        people.emit("DepartmentSettingsChanged", str(uuid.uuid5(uuid.NAMESPACE_URL, code)),
                    {"code": code, "participation_limit": {"max_engagements": 4, "period_days": 365}}, code)
    for _ in range(PARTICIPANTS):
        pid = str(uuid.uuid4())
        home = rng.sample(DEPARTMENTS, rng.choice((1, 1, 2)))
        people.emit("UserRegistered", pid, {"personal": "enc:v1:bench", "preferred_language": "sv",
                                            "departments": home}, home[0])
        for code in home:
            for purpose in ("recruitment", "matching"):
                people.emit("ConsentGiven", pid, {"purpose": purpose, "department": code}, code)
        langs = ["sv", *rng.sample(LANGUAGES, rng.choice((0, 0, 1)))]
        people.emit("ProfileUpdated", pid, {
            "experience": "enc:v1:bench", "shared_tags": rng.sample(AREAS, rng.randint(1, 3)), "languages": langs,
            "accessibility": "enc:v1:bench", "excluded_units": rng.sample(UNITS, rng.choice((0, 0, 1))),
        }, home[0])
        if rng.random() < 0.9:
            people.emit("ConfidentialityUndertakingSigned", pid, {"signed_on": "2026-01-10", "text_version": "1"},
                        home[0])
            people.emit("IntroductionTrainingCompleted", pid, {"completed_on": "2026-01-12"}, home[0])
        start = rng.choice(("2030-01-01", "2030-02-01", "2030-04-01"))
        people.emit("AvailabilityChanged", pid, {"windows": [{"start": start, "end": "2030-12-31"}]}, home[0])
    recruitments = Source(settings, "recruitments", client)
    rids = []
    for i in range(RECRUITMENTS):
        rid = str(uuid.uuid4())
        month = rng.randint(2, 11)
        recruitments.emit("RecruitmentOpened", rid, {
            "unit": rng.choice(UNITS), "position": "Socialsekreterare", "hiring_manager": "hm",
            "coordinator": "c", "interview_format": rng.choice(("joint", "split")),
            "planned": {"advert_on": "2030-01-10", "interviews_from": f"2030-{month:02d}-10",
                        "interviews_to": f"2030-{month:02d}-12", "decision_by": f"2030-{month:02d}-20"},
            "scorecard": [{"key": "motivation", "label": "Motivation"}],
            "needs": {"experience_areas": rng.sample(AREAS, 2), "languages": rng.sample(LANGUAGES, i % 2),
                      "panel_size": 3},
        }, DEPARTMENTS[i % len(DEPARTMENTS)])
        rids.append(rid)
    client.flush()
    client.close()
    return people.sent + recruitments.sent, rids


def raw_read(settings: Settings, topics: list[str], expected: int) -> tuple[int, float]:
    """A plain kafka-python consumer reading the same topics until it has every record we sent."""
    client = consumer(settings)
    parts = [tp for t in topics for tp in partitions_of(client, t)]
    client.assign(parts)
    client.seek_to_beginning(*parts)
    count = 0
    started = time.perf_counter()
    deadline = started + 600
    while count < expected and time.perf_counter() < deadline:
        for batch in client.poll(timeout_ms=200).values():
            count += len(batch)
    elapsed = time.perf_counter() - started
    client.close()
    return count, elapsed


def catch_up(loop: ConsumerLoop, expected: int) -> float:
    """Apply until the read model's stored positions account for every record sent; seconds taken.

    Counted from our own positions rather than broker end offsets, so the figure is exact."""
    started = time.perf_counter()
    deadline = started + 600
    while time.perf_counter() < deadline:
        loop.poll_once(timeout_ms=200)
        if sum(loop.positions().values()) >= expected:
            return time.perf_counter() - started
    raise TimeoutError("the read model did not catch up in 600 s")


def _percentiles(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[max(0, int(0.95 * len(ordered)) - 1)]
    return f"p50 {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms"


def main() -> None:
    """Run the benchmark and print its figures."""
    rng = random.Random(20261123)
    with tempfile.TemporaryDirectory(prefix="matching-bench-") as tmp:
        port = free_port()
        broker = start_local_broker("127.0.0.1", port, Path(tmp) / "tansu.log")
        try:
            settings = Settings(data_dir=Path(tmp) / "data", kafka_bootstrap=f"127.0.0.1:{port}",
                                topic_prefix="bench.")
            ensure_topics(settings)
            started = time.perf_counter()
            sent, rids = feed_bank(settings, rng)
            print(f"fed {sent} events ({PARTICIPANTS} participants, {RECRUITMENTS} recruitments) "
                  f"in {time.perf_counter() - started:.1f} s")

            topics = [settings.topic("participants.events"), settings.topic("recruitments.events")]
            raw_count, raw_seconds = raw_read(settings, topics, sent)
            raw_rate = raw_count / raw_seconds

            service = Matching.build(settings)
            loop = service.consumer()
            model_seconds = catch_up(loop, sent)
            in_model = service.readmodel.bank_size()
            # Read raw again after the model, and compare with the faster of the two raw runs.
            raw_again, raw_again_seconds = raw_read(settings, topics, sent)
            if raw_again / raw_again_seconds > raw_rate:
                raw_count, raw_seconds, raw_rate = raw_again, raw_again_seconds, raw_again / raw_again_seconds
            model_rate = sent / model_seconds
            print(f"raw kafka-python consumer (faster of two runs): {raw_count} records in {raw_seconds:.2f} s "
                  f"= {raw_rate:,.0f}/s")
            print(f"matching read model catch-up: {sent} events in {model_seconds:.2f} s = {model_rate:,.0f}/s "
                  f"({100 * model_rate / raw_rate:.0f}% of raw; target >= 50%); {in_model} participants in it")

            coordinator = Principal("bench-coordinator", frozenset({"coordinator"}), frozenset(DEPARTMENTS))
            timings = []
            empty = 0
            for rid in rng.sample(rids, PROPOSALS):
                t0 = time.perf_counter()
                proposal = service.app.propose_panel(coordinator, rid)
                timings.append((time.perf_counter() - t0) * 1000)
                empty += not proposal["members"]
            print(f"proposals (use case): {PROPOSALS} over a bank of {PARTICIPANTS}; {_percentiles(timings)} "
                  f"(target p95 < 100 ms); {empty} empty")

            server = make_server("127.0.0.1", 0, service.http(), threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            url = f"http://127.0.0.1:{server.server_port}"
            token = mint_token(settings, roles=["coordinator"], departments=DEPARTMENTS)
            timings = []
            with requests.Session() as http:
                for rid in rng.sample(rids, HTTP_PROPOSALS):
                    t0 = time.perf_counter()
                    r = http.post(f"{url}/recruitments/{rid}/proposals", json={},
                                  headers={"Authorization": f"Bearer {token}"})
                    timings.append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 201, r.text
            server.shutdown()
            print(f"proposals (real HTTP): {HTTP_PROPOSALS}; {_percentiles(timings)} (target p95 < 100 ms)")
            loop.close()
            service.close()
        finally:
            broker.terminate()
            broker.wait(timeout=10)


if __name__ == "__main__":
    main()
