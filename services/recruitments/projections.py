"""Read models of the recruitments service (the API reads them directly, as Cosmic Python's
``views.py``; reactions that issue commands live in ``reactions.py``).

- ``PublicAdverts``: the published adverts anyone may read (the applicant's page).
- ``RecruitmentList`` is the list of recruitments (``GET /recruitments``, the staff board): one
  row per recruitment with its stage, and who sits on its panel (a participant sees the
  recruitments whose panel they are on), paged by the order they were opened in.
- ``DecisionInfluence`` rebuilds, from ``recruitments.events`` alone, the who-said-what analysis
  and the decision-influence record (who contributed what, with event id and hash). Fed from
  offset zero into a fresh database it gives the same analysis as the live aggregate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.recruitments.domain import ALL_CANDIDATES, stage_of, who_said_what
from shared.consumer import Projection, dumps
from shared.db import Database, Tx
from shared.envelope import Envelope
from shared.errors import NotFound
from shared.pagination import after_cursor_sql, after_key_sql, page_of

READMODEL_DDL = """
CREATE TABLE IF NOT EXISTS rm_recruitments (
    recruitment_id TEXT PRIMARY KEY,
    department TEXT,
    interview_format TEXT NOT NULL,
    scorecard TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rm_scores (
    recruitment_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    role TEXT NOT NULL,
    scores TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    amended INTEGER NOT NULL,
    PRIMARY KEY (recruitment_id, candidate_id, member_id)
);
CREATE TABLE IF NOT EXISTS rm_recusals (
    recruitment_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (recruitment_id, candidate_id, member_id)
);
CREATE TABLE IF NOT EXISTS rm_decisions (
    recruitment_id TEXT PRIMARY KEY,
    candidate_id TEXT NOT NULL,
    motivation TEXT NOT NULL,
    participants_recommendation TEXT,
    against_participants INTEGER NOT NULL,
    deviation_reason TEXT,
    decided_on TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rm_influence (
    event_id TEXT PRIMARY KEY,
    recruitment_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    candidate_id TEXT,
    occurred_at TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_influence_record ON rm_influence (recruitment_id, position, event_id)
"""

LIST_DDL = """
CREATE TABLE IF NOT EXISTS rm_recruitment_list (
    recruitment_id TEXT PRIMARY KEY,
    opened_position BIGINT NOT NULL,
    department TEXT,
    unit TEXT NOT NULL,
    position TEXT NOT NULL,
    interview_format TEXT NOT NULL,
    hiring_manager TEXT NOT NULL,
    coordinator TEXT NOT NULL,
    planned TEXT NOT NULL,
    scorecard TEXT NOT NULL,
    needs TEXT NOT NULL,
    panel TEXT NOT NULL,
    advert_version INTEGER NOT NULL,
    candidates INTEGER NOT NULL,
    decided INTEGER NOT NULL,
    closed INTEGER NOT NULL,
    stage TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_recruitment_list_order ON rm_recruitment_list (opened_position, recruitment_id);
CREATE INDEX IF NOT EXISTS rm_recruitment_list_department
    ON rm_recruitment_list (department, opened_position, recruitment_id);
CREATE INDEX IF NOT EXISTS rm_recruitment_list_stage ON rm_recruitment_list (stage, opened_position, recruitment_id);
CREATE INDEX IF NOT EXISTS rm_recruitment_list_manager
    ON rm_recruitment_list (hiring_manager, opened_position, recruitment_id);
CREATE TABLE IF NOT EXISTS rm_recruitment_panel (
    recruitment_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    PRIMARY KEY (participant_id, recruitment_id)
)
"""

LIST_COLUMNS = (
    "recruitment_id, opened_position, department, unit, position, interview_format, hiring_manager, "
    "coordinator, planned, scorecard, needs, panel, advert_version, candidates, stage, version"
)


@dataclass(frozen=True)
class ListScope:
    """Which recruitments a caller may list: their departments' (all of them for
    ``all_departments``) and those whose panel ``panel_member`` sits on."""

    all_departments: bool = False
    departments: tuple[str, ...] = ()
    panel_member: str | None = None


class RecruitmentList(Projection):
    """One row per recruitment, as ``GET /recruitments`` lists it, from ``recruitments.events``."""

    name = "recruitments-list"
    topics = ("recruitments.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(LIST_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        rid = envelope["aggregate_id"]
        p = envelope["payload"]
        if kind == "RecruitmentOpened":
            tx.execute(
                f"INSERT INTO rm_recruitment_list ({LIST_COLUMNS}, decided, closed) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, 0, 0) ON CONFLICT DO NOTHING",
                (rid, envelope["position"], envelope["department"], p["unit"], p["position"],
                 p["interview_format"], p["hiring_manager"], p["coordinator"], dumps(p["planned"]),
                 dumps(p["scorecard"]), dumps(p["needs"]), dumps([]), "drafting", envelope["aggregate_version"]),
            )
            return
        changes: dict[str, Any] = {}
        if kind == "AdvertPublished":
            changes["advert_version"] = int(p["version"])
        elif kind == "ApplicationReceived":
            changes["candidates"] = None  # counted below
        elif kind == "PanelLearned":
            members = [str(m["participant_id"]) for m in p["members"]]
            changes["panel"] = dumps(members)
            tx.execute("DELETE FROM rm_recruitment_panel WHERE recruitment_id = ?", (rid,))
            tx.executemany(
                "INSERT INTO rm_recruitment_panel (recruitment_id, participant_id) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                [(rid, m) for m in members],
            )
        elif kind == "HiringDecisionMade":
            changes["decided"] = 1
        elif kind == "RecruitmentClosed":
            changes["closed"] = 1
        row = tx.one(
            "SELECT advert_version, candidates, panel, decided, closed FROM rm_recruitment_list "
            "WHERE recruitment_id = ?",
            (rid,),
        )
        if row is None:
            return  # not opened on this topic: nothing to list
        if "candidates" in changes:
            changes["candidates"] = int(row["candidates"]) + 1
        state = {**row, **changes}
        changes["stage"] = stage_of(
            closed=bool(state["closed"]),
            decided=bool(state["decided"]),
            has_panel=bool(json.loads(state["panel"])),
            advert_version=int(state["advert_version"]),
        )
        changes["version"] = envelope["aggregate_version"]
        assignments = ", ".join(f"{column} = ?" for column in changes)
        tx.execute(
            f"UPDATE rm_recruitment_list SET {assignments} WHERE recruitment_id = ?",
            (*changes.values(), rid),
        )

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def page(
        db: Database,
        scope: ListScope,
        *,
        limit: int,
        cursor: str | None = None,
        department: str | None = None,
        stage: list[str] | None = None,
        hiring_manager: str | None = None,
        newest_first: bool = False,
    ) -> dict[str, Any]:
        """One page of the recruitments ``scope`` may see, in the order they were opened (the most
        recent first with ``newest_first``).

        Staff read the list's order index (by department, stage or hiring manager when filtered);
        a participant only reads the panels they sit on (the panel table's key starts with the
        participant), however many recruitments there are."""
        visible: list[str] = []
        params: list[Any] = []
        source = "rm_recruitment_list l"
        if scope.panel_member is not None and not (scope.all_departments or scope.departments):
            source = ("rm_recruitment_panel m JOIN rm_recruitment_list l ON l.recruitment_id = m.recruitment_id")
            visible.append("m.participant_id = ?")
            params.append(scope.panel_member)
        elif scope.all_departments:
            visible.append("1 = 1")
        elif scope.departments:
            visible.append(f"l.department IN ({', '.join('?' for _ in scope.departments)})")
            params.extend(scope.departments)
        if scope.panel_member is not None and source == "rm_recruitment_list l":
            visible.append(
                "EXISTS (SELECT 1 FROM rm_recruitment_panel m WHERE m.participant_id = ? "
                "AND m.recruitment_id = l.recruitment_id)"
            )
            params.append(scope.panel_member)
        if not visible:
            return {"items": [], "next_cursor": None}
        where = [f"({' OR '.join(visible)})"]
        if department is not None:
            where.append("l.department = ?")
            params.append(department)
        if stage:
            where.append(f"l.stage IN ({', '.join('?' for _ in stage)})")
            params.extend(stage)
        if hiring_manager is not None:
            where.append("l.hiring_manager = ?")
            params.append(hiring_manager)
        condition, after = after_cursor_sql(cursor, "l.opened_position", "l.recruitment_id",
                                            descending=newest_first)
        where.append(condition)
        params.extend(after)
        columns = ", ".join(f"l.{c.strip()}" for c in LIST_COLUMNS.split(","))
        order = " DESC" if newest_first else ""
        with db.transaction() as tx:
            rows = tx.all(
                f"SELECT {columns} FROM {source} WHERE {' AND '.join(where)} "
                f"ORDER BY l.opened_position{order}, l.recruitment_id{order} LIMIT ?",
                (*params, limit + 1),
            )
        page = page_of(rows, limit, lambda r: (int(r["opened_position"]), str(r["recruitment_id"])))
        page["items"] = [_listed(r) for r in page["items"]]
        return page


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    """A list row in the answer's shape (the same fields as one recruitment's overview)."""
    return {
        "id": row["recruitment_id"],
        "department": row["department"],
        "unit": row["unit"],
        "position": row["position"],
        "stage": row["stage"],
        "interview_format": row["interview_format"],
        "hiring_manager": row["hiring_manager"],
        "coordinator": row["coordinator"],
        "planned": json.loads(row["planned"]),
        "scorecard": json.loads(row["scorecard"]),
        "needs": json.loads(row["needs"]),
        "panel": json.loads(row["panel"]),
        "advert_version": int(row["advert_version"]),
        "candidates": int(row["candidates"]),
        "version": int(row["version"]),
    }


# Events whose actor's input reaches the decision (ARCHITECTURE.md, decision-influence record).
INFLUENCE = frozenset(
    {
        "JobDescriptionContributed",
        "AdvertContributed",
        "ParticipationTextContributed",
        "ApplicationAssessed",
        "PanelLearned",
        "ConflictDeclared",
        "InterviewScored",
        "ScoreAmended",
        "HiringDecisionMade",
        "OutcomeShared",
    }
)


class DecisionInfluence(Projection):
    """Who said what, and who influenced each decision, from ``recruitments.events`` alone."""

    name = "recruitments-decision-influence"
    topics = ("recruitments.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(READMODEL_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        rid = envelope["aggregate_id"]
        p = envelope["payload"]
        if kind == "RecruitmentOpened":
            tx.execute(
                "INSERT INTO rm_recruitments (recruitment_id, department, interview_format, scorecard) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    rid,
                    envelope["department"],
                    p["interview_format"],
                    dumps([a["key"] for a in p["scorecard"]]),
                ),
            )
        elif kind == "ConflictDeclared" and p["recused"]:
            tx.execute(
                "INSERT INTO rm_recusals (recruitment_id, candidate_id, member_id) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (rid, p["candidate_id"], p["member_id"]),
            )
        elif kind in ("InterviewScored", "ScoreAmended"):
            amended = 1 if kind == "ScoreAmended" else 0
            tx.execute(
                "INSERT INTO rm_scores (recruitment_id, candidate_id, member_id, role, scores, "
                "recommendation, amended) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (recruitment_id, candidate_id, member_id) "
                "DO UPDATE SET scores = excluded.scores, recommendation = excluded.recommendation, amended = "
                "CASE WHEN excluded.amended = 1 THEN 1 ELSE rm_scores.amended END",
                (
                    rid,
                    p["candidate_id"],
                    p["member"]["id"],
                    p["member"]["role"],
                    dumps(p["scores"]),
                    p["recommendation"],
                    amended,
                ),
            )
        elif kind == "HiringDecisionMade":
            tx.execute(
                "INSERT INTO rm_decisions (recruitment_id, candidate_id, motivation, "
                "participants_recommendation, against_participants, deviation_reason, decided_on) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (
                    rid,
                    p["candidate_id"],
                    p["motivation"],
                    p["participants_recommendation"],
                    1 if p["against_participants"] else 0,
                    p["deviation_reason"],
                    p["decided_on"],
                ),
            )
        if kind in INFLUENCE:
            tx.execute(
                "INSERT INTO rm_influence (event_id, recruitment_id, position, event_type, actor_id, "
                "actor_role, candidate_id, occurred_at, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (
                    envelope["event_id"],
                    rid,
                    envelope["position"],
                    kind,
                    envelope["actor"]["id"],
                    envelope["actor"]["role"],
                    p.get("candidate_id"),
                    envelope["occurred_at"],
                    envelope["hash"],
                ),
            )

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def summary(db: Database, recruitment_id: str, candidate_id: str) -> dict[str, Any]:
        """The who-said-what analysis of one candidate, from the read model."""
        with db.transaction() as tx:
            rec = tx.one(
                "SELECT scorecard, interview_format FROM rm_recruitments WHERE recruitment_id = ?",
                (recruitment_id,),
            )
            if rec is None:
                raise NotFound(f"no recruitment with id {recruitment_id}")
            rows = tx.all(
                "SELECT member_id, role, scores, recommendation, amended FROM rm_scores "
                "WHERE recruitment_id = ? AND candidate_id = ?",
                (recruitment_id, candidate_id),
            )
            recused = tx.all(
                "SELECT member_id FROM rm_recusals WHERE recruitment_id = ? AND candidate_id = ?",
                (recruitment_id, candidate_id),
            )
        entries = [
            {
                "member_id": r["member_id"],
                "role": r["role"],
                "scores": json.loads(r["scores"]),
                "recommendation": r["recommendation"],
                "amended": bool(r["amended"]),
            }
            for r in rows
        ]
        result = who_said_what(json.loads(rec["scorecard"]), entries, [r["member_id"] for r in recused])
        result["candidate_id"] = candidate_id
        result["interview_format"] = rec["interview_format"]
        return result

    @staticmethod
    def decision(db: Database, recruitment_id: str) -> dict[str, Any] | None:
        with db.transaction() as tx:
            row = tx.one(
                "SELECT candidate_id, motivation, participants_recommendation, against_participants, "
                "deviation_reason, decided_on FROM rm_decisions WHERE recruitment_id = ?",
                (recruitment_id,),
            )
        if row is None:
            return None
        row["against_participants"] = bool(row["against_participants"])
        return row

    @staticmethod
    def influence_page(db: Database, recruitment_id: str, limit: int, cursor: str | None = None) -> dict[str, Any]:
        """A page of ``influence``, in log order (position, then event id)."""
        condition, after = after_cursor_sql(cursor, "position", "event_id")
        where = f"recruitment_id = ? AND {condition}"
        params: list[Any] = [recruitment_id, *after]
        with db.transaction() as tx:
            rows = tx.all(
                "SELECT position, event_id, event_type, actor_id, actor_role, candidate_id, occurred_at, hash "
                f"FROM rm_influence WHERE {where} ORDER BY position, event_id LIMIT ?",
                (*params, limit + 1),
            )
        page = page_of(rows, limit, lambda r: (int(r["position"]), str(r["event_id"])))
        page["items"] = [{k: v for k, v in r.items() if k != "position"} for r in page["items"]]
        return page

    @staticmethod
    def influence(db: Database, recruitment_id: str) -> list[dict[str, Any]]:
        """Everyone whose input reached the decision: event type, actor, time, event id and hash."""
        with db.transaction() as tx:
            return tx.all(
                "SELECT event_id, event_type, actor_id, actor_role, candidate_id, occurred_at, hash "
                "FROM rm_influence WHERE recruitment_id = ? ORDER BY position",
                (recruitment_id,),
            )


PUBLIC_ADVERTS_DDL = """
CREATE TABLE IF NOT EXISTS rm_public_adverts (
    recruitment_id TEXT PRIMARY KEY,
    department TEXT NOT NULL,
    unit TEXT NOT NULL,
    position TEXT NOT NULL,
    interview_format TEXT NOT NULL,
    users_on_panel INTEGER NOT NULL,
    interviews_from TEXT,
    interviews_to TEXT,
    advert_version INTEGER NOT NULL,
    advert_text TEXT,
    participation_text TEXT,
    users_wrote INTEGER NOT NULL DEFAULT 0,
    published_at TEXT,
    open INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_public_adverts_order ON rm_public_adverts (published_at, recruitment_id);
CREATE INDEX IF NOT EXISTS rm_public_adverts_department
    ON rm_public_adverts (department, published_at, recruitment_id)
"""

USER_WRITING = frozenset({"JobDescriptionContributed", "AdvertContributed", "ParticipationTextContributed"})
PUBLIC_ADVERT_COLUMNS = (
    "recruitment_id AS id, department, unit, position, interview_format, users_on_panel, interviews_from, "
    "interviews_to, advert_version, advert_text, participation_text, users_wrote, published_at"
)


def public_advert(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "users_wrote": bool(row["users_wrote"])}


class PublicAdverts(Projection):
    """The applicant's page: published adverts of open recruitments, with the public texts only.

    Built from public facts of ``recruitments.events`` (position, unit, interview format, panel
    size, the advert and the text on how service users take part); no person's id or name. An
    advert leaves the list when the hiring decision is made or the recruitment closes."""

    name = "recruitments-public-adverts"
    topics = ("recruitments.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(PUBLIC_ADVERTS_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        rid = envelope["aggregate_id"]
        p = envelope["payload"]
        if kind == "RecruitmentOpened":
            planned = p["planned"]
            tx.execute(
                "INSERT INTO rm_public_adverts (recruitment_id, department, unit, position, interview_format, "
                "users_on_panel, interviews_from, interviews_to, advert_version, open) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 1) ON CONFLICT DO NOTHING",
                (rid, envelope["department"] or "", p["unit"], p["position"], p["interview_format"],
                 p["needs"]["panel_size"], planned["interviews_from"], planned["interviews_to"]),
            )
        elif kind == "AdvertPublished":
            # The first publication fixes the list order; a new version only changes the text.
            tx.execute(
                "UPDATE rm_public_adverts SET advert_version = ?, advert_text = ?, "
                "published_at = COALESCE(published_at, ?) WHERE recruitment_id = ?",
                (p["version"], p["text"], envelope["occurred_at"], rid),
            )
        elif kind == "ParticipationTextPublished":
            tx.execute(
                "UPDATE rm_public_adverts SET participation_text = ? WHERE recruitment_id = ?",
                (p["text"], rid),
            )
        elif kind in ("HiringDecisionMade", "RecruitmentClosed"):
            tx.execute("UPDATE rm_public_adverts SET open = 0 WHERE recruitment_id = ?", (rid,))
        elif kind in USER_WRITING and p["contributor_role"] == "participant":
            # Whether service users wrote any of the texts: the page says so only when they did.
            tx.execute("UPDATE rm_public_adverts SET users_wrote = 1 WHERE recruitment_id = ?", (rid,))

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def page(db: Database, limit: int, after_key: tuple[Any, ...] | None,
             department: str | None = None) -> list[dict[str, Any]]:
        """``limit`` published adverts in publication order after ``after_key``."""
        where = ["advert_version > 0", "open = 1"]
        params: list[Any] = []
        if department:
            where.append("department = ?")
            params.append(department)
        condition, after = after_key_sql(after_key, "published_at", "recruitment_id")
        where.append(condition)
        params.extend(after)
        with db.transaction() as tx:
            rows = tx.all(
                f"SELECT {PUBLIC_ADVERT_COLUMNS} FROM rm_public_adverts WHERE {' AND '.join(where)} "
                "ORDER BY published_at, recruitment_id LIMIT ?",
                (*params, limit),
            )
        return [public_advert(row) for row in rows]

    @staticmethod
    def one(db: Database, recruitment_id: str) -> dict[str, Any]:
        """One published advert of an open recruitment; anything else is not found."""
        with db.transaction() as tx:
            row = tx.one(
                f"SELECT {PUBLIC_ADVERT_COLUMNS} FROM rm_public_adverts "
                "WHERE recruitment_id = ? AND advert_version > 0 AND open = 1",
                (recruitment_id,),
            )
        if row is None:
            raise NotFound(f"no published advert with id {recruitment_id}")
        return public_advert(row)


RETENTION_DDL = """
CREATE TABLE IF NOT EXISTS rm_retention (
    recruitment_id TEXT PRIMARY KEY,
    decided_on TEXT,
    closed_on TEXT,
    retention_start TEXT,
    hired TEXT,
    held_all INTEGER NOT NULL,
    pending INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rm_retention_due ON rm_retention (retention_start, recruitment_id) WHERE pending > 0;
CREATE TABLE IF NOT EXISTS rm_retention_candidates (
    recruitment_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    held INTEGER NOT NULL,
    shredded INTEGER NOT NULL,
    PRIMARY KEY (recruitment_id, candidate_id)
)
"""

RETENTION_EVENTS = frozenset({"ApplicationReceived", "HiringDecisionMade", "RecruitmentClosed",
                              "LegalHoldPlaced", "LegalHoldReleased", "CandidateDataShredded"})
DUE_BATCH = 500


def retention_start_of(decided_on: str | None, closed_on: str | None) -> str | None:
    """The day the retention period runs from, as ``Recruitment.retention_start`` says: the
    decision's ``decided_on``, else the (cancelled) close's ``closed_on``, else none yet. Both
    fields are the ones the aggregate keeps, from the same events."""
    return decided_on if decided_on is not None else closed_on


class RetentionDueList(Projection):
    """Which recruitments the daily retention job must look at, from ``recruitments.events``.

    One row per recruitment: the day its retention period runs from (``retention_start``), the
    hired candidate, whether a legal hold covers every candidate, and ``pending``: how many
    candidates are neither hired, shredded nor held (what ``Recruitment.due_for_shredding``
    returns). The job reads the rows with ``pending > 0`` whose period has run out, by index,
    and loads only those aggregates; each one confirms before anything is shredded."""

    name = "recruitments-retention-due"
    topics = ("recruitments.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(RETENTION_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        rid = envelope["aggregate_id"]
        p = envelope["payload"]
        if kind == "RecruitmentOpened":
            tx.execute(
                "INSERT INTO rm_retention (recruitment_id, held_all, pending) VALUES (?, 0, 0) "
                "ON CONFLICT DO NOTHING",
                (rid,),
            )
            return
        if kind not in RETENTION_EVENTS:
            return
        row = tx.one("SELECT decided_on, closed_on FROM rm_retention WHERE recruitment_id = ?", (rid,))
        if row is None:
            return  # not opened on this topic
        if kind == "ApplicationReceived":
            tx.execute(
                "INSERT INTO rm_retention_candidates (recruitment_id, candidate_id, held, shredded) "
                "VALUES (?, ?, 0, 0) ON CONFLICT DO NOTHING",
                (rid, p["candidate_id"]),
            )
        elif kind == "HiringDecisionMade":
            start = retention_start_of(p["decided_on"], row["closed_on"])
            tx.execute("UPDATE rm_retention SET decided_on = ?, hired = ?, retention_start = ? "
                       "WHERE recruitment_id = ?", (p["decided_on"], p["candidate_id"], start, rid))
        elif kind == "RecruitmentClosed":
            start = retention_start_of(row["decided_on"], p["closed_on"])
            tx.execute("UPDATE rm_retention SET closed_on = ?, retention_start = ? WHERE recruitment_id = ?",
                       (p["closed_on"], start, rid))
        elif kind in ("LegalHoldPlaced", "LegalHoldReleased"):
            held = 1 if kind == "LegalHoldPlaced" else 0
            if p["candidate_id"] == ALL_CANDIDATES:
                tx.execute("UPDATE rm_retention SET held_all = ? WHERE recruitment_id = ?", (held, rid))
            else:
                tx.execute("UPDATE rm_retention_candidates SET held = ? WHERE recruitment_id = ? "
                           "AND candidate_id = ?", (held, rid, p["candidate_id"]))
        elif kind == "CandidateDataShredded":
            tx.execute("UPDATE rm_retention_candidates SET shredded = 1 WHERE recruitment_id = ? "
                       "AND candidate_id = ?", (rid, p["candidate_id"]))
        # What is left to shred: one recruitment's candidates, counted again.
        tx.execute(
            "UPDATE rm_retention SET pending = CASE WHEN held_all = 1 THEN 0 ELSE ("
            "SELECT COUNT(*) FROM rm_retention_candidates c WHERE c.recruitment_id = rm_retention.recruitment_id "
            "AND c.held = 0 AND c.shredded = 0 AND c.candidate_id <> COALESCE(rm_retention.hired, '')) END "
            "WHERE recruitment_id = ?",
            (rid,),
        )

    # -- reading -------------------------------------------------------------------------
    @staticmethod
    def rows(db: Database) -> dict[str, dict[str, Any]]:
        """Every row (tests and audits compare it with the aggregates)."""
        with db.transaction() as tx:
            found = tx.all("SELECT recruitment_id, retention_start, held_all, pending FROM rm_retention")
        return {r["recruitment_id"]: {"retention_start": r["retention_start"], "held_all": bool(r["held_all"]),
                                      "pending": int(r["pending"])} for r in found}

    @staticmethod
    def due(db: Database, latest_start: str, batch: int = DUE_BATCH) -> Iterator[str]:
        """The recruitments with candidates left to shred whose retention period started on or
        before ``latest_start`` (ISO date), oldest first, read ``batch`` rows at a time."""
        cursor: str | None = None
        while True:
            condition, after = after_cursor_sql(cursor, "retention_start", "recruitment_id")
            with db.transaction() as tx:
                rows = tx.all(
                    "SELECT retention_start, recruitment_id FROM rm_retention WHERE pending > 0 "
                    f"AND retention_start <= ? AND {condition} ORDER BY retention_start, recruitment_id LIMIT ?",
                    (latest_start, *after, batch + 1),
                )
            page = page_of(rows, batch, lambda r: (str(r["retention_start"]), str(r["recruitment_id"])))
            yield from (str(r["recruitment_id"]) for r in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return


SCORING_DDL = """
CREATE TABLE IF NOT EXISTS rm_scoring (
    recruitment_id TEXT PRIMARY KEY,
    seats INTEGER NOT NULL,
    unscored INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rm_scoring_candidates (
    recruitment_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    PRIMARY KEY (recruitment_id, candidate_id)
);
CREATE TABLE IF NOT EXISTS rm_scoring_scores (
    recruitment_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (recruitment_id, candidate_id, member_id)
)
"""


def unscored_of(candidates: dict[str, dict[str, Any]], panel: list[str]) -> int:
    """How many candidates have fewer interview scores than the panel has seats: the staff
    board's "scores missing" (an aggregate's view says the same as the read model's list)."""
    return sum(1 for c in candidates.values() if len(c["scores"]) < len(panel))


class RecruitmentScoring(Projection):
    """Per recruitment, how many candidates still lack scores (``unscored``), from
    ``recruitments.events``: the list shows it so the board does not load every candidate's
    scores to say that some are missing."""

    name = "recruitments-scoring"
    topics = ("recruitments.events",)

    def migrate(self, db: Database) -> None:
        db.migrate(SCORING_DDL)

    def apply(self, tx: Tx, envelope: Envelope) -> None:
        kind = envelope["event_type"]
        rid = envelope["aggregate_id"]
        p = envelope["payload"]
        if kind == "RecruitmentOpened":
            tx.execute("INSERT INTO rm_scoring (recruitment_id, seats, unscored) VALUES (?, 0, 0) "
                       "ON CONFLICT DO NOTHING", (rid,))
            return
        if kind not in ("ApplicationReceived", "PanelLearned", "InterviewScored"):
            return
        if tx.one("SELECT seats FROM rm_scoring WHERE recruitment_id = ?", (rid,)) is None:
            return  # not opened on this topic
        if kind == "ApplicationReceived":
            tx.execute("INSERT INTO rm_scoring_candidates (recruitment_id, candidate_id) VALUES (?, ?) "
                       "ON CONFLICT DO NOTHING", (rid, p["candidate_id"]))
        elif kind == "PanelLearned":
            tx.execute("UPDATE rm_scoring SET seats = ? WHERE recruitment_id = ?", (len(p["members"]), rid))
        elif kind == "InterviewScored":
            tx.execute("INSERT INTO rm_scoring_scores (recruitment_id, candidate_id, member_id) VALUES (?, ?, ?) "
                       "ON CONFLICT DO NOTHING", (rid, p["candidate_id"], p["member"]["id"]))
        tx.execute(
            "UPDATE rm_scoring SET unscored = (SELECT COUNT(*) FROM rm_scoring_candidates c "
            "WHERE c.recruitment_id = rm_scoring.recruitment_id AND (SELECT COUNT(*) FROM rm_scoring_scores s "
            "WHERE s.recruitment_id = c.recruitment_id AND s.candidate_id = c.candidate_id) < rm_scoring.seats) "
            "WHERE recruitment_id = ?",
            (rid,),
        )

    @staticmethod
    def annotate(db: Database, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add ``unscored`` to the items of one page of the list (by primary key, one query)."""
        if not items:
            return items
        marks = ", ".join("?" for _ in items)
        with db.transaction() as tx:
            rows = tx.all(f"SELECT recruitment_id, unscored FROM rm_scoring WHERE recruitment_id IN ({marks})",
                          tuple(item["id"] for item in items))
        found = {r["recruitment_id"]: int(r["unscored"]) for r in rows}
        for item in items:
            item["unscored"] = found.get(item["id"], 0)
        return items
