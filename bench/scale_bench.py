"""Scale benchmark (issue 14): the same history at two sizes, 1:5, side by side in one run.

For each size: ``delaktig seed`` builds the history through the services (its rate beside the
store's raw commit rate, the floor of any writer that commits); then p50/p95 of every GET
operation of every service's OpenAPI document (enumerated from the documents, so new endpoints
are covered without a change here) and of the dashboards' pages, called in process through each
service's Flask app with a token of the operation's first role; p50/p95 of the people's web
pages (the service user's app and the staff workspace) over real HTTP from ``delaktig up`` on the
seeded stores, signed in through the development identity provider as the first department's
most active participant, its coordinator and the hiring manager of that participant's last
decided recruitment (picked the same way at both sizes; ``subjects_of``); then ``audit replay`` of every
read model beside a raw kafka-python consumer reading the same topics, and ``audit verify``
(read stage and verify stage apart) beside raw SHA-256 of the same bytes. The last table puts
the two sizes side by side with the ratio; a target not met says so. The table is also written
as Markdown to ``var/bench/scale.md``.

Run: ``.venv/bin/python -m bench scale_bench`` (scales 1 and 5: long) or
``SCALE_BENCH_SCALES=0.02,0.1 .venv/bin/python -m bench scale_bench`` for a smaller 1:5 pair;
``SCALE_BENCH_DATABASE_URL=postgresql://…`` for PostgreSQL (a scratch database is created).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from infra.cli import compose_services
from infra.seed import department_codes, seed
from services.audit.keys import load_signing_key
from services.audit.replay import replay
from services.audit.verify import load_from_kafka, verify_records
from shared.auth import mint_token
from shared.config import SERVICE_PORTS, Settings
from shared.kafka import free_port, read_all, start_local_broker

SCALES = tuple(float(s) for s in os.environ.get("SCALE_BENCH_SCALES", "1,5").split(","))
CALLS = int(os.environ.get("SCALE_BENCH_CALLS", "20"))  # per endpoint and size
PAGES = ("/overview", "/departments/{code}")  # the dashboards' HTML pages (not in OpenAPI; "/" redirects)
RATIO_TARGET = 1.5
COMMITS_FOR_FLOOR = 500
TARGET_SEED_RATE = 1500.0  # events/s: scale 5 (the issue's ~1,000,000 events and more) in about 20 minutes
OUTPUT = Path(__file__).resolve().parents[1] / "var" / "bench" / "scale.md"


@dataclass
class Samples:
    """Real identifiers of the seeded history to put into paths and queries."""

    participant: str
    recruitment: str
    candidate: str
    department: str
    year: str
    period: str
    rejected: str = "x"  # a candidate of ``recruitment`` who was not hired (the merits extract is theirs)
    open_advert: str = "x"  # a recruitment whose advert is still public

    def for_path(self, path: str, name: str) -> str:
        """The value of ``name`` in ``path``: the public advert and the merits extract need a
        recruitment and a candidate of their own kind (an open advert, a rejected applicant)."""
        if path.startswith("/adverts/") and name in ("rid", "recruitment_id"):
            return self.open_advert
        if path.endswith("/merits-extract") and name in ("cid", "candidate_id"):
            return self.rejected
        return self.value(name)

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
    seed_seconds: float = 0.0
    subjects: str = ""
    load: str = ""
    timings: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # p50, p95 (ms), status
    figures: dict[str, float] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)  # items on the page, per list answer
    departments: int = 0


def department_codes_of(envelopes: list[dict[str, Any]]) -> set[str]:
    """The departments the history onboarded."""
    return {str(e["payload"].get("code")) for e in envelopes if e["event_type"] == "DepartmentOnboarded"}


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
            rid, hired = e["payload"]["recruitment_id"], decision["payload"]["candidate_id"]
            rejected = next((a["payload"]["candidate_id"] for a in envelopes if a["event_type"] == "ApplicationReceived"
                             and a["aggregate_id"] == rid and a["payload"]["candidate_id"] != hired), "x")
            ended = {a["aggregate_id"] for a in envelopes if a["event_type"] == "RecruitmentClosed"} | set(decided)
            open_advert = next((a["aggregate_id"] for a in reversed(envelopes)
                                if a["event_type"] == "AdvertPublished" and a["aggregate_id"] not in ended), "x")
            return Samples(members[0], rid, hired, str(decision["department"]), decision["occurred_at"][:4],
                           str((paid or {}).get("payload", {}).get("period", decision["occurred_at"][:7])),
                           rejected, open_advert)
    raise RuntimeError("the history has no decided recruitment with a panel")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_gets(settings: Settings, sample: Samples,
              items: dict[str, int] | None = None) -> dict[str, tuple[float, float, int]]:
    """p50/p95 in ms and the status of every GET of every OpenAPI document and of the pages;
    ``items`` gets the number of items on the page of each list answer (a list's page grows until
    it is full: the read is bounded by the page, not by the history)."""
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
                query = {p["name"]: sample.for_path(path, p["name"]) for p in operation.get("parameters", [])
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
                        url = url.replace(part, sample.for_path(path, part.strip("{}")))
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
                body = response.get_json(silent=True)
                if items is not None and isinstance(body, dict) and isinstance(body.get("items"), list):
                    items[f"{name} GET {label}"] = len(body["items"])
        finally:
            service.close()
    return out


# -- the people's pages -------------------------------------------------------------------------
@dataclass
class Subjects:
    """Who signs in to the web app, picked the same way at every size (see ``subjects_of``)."""

    department: str
    participant: str
    recruitment: str
    candidate: str
    coordinator: str
    manager: str

    def describe(self) -> str:
        return (f"department {self.department} (the first); participant {self.participant} (the one not erased "
                f"who sat on most of its panels); recruitment {self.recruitment} (the last decided one they sat "
                f"on); coordinator {self.coordinator}; hiring manager {self.manager} (that recruitment's)")


def subjects_of(envelopes: list[dict[str, Any]]) -> Subjects:
    """The first department; its most active participant (most panel seats in its recruitments, not
    erased; ties to the earliest registered); the last decided recruitment of that department they
    sat on, its hired candidate and its hiring manager; the department's coordinator."""
    department = department_codes(1)[0]
    forgotten = {e["aggregate_id"] for e in envelopes if e["event_type"] == "ParticipantForgotten"}
    registered = {e["aggregate_id"]: n for n, e in enumerate(envelopes) if e["event_type"] == "UserRegistered"}
    opened = {e["aggregate_id"]: e for e in envelopes if e["event_type"] == "RecruitmentOpened"
              and e.get("department") == department}
    decided = {e["aggregate_id"]: e for e in envelopes if e["event_type"] == "HiringDecisionMade"}
    seats: dict[str, list[str]] = {}
    for e in envelopes:
        rid = str(e["payload"].get("recruitment_id")) if e["event_type"] == "PanelAssigned" else ""
        if rid in opened and rid in decided:
            for member in e["payload"]["members"]:
                if member not in forgotten:
                    seats.setdefault(member, []).append(rid)
    if not seats:
        raise RuntimeError(f"no panel of {department} was decided")
    participant = min(seats, key=lambda pid: (-len(seats[pid]), registered.get(pid, 0)))
    rid = seats[participant][-1]
    return Subjects(department, participant, rid, str(decided[rid]["payload"]["candidate_id"]),
                    f"seed-coordinator-{department}", str(opened[rid]["payload"]["hiring_manager"]))


def page_targets(s: Subjects) -> list[tuple[str, str, str]]:
    """(who, label, path) of every page timed: the service user's web app and the staff workspace."""
    rid, cid, pid = s.recruitment, s.candidate, s.participant
    return [
        ("participant", "start page /", "/"),
        ("participant", "assignments /mina-uppdrag", "/mina-uppdrag"),
        ("participant", "assignment /uppdrag/{rid}", f"/uppdrag/{rid}"),
        ("participant", "scorecard /uppdrag/{rid}/kandidater/{cid}", f"/uppdrag/{rid}/kandidater/{cid}"),
        ("participant", "texts /uppdrag/{rid}/texter", f"/uppdrag/{rid}/texter"),
        ("participant", "preparation /forberedelser", "/forberedelser"),
        ("participant", "honoraria /arvoden", "/arvoden"),
        ("participant", "consents /samtycken", "/samtycken"),
        ("participant", "availability /tider-och-kontakt", "/tider-och-kontakt"),
        ("participant", "own data /mina-uppgifter", "/mina-uppgifter"),
        ("participant", "own data shown /mina-uppgifter/visa", "/mina-uppgifter/visa"),
        ("coordinator", "workspace /arbetsyta", "/arbetsyta"),
        ("coordinator", "bank /brukarbank", "/brukarbank"),
        ("coordinator", "person page /brukarbank/{pid}", f"/brukarbank/{pid}"),
        ("coordinator", "person's rights /brukarbank/{pid}/rattigheter", f"/brukarbank/{pid}/rattigheter"),
        ("coordinator", "recruitment board /rekryteringar", "/rekryteringar"),
        ("coordinator", "recruitment /rekryteringar/{rid}", f"/rekryteringar/{rid}"),
        ("coordinator", "candidate /rekryteringar/{rid}/kandidater/{cid}", f"/rekryteringar/{rid}/kandidater/{cid}"),
        ("coordinator", "honoraria to pay /arvoden-att-betala", "/arvoden-att-betala"),
        ("coordinator", "fairness /rattvisa", "/rattvisa"),
        ("hiring_manager", "manager start /chef", "/chef"),
        ("hiring_manager", "manager recruitment /chef/rekryteringar/{rid}", f"/chef/rekryteringar/{rid}"),
        ("hiring_manager", "manager candidate /chef/rekryteringar/{rid}/kandidater/{cid}",
         f"/chef/rekryteringar/{rid}/kandidater/{cid}"),
        ("hiring_manager", "adverts /annonser", "/annonser"),
    ]


def start_up(settings: Settings, people: list[dict[str, Any]]) -> tuple[subprocess.Popen[bytes], str, str]:
    """``delaktig up`` on the seeded stores and topics (the bench's broker; demo off), with the
    development identity provider vouching for ``people``. Returns it, the web and idp URLs."""
    folder = settings.data_dir / "up"
    folder.mkdir(exist_ok=True)
    (folder / "people.json").write_text(json.dumps(people))
    env = {**os.environ, "DATA_DIR": str(settings.data_dir), "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap,
           "TOPIC_PREFIX": settings.topic_prefix, "DB_NAMESPACE": settings.db_namespace, "DELAKTIG_DEMO": "0",
           "DEVIDP_PEOPLE": str(folder / "people.json"), "WEB_PORT": str(free_port()),
           "DEVIDP_PORT": str(free_port())}
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "DEVIDP_REDIRECT_URIS"):
        env.pop(name, None)
    for name in SERVICE_PORTS:
        env[f"{name.upper()}_PORT"] = str(free_port())
    with open(folder / "up.log", "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "infra.cli", "up", "--no-demo"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1])
    deadline = time.monotonic() + 300
    while "Stop:" not in (folder / "up.log").read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("delaktig up did not start:\n" + (folder / "up.log").read_text(errors="replace")[-3000:])
        time.sleep(0.5)
    return proc, f"http://127.0.0.1:{env['WEB_PORT']}", f"http://127.0.0.1:{env['DEVIDP_PORT']}"


def sign_in(web: str, idp: str, sub: str) -> requests.Session:
    """The app's own sign-in: the start button, the development identity provider's chooser, back."""
    s = requests.Session()
    page = s.get(web + "/logga-in", timeout=60).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if csrf is None:
        raise RuntimeError("the sign-in page has no form")
    chooser = s.post(web + "/logga-in", data={"csrf_token": csrf.group(1), "next": "/"}, timeout=60)
    request_id = re.search(r'name="request" value="([^"]+)"', chooser.text)
    if request_id is None:
        raise RuntimeError(f"the identity provider did not offer a choice ({chooser.url})")
    landed = s.post(urljoin(idp, "/choose"), data={"request": request_id.group(1), "sub": sub}, timeout=60)
    if not landed.url.startswith(web):
        raise RuntimeError(f"signing in as {sub} ended at {landed.url}")
    return s


def time_pages(settings: Settings, subjects: Subjects) -> dict[str, tuple[float, float, int]]:
    """p50/p95 (ms) and status of every page, over real HTTP, signed in as the subjects."""
    people = [{"sub": subjects.participant, "name": "Mest aktiva deltagaren", "roles": ["participant"]},
              {"sub": subjects.coordinator, "name": "Samordnare", "roles": ["coordinator"],
               "departments": [subjects.department]},
              {"sub": subjects.manager, "name": "Rekryterande chef", "roles": ["hiring_manager"],
               "departments": [subjects.department]}]
    subs = {"participant": subjects.participant, "coordinator": subjects.coordinator,
            "hiring_manager": subjects.manager}
    proc, web, idp = start_up(settings, people)
    out: dict[str, tuple[float, float, int]] = {}
    try:
        sessions = {who: sign_in(web, idp, sub) for who, sub in subs.items()}
        for who, label, path in page_targets(subjects):
            session = sessions[who]
            seconds = []
            status = 0
            for _ in range(CALLS):
                t = time.perf_counter()
                response = session.get(web + path, timeout=120)  # the start page redirects to a role's home
                seconds.append(time.perf_counter() - t)
                status = 401 if "/logga-in" in response.url else response.status_code
            out[f"web page ({who}) {label}"] = (1000 * statistics.median(seconds),
                                                 1000 * percentile(seconds, 0.95), status)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
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
    from bench.audit_bench import best_of_turns, ceiling_loop, ceiling_parallel

    t = time.perf_counter()
    records = load_from_kafka(settings, timeout=600)
    read_seconds = time.perf_counter() - t
    values = [r.value for r in records if r.topic != "audit.checkpoints"]
    key = load_signing_key(settings).public_key()
    def verify(processes: int) -> None:  # in this process, or shared with a second
        report, _history = verify_records(records, key, processes=processes)
        result.figures[f"verify ok ({processes} process(es))"] = float(report.ok)

    stage = dict(zip((1, 2), best_of_turns(partial(verify, 1), partial(verify, 2)), strict=True))
    t = time.perf_counter()
    for v in values:
        hashlib.sha256(v).digest()
    raw = len(values) / (time.perf_counter() - t)
    by_topic: dict[str, list[bytes]] = {}
    for r in records:
        if r.topic != "audit.checkpoints":
            by_topic.setdefault(r.topic, []).append(r.value)
    def ceiling() -> None:
        for vs in by_topic.values():
            ceiling_loop(vs)

    ceiling1, ceiling2 = best_of_turns(ceiling, partial(ceiling_parallel, values, 2))
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
    result = SizeResult(scale, made.events, made.rate, commit_floor(settings.data_dir), made.seconds)
    print(f"   {made.events} events in {made.seconds:.0f} s ({made.rate:,.0f} events/s; store floor "
          f"{result.commit_floor:,.0f} single-row commits/s)", flush=True)
    envelopes = verify_figures(settings, result)
    replay_and_floor(settings, result)
    result.load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    result.timings = time_gets(settings, samples_of(envelopes), result.items)
    result.departments = len(department_codes_of(envelopes))
    subjects = subjects_of(envelopes)
    result.subjects = subjects.describe().replace(subjects.participant, "<the participant>").replace(
        subjects.recruitment, "<the recruitment>")
    print(f"   pages signed in as: {subjects.describe()}", flush=True)
    result.timings.update(time_pages(settings, subjects))
    return result


def _ms(value: tuple[float, float, int] | None) -> str:
    if value is None:
        return "missing"
    return f"{value[0]:.1f} / {value[1]:.1f}" + ("" if value[2] == 200 else f" (HTTP {value[2]})")


def report_lines(small: SizeResult, large: SizeResult) -> list[str]:
    """The one table (Markdown): every GET and page at both sizes with the ratio, then the rates."""
    a, b = small.scale, large.scale
    lines = [f"Scale benchmark: scale {a} ({small.events:,d} events) and scale {b} ({large.events:,d} events), "
             f"one run, {CALLS} calls per row; load average {small.load} / {large.load} (at each size's timing); "
             f"{small.departments} / {large.departments} departments (the overview lists each).",
             "", f"Pages are signed in as: {small.subjects}" if small.subjects else "", "",
             f"| operation or page | p50 / p95 ms @{a} | p50 / p95 ms @{b} | items on the page @{a} / @{b} | "
             f"p50 ratio | p95 ratio | target p50 ratio <= {RATIO_TARGET} |",
             "|---|---:|---:|---:|---:|---:|---|"]
    missed = 0
    for name in sorted(set(small.timings) | set(large.timings)):
        one, two = small.timings.get(name), large.timings.get(name)
        ratio = two[0] / one[0] if one and two and one[0] else float("nan")
        ratio95 = two[1] / one[1] if one and two and one[1] else float("nan")
        ok = ratio <= RATIO_TARGET and one is not None and two is not None and one[2] == two[2] == 200
        missed += not ok
        verdict = "met" if ok else ("NOT MET" if ratio > RATIO_TARGET or ratio != ratio else "NOT MET (not HTTP 200)")
        listed = (f"{small.items[name]} / {large.items[name]}" if name in small.items and name in large.items
                  else "")
        lines.append(f"| {name} | {_ms(one)} | {_ms(two)} | {listed} | {ratio:.2f} | {ratio95:.2f} | {verdict} |")
    lines += ["", f"Ratio target: {missed} of {len(set(small.timings) | set(large.timings))} rows NOT MET."
              if missed else "Ratio target: met on every row.", ""]
    lines += [f"| figure | @{a} | @{b} | floor or target | verdict |", "|---|---:|---:|---|---|"]
    replay_target = 1e6 / 120
    for size_rows in (
        ("replay events/s", "replay events/s", f"target {replay_target:,.0f}/s (1,000,000 in 120 s)",
         lambda v: v >= replay_target),
        ("raw consumer events/s (same topics)", "raw consumer events/s (same topics)", "floor of the replay", None),
        ("replay identical", "replay identical", "1 = every read model rebuilt identical", lambda v: v == 1),
        ("verify: read stage events/s", "verify: read stage events/s", "", None),
        ("verify stage events/s, 1 process", "verify stage events/s, 1 process", "", None),
        ("verify stage events/s, 2 processes", "verify stage events/s, 2 processes",
         "target 250,000/s (1,000,000 in 4 s)", lambda v: v >= 250_000),
        ("1,000,000 events verified in s, 2 processes (extrapolated)", "1,000,000 events verified, s (2 processes)",
         "target <= 4 s", lambda v: v <= 4),
        ("raw sha256 events/s", "raw sha256 events/s", "floor of the verify stage", None),
        ("ceiling (bare hash work) events/s, 1 process", "ceiling: bare hash work events/s, 1 process",
         "the least work of the same kind", None),
        ("ceiling (bare hash work) events/s, 2 processes", "ceiling: bare hash work events/s, 2 processes",
         "the least work of the same kind", None),
        ("verify speed-up 1 -> 2 processes (target >= 1.7)", "verify speed-up 1 -> 2 processes",
         "target >= 1.7", lambda v: v >= 1.7),
        ("verify ok (1 process(es))", "verify ok, 1 process", "1 = the chain verifies", lambda v: v == 1),
        ("verify ok (2 process(es))", "verify ok, 2 processes", "1 = the chain verifies", lambda v: v == 1),
        ("load average (1 min) after verify", "load average (1 min) after verify", "", None),
    ):
        key, label, note, rule = size_rows
        one_value, two_value = small.figures.get(key, float("nan")), large.figures.get(key, float("nan"))
        failed = [] if rule is None else [str(size.scale) for size, value in ((small, one_value), (large, two_value))
                                          if not rule(value)]
        verdict = "" if rule is None else (f"NOT MET at {', '.join(failed)}" if failed else "met")
        lines.append(f"| {label} | {one_value:,.2f} | {two_value:,.2f} | {note} | {verdict} |")
    target_rate = TARGET_SEED_RATE
    seed_verdict = "met" if min(small.seed_rate, large.seed_rate) >= target_rate else "NOT MET"
    lines += [f"| events in the history | {small.events:,d} | {large.events:,d} | issue: ~200,000 per scale unit | |",
              f"| generator events/s | {small.seed_rate:,.0f} | {large.seed_rate:,.0f} | target {target_rate:,.0f}/s "
              f"(issue 14: scale 5 in <= 20 min) | {seed_verdict} |",
              f"| generator seconds | {small.seed_seconds:,.0f} | {large.seed_seconds:,.0f} | | |",
              f"| store floor: single-row commits/s | {small.commit_floor:,.0f} | {large.commit_floor:,.0f} "
              f"| what one commit per event would allow | |"]
    per_unit = large.events / large.scale
    rate = large.seed_rate
    lines += ["", f"At {per_unit:,.0f} events per scale unit and {rate:,.0f} events/s (scale {b}), scale 1 takes "
              f"about {per_unit / rate / 60:.0f} min to generate and scale 5 about {5 * per_unit / rate / 60:.0f} min."]
    return lines


def report(small: SizeResult, large: SizeResult) -> None:
    lines = report_lines(small, large)
    print("\n" + "\n".join(lines), flush=True)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(lines) + "\n")
    print(f"\n(written to {OUTPUT})")


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
