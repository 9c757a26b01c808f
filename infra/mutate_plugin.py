"""A pytest plugin for ``make mutate`` only: run the quickest tests first.

mutmut runs every mutant's tests with ``-x``, so a mutant is settled by the first test that fails.
Ordering the tests by the durations mutmut measured (``mutmut-stats.json``) lets a quick, exact
test kill a mutant before a slow end-to-end test has even started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    stats = Path("mutmut-stats.json")
    if not stats.exists():
        return
    try:
        durations: dict[str, float] = json.loads(stats.read_text()).get("duration_by_test", {})
    except (OSError, ValueError):
        return
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
