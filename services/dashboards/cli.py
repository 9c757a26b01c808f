"""``delaktig export research --out DIR``: the pseudonymised research dataset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from shared.config import Settings


def cmd_export_research(args: argparse.Namespace) -> int:
    """Bring the read model up to date from Kafka, then write the export."""
    from services.dashboards.export import export_research
    from services.dashboards.service import Dashboards

    service = Dashboards.build(Settings.from_env())
    try:
        service.catch_up(timeout=args.timeout)
        result = export_research(service.db, Path(args.out))
    finally:
        service.close()
    for name, count in result.rows.items():
        extra = ""
        if result.coarsened.get(name) or result.withheld.get(name):
            extra = f" (month coarsened on {result.coarsened[name]}, withheld {result.withheld[name]})"
        print(f"{result.directory / name}: {count} rows{extra}")
    print(f"{result.directory / 'data_dictionary.csv'}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``export research`` to the ``delaktig`` command."""
    export = subparsers.add_parser("export", help="export data sets")
    kinds = export.add_subparsers(dest="export_kind", required=True)
    research = kinds.add_parser("research", help="pseudonymised research dataset (CSV + data dictionary)")
    research.add_argument("--out", required=True, help="directory to write into")
    research.add_argument("--timeout", type=float, default=60.0, help="seconds to catch up with Kafka")
    research.set_defaults(func=cmd_export_research)
