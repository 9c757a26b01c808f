"""The matching application: one short method per use case.

Matching proposes, a coordinator assigns, and both are on the record. Every use case works on
the read model built from Kafka and on the panel stream of the recruitment.
"""

from __future__ import annotations

import contextlib
import copy
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from services.matching import fairness, ranking
from services.matching.domain import Panel, check_seats, panel_id
from services.matching.events import catalogue
from services.matching.projections import ReadModel
from services.matching.ranking import Candidate, Needs
from shared.application import ServiceApplication
from shared.auth import Principal
from shared.config import Settings
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound


def today() -> date:
    return datetime.now(UTC).date()


class MatchingApp(ServiceApplication):
    source = "matching"
    catalogue = catalogue

    def __init__(self, settings: Settings, readmodel: ReadModel) -> None:
        super().__init__(settings)
        self.readmodel = readmodel
        # The fairness report of a department, once per read-model version and day: it is about
        # everyone in the department's bank, so it is computed when the bank or the date changed
        # and read from here otherwise (a report page reloaded costs one version query).
        self._fairness: dict[str, tuple[tuple[int, date], dict[str, Any]]] = {}

    # -- helpers ----------------------------------------------------------------------------
    def _needs(self, by: Principal, recruitment_id: str, *, open_only: bool = True) -> Needs:
        found = self.readmodel.recruitment(recruitment_id)
        if found is None:
            raise NotFound(f"no recruitment with id {recruitment_id}")
        needs, status = found
        if not by.can_see_department(needs.department):
            raise NotFound(f"no recruitment with id {recruitment_id}")
        if open_only and status != "open":
            raise Conflict("this recruitment is closed")
        return needs

    def _bank_size(self, candidates: list[Candidate]) -> int:
        # The size of the whole bank only appears in the answer when nobody consented at all.
        return len(candidates) if candidates else self.readmodel.bank_size()

    def _panel(self, recruitment_id: str) -> Panel | None:
        pid = panel_id(recruitment_id)
        if not self.exists(pid):
            return None
        panel: Panel = self.get(pid, Panel, "panel")
        return panel

    # -- proposing --------------------------------------------------------------------------
    def propose_panel(
        self, by: Principal, recruitment_id: str, panel_size: int | None = None
    ) -> dict[str, Any]:
        """Filter, rank and explain a panel; record it as ``PanelProposed``."""
        needs = self._needs(by, recruitment_id)
        day = today()
        candidates = self.readmodel.candidates(needs.department)
        result = ranking.propose(
            candidates,
            needs,
            self.readmodel.limit(needs.department),
            day,
            bank_size=self._bank_size(candidates),
            size=panel_size,
        )
        proposal_id = str(uuid4())
        members = [
            {"participant_id": p.candidate.participant_id, "score": p.score, "explanation": p.explanation}
            for p in result.picks
        ]
        fields: dict[str, Any] = {
            "proposal_id": proposal_id,
            "members": members,
            "covered_areas": result.covered_areas,
            "empty_reason": result.empty_reason,
            "actor": by.actor(),
            "department": needs.department,
        }
        panel = self._panel(recruitment_id)
        if panel is None:
            panel = Panel.start_with_proposal(recruitment_id, **fields)
        else:
            panel.propose(recruitment_id=recruitment_id, **fields)
        self.save(panel)
        return {
            "recruitment_id": recruitment_id,
            "proposal_id": proposal_id,
            "members": members,
            "covered_areas": result.covered_areas,
            "uncovered_areas": sorted(set(needs.areas) - set(result.covered_areas)),
            "empty_reason": result.empty_reason,
        }

    def explain_candidate(self, by: Principal, recruitment_id: str, participant_id: str) -> dict[str, Any]:
        """Why a person is excluded, proposed, or eligible but ranked below the panel."""
        needs = self._needs(by, recruitment_id, open_only=False)
        candidate = self.readmodel.candidate(participant_id, needs.department)
        # Only people in this department's bank (a consent for it, or a panel in it): readiness
        # and dates of someone only in another department's bank are not this caller's to read.
        if candidate is None or not (
            candidate.consent_department
            or candidate.consent_matching
            or any(dep == needs.department for dep, _ in candidate.engagements)
        ):
            raise NotFound(f"no participant {participant_id} in the matching bank")
        day = today()
        limit = self.readmodel.limit(needs.department)
        found = ranking.exclusions(candidate, needs, limit, day)
        if found:
            return {
                "participant_id": participant_id,
                "eligible": False,
                "proposed": False,
                "excluded_by": [{"rule": e.rule, "severity": e.severity, "reason": e.reason} for e in found],
                "explanation": ranking.explain_exclusions(found),
            }
        candidates = self.readmodel.candidates(needs.department)
        result = ranking.propose(candidates, needs, limit, day, bank_size=self._bank_size(candidates))
        for pick in result.picks:
            if pick.candidate.participant_id == participant_id:
                return {
                    "participant_id": participant_id,
                    "eligible": True,
                    "proposed": True,
                    "excluded_by": [],
                    "score": pick.score,
                    "explanation": "proposed: " + pick.explanation,
                }
        text = (
            "eligible, not proposed: others added more to the panel (wanted areas, languages) or had "
            f"fewer recent panels; {candidate.recent_engagements(day)} panel(s) in the last 12 months"
        )
        return {
            "participant_id": participant_id,
            "eligible": True,
            "proposed": False,
            "excluded_by": [],
            "explanation": text,
        }

    # -- assigning --------------------------------------------------------------------------
    def assign_panel(
        self,
        by: Principal,
        recruitment_id: str,
        *,
        proposal_id: str | None = None,
        members: list[str] | None = None,
        overrides: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Assign a proposal or hand-picked members. Soft rules need a reason; hard ones refuse."""
        needs = self._needs(by, recruitment_id)
        panel = self._panel(recruitment_id)
        if members is None:
            if proposal_id is None:
                raise InvalidInput("give a proposal_id to accept, or the members you pick", field="members")
            if panel is None:
                raise NotFound(f"no proposal {proposal_id} for this recruitment", field="proposal_id")
            members = panel.proposal(proposal_id)
        check_seats(members)  # the command checks it too; refused here before the bank is read
        reasons = {o["participant_id"]: o["reason"] for o in overrides or ()}
        stray = set(reasons) - set(members)
        if stray:
            raise InvalidInput(f"override for someone not picked: {sorted(stray)[0]}", field="overrides")
        flagged = self._check_picks(needs, members, reasons)
        fields: dict[str, Any] = {
            "members": list(members),
            "proposal_id": proposal_id,
            "overrides": flagged,
            "actor": by.actor(),
            "department": needs.department,
        }
        if panel is None:
            panel = Panel.start_with_assignment(recruitment_id, **fields)
        else:
            panel.assign(recruitment_id=recruitment_id, **fields)
        self.save(panel)
        return {
            "recruitment_id": recruitment_id,
            "members": list(members),
            "proposal_id": proposal_id,
            "overrides": flagged,
        }

    def _check_picks(self, needs: Needs, members: list[str], reasons: dict[str, str]) -> list[dict[str, str]]:
        day = today()
        limit = self.readmodel.limit(needs.department)
        flagged: list[dict[str, str]] = []
        for pid in members:
            candidate = self.readmodel.candidate(pid, needs.department)
            if candidate is None:
                raise Conflict(f"participant {pid} is not in the matching bank", field="members")
            found = ranking.exclusions(candidate, needs, limit, day)
            hard = [e for e in found if e.hard]
            if hard:
                raise Conflict(
                    f"participant {pid} cannot be assigned: {ranking.explain_exclusions(hard)}",
                    field="members",
                    rules=[e.rule for e in hard],
                )
            if found and not reasons.get(pid, "").strip():
                raise InvalidInput(
                    f"participant {pid} needs an override reason: {ranking.explain_exclusions(found)}",
                    field="overrides",
                    rules=[e.rule for e in found],
                )
            flagged.extend(
                {"participant_id": pid, "rule": e.rule, "reason": reasons[pid].strip()} for e in found
            )
        return flagged

    # -- invitations ------------------------------------------------------------------------
    def _invited_panel(self, by: Principal, recruitment_id: str) -> tuple[Panel, Needs]:
        """The panel a participant is invited to; 404 for anyone else's (nothing to learn)."""
        found = self.readmodel.recruitment(recruitment_id)
        panel = self._panel(recruitment_id)
        if not by.has("participant") or found is None or panel is None:
            raise NotFound("you have no invitation to this panel")
        panel.invitation(by.sub)
        return panel, found[0]

    def invitation(self, by: Principal, recruitment_id: str) -> dict[str, Any]:
        """The caller's own invitation to a recruitment's panel and its answer."""
        panel, needs = self._invited_panel(by, recruitment_id)
        return {"recruitment_id": recruitment_id, "participant_id": by.sub, "department": needs.department,
                "status": panel.invitation(by.sub), "replacement_found": None}

    def accept_invitation(self, by: Principal, recruitment_id: str) -> dict[str, Any]:
        """The participant takes the seat they were assigned."""
        panel, needs = self._invited_panel(by, recruitment_id)
        panel.accept_invitation(recruitment_id=recruitment_id, participant_id=by.sub,
                                actor=by.actor("participant"), department=needs.department)
        self.save(panel)
        return {"recruitment_id": recruitment_id, "participant_id": by.sub, "department": needs.department,
                "status": "accepted", "replacement_found": None}

    def decline_invitation(self, by: Principal, recruitment_id: str, reason: str | None) -> dict[str, Any]:
        """The participant declines; the next best eligible person takes the seat (the same
        replacement a coordinator makes), recorded together with the decline."""
        panel, needs = self._invited_panel(by, recruitment_id)
        panel.decline_invitation(recruitment_id=recruitment_id, participant_id=by.sub, reason=reason,
                                 actor=by.actor("participant"), department=needs.department)
        found = False
        if by.sub in panel.members:
            with contextlib.suppress(Conflict):  # nobody else fits: the decline stands, the seat shows empty
                self._replace(panel, needs, by.sub, "declined the invitation", by.actor("participant"))
                found = True
        self.save(panel)
        return {"recruitment_id": recruitment_id, "participant_id": by.sub, "department": needs.department,
                "status": "declined", "replacement_found": found}

    def panel_invitations(self, by: Principal, recruitment_id: str) -> dict[str, Any]:
        """Per seat: who was invited, their answer since when, and the replacement chain, for the
        coordinators of the recruitment's department and its own hiring manager."""
        recruitment, seats = self.readmodel.invitations(recruitment_id)
        if recruitment is None or not by.can_see_department(recruitment["department"]):
            raise NotFound(f"no recruitment with id {recruitment_id}")
        if not by.has("coordinator", "administrator") and by.sub != recruitment["hiring_manager"]:
            raise Forbidden("only the recruitment's own hiring manager may follow its invitations")
        return {"recruitment_id": recruitment_id, "department": recruitment["department"], "seats": seats}

    # -- replacing --------------------------------------------------------------------------
    def replace_member(
        self, by: Principal, recruitment_id: str, participant_id: str, reason: str
    ) -> dict[str, Any]:
        """A member dropped out: the next best eligible person takes the seat."""
        needs = self._needs(by, recruitment_id)
        panel = self._panel(recruitment_id)
        if panel is None or not panel.members:
            raise Conflict("this recruitment has no assigned panel yet")
        panel.check_member(participant_id)
        result = self._replace(panel, needs, participant_id, reason, by.actor())
        self.save(panel)
        return result

    def _replace(self, panel: Panel, needs: Needs, participant_id: str, reason: str,
                 actor: dict[str, str]) -> dict[str, Any]:
        recruitment_id = needs.recruitment_id
        day = today()
        limit = self.readmodel.limit(needs.department)
        candidates = self.readmodel.candidates(needs.department)
        staying = [m for m in panel.members if m != participant_id]
        seated = [c for c in candidates if c.participant_id in staying]
        eligible = [
            c
            for c in candidates
            if c.participant_id not in panel.members
            and c.participant_id not in panel.dropped
            and not ranking.exclusions(c, needs, limit, day)
        ]
        if not eligible:
            raise Conflict(
                "nobody else fits this recruitment: "
                + (
                    ranking.empty_reason(candidates, needs, limit, day, self.readmodel.bank_size())
                    or "every eligible person is already on the panel"
                )
            )
        pick = ranking.build_panel(eligible, needs, day, size=1, seated=seated)[0]
        replacement = pick.candidate.participant_id
        members = panel.replace_member(
            recruitment_id=recruitment_id,
            replaced=participant_id,
            replacement=replacement,
            reason=reason,
            actor=actor,
            department=needs.department,
        )
        return {
            "recruitment_id": recruitment_id,
            "replaced": participant_id,
            "replacement": replacement,
            "score": pick.score,
            "explanation": pick.explanation,
            "members": members,
        }

    # -- fairness -------------------------------------------------------------------------
    def fairness_report(self, by: Principal, department: str) -> dict[str, Any]:
        """How engagements spread over the department's active participants."""
        by.check_department(department)
        day = today()
        current = (self.readmodel.version(), day)
        cached = self._fairness.get(department)
        if cached is not None and cached[0] == current:
            return copy.deepcopy(cached[1])
        result = self._fairness_of(department, day)
        self._fairness[department] = (current, result)
        return copy.deepcopy(result)

    def _fairness_of(self, department: str, day: date) -> dict[str, Any]:
        limit = self.readmodel.limit(department)
        probe = Needs(recruitment_id="", department=department)
        active: list[Candidate] = [
            c
            for c in self.readmodel.candidates(department)
            if c.contact_status not in ("do_not_contact", "opted_out")
        ]
        eligible = {c.participant_id for c in active if not ranking.exclusions(c, probe, limit, day)}
        result = fairness.report(department, active, eligible, day)
        result["participation_limit"] = {
            "max_engagements": limit.max_engagements,
            "period_days": limit.period_days,
        }
        return result
