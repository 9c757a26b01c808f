"""The Recruitment aggregate's rules for imported history, in process: a past recruitment takes
its events with their original dates, refuses what does not fit, and a live recruitment takes no
imported events at all."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from services.recruitments.domain import Recruitment, RecruitmentClosedError
from shared.errors import Conflict, InvalidInput
from tests.aggregates import refused, replayed

DEPT = "socialforvaltningen"
IMPORTER = {"id": "coord-eva", "role": "importer"}
MARK = {"by": "coord-eva", "at": "2026-12-01T10:00:00+00:00", "source": "h.csv", "line": 2, "digest": None}


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(hour=12, tzinfo=UTC)


def past() -> Recruitment:
    return Recruitment.import_history(uuid4(), unit="u", position="Socialsekreterare", hiring_manager="chef-1",
                                      panel_size=2, department=DEPT, imported=MARK, timestamp=day("2017-02-06"),
                                      actor=IMPORTER)


def decided() -> Recruitment:
    rec = past()
    rec.import_panel(["brukare-1"], MARK, day("2017-02-20"), IMPORTER, DEPT)
    rec.import_panel(["brukare-1", "brukare-2"], MARK, day("2017-02-20"), IMPORTER, DEPT)
    rec.import_decision("kandidat-A", "Bäst bemötande", "hire", MARK, day("2017-03-15"), IMPORTER, DEPT)
    return rec


def test_a_past_recruitment_keeps_its_original_dates_and_replays_to_the_same_state() -> None:
    rec = decided()
    rec.import_close("filled", None, MARK, day("2017-03-31"), IMPORTER, DEPT)
    rec.import_participant_feedback("brukare-2", 4, "", MARK, day("2017-04-03"), IMPORTER, DEPT)
    assert rec.created_on == day("2017-02-06") and rec.modified_on == day("2017-04-03")
    assert [e.timestamp.date().isoformat() for e in rec.pending_events] == [
        "2017-02-06", "2017-02-20", "2017-02-20", "2017-03-15", "2017-03-31", "2017-04-03"]
    assert rec.panel == ["brukare-1", "brukare-2"] and rec.stage == "closed"
    assert rec.decision is not None and rec.decision["decided_on"] == "2017-03-15"
    copy = replayed(rec)
    assert (copy.imported, copy.panel, copy.decision, copy.closed, copy.participant_feedback) == (
        MARK, rec.panel, rec.decision, rec.closed, rec.participant_feedback)


def test_imported_events_that_do_not_fit_are_refused_and_record_nothing() -> None:
    rec = decided()
    # Dated before the event before it.
    assert refused(rec, InvalidInput, lambda: rec.import_manager_feedback(
        4, "", MARK, day("2017-03-01"), IMPORTER, DEPT)).field == "date"
    assert refused(rec, InvalidInput, lambda: rec.import_manager_feedback(
        6, "", MARK, day("2017-09-01"), IMPORTER, DEPT)).field == "rating"
    assert refused(rec, InvalidInput, lambda: rec.import_participant_feedback(
        "brukare-9", 4, "", MARK, day("2017-09-01"), IMPORTER, DEPT)).field == "participant"
    refused(rec, Conflict, lambda: rec.import_decision("kandidat-B", "", None, MARK, day("2017-09-01"), IMPORTER,
                                                       DEPT))
    refused(rec, Conflict, lambda: rec.import_panel(["brukare-1", "brukare-2", "brukare-3"], MARK,
                                                    day("2017-09-01"), IMPORTER, DEPT))
    # A decision against the participants must say why; filled needs a decision; cancelled a reason.
    fresh = past()
    assert refused(fresh, InvalidInput, lambda: fresh.import_decision(
        "kandidat-A", " ", "no_hire", MARK, day("2017-03-15"), IMPORTER, DEPT)).field == "text"
    refused(fresh, Conflict, lambda: fresh.import_close("filled", None, MARK, day("2017-03-31"), IMPORTER, DEPT))
    assert refused(fresh, InvalidInput, lambda: fresh.import_close(
        "cancelled", "", MARK, day("2017-03-31"), IMPORTER, DEPT)).field == "text"
    # A panel has at most three participants.
    assert refused(fresh, InvalidInput, lambda: Recruitment.import_history(
        uuid4(), unit="u", position="p", hiring_manager="c", panel_size=4, department=DEPT, imported=MARK,
        timestamp=day("2017-01-01"), actor=IMPORTER)).field == "participant"
    # Nothing but feedback after the close.
    rec.import_close("filled", None, MARK, day("2017-03-31"), IMPORTER, DEPT)
    refused(rec, RecruitmentClosedError, lambda: rec.import_panel(["brukare-1", "brukare-2", "brukare-3"], MARK,
                                                                  day("2017-04-01"), IMPORTER, DEPT))
    rec.import_manager_feedback(4, "", MARK, day("2017-09-15"), IMPORTER, DEPT)


def test_a_live_recruitment_takes_no_imported_events() -> None:
    live = Recruitment(id=uuid4(), unit="u", position="p", hiring_manager="hm-1", coordinator="co-1",
                       interview_format="joint", planned={}, scorecard=[], needs={},
                       actor={"id": "co-1", "role": "coordinator"}, department=DEPT)
    assert live.imported is None
    assert "live" in str(refused(live, Conflict, lambda: live.import_panel(
        ["brukare-1"], MARK, datetime.now(UTC), IMPORTER, DEPT)))
