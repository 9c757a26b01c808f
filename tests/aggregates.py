"""Helpers for in-process aggregate tests (``tests/*/test_domain.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.domain import Aggregate


def refused(aggregate: Aggregate, error: type[Exception], command: Callable[[], Any]) -> Exception:
    """``command`` raises ``error`` and records nothing (no version, no pending event)."""
    before = (aggregate.version, len(aggregate.pending_events))
    with pytest.raises(error) as caught:
        command()
    assert (aggregate.version, len(aggregate.pending_events)) == before
    return caught.value


def replayed(aggregate: Aggregate) -> Any:
    """The aggregate rebuilt from its recorded events, as the store does on every load."""
    copy: Any = None
    for recorded in aggregate.collect_events():
        copy = recorded.mutate(copy)
    assert copy is not None
    return copy
