"""Decision-record benchmark (issue 14): ``GET /recruitments/{id}/decision-record`` at two sizes of
the same seeded history (1:5), answered from the read model, beside what the record cost before
(every message of the public topics read, the whole history verified, the record filtered from
it: ``services.audit.decision.decision_record``, now the reference) and beside a floor measured in
the same run (one indexed read of the recruitment's rows in the audit database).

Run: ``.venv/bin/python -m bench decision_bench`` (scales 0.02 and 0.1 by default;
``DECISION_BENCH_SCALES=0.2,1`` for larger ones).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale_bench import percentile, samples_of
from infra.seed import seed
from services.audit.decision import decision_record as reference_record
from services.audit.service import Audit
from services.audit.verify import load_from_kafka, verify_records
from shared.auth import mint_token
from shared.config import Settings
from shared.kafka import free_port, start_local_broker

SCALES = tuple(float(s) for s in os.environ.get("DECISION_BENCH_SCALES", "0.02,0.1").split(","))
CALLS = int(os.environ.get("DECISION_BENCH_CALLS", "30"))
BEFORE_CALLS = 3  # the whole-history path is slow; a few calls show it
RATIO_TARGET = 1.5


@dataclass
class Size:
    scale: float
    events: int
    ms: dict[str, tuple[float, float]] = field(default_factory=dict)  # p50, p95


def _time(calls: int, fn: Callable[[], object]) -> tuple[float, float]:
    seconds = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - t)
    return 1000 * statistics.median(seconds), 1000 * percentile(seconds, 0.95)


def one_size(scale: float, root: Path, broker: str) -> Size:
    tag = f"s{str(scale).replace('.', '_')}"
    settings = Settings(data_dir=root / tag, kafka_bootstrap=broker, topic_prefix=f"bench.{tag}.")
    print(f"\n-- scale {scale}: generating", flush=True)
    made = seed(settings, scale, 1, progress=lambda text: print("   ", text, flush=True))
    size = Size(scale, made.events)
    audit = Audit.build(settings)
    try:
        audit.catch_up()
        public = audit.app.key.public_key()
        records = load_from_kafka(settings)
        _, history = verify_records(records, public)
        envelopes = [e for s in ("recruitments", "matching") for e in history.full(s)]
        rid = samples_of(envelopes).recruitment
        record = audit.app.decision_record(rid)
        assert record["inputs"] and record["proofs_verified"], "the sample has no proven inputs"
        client = audit.http().test_client()
        token = mint_token(settings, sub="bench-auditor", roles=("auditor",), departments=(record["department"],))
        headers = {"Authorization": f"Bearer {token}"}
        url = f"/recruitments/{rid}/decision-record"
        assert client.get(url, headers=headers).status_code == 200
        size.ms["GET decision-record (read model)"] = _time(CALLS, lambda: client.get(url, headers=headers))
        as_of = str(record["decision"][0]["time"]) if record["decision"] else None
        if as_of:
            size.ms["GET decision-record?as_of (read model)"] = _time(
                CALLS, lambda: client.get(url, headers=headers, query_string={"as_of": as_of}))

        def floor() -> None:
            with audit.db.transaction() as tx:
                tx.all("SELECT envelope FROM decision_events WHERE recruitment_id = ?", (rid,))

        size.ms["floor: the recruitment's rows, one indexed read"] = _time(CALLS, floor)
        size.ms["before: whole history read, verified, filtered"] = _time(
            BEFORE_CALLS, lambda: reference_record(verify_records(load_from_kafka(settings), public)[1], rid))
        print(f"   {made.events} events; recruitment {rid}: {len(record['inputs'])} inputs", flush=True)
    finally:
        audit.close()
    return size


def main() -> None:
    import logging

    logging.getLogger("delaktig").setLevel(logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.ERROR)
    if len(SCALES) != 2:
        raise SystemExit("DECISION_BENCH_SCALES takes two sizes, e.g. 0.02,0.1")
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="decision-bench-"))
    broker = start_local_broker("127.0.0.1", port, root / "tansu.log")
    try:
        small, large = (one_size(scale, root, f"127.0.0.1:{port}") for scale in SCALES)
    finally:
        broker.terminate()
        broker.wait(timeout=10)
    load = os.getloadavg()
    print(f"\n{'figure':52} {'p50/p95 ms @' + str(small.scale):>20} {'p50/p95 ms @' + str(large.scale):>20} "
          f"{'p50 ratio':>9}  target")
    for name in small.ms:
        s50, s95 = small.ms[name]
        l50, l95 = large.ms.get(name, (float("nan"), float("nan")))
        ratio = l50 / s50 if s50 else float("nan")
        target = "" if name.startswith(("before", "floor")) else ("met" if ratio <= RATIO_TARGET else "NOT MET")
        print(f"{name:52} {s50:9.2f}/{s95:<10.2f} {l50:9.2f}/{l95:<10.2f} {ratio:9.2f}  {target}")
    print(f"{'events in the history':52} {small.events:20,d} {large.events:20,d}")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
