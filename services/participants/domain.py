"""The brukarbank's domain: participants and departments. No I/O here.

Every event carries ``actor`` ({id, role}, pseudonymous) and ``department`` (or None).
Personal fields arrive already encrypted (vault tokens); the domain never sees plaintext.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from shared.errors import Conflict

DEPARTMENT_NAMESPACE = UUID("0e9b7f55-6a43-4a0e-8f3e-1f6f0c4b5d21")

Actor = dict[str, str]


def department_id(code: str) -> UUID:
    """Departments have ids derived from their code, so onboarding twice is detectable."""
    return uuid5(DEPARTMENT_NAMESPACE, code)


class Department(Aggregate):
    """An administration that uses Delaktig (socialförvaltningen, ...)."""

    @event("Onboarded")
    def __init__(self, id: UUID, code: str, name: str, actor: Actor, department: str | None) -> None:
        self._id = id
        self.code = code
        self.name = name
        self.active = True


class Participant(Aggregate):
    """A service user in the brukarbank."""

    @event("Registered")
    def __init__(
        self,
        id: UUID,
        personal: str,
        preferred_language: str,
        departments: list[str],
        actor: Actor,
        department: str | None,
    ) -> None:
        self._id = id
        self.personal = personal
        self.preferred_language = preferred_language
        self.departments = list(departments)
        self.forgotten = False

    def check_not_forgotten(self) -> None:
        if self.forgotten:
            raise Conflict("this participant has been erased")


class DataAccess(Aggregate):
    """One read of a person's personal data: who, when, why (CJEU C-579/21)."""

    @event("Recorded")
    def __init__(
        self, id: UUID, subject_id: str, purpose: str, categories: list[str], actor: Actor, department: str | None
    ) -> None:
        self._id = id
        self.subject_id = subject_id
        self.purpose = purpose
        self.categories = list(categories)


def as_actor(value: Any) -> Actor:
    return {"id": str(value["id"]), "role": str(value["role"])}
