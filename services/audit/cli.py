"""``delaktig audit ...``: verify, replay, decision, export. Exit code 0 only when all holds.

Audit does not build the system it verifies: ``infra/`` composes the services and hands them in
(``args.compose``, set by ``infra/cli.py``; a ``Compose`` function for ``run_verify``), so the
audit service knows no other service and nothing of ``infra/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.config import Settings

#: Builds the system's services as ``(name, service)`` pairs, all of them or ``only`` one; with a
#: ``failures`` list, a service that cannot be built is named there instead of raising.
Compose = Callable[[Settings, str | None, list[str] | None], list[tuple[str, Any]]]


def register(subparsers: Any) -> None:
    """Add the ``audit`` command group to the ``delaktig`` parser."""
    audit = subparsers.add_parser("audit", help="integrity verification, replay, decision records")
    sub = audit.add_subparsers(dest="audit_command", required=True)

    verify = sub.add_parser("verify", help="verify chains, checkpoints and event stores")
    verify.add_argument("--export", type=Path, help="verify an export file instead of reading Kafka")
    verify.add_argument("--public-key", type=Path, help="Ed25519 public key (PEM); default: the configured key")
    verify.add_argument("--no-stores", action="store_true", help="do not check the local event stores")
    verify.add_argument("--json", action="store_true", help="print the full report as JSON")
    verify.add_argument("--max-lag", type=int, default=None,
                        help="events a read model may be behind a source (default: VERIFY_MAX_LAG or 0)")
    verify.add_argument("--wait", type=float, default=10.0,
                        help="seconds to let read models behind catch up before failing (default 10)")
    verify.add_argument("--allow-missing-checkpoints", action="store_true",
                        help="sources without checkpoints for more than CHECKPOINT_EVERY_EVENTS events only "
                             "warn (a fresh broker that lost them)")
    verify.add_argument("--processes", type=int, default=None,
                        help="processes sharing the per-event work (default: VERIFY_PROCESSES, else every "
                             "core for a large history)")
    verify.set_defaults(func=cmd_verify)

    replay = sub.add_parser("replay", help="rebuild read models from offset zero and compare with the live ones")
    replay.add_argument("--until", type=_moment, metavar="DATE",
                        help="rebuild them as they were then (events with occurred_at up to DATE, ISO 8601; a "
                             "date means the end of that day, UTC) and print their rows instead of comparing")
    replay.set_defaults(func=cmd_replay)

    decision = sub.add_parser("decision", help="the decision-influence record of a recruitment")
    decision.add_argument("recruitment_id")
    decision.add_argument("--html", action="store_true", help="print the readable HTML page")
    decision.add_argument("--export", type=Path, help="read an export file instead of Kafka")
    decision.add_argument("--public-key", type=Path)
    decision.add_argument("--as-of", type=_moment, metavar="DATE", default=None,
                          help="the record as it stood then (events with occurred_at up to DATE, ISO 8601)")
    decision.set_defaults(func=cmd_decision)

    key = sub.add_parser("public-key", help="print the checkpoint-signing public key (PEM) for outside verifiers")
    key.set_defaults(func=cmd_public_key)

    export = sub.add_parser("export", help="write every public topic to a JSON-lines file")
    export.add_argument("file", type=Path)
    export.set_defaults(func=cmd_export)

    dead = subparsers.add_parser("deadletters", help="events a read model could not apply: list, retry after a fix")
    dead_sub = dead.add_subparsers(dest="deadletters_command", required=True)
    for name, func, text in (("list", cmd_deadletters_list, "list parked events"),
                             ("retry", cmd_deadletters_retry, "apply parked events again")):
        cmd = dead_sub.add_parser(name, help=text)
        cmd.add_argument("--service", help="only this service's consumers")
        cmd.set_defaults(func=func)


def _moment(text: str) -> Any:
    from services.audit.moments import parse_moment

    try:
        return parse_moment(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from None


def consumer_loops(service: Any) -> list[Any]:
    """The consumer loops a service's worker runs."""
    from shared.consumer import ConsumerLoop

    return [p for p in service.worker().parts if isinstance(p, ConsumerLoop)]


def cmd_deadletters_list(args: argparse.Namespace) -> int:
    total = 0
    for name, service in args.compose(Settings.from_env(), args.service, None):
        try:
            for loop in consumer_loops(service):
                for row in loop.dead_letters():
                    total += 1
                    print(f"{name}\t{row['consumer']}\t{row['source']}\t{row['position']}\t{row['event_id']}\t"
                          f"attempts {row['attempts']}\t{row['error']}")
        finally:
            service.close()
    print(f"{total} dead letter(s)")
    return 0


def cmd_deadletters_retry(args: argparse.Namespace) -> int:
    applied = failed = 0
    for name, service in args.compose(Settings.from_env(), args.service, None):
        try:
            for loop in consumer_loops(service):
                done, still = loop.retry_dead_letters()
                applied += done
                failed += still
                if done or still:
                    print(f"{name}/{loop.name}: {done} applied, {still} still failing")
        finally:
            service.close()
    print(f"{applied} applied, {failed} still failing")
    return 0 if failed == 0 else 1


def _public_key(settings: Settings, path: Path | None) -> Any:
    from services.audit.keys import load_public_key, load_signing_key

    if path is not None:
        return load_public_key(path.read_bytes())
    return load_signing_key(settings).public_key()


def _records(settings: Settings, export: Path | None) -> list[Any]:
    from services.audit.verify import load_export, load_from_kafka

    return load_export(export) if export else load_from_kafka(settings)


def run_verify(settings: Settings, export: Path | None, public_key: Path | None, stores: bool,
               max_lag: int = 0, wait: float = 10.0, allow_missing_checkpoints: bool = False,
               compose: Compose | None = None, processes: int | None = None) -> dict[str, Any]:
    """Verify the history, the checkpoints' coverage and (optionally, for a local installation)
    every event store and every read model of the services ``compose`` builds; a JSON-ready result."""
    import time

    from services.audit.verify import Problem, missing_checkpoints, read_model_problems, verify_records, verify_store
    from shared.application import ServiceApplication

    report, history = verify_records(_records(settings, export), _public_key(settings, public_key), processes)
    problems = list(report.problems)
    warnings: list[Problem] = []
    uncovered = missing_checkpoints(history, settings.checkpoint_every_events)
    (warnings if allow_missing_checkpoints else problems).extend(uncovered)
    checked_stores: list[str] = []
    checked_models: list[str] = []
    failures: list[str] = []
    if stores:
        if compose is None:
            raise ValueError("verifying the stores needs the services: pass compose")
        services = [service for _name, service in compose(settings, None, failures)]
        try:
            for service in services:
                app = getattr(service, "app", None)
                if isinstance(app, ServiceApplication):
                    problems.extend(verify_store(app, history))
                    checked_stores.append(app.source)
            models = [(type(s).__name__.lower(), s.db) for s in services if getattr(s, "db", None) is not None]
            checked_models = [name for name, _db in models]
            deadline = time.monotonic() + wait
            behind = read_model_problems(models, history, max_lag)
            while behind and time.monotonic() < deadline:  # read models of running workers catch up
                time.sleep(0.5)
                behind = read_model_problems(models, history, max_lag)
            problems.extend(behind)
        finally:
            for service in services:
                service.close()
    problems.extend(Problem(name.split(":")[0], 0, None, "store-unavailable", name) for name in failures)
    result = report.as_dict()
    result["stores_checked"] = checked_stores
    result["read_models_checked"] = checked_models
    result["problems"] = [p.__dict__ for p in problems]
    result["warnings"] = [p.__dict__ for p in warnings]
    result["first_problem"] = problems[0].__dict__ if problems else None
    result["ok"] = not problems
    return result


def cmd_verify(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    import os

    max_lag = args.max_lag if args.max_lag is not None else int(os.environ.get("VERIFY_MAX_LAG", "0"))
    result = run_verify(settings, args.export, args.public_key, stores=not args.no_stores and not args.export,
                        max_lag=max_lag, wait=args.wait, allow_missing_checkpoints=args.allow_missing_checkpoints,
                        compose=args.compose, processes=args.processes)
    if args.json:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        print()
    elif result["ok"]:
        print(f"OK: {result['events_checked']} events, {result['checkpoints_checked']} checkpoints, "
              f"stores {', '.join(result['stores_checked']) or 'none'}, "
              f"read models of {', '.join(result['read_models_checked']) or 'none'}")
        for w in result["warnings"]:
            print(f"WARNING: {w['source']} position {w['position']}: {w['kind']}: {w['detail']}")
    else:
        p = result["first_problem"]
        print(f"BROKEN: {p['source']} position {p['position']} event {p['event_id']}: {p['kind']}: {p['detail']}")
        print(f"({len(result['problems'])} problem(s) in all)")
    return 0 if result["ok"] else 1


def cmd_replay(args: argparse.Namespace) -> int:
    from services.audit.replay import replay

    services = [service for _name, service in args.compose(Settings.from_env(), None, [])]
    try:
        # Every read model of every service at once: the sources are read in parallel.
        pairs = [pair for service in services if hasattr(service, "projections") for pair in service.projections()]
        results = [r.as_dict() for r in replay(pairs, until=args.until)]
    finally:
        for service in services:
            service.close()
    json.dump(results, sys.stdout, indent=2, ensure_ascii=False, default=str)
    print()
    return 0 if all(r["identical"] for r in results) else 1


def cmd_decision(args: argparse.Namespace) -> int:
    from services.audit.decision import decision_html, decision_record
    from services.audit.verify import verify_records

    settings = Settings.from_env()
    report, history = verify_records(_records(settings, args.export), _public_key(settings, args.public_key))
    record = decision_record(history, args.recruitment_id, args.as_of)
    record["history_verified"] = report.ok
    if args.html:
        print(decision_html(record))
    else:
        json.dump(record, sys.stdout, indent=2, ensure_ascii=False)
        print()
    return 0 if report.ok and record["inputs"] and record["proofs_verified"] else 1


def cmd_export(args: argparse.Namespace) -> int:
    from services.audit.verify import load_from_kafka, write_export

    count = write_export(load_from_kafka(Settings.from_env()), args.file)
    print(f"{count} messages written to {args.file}")
    return 0


def cmd_public_key(args: argparse.Namespace) -> int:
    from services.audit.keys import load_signing_key, public_pem

    print(public_pem(load_signing_key(Settings.from_env())), end="")
    return 0
