"""``delaktig import history``: past recruitments land with their original dates, marked as
imported and by whom; the decision record and the dashboards' trends show them so; a file with
one bad row imports nothing and says which row and field; a re-run imports nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from infra.cli import main
from services.audit.service import Audit
from services.dashboards.queries import department_dashboard, load_facts
from services.dashboards.service import Dashboards
from services.recruitments.history import recruitment_id
from services.recruitments.service import Recruitments
from shared.config import Settings
from tests.audit.test_replay import _env
from tests.conftest import bearer
from tests.dashboards.recount import recount
from tests.dashboards.scenario import onboard
from tests.eventwriter import EventWriter

EXAMPLE = Path(__file__).parents[2] / "examples" / "history" / "helsingborg-2017.csv"
SOC = "socialforvaltningen"


def _stored(settings: Settings) -> list[dict]:
    service = Recruitments.build(settings)
    try:
        return list(service.app.envelopes())
    finally:
        service.close()


def _import(path: Path, *extra: str) -> int:
    return main(["import", "history", str(path), *extra])


def test_a_good_file_is_imported_with_its_original_dates_marked_and_shown(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], serve, token, http
) -> None:
    _env(monkeypatch, settings)
    assert _import(EXAMPLE, "--actor", "coord-eva") == 0
    assert '"recruitments": 3' in capsys.readouterr().out

    rows = EXAMPLE.read_text(encoding="utf-8").splitlines()
    events = _stored(settings)
    assert len(events) == len(rows) - 1  # one event per row
    for env in events:
        mark = env["payload"]["imported"]
        assert env["schema_version"] == 2 and env["actor"] == {"id": "coord-eva", "role": "importer"}
        assert mark["by"] == "coord-eva" and mark["source"] == EXAMPLE.name
        # Dated on the day the row gives, not today.
        row = rows[mark["line"] - 1].split(",")
        assert env["occurred_at"].startswith(row[2]), (env["event_type"], row)
    soc1 = str(recruitment_id(SOC, "SOC-2017-01"))
    types = [e["event_type"] for e in events if e["aggregate_id"] == soc1]
    assert types == ["RecruitmentOpened", "PanelLearned", "PanelLearned", "HiringDecisionMade", "RecruitmentClosed",
                     "ParticipantFeedbackGiven", "ParticipantFeedbackGiven", "ManagerFeedbackGiven"]

    # The decision record: the decision as recorded in 2017, who imported it, the panel.
    audit = Audit.build(settings)
    try:
        audit.catch_up()
        record = audit.app.decision_record(soc1)
    finally:
        audit.close()
    assert record["imported"] is True and record["history_verified"] is True
    (decision,) = record["decision"]
    assert decision["time"].startswith("2017-03-15") and decision["candidate_id"] == "kandidat-A"
    assert decision["imported"]["by"] == "coord-eva"
    assert {"brukare-P03", "brukare-P11"} <= {p["id"] for p in record["people"]}
    assert all(i["imported"]["by"] == "coord-eva" for i in record["inputs"])

    # The dashboards: the trend is in 2017's months, and told apart from live recruitments.
    writer = EventWriter(settings)  # the department, as participants announces it
    onboard(writer, SOC, "Socialförvaltningen")
    writer.close()
    dashboards = Dashboards.build(settings)
    try:
        dashboards.catch_up()
        page = department_dashboard(load_facts(dashboards.db), SOC, datetime.now(UTC).date())
        url = serve(dashboards.http())
        html = http.get(f"{url}/departments/{SOC}", headers=bearer(token(departments=(SOC,)))).text
        english = http.get(f"{url}/departments/{SOC}?lang=en", headers=bearer(token(departments=(SOC,)))).text
    finally:
        dashboards.close()
    # The page says which part is imported history, and draws it as a line of its own.
    assert "2 av rekryteringarna är historik från tiden före Delaktig (2017-02 till 2017-05)" in html
    assert "Importerad historik" in html and "Imported history" in english
    assert page["recruitments_total"] == 2 and page["hires"] == 2
    assert page["imported"] == {"recruitments": 2, "from": "2017-02", "to": "2017-05"}
    assert [(m["month"], m["rating"], m["imported"], m["rating_live"]) for m in page["effect"]["managers"]] == [
        ("2017-09", 4, 1, None), ("2017-12", 3, 1, None)]
    assert [(p["month"], p["rating"], p["imported"]) for p in page["effect"]["participants"]] == [("2017-04", 4, 2)]
    counted = recount(events, SOC, datetime.now(UTC).date())  # the same, counted from the events alone
    assert (page["effect"], page["imported"]) == (counted["effect"], counted["imported"])


BAD_ROWS = {
    "manager_feedback,SOC-2017-02,2017-12-01,,,,,,,,7,,": "rating",  # 1 to 5
    "panel_member,SOC-2017-02,2017-05-22,,,,,Anna Lindqvist,,,,,": "participant",  # a name, not a reference
    "participant_feedback,SOC-2017-02,2017-06-30,,,,,brukare-P99,,,4,,": "participant",  # not on the panel
    "decision,SOC-2017-02,2017-04-01,,,,,,kandidat-D,,,,": "date",  # before the panel's date
    "closed,SOC-2017-09,2017-06-20,,,,,,,,,filled,": "recruitment",  # no such recruitment in the file
}


@pytest.mark.parametrize("bad", list(BAD_ROWS))
def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row_and_field(
    sqlite_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], bad: str,
) -> None:
    _env(monkeypatch, sqlite_settings)
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    lines.insert(12, bad)  # becomes line 13 of the file
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _import(path) == 1
    err = capsys.readouterr().err
    assert f"history.csv: line 13, {BAD_ROWS[bad]}:" in err, err
    assert "nothing was imported" in err
    assert _stored(sqlite_settings) == []


def test_one_bad_row_imports_nothing_on_postgres_either(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, pg_settings)
    path = tmp_path / "history.csv"
    path.write_text(EXAMPLE.read_text(encoding="utf-8") + "closed,SOC-2017-01,2017-04-01,,,,,,,,,filled,\n",
                    encoding="utf-8")
    assert _import(path) == 1
    assert "line 17, kind: SOC-2017-01 needs exactly one closed row" in capsys.readouterr().err
    assert _stored(pg_settings) == []


def test_a_rerun_imports_nothing_twice_and_a_changed_rerun_is_refused(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(monkeypatch, settings)
    assert _import(EXAMPLE) == 0
    first = _stored(settings)
    capsys.readouterr()
    assert _import(EXAMPLE) == 0
    out = capsys.readouterr().out
    assert '"recruitments": 0' in out and '"already_imported": 3' in out
    assert _stored(settings) == first

    # The same file with one more past recruitment: only the new one is written.
    grown = tmp_path / "grown.csv"
    grown.write_text(EXAMPLE.read_text(encoding="utf-8")
                     + "recruitment,SKOL-2017-01,2017-08-14,skol-och-fritidsforvaltningen,fritidsgardar,"
                       "Fritidsledare,chef-fg-1,,,,,,\n"
                     + "closed,SKOL-2017-01,2017-09-01,,,,,,,,,cancelled,Ingen sökande\n", encoding="utf-8")
    assert _import(grown) == 0
    assert '"recruitments": 1, "events": 2, "already_imported": 3' in capsys.readouterr().out
    assert len(_stored(settings)) == len(first) + 2

    # Rows of an imported recruitment changed afterwards: refused, nothing written.
    changed = tmp_path / "changed.csv"
    changed.write_text(EXAMPLE.read_text(encoding="utf-8").replace(",4,,Panelen", ",5,,Panelen"), encoding="utf-8")
    assert _import(changed) == 1
    assert "line 2, recruitment: SOC-2017-01 was imported before with other rows" in capsys.readouterr().err
    assert len(_stored(settings)) == len(first) + 2
