"""Rotation over a sequence of recruitments, coverage of wanted areas, languages, and consent
withdrawal or erasure taking a person out of the next proposal."""

from __future__ import annotations

from datetime import UTC, datetime

from services.matching import ranking
from services.matching.fairness import gini
from services.matching.ranking import Candidate, Needs
from tests.matching.conftest import Bench
from tests.matching.feed import DEPARTMENT

AREAS = ("ekonomiskt-bistand", "missbruk")


def test_rotation_spreads_engagements_better_than_best_fit(matching: Bench) -> None:
    feed = matching.feed
    feed.department_limit(100)  # measure rotation alone, not the participation limit
    strong = [feed.participant(tags=AREAS) for _ in range(3)]
    single = [feed.participant(tags=[AREAS[i % 2]]) for i in range(6)]
    rounds = 6
    rids = [feed.recruitment(areas=AREAS) for _ in range(rounds)]
    matching.sync()

    for n, rid in enumerate(rids, start=1):
        proposal = matching.propose(rid)
        assert set(proposal["covered_areas"]) == set(AREAS)
        r = matching.post(f"/recruitments/{rid}/panel", {"proposal_id": proposal["proposal_id"]})
        assert r.status_code == 201, r.text
        matching.sync()
        # The report follows every panel (it is kept between calls only while the bank is unchanged).
        assert matching.get(f"/departments/{DEPARTMENT}/fairness").json()["engagements_last_12_months"] == n * 3

    report = matching.get(f"/departments/{DEPARTMENT}/fairness").json()
    assert report["engagements_last_12_months"] == rounds * 3
    assert report["participation_limit"]["max_engagements"] == 100
    feed.department_limit(5)
    matching.sync()
    again = matching.get(f"/departments/{DEPARTMENT}/fairness").json()
    assert again["participation_limit"]["max_engagements"] == 5
    assert (again["engagements_last_12_months"], again["gini"]) == (report["engagements_last_12_months"],
                                                                      report["gini"])

    # The same sequence picking the best fit every time (no rotation penalty).
    today = datetime.now(UTC).date()
    counts = {pid: 0 for pid in strong + single}
    tags = {**{p: frozenset(AREAS) for p in strong},
            **{p: frozenset([AREAS[i % 2]]) for i, p in enumerate(single)}}
    for rid in rids:
        pool = [Candidate(p, tags=tags[p], engagements=(("x", today.isoformat()),) * counts[p]) for p in counts]
        picks = ranking.build_panel(pool, Needs(rid, DEPARTMENT, areas=AREAS), today, rotation=0)
        for pick in picks:
            counts[pick.candidate.participant_id] += 1
    best_fit_gini = gini(list(counts.values()))
    assert best_fit_gini > 0.6  # the same three people every time
    assert report["gini"] < best_fit_gini - 0.3, (report, best_fit_gini)
    assert report["engaged_last_12_months"] == 9
    assert report["engaged_share"] == 1.0


def test_panel_covers_wanted_areas_and_languages(matching: Bench) -> None:
    feed = matching.feed
    similar = [feed.participant(tags=["ekonomiskt-bistand", "missbruk"]) for _ in range(3)]
    housing = feed.participant(tags=["hemloshet"])
    arabic = feed.participant(tags=["ekonomiskt-bistand"], languages=["sv", "ar"])
    rid = feed.recruitment(areas=["ekonomiskt-bistand", "missbruk", "hemloshet"], languages=["ar"])
    matching.sync()
    proposal = matching.propose(rid)
    members = [m["participant_id"] for m in proposal["members"]]
    assert housing in members and arabic in members
    assert len(set(members) & set(similar)) == 1
    assert proposal["covered_areas"] == ["ekonomiskt-bistand", "hemloshet", "missbruk"]
    why = {m["participant_id"]: m["explanation"] for m in proposal["members"]}
    assert "brings hemloshet to the panel" in why[housing]
    assert "speaks ar (wanted, not yet on the panel)" in why[arabic]


def test_consent_withdrawal_and_erasure_take_people_out(matching: Bench) -> None:
    feed = matching.feed
    people = [feed.participant() for _ in range(4)]
    rid = feed.recruitment(panel_size=3)
    matching.sync()
    first = matching.members(rid)
    assert len(first) == 3
    withdrawing, forgotten = first[0], first[1]
    feed.withdraw(withdrawing, "matching")
    feed.forget(forgotten)
    matching.sync()

    second = matching.members(rid)
    assert withdrawing not in second and forgotten not in second
    assert sorted(second) == sorted(set(people) - {withdrawing, forgotten})
    why = matching.get(f"/recruitments/{rid}/candidates/{withdrawing}/explanation").json()
    assert why["explanation"] == f"excluded: no consent to matching for {DEPARTMENT}"
    assert matching.get(f"/recruitments/{rid}/candidates/{forgotten}/explanation").status_code == 404
    refused = matching.post(f"/recruitments/{rid}/panel", {"members": [withdrawing]})
    assert refused.status_code == 409
    # Events about the forgotten person arriving later do not bring them back.
    feed.emit("participants", "ConsentGiven", forgotten, {"purpose": "matching", "department": DEPARTMENT},
              DEPARTMENT)
    matching.sync()
    assert matching.service.readmodel.candidate(forgotten, DEPARTMENT) is None


def test_replacing_someone_not_on_the_panel_is_refused(matching: Bench) -> None:
    feed = matching.feed
    a, b, c = (feed.participant() for _ in range(3))
    rid = feed.recruitment(panel_size=2)
    matching.sync()
    path = f"/recruitments/{rid}/panel/replacements"
    assert matching.post(path, {"participant_id": a, "reason": "ill"}).status_code == 409  # no panel yet
    assert matching.post(f"/recruitments/{rid}/panel", {"members": [a, b]}).status_code == 201
    assert matching.post(path, {"participant_id": c, "reason": "ill"}).status_code == 409
    moved = matching.post(path, {"participant_id": a, "reason": "ill"})
    assert moved.status_code == 201 and moved.json()["replacement"] == c
    # Nobody left to take b's seat.
    assert matching.post(path, {"participant_id": b, "reason": "ill"}).status_code == 409
