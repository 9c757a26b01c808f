"""Who may sit on a panel, stated rule by rule as a coordinator reads them, and the explanations
they are shown. Pure functions: no broker, no database."""

from __future__ import annotations

import random
from datetime import date

from services.matching import ranking
from services.matching.ranking import Candidate, Exclusion, Limit, Needs

TODAY = date(2026, 11, 23)
DEP = "socialforvaltningen"
NEEDS = Needs("r1", DEP, unit="Enhet Norr", areas=("boende", "missbruk"), languages=("ar",),
              interviews_from="2026-12-01", interviews_to="2026-12-03")
FREE = (("2026-11-01", "2026-12-31"),)


def ready(pid: str = "p1", **kw: object) -> Candidate:
    values: dict[str, object] = {"consent_department": True, "consent_matching": True, "confidentiality": True,
                                 "training": True, "windows": FREE}
    values.update(kw)
    return Candidate(pid, **values)  # type: ignore[arg-type]


def rules(candidate: Candidate, limit: Limit | None = None) -> list[tuple[str, str]]:
    return [(e.rule, e.severity) for e in ranking.exclusions(candidate, NEEDS, limit or Limit(), TODAY)]


def test_each_rule_excludes_with_its_severity_and_plain_reason() -> None:
    assert rules(ready()) == []
    assert ranking.exclusions(ready(consent_department=False), NEEDS, Limit(), TODAY) == [
        Exclusion("consent_department", "hard", f"no consent for {DEP}")]
    assert ranking.exclusions(ready(consent_matching=False), NEEDS, Limit(), TODAY) == [
        Exclusion("consent_matching", "hard", f"no consent to matching for {DEP}")]
    assert ranking.exclusions(ready(confidentiality=False, training=False), NEEDS, Limit(), TODAY) == [
        Exclusion("readiness", "hard", "not ready: confidentiality undertaking and introduction training missing")]
    assert ranking.exclusions(ready(training=False), NEEDS, Limit(), TODAY)[0].reason == (
        "not ready: introduction training missing")
    assert ranking.exclusions(ready(contact_status="opted_out"), NEEDS, Limit(), TODAY) == [
        Exclusion("contact_status", "hard", "contact status is opted out")]
    assert ranking.exclusions(ready(excluded_units=frozenset({"Enhet Norr"})), NEEDS, Limit(), TODAY) == [
        Exclusion("excluded_unit", "hard", "excluded for unit Enhet Norr")]
    assert ranking.exclusions(ready(windows=(("2026-12-02", "2026-12-31"),)), NEEDS, Limit(), TODAY) == [
        Exclusion("availability", "soft", "not available 2026-12-01 to 2026-12-03")]
    assert Exclusion("availability", "soft", "").hard is False and Exclusion("x", "hard", "").hard is True


def test_cooldown_holds_through_its_last_day() -> None:
    """``until`` is the cooldown's last day, inclusive (docs/events-contract.md, shared/contract.py)."""
    assert rules(ready(contact_status="cooldown", contact_until="2026-11-24")) == [("cooldown", "soft")]
    assert ranking.exclusions(ready(contact_status="cooldown", contact_until="2026-11-24"), NEEDS, Limit(),
                              TODAY)[0].reason == "in cooldown until 2026-11-24"
    assert ranking.exclusions(ready(contact_status="cooldown"), NEEDS, Limit(), TODAY)[0].reason == "in cooldown"
    # Today is its last day: still not asked. From the day after: asked again.
    assert rules(ready(contact_status="cooldown", contact_until="2026-11-23")) == [("cooldown", "soft")]
    assert rules(ready(contact_status="cooldown", contact_until="2026-11-22")) == []
    assert rules(ready(contact_status="cooldown", contact_until="2026-11-01")) == []
    for until, ok in (("2026-11-24", False), ("2026-11-23", False), ("2026-11-22", True), ("2026-11-01", True),
                      (None, False)):
        assert ranking.eligible(ready(contact_status="cooldown", contact_until=until), NEEDS, Limit(), TODAY) is ok


def test_participation_limit_counts_this_department_inside_the_period() -> None:
    limit = Limit(max_engagements=2, period_days=180)
    inside = ((DEP, "2026-10-01"), (DEP, "2026-06-01"))
    assert rules(ready(engagements=inside), limit) == [("participation_limit", "soft")]
    assert ranking.exclusions(ready(engagements=inside), NEEDS, limit, TODAY)[0].reason == (
        f"over the participation limit: 2 engagements in {DEP} in the last 180 days (limit 2)")
    other_department = ((DEP, "2026-10-01"), ("kultur", "2026-06-01"))
    assert rules(ready(engagements=other_department), limit) == []
    # 180 days before 2026-11-23 is 2026-05-27: an engagement on that day is outside the period.
    edge = ((DEP, "2026-10-01"), (DEP, "2026-05-27"))
    assert rules(ready(engagements=edge), limit) == []
    assert ready(engagements=inside + other_department).department_engagements(DEP, TODAY, 180) == 3


def test_the_quick_check_agrees_with_the_rules() -> None:
    rng = random.Random(18)
    for i in range(400):
        c = ready(
            f"p{i}",
            consent_department=rng.random() > 0.1, consent_matching=rng.random() > 0.1,
            confidentiality=rng.random() > 0.1, training=rng.random() > 0.1,
            contact_status=rng.choice(["available", "available", "cooldown", "opted_out", "paused"]),
            contact_until=rng.choice([None, "2026-11-01", "2026-11-23", "2026-11-24", "2027-01-01"]),
            windows=rng.choice([FREE, (), (("2026-12-01", "2026-12-02"),), (("2026-11-01", "2026-12-03"),)]),
            excluded_units=rng.choice([frozenset(), frozenset({"Enhet Norr"}), frozenset({"Enhet Syd"})]),
            engagements=tuple((rng.choice([DEP, "kultur"]), rng.choice(["2026-10-01", "2025-01-01", "2026-05-27"]))
                              for _ in range(rng.randint(0, 5))),
        )
        for limit in (Limit(), Limit(2, 180)):
            assert ranking.eligible(c, NEEDS, limit, TODAY) == (not ranking.exclusions(c, NEEDS, limit, TODAY)), c


def test_an_empty_proposal_says_which_rule_emptied_the_pool() -> None:
    panel = ranking.propose([], NEEDS, Limit(), TODAY, bank_size=40)
    assert panel.picks == [] and panel.empty_reason == (
        f"nobody fits: none of the 40 participants in the bank has consented to {DEP}")
    people = [ready("a", training=False), ready("b", contact_status="cooldown", contact_until="2027-01-01"),
              ready("c", contact_status="cooldown", contact_until="2027-01-01")]
    panel = ranking.propose(people, NEEDS, Limit(), TODAY, bank_size=40)
    assert panel.empty_reason == (f"nobody fits: the last 2 of 3 participants who consented to {DEP} were "
                                  "removed by 'cooldown over'")
    assert ranking.empty_reason([ready()], NEEDS, Limit(), TODAY, 1) is None
    fits = ranking.propose([*people, ready("d")], NEEDS, Limit(), TODAY, bank_size=40)
    assert fits.empty_reason is None and [p.candidate.participant_id for p in fits.picks] == ["d"]


def test_rotation_weight_is_the_callers() -> None:
    busy = ready("a", tags=frozenset({"boende", "missbruk"}), engagements=((DEP, "2026-10-01"),))
    idle = ready("b")
    assert [p.candidate.participant_id for p in ranking.propose([busy, idle], NEEDS, Limit(), TODAY, bank_size=2,
                                                                 size=1).picks] == ["a"]
    assert [p.candidate.participant_id for p in ranking.propose([busy, idle], NEEDS, Limit(), TODAY, bank_size=2,
                                                                 size=1, rotation=20).picks] == ["b"]


def test_explanations_read_as_sentences() -> None:
    assert ranking.explain_exclusions([Exclusion("a", "hard", "no consent for x"),
                                       Exclusion("b", "soft", "in cooldown")]) == (
        "excluded: no consent for x; in cooldown")
    person = ready("a", tags=frozenset({"boende", "missbruk"}), languages=frozenset({"ar", "sv"}))
    pick = ranking.build_panel([person], NEEDS, TODAY, size=1)[0]
    assert pick.adds_areas == ("boende", "missbruk") and pick.score == 28
    assert pick.explanation == (
        "Shares experience of boende and missbruk (2 of 2 wanted areas) and brings boende and missbruk to the "
        "panel; speaks ar (wanted, not yet on the panel); no panel in the last 12 months (never on a panel); "
        f"consented to {DEP} and to matching, ready (confidentiality and training); available 2026-12-01 to "
        "2026-12-03.")
    three = Needs("r1", DEP, areas=("a", "b", "c"))
    veteran = ready("v", tags=frozenset({"a", "b", "c"}), engagements=((DEP, "2025-01-01"),))
    text = ranking.build_panel([veteran], three, TODAY, size=1)[0].explanation
    assert text.startswith("Shares experience of a, b and c (3 of 3 wanted areas)")
    assert "no panel in the last 12 months (last on 2025-01-01)" in text
    recent = ready("r", engagements=((DEP, "2026-10-01"),))
    text = ranking.build_panel([recent], three, TODAY, size=1)[0].explanation
    assert text.startswith("Shares none of the wanted experience areas but fills a seat; 1 panel(s) in the last "
                           "12 months, so ranked lower for rotation")


def test_edges_of_dates_panel_size_and_seated_members() -> None:
    # Availability: the last interview day must be covered too; an uncovered stretch is a plain False.
    assert ranking.covers([("2030-03-01", "2030-03-04")], "2030-03-02", "2030-03-05") is False
    assert ranking.covers([("2030-03-01", "2030-03-04"), ("2030-03-06", "2030-03-09")],
                          "2030-03-04", "2030-03-06") is False
    assert ranking.covers([("2030-03-04", "2030-03-06")], "2030-03-04", "2030-03-06") is True
    # Rotation looks back exactly twelve months: an engagement 365 days ago no longer counts.
    assert ready(engagements=((DEP, "2025-11-23"),)).recent_engagements(TODAY) == 0
    assert ready(engagements=((DEP, "2025-11-24"),)).recent_engagements(TODAY) == 1
    # The recruitment's own panel size applies when the caller gives none.
    pool = [ready(f"p{i}", tags=frozenset({"boende"})) for i in range(4)]
    two = Needs("r2", DEP, areas=("boende",), panel_size=2)
    assert len(ranking.propose(pool, two, Limit(), TODAY, bank_size=4).picks) == 2
    # Members already seated are not proposed again, and what they cover counts as covered.
    seated = [ready("s1", tags=frozenset({"boende"}), languages=frozenset({"ar"}))]
    people = [ready("s1", tags=frozenset({"boende"}), languages=frozenset({"ar"})),
              ready("a", tags=frozenset({"boende"})), ready("b", tags=frozenset({"missbruk"}))]
    picks = ranking.build_panel(people, NEEDS, TODAY, size=1, seated=seated)
    assert [p.candidate.participant_id for p in picks] == ["b"] and picks[0].score == 10


def test_a_language_already_on_the_panel_is_wanted_but_not_new() -> None:
    needs = Needs("r3", DEP, areas=("boende", "missbruk"), languages=("ar", "so"), interviews_from="2026-12-01")
    first = ready("a", tags=frozenset({"boende"}), languages=frozenset({"ar"}))
    second = ready("b", tags=frozenset({"missbruk"}), languages=frozenset({"ar"}))
    third = ready("c", tags=frozenset({"missbruk"}), languages=frozenset({"so"}))
    picks = ranking.build_panel([first, second, third], needs, TODAY, size=3)
    assert [p.candidate.participant_id for p in picks] == ["a", "c", "b"]  # "so" is new on seat two, "ar" is not
    assert [p.score for p in picks] == [18, 18, 2]
    assert "speaks ar (wanted);" in picks[2].explanation
    assert "speaks so (wanted, not yet on the panel)" in picks[1].explanation
    assert "available" not in picks[0].explanation  # only a start date: no interview period to name
