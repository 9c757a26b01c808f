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
    from shared import logs
    from shared.db import LeaderLock
    from shared.lifecycle import install_exit_logging
    from shared.runtime import run_until_signalled
    from shared.vault import ROTATE_CHECK_SECONDS

    logs.configure()
    install_exit_logging(f"{args.service}-worker")
    settings = Settings.from_env()
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
    from shared.kafka import PUBLIC_TOPICS, ensure_topics

    settings = Settings.from_env()
    ensure_topics(settings, PUBLIC_TOPICS, partitions=args.partitions)
    print("\n".join(settings.topic(t) for t in PUBLIC_TOPICS))
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

    bk = sub.add_parser("backup", help="copy every store to DEST (no keys; runs a due key rotation first)")
    bk.add_argument("dest", help="a new or empty folder")
    bk.set_defaults(func=cmd_backup)

    keys = sub.add_parser("keys", help="key management")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    rotate = keys_sub.add_parser("rotate", help="new key epoch: re-wrap data keys, destroy the old KEK")
    rotate.add_argument("--if-due", action="store_true", help="only where an erasure made it due")
    rotate.set_defaults(func=cmd_keys_rotate)

    topics = sub.add_parser("topics", help="create the public topics on the configured broker")
    topics.add_argument("--partitions", type=int, default=3)
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
