"""The participants application: one short method per use case."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from services.participants.domain import DataAccess, Department, Participant, department_id
from services.participants.events import catalogue
from shared.application import ServiceApplication
from shared.auth import Principal
from shared.config import DEFAULT_DEPARTMENTS, Settings
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.vault import Vault

SYSTEM = {"id": "system", "role": "system"}


class ParticipantsApp(ServiceApplication):
    source = "participants"
    catalogue = catalogue

    def __init__(self, settings: Settings, vault: Vault) -> None:
        super().__init__(settings)
        self.vault = vault

    # -- departments ---------------------------------------------------------
    def onboard_department(self, code: str, name: str, actor: dict[str, str]) -> UUID:
        dep_id = department_id(code)
        if self.exists(dep_id):
            raise Conflict(f"department {code!r} is already onboarded", field="code")
        self.save(Department(id=dep_id, code=code, name=name, actor=actor, department=code))
        return dep_id

    def ensure_default_departments(self) -> None:
        for code, name in DEFAULT_DEPARTMENTS:
            if not self.exists(department_id(code)):
                try:
                    self.onboard_department(code, name, SYSTEM)
                except Conflict:
                    pass  # another process onboarded it at the same moment

    def department(self, code: str) -> Department | None:
        dep_id = department_id(code)
        if not self.exists(dep_id):
            return None
        aggregate: Department = self.get(dep_id, Department, "department")
        return aggregate

    def check_departments(self, codes: list[str], field: str = "departments") -> None:
        for code in codes:
            dep = self.department(code)
            if dep is None or not dep.active:
                raise InvalidInput(f"unknown department {code!r}", field=field)

    # -- participants ----------------------------------------------------------
    def register_participant(
        self,
        by: Principal,
        *,
        name: str,
        email: str | None,
        phone: str | None,
        preferred_language: str,
        departments: list[str],
        department: str | None = None,
        participant_id: UUID | None = None,
    ) -> UUID:
        self.check_departments(departments)
        registering = department or departments[0]
        if registering not in departments:
            raise InvalidInput("department must be one of departments", field="department")
        by.check_department(registering)
        pid = participant_id or uuid4()
        if self.exists(pid):
            raise Conflict("this participant is already registered", field="id")
        personal = self.vault.encrypt(str(pid), {"name": name, "email": email, "phone": phone})
        participant = Participant(
            id=pid,
            personal=personal,
            preferred_language=preferred_language,
            departments=sorted(set(departments)),
            actor=by.actor(),
            department=registering,
        )
        self.save(participant)
        return pid

    def participant(self, pid: UUID) -> Participant:
        aggregate: Participant = self.get(pid, Participant, "participant")
        return aggregate

    def read_participant(self, by: Principal, pid: UUID, purpose: str) -> dict[str, Any]:
        """The decrypted record, for the person themself or a coordinator of a consented department.
        Every such read is recorded as an event."""
        participant = self.participant(pid)
        is_self = by.has("participant") and by.sub == str(pid)
        shared = set(participant.departments) & set(by.departments)
        if not is_self and not (by.has("coordinator", "administrator") and (shared or by.has("administrator"))):
            # Say "not found" rather than confirm the person is in the bank.
            if by.has("coordinator"):
                raise NotFound(f"no participant with id {pid}")
            raise Forbidden("you may not read this participant")
        personal = self.vault.decrypt_or(str(pid), participant.personal, erased=None)
        if personal is None:
            raise NotFound(f"no participant with id {pid}")
        department = sorted(shared)[0] if shared else None
        self.save(DataAccess(id=uuid4(), subject_id=str(pid), purpose=purpose,
                             categories=["name", "email", "phone"], actor=by.actor(), department=department))
        return {
            "id": str(pid),
            "name": personal["name"],
            "email": personal["email"],
            "phone": personal["phone"],
            "preferred_language": participant.preferred_language,
            "departments": participant.departments,
            "version": participant.version,
        }
