"""The recruitments application: one short method per use case.

Access is decided here, not only in the routes: staff (coordinator, hiring manager) act only in
their departments; a participant acts only in recruitments whose panel they are on.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4

from services.recruitments.domain import ALL_CANDIDATES, Recruitment
from services.recruitments.events import catalogue
from services.recruitments.history import HistoryInvalid, RowError, read_history
from services.recruitments.projections import ListScope, unscored_of
from shared.application import ServiceApplication
from shared.auth import Principal
from shared.config import Settings
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.pagination import after, decode_cursor, page_of
from shared.vault import Vault

log = logging.getLogger("delaktig.recruitments")

SYSTEM = {"id": "system", "role": "system"}
SNAPSHOT_EVERY = 20
STAFF = ("coordinator", "hiring_manager", "administrator")
RETENTION_BASIS = (
    "Archives Act retention decision: non-hired applications kept {years} years after the decision"
)


def today() -> date:
    return datetime.now(UTC).date()


def text_hash(text: str) -> str:
    """The hash a published text is recorded with (anyone can check a copy against it)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def latest_start(on: date, years: int) -> date:
    """The last day a retention period of ``years`` may have started on to have run out ``on``
    (``add_years(start, years) <= on``; exact on 29 February, where ``add_years`` is not one to one)."""
    start = add_years(on, -years)
    while add_years(start + timedelta(days=1), years) <= on:
        start += timedelta(days=1)
    while add_years(start, years) > on:
        start -= timedelta(days=1)
    return start


class RecruitmentsApp(ServiceApplication):
    source = "recruitments"
    catalogue = catalogue
    # A recruitment's stream grows with every application, assessment and score: load it from
    # its latest snapshot (taken in the same transaction as every SNAPSHOT_EVERY-th event).
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Recruitment: SNAPSHOT_EVERY}

    def __init__(self, settings: Settings, vault: Vault) -> None:
        super().__init__(settings)
        self.vault = vault

    # -- access ------------------------------------------------------------------------
    def recruitment(self, rid: UUID) -> Recruitment:
        aggregate: Recruitment = self.get(rid, Recruitment, "recruitment")
        return aggregate

    @staticmethod
    def is_staff_of(by: Principal, rec: Recruitment) -> bool:
        return by.has(*STAFF) and by.can_see_department(rec.department)

    @staticmethod
    def is_panel_participant(by: Principal, rec: Recruitment) -> bool:
        return by.has("participant") and rec.on_panel(by.sub)

    def visible(self, by: Principal, rid: UUID) -> Recruitment:
        """The recruitment if the caller may see it; otherwise "not found" (do not confirm it exists)."""
        rec = self.recruitment(rid)
        if self.is_staff_of(by, rec) or self.is_panel_participant(by, rec):
            return rec
        raise NotFound(f"no recruitment with id {rid}")

    def staff_only(self, by: Principal, rid: UUID) -> Recruitment:
        rec = self.visible(by, rid)
        if not self.is_staff_of(by, rec):
            raise Forbidden("only staff of the recruitment's department may do this")
        return rec

    def member_of(self, by: Principal, rec: Recruitment) -> dict[str, str]:
        """The caller as a panel member: a participant on the panel, or staff of the department."""
        if self.is_panel_participant(by, rec):
            return by.actor("participant")
        if self.is_staff_of(by, rec):
            return by.actor("hiring_manager" if by.has("hiring_manager") else by.role)
        raise Forbidden("you are not on this recruitment's panel")

    # -- opening -------------------------------------------------------------------------
    def open_recruitment(
        self,
        by: Principal,
        *,
        department: str,
        unit: str,
        position: str,
        interview_format: str,
        planned: dict[str, Any],
        scorecard: list[dict[str, str]],
        needs: dict[str, Any],
        hiring_manager: str | None = None,
        coordinator: str | None = None,
    ) -> UUID:
        by.check_department(department)
        hiring_manager, coordinator = self.opener_roles(by, hiring_manager, coordinator)
        Recruitment.check_scorecard(scorecard)
        rid = uuid4()
        rec = Recruitment(
            id=rid,
            unit=unit,
            position=position,
            hiring_manager=hiring_manager,
            coordinator=coordinator,
            interview_format=interview_format,
            planned={k: (v.isoformat() if isinstance(v, date) else v) for k, v in planned.items()},
            scorecard=scorecard,
            needs=needs,
            actor=by.actor(),
            department=department,
        )
        self.save(rec)
        return rid

    @staticmethod
    def opener_roles(by: Principal, hiring_manager: str | None, coordinator: str | None) -> tuple[str, str]:
        """Who manages and who coordinates a new recruitment. A hiring manager who opens one owns
        it (DOMAIN.md: the hiring manager owns the recruitment); a coordinator names its manager
        and coordinates it unless they name another coordinator."""
        if by.has("coordinator", "administrator"):
            if not hiring_manager:
                raise InvalidInput("name the recruitment's hiring manager", field="hiring_manager")
            return hiring_manager, coordinator or by.sub
        if hiring_manager not in (None, by.sub):
            raise InvalidInput(
                "a hiring manager opens a recruitment as its own hiring manager; leave hiring_manager "
                "out or give your own id",
                field="hiring_manager",
            )
        return by.sub, coordinator or ""  # no coordinator named yet

    @staticmethod
    def list_scope(by: Principal) -> ListScope:
        """What ``by`` may list, by the rule ``visible`` applies to one recruitment: staff see
        their departments' recruitments, a participant those whose panel they are on."""
        staff = by.has(*STAFF)
        return ListScope(
            all_departments=staff and by.can_see_department(None),
            departments=tuple(sorted(by.departments)) if staff else (),
            panel_member=by.sub if by.has("participant") else None,
        )

    @staticmethod
    def overview(rec: Recruitment) -> dict[str, Any]:
        return {
            "id": str(rec.id),
            "department": rec.department,
            "unit": rec.unit,
            "position": rec.position,
            "stage": rec.stage,
            "interview_format": rec.interview_format,
            "hiring_manager": rec.hiring_manager,
            "coordinator": rec.coordinator,
            "planned": rec.planned,
            "scorecard": rec.scorecard,
            "needs": rec.needs,
            "panel": rec.panel,
            "advert_version": rec.advert_version,
            "candidates": len(rec.candidates),
            "version": rec.version,
        }

    def view(self, by: Principal, rid: UUID) -> dict[str, Any]:
        rec = self.visible(by, rid)
        out = self.overview(rec)
        out["job_description"] = rec.job_description
        out["advert"] = rec.advert
        out["published_advert"] = rec.published_advert
        out["participation_text"] = rec.participation_contributions
        out["published_participation"] = rec.published_participation
        out["closed"] = rec.closed
        out["unscored"] = unscored_of(rec.candidates, rec.panel)
        if self.is_staff_of(by, rec):
            out["decision"] = rec.decision
        return out

    # -- job description and advert -------------------------------------------------------
    def contribute(self, by: Principal, rid: UUID, kind: str, text: str) -> str:
        rec = self.visible(by, rid)
        actor = self.member_of(by, rec)
        cid = str(uuid4())
        if kind == "job_description":
            rec.contribute_job_description(cid, text, actor["role"], actor)
        elif kind == "participation":
            rec.contribute_participation_text(cid, text, actor["role"], actor, rec.department)
        else:
            rec.contribute_advert(cid, text, actor["role"], actor)
        self.save(rec)
        return cid

    def publish_advert(self, by: Principal, rid: UUID, text: str, participation_text: str | None = None) -> int:
        """Publish the advert and, with it, how service users take part (one save: both or neither)."""
        rec = self.staff_only(by, rid)
        version = rec.publish_advert(text, text_hash(text), by.actor())
        if participation_text:
            rec.publish_participation_text(version, participation_text, text_hash(participation_text),
                                           by.actor(), rec.department)
        self.save(rec)
        return version

    # -- applications ------------------------------------------------------------------------
    def receive_application(
        self,
        by: Principal,
        rid: UUID,
        *,
        ats_ref: str,
        name: str | None,
        email: str | None,
        phone: str | None,
        protected_identity: bool,
    ) -> str:
        rec = self.staff_only(by, rid)
        candidate_id = str(uuid4())
        if protected_identity:
            personal = None  # protected identity: no name or contact stored here at all
        else:
            if not name:
                raise InvalidInput(
                    "a name is needed unless the candidate has protected identity", field="name"
                )
            rec.check_undecided("receiving applications")  # before a key is created for nothing
            personal = self.vault.encrypt(candidate_id, {"name": name, "email": email, "phone": phone})
        rec.receive_application(candidate_id, ats_ref, personal, protected_identity, by.actor())
        self.save(rec)
        return candidate_id

    def candidates(self, by: Principal, rid: UUID, limit: int, cursor: str | None = None) -> dict[str, Any]:
        """A page of candidates as the caller may see them: staff get contact data, panel
        participants a name. In the order received (``n``, which never changes: candidates are
        never removed, only shredded), from one aggregate load."""
        rec = self.visible(by, rid)
        staff = self.is_staff_of(by, rec)
        received = list(enumerate(rec.candidates.items()))
        rows = after(received, decode_cursor(cursor, 2), lambda r: (r[0], r[1][0]))[: limit + 1]
        page = page_of(rows, limit, lambda r: (r[0], r[1][0]))
        out = []
        for _, (cid, c) in page["items"]:
            personal = self.vault.decrypt_or(cid, c["personal"], erased=None) if c["personal"] else None
            item: dict[str, Any] = {
                "id": cid,
                "protected_identity": c["protected_identity"],
                "erased": c["shredded"],
                "name": personal["name"] if personal else None,
                "scored_by_you": by.sub in c["scores"],
            }
            if staff:
                item["ats_ref"] = c["ats_ref"]
                item["email"] = personal["email"] if personal else None
                item["phone"] = personal["phone"] if personal else None
                item["assessments"] = self.assessments_of(cid, c)
            out.append(item)
        return {"items": out, "next_cursor": page["next_cursor"]}

    def assessments_of(self, candidate_id: str, candidate: dict[str, Any]) -> list[dict[str, Any]]:
        """Who assessed the application how (for staff): the motivation is read under the
        candidate's key, so it is gone once the candidate's data is shredded."""
        return [
            {
                "assessor": {"id": assessor, "role": a["role"]},
                "shortlist": a["shortlist"],
                "motivation": self.vault.decrypt_or(candidate_id, a["motivation"], erased=None),
            }
            for assessor, a in candidate["assessments"].items()
        ]

    def assess_application(
        self, by: Principal, rid: UUID, candidate_id: str, shortlist: str, motivation: str
    ) -> None:
        rec = self.visible(by, rid)
        member = self.member_of(by, rec)
        rec.candidate(candidate_id)
        rec.check_undecided("assessing applications")
        token = self.vault.encrypt(candidate_id, motivation)
        rec.assess_application(candidate_id, member, shortlist, token, member)
        self.save(rec)

    # -- panel (from matching.events) --------------------------------------------------------
    def learn_panel(
        self, recruitment_id: str, members: list[str], source_event_id: str, actor: dict[str, str]
    ) -> bool:
        """Apply a panel from matching. Idempotent per source event."""
        rec = self.recruitment(UUID(recruitment_id))
        changed = rec.learn_panel(list(members), source_event_id, actor)
        if changed:
            self.save(rec)
        return changed

    def declare_conflict(self, by: Principal, rid: UUID, candidate_id: str, has_conflict: bool) -> None:
        rec = self.visible(by, rid)
        member = self.member_of(by, rec)
        rec.declare_conflict(candidate_id, member, has_conflict, member)
        self.save(rec)

    # -- scores --------------------------------------------------------------------------------
    def score(
        self,
        by: Principal,
        rid: UUID,
        candidate_id: str,
        scores: dict[str, int],
        recommendation: str,
        comment: str | None,
    ) -> None:
        rec = self.visible(by, rid)
        member = self.member_of(by, rec)
        rec.candidate(candidate_id)
        token = self.vault.encrypt(candidate_id, comment) if comment else None
        rec.score_interview(candidate_id, member, scores, recommendation, token, member)
        self.save(rec)

    def amend_score(
        self,
        by: Principal,
        rid: UUID,
        candidate_id: str,
        scores: dict[str, int],
        recommendation: str,
        reason: str,
    ) -> None:
        rec = self.visible(by, rid)
        member = self.member_of(by, rec)
        rec.amend_score(candidate_id, member, scores, recommendation, reason, member)
        self.save(rec)

    def may_see_all_scores(self, by: Principal, rec: Recruitment, candidate_id: str) -> bool:
        """Anyone interviewing this candidate sees the others' scores only after submitting their own."""
        candidate = rec.candidate(candidate_id)
        interviewing = by.sub in candidate["conflicts"] or self.is_panel_participant(by, rec)
        return not interviewing or by.sub in candidate["scores"]

    def scores(self, by: Principal, rid: UUID, candidate_id: str) -> dict[str, Any]:
        rec = self.visible(by, rid)
        candidate = rec.candidate(candidate_id)
        see_all = self.may_see_all_scores(by, rec, candidate_id)
        out = []
        for member_id, s in candidate["scores"].items():
            if not see_all and member_id != by.sub:
                continue
            out.append(
                {
                    "member": {"id": member_id, "role": s["role"]},
                    "scores": s["scores"],
                    "recommendation": s["recommendation"],
                    "comment": self.vault.decrypt_or(candidate_id, s["comment"], erased=None),
                    "amendments": [
                        {"previous": a["previous"], "reason": a["reason"]} for a in s["amendments"]
                    ],
                }
            )
        declared = candidate["conflicts"].get(by.sub)  # the caller's own answer only, never another's
        own = None if declared is None else {"has_conflict": declared["has_conflict"], "recused": declared["recused"]}
        return {"candidate_id": candidate_id, "others_hidden": not see_all, "scores": out, "own_declaration": own}

    def summary(self, by: Principal, rid: UUID, candidate_id: str) -> dict[str, Any]:
        rec = self.visible(by, rid)
        if not self.may_see_all_scores(by, rec, candidate_id):
            if by.sub in rec.recused(candidate_id):
                raise Forbidden("you are recused from this candidate and do not see the panel's scores")
            raise Forbidden("submit your own score for this candidate before you see the others'")
        result = rec.summary(candidate_id)
        result["candidate_id"] = candidate_id
        result["interview_format"] = rec.interview_format
        return result

    def influence_reader(self, by: Principal, rid: UUID) -> None:
        """Whether ``by`` may read the decision-influence record (the API reads it from the read
        model): staff and auditors of the recruitment's department; to others it does not exist."""
        rec = self.recruitment(rid)
        if not (by.has(*STAFF, "auditor") and by.can_see_department(rec.department)):
            raise NotFound(f"no recruitment with id {rid}")

    # -- decision, outcome, close ---------------------------------------------------------------
    def decide(
        self,
        by: Principal,
        rid: UUID,
        candidate_id: str,
        motivation: str,
        deviation_reason: str | None,
        on: date | None = None,
    ) -> dict[str, Any]:
        rec = self.staff_only(by, rid)
        rec.decide(
            candidate_id,
            motivation,
            deviation_reason,
            (on or today()).isoformat(),
            by.actor("hiring_manager") if by.has("hiring_manager") else by.actor(),
        )
        self.save(rec)
        assert rec.decision is not None
        return {k: v for k, v in rec.decision.items() if k != "by"}

    def share_outcome(self, by: Principal, rid: UUID) -> list[str]:
        rec = self.staff_only(by, rid)
        shared = rec.share_outcome(by.actor())
        self.save(rec)
        return shared

    def outcome(self, by: Principal, rid: UUID) -> dict[str, Any]:
        """What the panel's input led to: for staff, and for participants once it is shared."""
        rec = self.visible(by, rid)
        staff = self.is_staff_of(by, rec)
        if not staff and (rec.outcome_shared_with is None or by.sub not in rec.outcome_shared_with):
            raise Conflict("the outcome has not been shared with you yet")
        if rec.decision is None:
            raise Conflict("no hiring decision yet")
        d = rec.decision
        return {
            "candidate_id": d["candidate_id"],
            "motivation": d["motivation"],
            "participants_recommendation": d["participants_recommendation"],
            "against_participants": d["against_participants"],
            "deviation_reason": d["deviation_reason"],
            "decided_on": d["decided_on"],
            "shared_with": rec.outcome_shared_with,
        }

    def close_recruitment(
        self, by: Principal, rid: UUID, outcome: str, reason: str | None, on: date | None = None
    ) -> None:
        rec = self.staff_only(by, rid)
        rec.close(outcome, reason, (on or today()).isoformat(), by.actor())
        self.save(rec)

    # -- feedback and follow-up ------------------------------------------------------------------
    def manager_feedback(self, by: Principal, rid: UUID, rating: int, text: str) -> None:
        rec = self.staff_only(by, rid)
        rec.give_manager_feedback(
            rating, text, by.actor("hiring_manager") if by.has("hiring_manager") else by.actor()
        )
        self.save(rec)

    def participant_feedback(self, by: Principal, rid: UUID, rating: int, text: str) -> None:
        rec = self.visible(by, rid)
        if not self.is_panel_participant(by, rec):
            raise Forbidden("only the panel's participants give this feedback")
        rec.give_participant_feedback(by.sub, rating, text, by.actor("participant"))
        self.save(rec)

    def follow_up(
        self, by: Principal, rid: UUID, months: int, still_employed: bool, motivation_rating: int | None
    ) -> None:
        rec = self.staff_only(by, rid)
        rec.follow_up_hire(months, still_employed, motivation_rating, by.actor())
        self.save(rec)

    def feedback(self, by: Principal, rid: UUID) -> dict[str, Any]:
        rec = self.staff_only(by, rid)
        return {
            "manager": rec.manager_feedback,
            "participants": rec.participant_feedback,
            "follow_ups": rec.follow_ups,
        }

    # -- Discrimination Act 2:4 ------------------------------------------------------------------
    def merits_extract(self, by: Principal, rid: UUID, candidate_id: str) -> dict[str, Any]:
        """The merits recorded for those interviewed and for the hire, for a rejected applicant,
        without any other applicant's personal data (they appear as numbered applicants)."""
        rec = self.staff_only(by, rid)
        rec.check_decided("the merits extract")
        rec.candidate(candidate_id)
        hired = rec.hired_candidate()
        if candidate_id == hired:
            raise Conflict("this applicant was hired; the extract is for rejected applicants")
        labels = {"attributes": {a["key"]: a["label"] for a in rec.scorecard}}
        interviewed = []
        number = 0
        for cid, c in rec.candidates.items():
            if not c["scores"] and cid != hired:
                continue
            summary = rec.summary(cid)
            if cid == candidate_id:
                label = "you"
            else:
                number += 1
                label = f"applicant {number}"
            interviewed.append(
                {
                    "applicant": label,
                    "hired": cid == hired,
                    "merits": {
                        role: {"averages": g["averages"], "recommendation": g["recommendation"]}
                        for role, g in summary["by_role"].items()
                    },
                }
            )
        assert rec.decision is not None
        return {
            "recruitment": {"position": rec.position, "unit": rec.unit, "department": rec.department},
            "legal_basis": "diskrimineringslagen (2008:567) 2 kap. 4 §",
            "requested_by": candidate_id,
            "scorecard": labels,
            "interviewed_or_hired": interviewed,
            "decision": {"decided_on": rec.decision["decided_on"], "motivation": rec.decision["motivation"]},
        }

    # -- history import (services/recruitments/history.py, docs/history-import.md) ----------------
    def import_history(self, text: str, actor: dict[str, str], source: str) -> dict[str, int]:
        """Import a history file: every row checked first; then, only if none has an error, every
        new recruitment saved in one transaction. One already imported (same department and
        reference) is skipped when its rows are unchanged, and an error when they are not."""
        built, errors = read_history(text, actor, datetime.now(UTC).isoformat(timespec="seconds"), source)
        new = []
        for past, rec in built:
            if not self.exists(past.id):
                new.append(rec)
            elif (self.recruitment(past.id).imported or {}).get("digest") != past.digest:
                errors.append(RowError(past.opening.line, "recruitment", f"{past.ref} was imported before "
                                       "with other rows; imported history is not changed by a new import"))
        if errors:
            raise HistoryInvalid(sorted(errors, key=lambda e: (e.line, e.field)))
        atomic = self.begin_atomic()
        try:
            for rec in new:
                self.save(rec)
            atomic.commit()
        except BaseException:
            atomic.rollback()
            raise
        events = sum(r.version for r in new)
        return {"recruitments": len(new), "events": events, "already_imported": len(built) - len(new)}

    # -- retention -------------------------------------------------------------------------------
    def place_legal_hold(self, by: Principal, rid: UUID, candidate_id: str, reason: str) -> None:
        rec = self.staff_only(by, rid)
        rec.place_legal_hold(candidate_id or ALL_CANDIDATES, reason, by.actor())
        self.save(rec)

    def release_legal_hold(self, by: Principal, rid: UUID, candidate_id: str) -> None:
        rec = self.staff_only(by, rid)
        rec.release_legal_hold(candidate_id or ALL_CANDIDATES, by.actor())
        self.save(rec)

    def run_retention(self, on: date, due: Iterable[str]) -> list[str]:
        """Crypto-shred non-hired candidates whose retention period since the decision has run out,
        unless a legal hold exists. ``due`` names the recruitments to look at (the due-list read
        model, ``RetentionDueList``); each one's aggregate confirms the period, the holds and who
        was hired before anything is shredded. Returns the shredded candidate ids."""
        years = self.settings.retention_years_candidates
        basis = RETENTION_BASIS.format(years=years)
        shredded: list[str] = []
        for rid in due:
            rec = self.recruitment(UUID(rid))
            start = rec.retention_start()
            if start is None or add_years(date.fromisoformat(start), years) > on:
                continue
            candidates = rec.due_for_shredding()
            for cid in candidates:
                self.vault.destroy(cid, basis)
                rec.record_shredding(cid, basis, SYSTEM)
                shredded.append(cid)
            if candidates:
                self.save(rec)
                log.info("candidate data shredded", extra={"recruitment": rid, "count": len(candidates)})
        return shredded
