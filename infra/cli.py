"""The ``delaktig`` command: everything operational.

Sub-commands are contributed by modules: ``infra/cli.py`` has ``up``, ``token``, ``worker``,
``asyncapi``; each service may add its own in ``services/<name>/cli.py`` by defining
``register(subparsers)`` (e.g. ``delaktig audit ...``, ``delaktig retention run``).
"""

from __future__ import annotations

import argparse
import importlib
import json
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


def cmd_token(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    print(mint_token(settings, sub=args.sub, roles=args.role, departments=args.department or (),
                     ttl_seconds=args.ttl))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from shared.runtime import run_until_signalled

    service = build_service(args.service, Settings.from_env())
    run_until_signalled(service.worker())
    service.close()
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from infra.launcher import up

    return up(Settings.from_env(), demo=not args.no_demo)


def cmd_topics(args: argparse.Namespace) -> int:
    from infra.topics import TopicPlan, commands, production_plan, provision

    settings = Settings.from_env()
    if args.production:
        plan = production_plan(args.partitions or 6, args.replication_factor or 3, args.min_insync_replicas)
    else:
        plan = TopicPlan(args.partitions or 3, args.replication_factor or 1)
    if args.print:
        print(commands(settings, plan))
        return 0
    print("\n".join(provision(settings, plan)))
    return 0


def cmd_asyncapi(args: argparse.Namespace) -> int:
    from infra.asyncapi import asyncapi_document

    for name in available_services():
        importlib.import_module(f"services.{name}.service")
    json.dump(asyncapi_document(), sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="delaktig", description=__doc__)
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

    topics = sub.add_parser("topics", help="create the public topics on the configured broker")
    topics.add_argument("--partitions", type=int, help="default 3 (6 with --production)")
    topics.add_argument("--replication-factor", type=int, help="default 1 (3 with --production)")
    topics.add_argument("--min-insync-replicas", type=int, default=2, help="with --production (default 2)")
    topics.add_argument("--production", action="store_true",
                        help="replicated, min.insync.replicas, retention forever (docs/runbook.md)")
    topics.add_argument("--print", action="store_true", help="print kafka-topics.sh / kafka-acls.sh commands only")
    topics.set_defaults(func=cmd_topics)

    asyncapi = sub.add_parser("asyncapi", help="print the AsyncAPI document of the Kafka events")
    asyncapi.set_defaults(func=cmd_asyncapi)

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
