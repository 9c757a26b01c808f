"""Matching's read model, fed from ``participants.events``, ``recruitments.events`` and its own
``matching.events`` by a ``ConsumerLoop``.

It holds pseudonymous participant ids and matching facts only: the experience tags each person
lets matching see, languages, consents per purpose and department, readiness, contact status,
availability, excluded units and panel engagements. Never names or contact details. A person
who is forgotten is dropped, and nothing arriving later brings them back.

Consent for a department is a ``ConsentGiven`` with purpose ``recruitment`` for it; matching needs
purpose ``matching`` as well. A consent without a department counts for every department.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.matching.ranking import Candidate, Limit, Needs
from shared.consumer import CONSUMER_DDL, Projection
from shared.db import Database, Tx
from shared.envelope import Envelope

SEP = "|"
ANY_DEPARTMENT = "*"

READMODEL_DDL = """
CREATE TABLE IF NOT EXISTS mx_participants (
    participant_id TEXT PRIMARY KEY,
    tags TEXT NOT NULL DEFAULT '',
    languages TEXT NOT NULL DEFAULT '',
    confidentiality INTEGER NOT NULL DEFAULT 0,
    training INTEGER NOT NULL DEFAULT 0,
    contact_status TEXT NOT NULL DEFAULT 'available',
    contact_until TEXT,
    windows TEXT NOT NULL DEFAULT '',
    excluded_units TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS mx_consents (
    participant_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    department TEXT NOT NULL,
    PRIMARY KEY (participant_id, purpose, department)
);
CREATE INDEX IF NOT EXISTS mx_consents_by_department ON mx_consents (department, purpose, participant_id);
CREATE TABLE IF NOT EXISTS mx_forgotten (
    participant_id TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS mx_departments (
    code TEXT PRIMARY KEY,
    max_engagements INTEGER NOT NULL,
    period_days INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mx_recruitments (
    recruitment_id TEXT PRIMARY KEY,
    department TEXT NOT NULL,
    unit TEXT,
    areas TEXT NOT NULL DEFAULT '',
    languages TEXT NOT NULL DEFAULT '',
    interviews_from TEXT,
    interviews_to TEXT,
    panel_size INTEGER NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mx_engagements (
    participant_id TEXT NOT NULL,
    recruitment_id TEXT NOT NULL,
    department TEXT NOT NULL,
    engaged_on TEXT NOT NULL,
    PRIMARY KEY (participant_id, recruitment_id)
);
CREATE INDEX IF NOT EXISTS mx_engagements_by_recruitment ON mx_engagements (recruitment_id)
"""


def _join(values: Iterable[Any] | None) -> str:
    return SEP.join(sorted({str(v) for v in values or () if str(v)}))


def _split(value: str | None) -> frozenset[str]:
    return frozenset(value.split(SEP)) if value else frozenset()


def _windows(value: list[dict[str, Any]] | None) -> str:
    return SEP.join(sorted(f"{w['start']}/{w['end']}" for w in value or ()))


class MatchingProjection(Projection):
    """Turns the three topics into the read model above."""

    name = "matching-readmodel"
    topics = ("participants.events", "recruitments.events", "matching.events")

    def __init__(self) -> None:
        self._forgotten: set[str] = set()

    def migrate(self, db: Database) -> None:
        db.migrate(READMODEL_DDL)
        with db.transaction() as tx:
            self._forgotten = {r["participant_id"] for r in tx.all("SELECT participant_id FROM mx_forgotten")}

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        handler = getattr(self, f"on_{envelope.get('event_type')}", None)
        if handler is None:
            return
        source = envelope.get("source")
        if source == "participants" and envelope["event_type"] not in ("DepartmentSettingsChanged",):
            if str(envelope["aggregate_id"]) in self._forgotten:
                return
        handler(tx, envelope, envelope.get("payload") or {})

    # -- participants.events -------------------------------------------------------------
    @staticmethod
    def _ensure(tx: Tx, pid: str) -> None:
        tx.execute("INSERT INTO mx_participants (participant_id) VALUES (?) ON CONFLICT DO NOTHING", (pid,))

    def on_UserRegistered(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        self._ensure(tx, str(env["aggregate_id"]))

    def on_ConsentGiven(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        pid = str(env["aggregate_id"])
        self._ensure(tx, pid)
        tx.execute(
            "INSERT INTO mx_consents (participant_id, purpose, department) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (pid, str(payload.get("purpose")), payload.get("department") or ANY_DEPARTMENT),
        )

    def on_ConsentWithdrawn(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        department = payload.get("department") or ANY_DEPARTMENT
        if department == ANY_DEPARTMENT:
            tx.execute(
                "DELETE FROM mx_consents WHERE participant_id = ? AND purpose = ?",
                (str(env["aggregate_id"]), str(payload.get("purpose"))),
            )
        else:
            tx.execute(
                "DELETE FROM mx_consents WHERE participant_id = ? AND purpose = ? AND department = ?",
                (str(env["aggregate_id"]), str(payload.get("purpose")), department),
            )

    def _update(self, tx: Tx, env: Envelope, assignments: str, values: tuple[Any, ...]) -> None:
        """Update the person's row, creating it first if their registration was never seen."""
        pid = str(env["aggregate_id"])
        sql = f"UPDATE mx_participants SET {assignments} WHERE participant_id = ?"
        if tx.execute(sql, (*values, pid)).rowcount == 0:
            self._ensure(tx, pid)
            tx.execute(sql, (*values, pid))

    def on_ProfileUpdated(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        tags, languages = _join(payload.get("shared_tags")), _join(payload.get("languages"))
        self._update(tx, env, "tags = ?, languages = ?, excluded_units = ?",
                     (tags, languages, _join(payload.get("excluded_units"))))

    def _set(self, tx: Tx, env: Envelope, column: str, value: Any) -> None:
        self._update(tx, env, f"{column} = ?", (value,))

    def on_ConfidentialityUndertakingSigned(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        self._set(tx, env, "confidentiality", 1)

    def on_IntroductionTrainingCompleted(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        self._set(tx, env, "training", 1)

    def on_AvailabilityChanged(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        self._set(tx, env, "windows", _windows(payload.get("windows")))

    def on_ContactStatusChanged(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        self._update(tx, env, "contact_status = ?, contact_until = ?",
                     (str(payload.get("status") or "available"), payload.get("until")))

    def on_ParticipantForgotten(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        pid = str(env["aggregate_id"])
        for table in ("mx_participants", "mx_consents", "mx_engagements"):
            tx.execute(f"DELETE FROM {table} WHERE participant_id = ?", (pid,))
        tx.execute("INSERT INTO mx_forgotten (participant_id) VALUES (?) ON CONFLICT DO NOTHING", (pid,))
        self._forgotten.add(pid)

    def on_DepartmentSettingsChanged(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        limit = payload.get("participation_limit") or {}
        code = payload.get("code") or env.get("department")
        if not code or not limit:
            return
        tx.execute(
            "INSERT INTO mx_departments (code, max_engagements, period_days) VALUES (?, ?, ?) "
            "ON CONFLICT (code) DO UPDATE SET max_engagements = excluded.max_engagements, "
            "period_days = excluded.period_days",
            (code, int(limit.get("max_engagements", 4)), int(limit.get("period_days", 365))),
        )

    # -- recruitments.events ----------------------------------------------------------------
    def on_RecruitmentOpened(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        needs = payload.get("needs") or {}
        planned = payload.get("planned") or {}
        tx.execute(
            "INSERT INTO mx_recruitments (recruitment_id, department, unit, areas, languages, "
            "interviews_from, interviews_to, panel_size, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open') "
            "ON CONFLICT (recruitment_id) DO NOTHING",
            (
                str(env["aggregate_id"]),
                str(env.get("department") or ""),
                payload.get("unit"),
                _join(needs.get("experience_areas")),
                _join(needs.get("languages")),
                planned.get("interviews_from"),
                planned.get("interviews_to"),
                int(needs.get("panel_size") or 3),
            ),
        )

    def on_RecruitmentClosed(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        tx.execute(
            "UPDATE mx_recruitments SET status = 'closed' WHERE recruitment_id = ?",
            (str(env["aggregate_id"]),),
        )

    # -- matching.events (our own) ------------------------------------------------------------
    def on_PanelAssigned(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        rid = str(payload["recruitment_id"])
        tx.execute("DELETE FROM mx_engagements WHERE recruitment_id = ?", (rid,))
        for pid in payload.get("members") or ():
            self._engage(tx, env, rid, str(pid))

    def on_PanelMemberReplaced(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        rid = str(payload["recruitment_id"])
        tx.execute(
            "DELETE FROM mx_engagements WHERE recruitment_id = ? AND participant_id = ?",
            (rid, str(payload["replaced"])),
        )
        self._engage(tx, env, rid, str(payload["replacement"]))

    def _engage(self, tx: Tx, env: Envelope, rid: str, pid: str) -> None:
        if pid in self._forgotten:
            return
        tx.execute(
            "INSERT INTO mx_engagements (participant_id, recruitment_id, department, engaged_on) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (pid, rid, str(env.get("department") or ""), str(env["occurred_at"])[:10]),
        )


CANDIDATE_COLUMNS = (
    "p.participant_id, p.tags, p.languages, p.confidentiality, p.training, p.contact_status, "
    "p.contact_until, p.windows, p.excluded_units"
)


class ReadModel:
    """Queries over matching's read model."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate(CONSUMER_DDL)
        db.migrate(READMODEL_DDL)
        db.migrate(INVITATIONS_DDL)
        # In-memory index per department, valid while the consumer's stored offsets stay put
        # (every read-model change moves them in the same transaction).
        self._cache: dict[str, tuple[int, list[Candidate]]] = {}

    def version(self) -> int:
        """A number that changes whenever the consumer loop applied something."""
        with self.db.transaction() as tx:
            value = tx.scalar(
                "SELECT COALESCE(SUM(applied), 0) AS v FROM consumer_applied WHERE consumer = ?",
                (MatchingProjection.name,),
            )
        return int(value or 0)

    def recruitment(self, recruitment_id: str) -> tuple[Needs, str] | None:
        """The needs of a recruitment and its status (``open``/``closed``), or None if unknown."""
        with self.db.transaction() as tx:
            row = tx.one("SELECT * FROM mx_recruitments WHERE recruitment_id = ?", (recruitment_id,))
        if row is None:
            return None
        needs = Needs(
            recruitment_id=recruitment_id,
            department=row["department"],
            unit=row["unit"],
            areas=tuple(sorted(_split(row["areas"]))),
            languages=tuple(sorted(_split(row["languages"]))),
            interviews_from=row["interviews_from"],
            interviews_to=row["interviews_to"],
            panel_size=int(row["panel_size"]),
        )
        return needs, str(row["status"])

    def limit(self, department: str) -> Limit:
        """The department's participation limit (4 per 365 days unless it set another)."""
        with self.db.transaction() as tx:
            row = tx.one(
                "SELECT max_engagements, period_days FROM mx_departments WHERE code = ?", (department,)
            )
        return Limit(int(row["max_engagements"]), int(row["period_days"])) if row else Limit()

    def bank_size(self) -> int:
        with self.db.transaction() as tx:
            return int(tx.scalar("SELECT COUNT(*) AS n FROM mx_participants") or 0)

    def candidates(self, department: str) -> list[Candidate]:
        """Everyone who consented to ``department``, from the in-memory index while it is current."""
        version = self.version()
        cached = self._cache.get(department)
        if cached is not None and cached[0] == version:
            return cached[1]
        found = self._load_candidates(department)
        self._cache[department] = (version, found)
        return found

    def _load_candidates(self, department: str) -> list[Candidate]:
        """One query for the people, one for matching consent, one for engagements."""
        consented = (
            "SELECT participant_id FROM mx_consents WHERE purpose = 'recruitment' AND department IN (?, ?)"
        )
        with self.db.transaction() as tx:
            rows = tx.all(
                f"SELECT {CANDIDATE_COLUMNS} FROM mx_participants p WHERE p.participant_id IN ({consented})",
                (department, ANY_DEPARTMENT),
            )
            matching = {
                r["participant_id"]
                for r in tx.all(
                    "SELECT participant_id FROM mx_consents "
                    "WHERE purpose = 'matching' AND department IN (?, ?)",
                    (department, ANY_DEPARTMENT),
                )
            }
            engagements = self._engagements(
                tx, f"WHERE participant_id IN ({consented})", (department, ANY_DEPARTMENT)
            )
        return [self._candidate(r, True, r["participant_id"] in matching, engagements) for r in rows]

    def invitations(self, recruitment_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """A recruitment's seats and their invitations (``panel_invitations``)."""
        return panel_invitations(self.db, recruitment_id)

    def candidate(self, participant_id: str, department: str) -> Candidate | None:
        """One person as matching sees them for ``department``, or None if unknown or forgotten."""
        with self.db.transaction() as tx:
            row = tx.one(
                f"SELECT {CANDIDATE_COLUMNS} FROM mx_participants p WHERE p.participant_id = ?",
                (participant_id,),
            )
            if row is None:
                return None
            purposes = {
                r["purpose"]
                for r in tx.all(
                    "SELECT purpose FROM mx_consents WHERE participant_id = ? AND department IN (?, ?)",
                    (participant_id, department, ANY_DEPARTMENT),
                )
            }
            engagements = self._engagements(tx, "WHERE participant_id = ?", (participant_id,))
        return self._candidate(row, "recruitment" in purposes, "matching" in purposes, engagements)

    @staticmethod
    def _engagements(tx: Tx, where: str, params: tuple[Any, ...]) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        for r in tx.all(f"SELECT participant_id, department, engaged_on FROM mx_engagements {where}", params):
            found.setdefault(r["participant_id"], []).append((r["department"], r["engaged_on"]))
        return found

    @staticmethod
    def _candidate(
        row: dict[str, Any],
        consent_department: bool,
        consent_matching: bool,
        engagements: dict[str, list[tuple[str, str]]],
    ) -> Candidate:
        windows = (
            tuple((w.split("/", 1)[0], w.split("/", 1)[1]) for w in row["windows"].split(SEP) if w)
            if row["windows"]
            else ()
        )
        return Candidate(
            participant_id=row["participant_id"],
            tags=_split(row["tags"]),
            languages=_split(row["languages"]),
            consent_department=consent_department,
            consent_matching=consent_matching,
            confidentiality=bool(row["confidentiality"]),
            training=bool(row["training"]),
            contact_status=row["contact_status"],
            contact_until=row["contact_until"],
            windows=windows,
            excluded_units=_split(row["excluded_units"]),
            engagements=tuple(sorted(engagements.get(row["participant_id"], ()))),
        )


# -- invitations: who was invited to each seat, their answer and the replacement chain --------
INVITATIONS_DDL = """
CREATE TABLE IF NOT EXISTS mx_invitation_recruitments (
    recruitment_id TEXT PRIMARY KEY,
    department TEXT NOT NULL,
    hiring_manager TEXT
);
CREATE TABLE IF NOT EXISTS mx_invitations (
    recruitment_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    seat INTEGER NOT NULL,
    status TEXT NOT NULL,
    since TEXT NOT NULL,
    reason TEXT,
    replaces TEXT,
    replaced_by TEXT,
    PRIMARY KEY (recruitment_id, participant_id)
)
"""


class InvitationsProjection(Projection):
    """Each panel seat as a chain of invitations: invited, accepted, declined (with the declared
    category, never free text) or replaced, since when, and who took the seat next.

    Its own consumer (not part of ``MatchingProjection``) so that it is built from offset zero
    wherever it is deployed: the panels assigned before it existed are in it too."""

    name = "matching-invitations"
    topics = ("recruitments.events", "matching.events")

    def migrate(self, db: Database) -> None:
        db.migrate(INVITATIONS_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        handler = getattr(self, f"on_{envelope.get('event_type')}", None)
        if handler is not None:
            handler(tx, envelope, envelope.get("payload") or {})

    @staticmethod
    def _recruitment(tx: Tx, rid: str, department: str) -> None:
        tx.execute("INSERT INTO mx_invitation_recruitments (recruitment_id, department) VALUES (?, ?) "
                   "ON CONFLICT DO NOTHING", (rid, department))

    def on_RecruitmentOpened(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        tx.execute(
            "INSERT INTO mx_invitation_recruitments (recruitment_id, department, hiring_manager) VALUES (?, ?, ?) "
            "ON CONFLICT (recruitment_id) DO UPDATE SET department = excluded.department, "
            "hiring_manager = excluded.hiring_manager",
            (str(env["aggregate_id"]), str(env.get("department") or ""), payload.get("hiring_manager")),
        )

    def on_PanelAssigned(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        """A (new) assignment is a new panel: its members are invited; an answer a member gave
        before stands, as it does in the ``Panel`` aggregate."""
        rid, members = str(payload["recruitment_id"]), [str(m) for m in payload.get("members") or ()]
        self._recruitment(tx, rid, str(env.get("department") or ""))
        for row in tx.all("SELECT participant_id FROM mx_invitations WHERE recruitment_id = ?", (rid,)):
            if row["participant_id"] not in members:
                tx.execute("DELETE FROM mx_invitations WHERE recruitment_id = ? AND participant_id = ?",
                           (rid, row["participant_id"]))
        tx.execute("UPDATE mx_invitations SET replaces = NULL, replaced_by = NULL WHERE recruitment_id = ?", (rid,))
        for seat, pid in enumerate(members, start=1):
            tx.execute(
                "INSERT INTO mx_invitations (recruitment_id, participant_id, seat, status, since) "
                "VALUES (?, ?, ?, 'invited', ?) ON CONFLICT (recruitment_id, participant_id) "
                "DO UPDATE SET seat = excluded.seat",
                (rid, pid, seat, str(env["occurred_at"])),
            )

    def on_PanelMemberReplaced(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        """The newcomer takes the seat; who left it keeps a declined answer, or is ``replaced``.
        The coordinator's reason is free text and stays out of this read model."""
        rid, replaced = str(payload["recruitment_id"]), str(payload["replaced"])
        replacement = str(payload["replacement"])
        at = str(env["occurred_at"])
        row = tx.one("SELECT seat FROM mx_invitations WHERE recruitment_id = ? AND participant_id = ?", (rid, replaced))
        members = [str(m) for m in payload.get("members") or ()]
        seat = int(row["seat"]) if row else (members.index(replacement) + 1 if replacement in members else 0)
        tx.execute(
            "UPDATE mx_invitations SET replaced_by = ?, "
            "since = CASE WHEN status = 'declined' THEN since ELSE ? END, "
            "status = CASE WHEN status = 'declined' THEN status ELSE 'replaced' END "
            "WHERE recruitment_id = ? AND participant_id = ?",
            (replacement, at, rid, replaced),
        )
        tx.execute(
            "INSERT INTO mx_invitations (recruitment_id, participant_id, seat, status, since, replaces) "
            "VALUES (?, ?, ?, 'invited', ?, ?) ON CONFLICT (recruitment_id, participant_id) DO UPDATE SET "
            "seat = excluded.seat, status = 'invited', since = excluded.since, replaces = excluded.replaces, "
            "replaced_by = NULL, reason = NULL",
            (rid, replacement, seat, at, replaced),
        )

    def _answer(self, env: Envelope, payload: dict[str, Any], tx: Tx, status: str, reason: str | None) -> None:
        tx.execute(
            "UPDATE mx_invitations SET status = ?, since = ?, reason = ? "
            "WHERE recruitment_id = ? AND participant_id = ?",
            (status, str(env["occurred_at"]), reason, str(payload["recruitment_id"]), str(payload["participant_id"])),
        )

    def on_InvitationAccepted(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        self._answer(env, payload, tx, "accepted", None)

    def on_InvitationDeclined(self, tx: Tx, env: Envelope, payload: dict[str, Any]) -> None:
        self._answer(env, payload, tx, "declined", payload.get("reason"))


def panel_invitations(db: Database, recruitment_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The recruitment (department, hiring manager) and its seats, each a chain of invitations
    from the first invited to whoever holds the seat now. ``(None, [])`` when unknown."""
    with db.transaction() as tx:
        recruitment = tx.one("SELECT * FROM mx_invitation_recruitments WHERE recruitment_id = ?", (recruitment_id,))
        rows = tx.all("SELECT * FROM mx_invitations WHERE recruitment_id = ? ORDER BY seat, since, participant_id",
                      (recruitment_id,))
    if recruitment is None:
        return None, []
    seats: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        seats.setdefault(int(row["seat"]), []).append(dict(row))
    out = []
    for seat, found in sorted(seats.items()):
        by_id = {r["participant_id"]: r for r in found}
        chain = [r for r in found if r["replaces"] not in by_id]  # the first invited (a chain's head)
        while chain[-1]["replaced_by"] in by_id and len(chain) < len(found):
            chain.append(by_id[chain[-1]["replaced_by"]])
        chain += [r for r in found if r not in chain]  # never drop a row, even one off the chain
        invitations = [{k: r[k] for k in ("participant_id", "status", "since", "reason", "replaces", "replaced_by")}
                       for r in chain]
        current = next((i for i in reversed(invitations) if i["replaced_by"] is None), invitations[-1])
        out.append({"seat": seat, "current": current, "needs_replacement": current["status"] == "declined",
                    "invitations": invitations})
    return dict(recruitment), out
