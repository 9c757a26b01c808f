"""Scale benchmark (issue 14): the same history at two sizes, 1:5, side by side in one run.

For each size: ``delaktig seed`` builds the history through the services (its rate beside the
store's raw commit rate, the floor of any writer that commits); then p50/p95 of every GET
operation of every service's OpenAPI document (enumerated from the documents, so new endpoints
are covered without a change here) and of the dashboards' pages, called in process through each
service's Flask app with a token of the operation's first role; then ``audit replay`` of every
read model beside a raw kafka-python consumer reading the same topics, and ``audit verify``
(read stage and verify stage apart) beside raw SHA-256 of the same bytes. The last table puts
the two sizes side by side with the ratio; a target not met says so.

Run: ``.venv/bin/python -m bench scale_bench`` (scales 1 and 5: long) or
``SCALE_BENCH_SCALES=0.02,0.1 .venv/bin/python -m bench scale_bench`` for a smaller 1:5 pair;
``SCALE_BENCH_DATABASE_URL=postgresql://…`` for PostgreSQL (a scratch database is created).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.cli import compose_services
from infra.seed import seed
from services.audit.keys import load_signing_key
from services.audit.replay import replay
from services.audit.verify import load_from_kafka, verify_records
from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import free_port, read_all, start_local_broker

SCALES = tuple(float(s) for s in os.environ.get("SCALE_BENCH_SCALES", "1,5").split(","))
CALLS = int(os.environ.get("SCALE_BENCH_CALLS", "20"))  # per endpoint and size
PAGES = ("/", "/overview", "/departments/{code}")  # the dashboards' HTML pages (not in OpenAPI)
RATIO_TARGET = 1.5
COMMITS_FOR_FLOOR = 500


@dataclass
class Samples:
    """Real identifiers of the seeded history to put into paths and queries."""

    participant: str
    recruitment: str
    candidate: str
    department: str
    year: str
    period: str

    def value(self, name: str) -> str:
        return {"participant_id": self.participant, "pid": self.participant, "subject_id": self.participant,
                "rid": self.recruitment, "recruitment_id": self.recruitment, "cid": self.candidate,
                "candidate_id": self.candidate, "code": self.department, "department": self.department,
                "year": self.year, "period": self.period, "source": "participants"}.get(name, "x")


@dataclass
class SizeResult:
    scale: float
    events: int
    seed_rate: float
    commit_floor: float
    timings: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # p50, p95 (ms), status
    figures: dict[str, float] = field(default_factory=dict)


def samples_of(envelopes: list[dict[str, Any]]) -> Samples:
    """A decided recruitment, its hired candidate and a panel member who was not erased."""
    forgotten = {e["aggregate_id"] for e in envelopes if e["event_type"] == "ParticipantForgotten"}
    decided = {e["aggregate_id"]: e for e in envelopes if e["event_type"] == "HiringDecisionMade"}
    for e in envelopes:
        if e["event_type"] == "PanelAssigned" and e["payload"]["recruitment_id"] in decided:
            members = [m for m in e["payload"]["members"] if m not in forgotten]
            if not members:
                continue
            decision = decided[e["payload"]["recruitment_id"]]
            paid = next((p for p in envelopes if p["event_type"] == "HonorariumPaid"), None)
            return Samples(members[0], e["payload"]["recruitment_id"], decision["payload"]["candidate_id"],
                           str(decision["department"]), decision["occurred_at"][:4],
                           str((paid or {}).get("payload", {}).get("period", decision["occurred_at"][:7])))
    raise RuntimeError("the history has no decided recruitment with a panel")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_gets(settings: Settings, sample: Samples) -> dict[str, tuple[float, float, int]]:
    """p50/p95 in ms and the status of every GET of every OpenAPI document and of the pages."""
    out: dict[str, tuple[float, float, int]] = {}
    departments = [sample.department]
    for name, service in compose_services(settings):
        try:
            app = service.http()
            client = app.test_client()
            spec = client.get("/openapi.json").get_json()
            targets: list[tuple[str, str, dict[str, str], list[str]]] = []
            for path, operations in sorted(spec["paths"].items()):
                operation = operations.get("get")
                if operation is None:
                    continue
                query = {p["name"]: sample.value(p["name"]) for p in operation.get("parameters", [])
                         if p.get("in") == "query" and p.get("required")}
                targets.append((path, path, query, list(operation.get("x-roles") or ["administrator"])))
            if name == "dashboards":
                targets += [(f"page {p}", p, {}, ["administrator"]) for p in PAGES]
            for label, path, query, roles in targets:
                role = roles[0]
                sub = sample.participant if role == "participant" else f"bench-{role}"
                token = mint_token(settings, sub=sub, roles=(role,), departments=departments)
                url = path
                for part in path.split("/"):
                    if part.startswith("{"):
                        url = url.replace(part, sample.value(part.strip("{}")))
                headers = {"Authorization": f"Bearer {token}"}
                seconds = []
                status = 0
                for _ in range(CALLS):
                    t = time.perf_counter()
                    response = client.get(url, query_string=query, headers=headers)
                    seconds.append(time.perf_counter() - t)
                    status = response.status_code
                out[f"{name} GET {label}"] = (1000 * statistics.median(seconds), 1000 * percentile(seconds, 0.95),
                                              status)
        finally:
            service.close()
    return out


def commit_floor(directory: Path) -> float:
    """Single-row commits per second on a SQLite file beside the stores (WAL, as the stores)."""
    path = directory / "commit-floor.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE floor (id TEXT PRIMARY KEY, body TEXT)")
    t = time.perf_counter()
    for _ in range(COMMITS_FOR_FLOOR):
        conn.execute("BEGIN")
        conn.execute("INSERT INTO floor VALUES (?, ?)", (str(uuid.uuid4()), "x" * 600))
        conn.execute("COMMIT")
    rate = COMMITS_FOR_FLOOR / (time.perf_counter() - t)
    conn.close()
    return rate


def replay_and_floor(settings: Settings, result: SizeResult) -> None:
    services = [service for _name, service in compose_services(settings)]
    try:
        pairs = [pair for s in services if hasattr(s, "projections") for pair in s.projections()]
        topics = [t for factory, _db in pairs for t in factory().topics]  # what the replay reads
        t = time.perf_counter()
        results = replay(pairs, timeout=3600)
        seconds = time.perf_counter() - t
    finally:
        for service in services:
            service.close()
    events = sum(r.events for r in results)
    result.figures["replay events/s"] = events / seconds
    result.figures["replay identical"] = float(all(r.identical for r in results))
    t = time.perf_counter()
    read = sum(len(read_all(settings, settings.topic(topic), timeout=600)) for topic in topics)
    result.figures["raw consumer events/s (same topics)"] = read / (time.perf_counter() - t)


def verify_figures(settings: Settings, result: SizeResult) -> list[dict[str, Any]]:
    """``audit verify`` of the seeded history read from Kafka: the read stage apart, then the
    verify stage in 1 and in 2 processes, beside raw SHA-256 of the same bytes and the bare hash
    work (``bench.audit_bench.ceiling_loop``) in 1 and 2 processes, measured in the same run."""
    from bench.audit_bench import ceiling_loop, ceiling_parallel

    t = time.perf_counter()
    records = load_from_kafka(settings, timeout=600)
    read_seconds = time.perf_counter() - t
    values = [r.value for r in records if r.topic != "audit.checkpoints"]
    key = load_signing_key(settings).public_key()
    stage: dict[int, float] = {}
    for processes in (1, 2):  # the same verification in this process, then shared with a second
        t = time.perf_counter()
        report, _history = verify_records(records, key, processes=processes)
        stage[processes] = time.perf_counter() - t
        result.figures[f"verify ok ({processes} process(es))"] = float(report.ok)
    t = time.perf_counter()
    for v in values:
        hashlib.sha256(v).digest()
    raw = len(values) / (time.perf_counter() - t)
    by_topic: dict[str, list[bytes]] = {}
    for r in records:
        if r.topic != "audit.checkpoints":
            by_topic.setdefault(r.topic, []).append(r.value)
    t = time.perf_counter()
    for vs in by_topic.values():
        ceiling_loop(vs)
    ceiling1 = time.perf_counter() - t
    ceiling2 = ceiling_parallel(values, 2)
    result.figures["verify: read stage events/s"] = len(values) / read_seconds
    result.figures["raw sha256 events/s"] = raw
    result.figures["verify stage events/s, 1 process"] = len(values) / stage[1]
    result.figures["verify stage events/s, 2 processes"] = len(values) / stage[2]
    result.figures["verify speed-up 1 -> 2 processes (target >= 1.7)"] = stage[1] / stage[2]
    result.figures["ceiling (bare hash work) events/s, 1 process"] = len(values) / ceiling1
    result.figures["ceiling (bare hash work) events/s, 2 processes"] = len(values) / ceiling2
    result.figures["1,000,000 events verified in s, 2 processes (extrapolated)"] = 1e6 * stage[2] / len(values)
    result.figures["load average (1 min) after verify"] = os.getloadavg()[0]
    return [json.loads(v) for v in values]


def one_size(scale: float, root: Path, broker: str, database_url: str | None) -> SizeResult:
    tag = f"s{str(scale).replace('.', '_')}"
    settings = Settings(data_dir=root / tag, kafka_bootstrap=broker, topic_prefix=f"bench.{tag}.",
                        database_url=database_url, db_namespace=f"{tag}_" if database_url else "")
    print(f"\n-- scale {scale}: generating", flush=True)
    made = seed(settings, scale, 1, progress=lambda text: print("   ", text, flush=True))
    result = SizeResult(scale, made.events, made.rate, commit_floor(settings.data_dir))
    print(f"   {made.events} events in {made.seconds:.0f} s ({made.rate:,.0f} events/s; store floor "
          f"{result.commit_floor:,.0f} single-row commits/s)", flush=True)
    envelopes = verify_figures(settings, result)
    replay_and_floor(settings, result)
    result.timings = time_gets(settings, samples_of(envelopes))
    return result


def report(small: SizeResult, large: SizeResult) -> None:
    a, b = small.scale, large.scale
    print(f"\n{'endpoint':68} {'p50/p95 ms @' + str(a):>20} {'p50/p95 ms @' + str(b):>20} {'p50 ratio':>9}  target")
    for name in sorted(set(small.timings) | set(large.timings)):
        s50, s95, s_status = small.timings.get(name, (float("nan"), float("nan"), 0))
        l50, l95, l_status = large.timings.get(name, (float("nan"), float("nan"), 0))
        ratio = l50 / s50 if s50 else float("nan")
        met = "met" if ratio <= RATIO_TARGET else "NOT MET"
        status = "" if s_status == l_status == 200 else f" (HTTP {s_status}/{l_status})"
        print(f"{name[:68]:68} {s50:9.1f}/{s95:<9.1f} {l50:9.1f}/{l95:<9.1f} {ratio:9.2f}  {met}{status}")
    print(f"\n{'figure':52} {'@' + str(a):>16} {'@' + str(b):>16}")
    print(f"{'events in the history':52} {small.events:16,d} {large.events:16,d}")
    print(f"{'generator events/s':52} {small.seed_rate:16,.0f} {large.seed_rate:16,.0f}")
    print(f"{'store floor: single-row commits/s':52} {small.commit_floor:16,.0f} {large.commit_floor:16,.0f}")
    for name in small.figures:
        print(f"{name:52} {small.figures[name]:16,.2f} {large.figures.get(name, float('nan')):16,.2f}")
    replay_target = 1e6 / 120
    for size in (small, large):
        rate = size.figures["replay events/s"]
        print(f"replay target (1,000,000 events in 120 s = {replay_target:,.0f}/s) at {size.scale}: "
              f"{'met' if rate >= replay_target else 'NOT MET'} ({rate:,.0f}/s)")
        seconds = size.figures["1,000,000 events verified in s, 2 processes (extrapolated)"]
        speedup = size.figures["verify speed-up 1 -> 2 processes (target >= 1.7)"]
        print(f"verify target (1,000,000 events in 4 s, verify stage, 2 processes) at {size.scale}: "
              f"{'met' if seconds <= 4 else 'NOT MET'} ({seconds:.1f} s); speed-up 1 -> 2 processes "
              f"{'met' if speedup >= 1.7 else 'NOT MET'} ({speedup:.2f}x)")


def main() -> None:
    """Run both sizes on one broker and print the tables."""
    import logging

    logging.getLogger("delaktig").setLevel(logging.WARNING)  # not a line per request timed
    logging.getLogger("kafka").setLevel(logging.ERROR)
    if len(SCALES) != 2:
        raise SystemExit("SCALE_BENCH_SCALES takes two sizes, e.g. 0.02,0.1")
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    broker = start_local_broker("127.0.0.1", port, root / "tansu.log")
    database_url = os.environ.get("SCALE_BENCH_DATABASE_URL") or None
    try:
        small, large = (one_size(scale, root, f"127.0.0.1:{port}", database_url) for scale in SCALES)
        report(small, large)
    finally:
        broker.terminate()
        broker.wait(timeout=10)


if __name__ == "__main__":
    main()
