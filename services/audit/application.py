"""The audit use cases: decision records, access log, checkpoints (all from the audit database)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.checkpoints import checkpoints_page, stored_checkpoints
from services.audit.decision_model import decision_record as read_decision_record
from services.audit.keys import public_pem
from services.audit.projections import access_log, access_log_page
from shared.auth import Principal
from shared.config import Settings
from shared.db import Database
from shared.errors import NotFound


class AuditApp:
    """Read-only: everything here is derived from Kafka and the audit database."""

    def __init__(self, settings: Settings, db: Database, key: Ed25519PrivateKey) -> None:
        self.settings = settings
        self.db = db
        self.key = key

    def public_key_pem(self) -> str:
        return public_pem(self.key)

    def decision_record(self, recruitment_id: str, by: Principal | None = None,
                        as_of: datetime | None = None) -> dict[str, Any]:
        """The record of one recruitment (as it stood ``as_of``) from the decision read model, its
        proofs verified against the signed checkpoints; over HTTP (``by``) only for an auditor
        whose token covers its department (otherwise "not found", as recruitments'
        ``/influence`` answers)."""
        record = read_decision_record(self.db, self.key.public_key(), recruitment_id, as_of)
        unknown = not record["inputs"] and record["department"] is None
        if unknown or (by is not None and not by.can_see_department(record["department"])):
            raise NotFound(f"no recruitment with id {recruitment_id}")
        return record

    def access_log(self, subject_id: str | None, accessor_id: str | None,
                   by: Principal | None = None) -> list[dict[str, Any]]:
        """Over HTTP (``by``): reads made in the auditor's departments, and reads made in no
        department (by the person themself or an administrator)."""
        rows = access_log(self.db, subject_id, accessor_id)
        return [r for r in rows if by is None or r["department"] is None or by.can_see_department(r["department"])]

    def access_log_page(self, by: Principal, subject_id: str | None, accessor_id: str | None, limit: int,
                        cursor: str | None = None) -> dict[str, Any]:
        """A page of ``access_log`` as ``by`` may read it (the same department rule)."""
        departments = None if by.can_see_department(None) else tuple(sorted(by.departments))
        return access_log_page(self.db, subject_id=subject_id, accessor_id=accessor_id,
                               departments=departments, limit=limit, cursor=cursor)

    def checkpoints_page(self, source: str | None, limit: int, cursor: str | None = None) -> dict[str, Any]:
        return checkpoints_page(self.db, source, limit, cursor)

    def checkpoints(self, source: str | None) -> list[dict[str, Any]]:
        return stored_checkpoints(self.db, source)
