"""Events stored by earlier code keep loading (both backends).

eventsourcing stores each event under its topic (``module:Class.EventName``) with its attributes.
The recruitments' commands moved from public-command + private ``_event`` pairs to decorated
commands (issue 16), and matching's events from hand-written classes to decorated ones: the
events below are written into the real store exactly as the earlier code stored them (every
attribute, ``department`` included), then loaded through the application as any request does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from services.matching.domain import Panel, panel_id
from services.matching.service import Matching
from services.recruitments.domain import Recruitment
from services.recruitments.service import Recruitments
from shared.config import Settings

DEPT = "socialforvaltningen"
COORD = {"id": "coord-1", "role": "coordinator"}
MEMBER = {"id": "p-1", "role": "participant"}
SCORECARD = [{"key": k, "label": k} for k in ("motivation_user_participation", "empathy", "collaboration")]
SCORES = {"motivation_user_participation": 4, "empathy": 3, "collaboration": 5}

R = "services.recruitments.domain:Recruitment"
P = "services.matching.domain:Panel"

# The topics the stores hold today. Renaming an event class orphans them: register the old topic
# (eventsourcing.utils.register_topic) before changing anything here.
STORED_TOPICS = [f"{R}.{name}" for name in (
    "Opened", "JobDescriptionContributed", "AdvertContributed", "AdvertPublished", "ApplicationReceived",
    "ApplicationAssessed", "PanelLearned", "ConflictDeclared", "InterviewScored", "ScoreAmended",
    "HiringDecisionMade", "OutcomeShared", "RecruitmentClosed", "ManagerFeedbackGiven",
    "ParticipantFeedbackGiven", "HireFollowedUp", "LegalHoldPlaced", "LegalHoldReleased", "CandidateDataShredded",
)] + [f"{P}.{name}" for name in (
    "FirstProposed", "FirstAssigned", "Proposed", "Assigned", "InvitationAccepted", "InvitationDeclined",
    "MemberReplaced",
)]


def store(app: Any, originator: UUID, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Write ``events`` into ``app``'s store as stored events, as the earlier code's mapper did."""
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    records = [
        StoredEvent(originator_id=originator, originator_version=version, topic=topic,
                    state=app.mapper.transcoder.encode({"timestamp": now, **state}))
        for version, (topic, state) in enumerate(events, start=1)
    ]
    app.recorder.insert_events(records)


def test_every_stored_topic_still_resolves_to_an_event_class() -> None:
    for topic in STORED_TOPICS:
        assert isinstance(resolve_topic(topic), type), topic


def test_a_recruitment_stored_by_the_earlier_code_loads(settings: Settings) -> None:
    service = Recruitments.build(settings)
    try:
        rid = uuid4()
        on = {"actor": COORD, "department": DEPT}
        store(service.app, rid, [
            (f"{R}.Opened", {"originator_topic": R, "unit": "u", "position": "Socialsekreterare",
                             "hiring_manager": "hm-1", "coordinator": "coord-1", "interview_format": "joint",
                             "planned": {}, "scorecard": SCORECARD, "needs": {}, **on}),
            (f"{R}.AdvertPublished", {"version": 1, "text": "Vi söker", "text_hash": "h", **on}),
            (f"{R}.ApplicationReceived", {"candidate_id": "c1", "ats_ref": "a-1", "personal": None,
                                          "protected_identity": True, **on}),
            (f"{R}.PanelLearned", {"members": [{"participant_id": "p-1"}], "source_event_id": "ev-1", **on}),
            (f"{R}.ConflictDeclared", {"candidate_id": "c1", "member_id": "p-1", "member_role": "participant",
                                       "has_conflict": False, "recused": False, **on}),
            (f"{R}.InterviewScored", {"candidate_id": "c1", "member": MEMBER, "scores": SCORES,
                                      "recommendation": "hire", "comment": None, **on}),
            (f"{R}.HiringDecisionMade", {"candidate_id": "c1", "motivation": "m",
                                         "participants_recommendation": "hire", "against_participants": False,
                                         "deviation_reason": None, "decided_on": "2026-03-01",
                                         "actor": {"id": "hm-1", "role": "hiring_manager"}, "department": DEPT}),
            (f"{R}.OutcomeShared", {"candidate_id": "c1", "shared_with": ["p-1"], **on}),
            (f"{R}.HireFollowedUp", {"candidate_id": "c1", "months": 6, "still_employed": True,
                                     "motivation_rating": 4, **on}),
        ])
        rec = service.app.recruitment(rid)
        assert isinstance(rec, Recruitment) and rec.version == 9
        assert (rec.department, rec.stage, rec.advert_version, rec.panel) == (DEPT, "decided", 1, ["p-1"])
        assert rec.decision is not None and rec.decision["candidate_id"] == "c1"
        assert rec.outcome_shared_with == ["p-1"] and rec.follow_ups["6"]["still_employed"] is True
        # ... and takes new commands on top, stamped with the same department.
        rec.give_manager_feedback(4, "good", {"id": "hm-1", "role": "hiring_manager"})
        service.app.save(rec)
        again = service.app.recruitment(rid)
        assert again.manager_feedback == {"rating": 4, "text": "good"} and again.version == 10
        assert service.app.envelope_of(service.app.notifications(service.app.max_position() - 1, 1)[0])[
            "department"] == DEPT
    finally:
        service.close()


def test_a_panel_stored_by_the_earlier_code_loads(settings: Settings) -> None:
    service = Matching.build(settings)
    try:
        rid = str(uuid4())
        on = {"recruitment_id": rid, "actor": COORD, "department": DEPT}
        proposed = [{"participant_id": p, "score": 3, "explanation": "fits"} for p in ("a", "b")]
        store(service.app, panel_id(rid), [
            (f"{P}.FirstProposed", {"originator_topic": P, "proposal_id": "prop-1", "members": proposed,
                                    "covered_areas": [], "empty_reason": None, **on}),
            (f"{P}.Assigned", {"members": ["a", "b"], "proposal_id": "prop-1", "overrides": [], **on}),
            (f"{P}.InvitationDeclined", {"participant_id": "a", "reason": None, **on}),
            (f"{P}.MemberReplaced", {"replaced": "a", "replacement": "c", "reason": "declined",
                                     "members": ["c", "b"], **on}),
            (f"{P}.InvitationAccepted", {"participant_id": "c", **on}),
        ])
        panel = service.app.get(panel_id(rid), Panel, "panel")
        assert panel.recruitment_id == rid and panel.proposals == {"prop-1": ["a", "b"]}
        assert (panel.members, panel.dropped, panel.answers) == (["c", "b"], ["a"], {"a": "declined",
                                                                                   "c": "accepted"})
        other = str(uuid4())
        store(service.app, panel_id(other), [
            (f"{P}.FirstAssigned", {"originator_topic": P, "recruitment_id": other, "members": ["x"],
                                    "proposal_id": None, "overrides": [], "actor": COORD, "department": DEPT}),
        ])
        assert service.app.get(panel_id(other), Panel, "panel").members == ["x"]
    finally:
        service.close()
