"""Read models of the recruitments service (the API reads them directly, as Cosmic Python's
``views.py``; reactions that issue commands live in ``reactions.py``).

- ``PublicAdverts``: the published adverts anyone may read (the applicant's page).
- ``DecisionInfluence`` rebuilds, from ``recruitments.events`` alone, the who-said-what analysis
  and the decision-influence record (who contributed what, with event id and hash). Fed from
  offset zero into a fresh database it gives the same analysis as the live aggregate.
"""

from __future__ import annotations

import json
from typing import Any

from services.recruitments.domain import who_said_what
from shared.consumer import Projection, dumps
from shared.db import Database, Tx
from shared.envelope import Envelope
from shared.errors import NotFound

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
)
"""

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
CREATE INDEX IF NOT EXISTS rm_public_adverts_order ON rm_public_adverts (published_at, recruitment_id)
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
        if after_key is not None:
            where.append("(published_at, recruitment_id) > (?, ?)")
            params.extend(after_key)
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
