"""``delaktig recruitments-retention``: crypto-shred non-hired candidates past retention.
``delaktig import history FILE.csv``: past recruitments from paper (docs/history-import.md)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from shared.config import Settings


def cmd_retention(args: argparse.Namespace) -> int:
    """Run the candidate retention rule once and print what was shredded."""
    from services.recruitments.service import Recruitments

    service = Recruitments.build(Settings.from_env())
    try:
        on = date.fromisoformat(args.on) if args.on else None
        service.relay().drain()  # what is stored reaches recruitments.events ...
        due_list = service.retention_due_list()
        try:
            due_list.catch_up()  # ... and the due-list as far as the topic goes; each aggregate confirms
        finally:
            due_list.close()
        shredded = service.run_retention(on)
        service.relay().drain()
    finally:
        service.close()
    print(json.dumps({"shredded": shredded, "count": len(shredded)}))
    return 0


def cmd_import_history(args: argparse.Namespace) -> int:
    """Import a history file; print every error (line, field) and import nothing if there is one."""
    from services.recruitments.history import HistoryInvalid
    from services.recruitments.service import Recruitments

    path: Path = args.file
    service = Recruitments.build(Settings.from_env())
    try:
        text = path.read_text(encoding="utf-8")
        result = service.app.import_history(text, {"id": args.actor, "role": "importer"}, path.name)
        try:
            service.relay().drain()  # publish now; a running worker would publish them too
        except Exception as unpublished:  # the import is stored; publishing can wait for the worker
            print(f"imported; the recruitments worker publishes it ({unpublished})", file=sys.stderr)
    except HistoryInvalid as invalid:
        for error in invalid.errors:
            print(f"{path.name}: {error}", file=sys.stderr)
        print(f"{len(invalid.errors)} error(s): nothing was imported", file=sys.stderr)
        return 1
    finally:
        service.close()
    print(json.dumps(result))
    return 0


def register(sub: Any) -> None:
    """Add this service's commands to the ``delaktig`` CLI."""
    p = sub.add_parser(
        "recruitments-retention",
        help="shred non-hired candidates' data after the retention period (unless held)",
    )
    p.add_argument("--on", help="run as of this date (YYYY-MM-DD); default today", default=None)
    p.set_defaults(func=cmd_retention)

    imports = sub.add_parser("import", help="import records from before Delaktig")
    imports_sub = imports.add_subparsers(dest="import_command", required=True)
    history = imports_sub.add_parser(
        "history", help="past recruitments, panels, decisions and feedback from a CSV file (docs/history-import.md)"
    )
    history.add_argument("file", type=Path, help="the CSV file (comma or semicolon separated, UTF-8)")
    history.add_argument("--actor", default="history-import",
                         help="pseudonymous id of who imports (recorded on every event); default history-import")
    history.set_defaults(func=cmd_import_history)
