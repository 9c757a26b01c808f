"""Domain errors: the kinds of refusal. They know nothing of HTTP; the edge (``shared/web.py``,
``PROBLEMS``) maps each kind to a status code and title. A service names its own refusals as
subclasses of these kinds (``services/participants/domain.py``: ``CooldownActive`` is a
``Conflict``), so the mapping stays in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused command. ``field`` names the input at fault, where there is one."""

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class InvalidInput(DomainError):
    """The input itself is wrong (a value out of range, a missing field)."""


class NotFound(DomainError):
    """No such thing (or none the caller may know of)."""


class Forbidden(DomainError):
    """The caller may not do this."""


class Unauthorized(DomainError):
    """The caller is not known."""


class Conflict(DomainError):
    """The command does not fit the current state (stage, version, duplicate)."""


class ConcurrentModification(Conflict):
    """Someone else changed the aggregate first."""
