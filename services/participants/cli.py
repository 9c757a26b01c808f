"""``delaktig retention run``: execute the participants' retention rules as erasure events."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from shared.config import Settings


def cmd_retention_run(args: argparse.Namespace) -> int:
    """Find participants due for erasure under the retention rules and erase them."""
    from services.participants.service import Participants

    service = Participants.build(Settings.from_env())
    try:
        on = date.fromisoformat(args.on) if args.on else None
        bank = service.bank()
        try:
            bank.catch_up()  # the read model as far as the topic goes; each aggregate confirms
        finally:
            bank.close()
        erased = service.run_retention(on)
    finally:
        service.close()
    print(json.dumps({"erased": erased, "count": len(erased)}))
    return 0


def register(subparsers: Any) -> None:
    """Add ``delaktig retention run`` to the ``delaktig`` command."""
    retention = subparsers.add_parser("retention", help="data retention rules (participants)")
    actions = retention.add_subparsers(dest="retention_command", required=True)
    run = actions.add_parser("run", help="erase participants whose data is due under the retention rules")
    run.add_argument("--on", help="the day to evaluate the rules for (YYYY-MM-DD, default today)")
    run.set_defaults(func=cmd_retention_run)
