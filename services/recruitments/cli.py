"""``delaktig recruitments-retention``: crypto-shred non-hired candidates past retention."""

from __future__ import annotations

import argparse
import json
from datetime import date
from typing import Any

from shared.config import Settings


def cmd_retention(args: argparse.Namespace) -> int:
    """Run the candidate retention rule once and print what was shredded."""
    from services.recruitments.service import Recruitments

    service = Recruitments.build(Settings.from_env())
    try:
        on = date.fromisoformat(args.on) if args.on else None
        shredded = service.app.run_retention(on)
        service.relay().drain()
    finally:
        service.close()
    print(json.dumps({"shredded": shredded, "count": len(shredded)}))
    return 0


def register(sub: Any) -> None:
    """Add this service's commands to the ``delaktig`` CLI."""
    p = sub.add_parser(
        "recruitments-retention",
        help="shred non-hired candidates' data after the retention period (unless held)",
    )
    p.add_argument("--on", help="run as of this date (YYYY-MM-DD); default today", default=None)
    p.set_defaults(func=cmd_retention)
