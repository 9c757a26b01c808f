"""Domain errors, each with the HTTP status a problem response gives it."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused command. ``field`` names the input at fault, where there is one."""

    status = 422
    title = "Unprocessable request"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


class Conflict(DomainError):
    """The command does not fit the current state (stage, version, duplicate)."""

    status = 409
    title = "Conflict"


class ConcurrentModification(Conflict):
    title = "Concurrent modification"
