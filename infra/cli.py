"""The ``delaktig`` command: everything operational.

Sub-commands are contributed by modules: ``infra/cli.py`` has ``up``, ``token``, ``worker``,
``asyncapi``; each service may add its own in ``services/<name>/cli.py`` by defining
``register(subparsers)`` (e.g. ``delaktig audit ...``, ``delaktig retention run``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from typing import Any

from shared.auth import ROLES, mint_token
from shared.config import Settings

SERVICES = ("participants", "recruitments", "matching", "audit", "dashboards")


def available_services() -> list[str]:
    """Services present in this checkout (those not built yet are simply absent)."""
    found = []
    for name in SERVICES:
        try:
            importlib.import_module(f"services.{name}.service")
        except ModuleNotFoundError:
            continue
        found.append(name)
    return found


def build_service(name: str, settings: Settings) -> Any:
    return importlib.import_module(f"services.{name}.service").build(settings)


def compose_services(settings: Settings, only: str | None = None,
                     failures: list[str] | None = None) -> list[tuple[str, Any]]:
    """Build the system's services (all present, or ``only`` one) as ``(name, service)`` pairs:
    what ``delaktig audit`` verifies and replays (``services.audit.cli.Compose``). With a
    ``failures`` list a service that cannot be built is named there instead of raising."""
    built = []
    for name in available_services():
        if only not in (None, name):
            continue
        try:
            built.append((name, build_service(name, settings)))
        except Exception as error:
            if failures is None:
                raise
            failures.append(f"{name}: {type(error).__name__}: {error}")
    return built


def cmd_token(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    print(mint_token(settings, sub=args.sub, roles=args.role, departments=args.department or (),
                     ttl_seconds=args.ttl))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from shared import logs
    from shared.db import LeaderLock
    from shared.kafka import TopicLayoutError, ensure_topics
    from shared.lifecycle import install_exit_logging
    from shared.runtime import run_until_signalled
    from shared.vault import ROTATE_CHECK_SECONDS

    logs.configure()
    install_exit_logging(f"{args.service}-worker")
    settings = Settings.from_env()
    try:  # provision the topics, and refuse to start on one with another partition count
        ensure_topics(settings)
    except TopicLayoutError as error:
        logging.getLogger("delaktig.worker").critical("worker %s not started: %s", args.service, error)
        print(f"worker {args.service} not started: {error}", file=sys.stderr)
        return 78  # EX_CONFIG: a restart will not help until the topic is fixed
    service = build_service(args.service, settings)
    worker = service.worker()
    # Several workers of one service may run (high availability): one holds the lock and runs
    # the relay and the consumers, the others wait to take over.
    worker.leader = LeaderLock(settings, args.service)
    vault = getattr(service, "vault", None)
    if vault is not None:
        # Erased means gone: within seconds of an erasure the key epoch rotates (shared/vault.py).
        worker.periodic.append((ROTATE_CHECK_SECONDS, vault.rotate_if_due))
    code = run_until_signalled(worker)
    service.close()
    return code


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from infra.backup import backup

    manifest = backup(Settings.from_env(), Path(args.dest))
    print(json.dumps(manifest, indent=2))
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from infra.backup import rotate_due

    for store, epoch in rotate_due(Settings.from_env(), force=not args.if_due).items():
        print(f"{store}: key epoch {epoch}")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from infra.launcher import up

    return up(Settings.from_env(), demo=not args.no_demo)


def cmd_topics(args: argparse.Namespace) -> int:
    """Provision the public topics and check them (``--production``/``--print``: a real cluster)."""
    from infra.topics import TopicPlan, commands, production_plan, provision
    from shared.kafka import PUBLIC_TOPICS, TopicLayoutError, ensure_topics, topic_layout

    settings = Settings.from_env()
    if args.partitions:
        settings = settings.with_(topic_partitions=args.partitions)
    if args.production or args.print:
        # Every process checks the count it finds against TOPIC_PARTITIONS: provision the same.
        if args.production:
            plan = production_plan(settings.topic_partitions, args.replication_factor or 3, args.min_insync_replicas)
        else:
            plan = TopicPlan(settings.topic_partitions, args.replication_factor or 1)
        if args.print:
            print(commands(settings, plan))
            return 0
        provision(settings, plan)
    try:
        found = ensure_topics(settings, PUBLIC_TOPICS) if not args.check else {}
    except TopicLayoutError as error:
        found = {}
        problem: str | None = str(error)
    else:
        problem = None
    counts = topic_layout(settings, PUBLIC_TOPICS)
    for topic, count in counts.items():
        state = found.get(topic) or ("missing" if count == 0 else "ok" if count == settings.topic_partitions
                                     else "WRONG PARTITION COUNT")
        print(f"{topic}\t{count} partitions (configured {settings.topic_partitions})\t{state}")
    if problem:
        print(problem, file=sys.stderr)
    return 0 if all(n == settings.topic_partitions for n in counts.values()) else 1


def cmd_asyncapi(args: argparse.Namespace) -> int:
    from infra.asyncapi import asyncapi_document

    for name in available_services():
        importlib.import_module(f"services.{name}.service")
    json.dump(asyncapi_document(), sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="delaktig", description=__doc__)
    # infra composes the system; commands that look at all of it (audit) receive the composition.
    p.set_defaults(compose=compose_services)
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the whole system locally (broker, services, workers)")
    up.add_argument("--no-demo", action="store_true", help="do not load the demo data")
    up.set_defaults(func=cmd_up)

    tok = sub.add_parser("token", help="mint a development token signed with the local key")
    tok.add_argument("--role", action="append", choices=ROLES, required=True)
    tok.add_argument("--department", action="append")
    tok.add_argument("--sub", help="subject id (pseudonymous); a participant's id for role participant")
    tok.add_argument("--ttl", type=int, default=8 * 3600)
    tok.set_defaults(func=cmd_token)

    worker = sub.add_parser("worker", help="run a service's relay and projection workers")
    worker.add_argument("service", choices=SERVICES)
    worker.set_defaults(func=cmd_worker)

    bk = sub.add_parser("backup", help="copy every store to DEST (no keys; runs a due key rotation first)")
    bk.add_argument("dest", help="a new or empty folder")
    bk.set_defaults(func=cmd_backup)

    keys = sub.add_parser("keys", help="key management")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser("rotate", help="new key epoch: re-wrap data keys, destroy the old KEK")
    rotate.add_argument("--if-due", action="store_true", help="only where an erasure made it due")
    rotate.set_defaults(func=cmd_keys_rotate)

    topics = sub.add_parser("topics", help="provision the public topics on the configured broker and check them")
    topics.add_argument("--partitions", type=int, default=None,
                        help="partition count (default: TOPIC_PARTITIONS, 3); every process must use the same")
    topics.add_argument("--check", action="store_true", help="only check, create nothing")
    topics.add_argument("--replication-factor", type=int, help="default 1 (3 with --production)")
    topics.add_argument("--min-insync-replicas", type=int, default=2, help="with --production (default 2)")
    topics.add_argument("--production", action="store_true",
                        help="replicated, min.insync.replicas, retention forever (docs/runbook.md)")
    topics.add_argument("--print", action="store_true", help="print kafka-topics.sh / kafka-acls.sh commands only")
    topics.set_defaults(func=cmd_topics)

    asyncapi = sub.add_parser("asyncapi", help="print the AsyncAPI document of the Kafka events")
    asyncapi.set_defaults(func=cmd_asyncapi)

    from infra.seed import register as register_seed

    register_seed(sub)

    for name in SERVICES:
        try:
            module = importlib.import_module(f"services.{name}.cli")
        except ModuleNotFoundError:
            continue
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
