"""The pure parts: coverage of dates, the Gini coefficient, deterministic ranking."""

from __future__ import annotations

import random
from datetime import date

from services.matching import ranking
from services.matching.fairness import gini
from services.matching.ranking import Candidate, Limit, Needs

TODAY = date(2026, 11, 23)


def _ready(pid: str, **kw: object) -> Candidate:
    return Candidate(pid, consent_department=True, consent_matching=True, confidentiality=True, training=True,
                     **kw)  # type: ignore[arg-type]


def test_windows_must_cover_every_interview_day() -> None:
    assert ranking.covers([("2030-03-01", "2030-03-04"), ("2030-03-05", "2030-03-09")], "2030-03-04", "2030-03-06")
    assert not ranking.covers([("2030-03-01", "2030-03-04"), ("2030-03-06", "2030-03-09")],
                              "2030-03-04", "2030-03-06")
    assert not ranking.covers([], "2030-03-04", "2030-03-04")


def test_gini() -> None:
    assert gini([2, 2, 2, 2]) == 0.0
    assert gini([0, 0, 0, 0]) == 0.0
    assert round(gini([0, 0, 0, 4]), 3) == 0.75


def test_ties_break_on_participant_id_and_rotation_lowers_the_busy() -> None:
    needs = Needs("r", "socialforvaltningen", areas=("a",))
    pool = [_ready(p, tags=frozenset({"a"})) for p in ("c", "a", "b")]
    picks = ranking.build_panel(pool, needs, TODAY, size=2)
    assert [p.candidate.participant_id for p in picks] == ["a", "b"]
    busy = _ready("a", tags=frozenset({"a"}), engagements=(("socialforvaltningen", "2026-10-01"),))
    picks = ranking.build_panel([busy, *pool[::2]], needs, TODAY, size=2)
    assert [p.candidate.participant_id for p in picks] == ["b", "c"]
    assert ranking.eligible(busy, needs, Limit(1, 365), TODAY) is False
    assert [e.rule for e in ranking.exclusions(busy, needs, Limit(1, 365), TODAY)] == ["participation_limit"]


def test_fast_panel_build_matches_brute_force() -> None:
    rng = random.Random(7)
    areas = [f"a{i}" for i in range(6)]
    needs = Needs("r", "socialforvaltningen", areas=("a0", "a1", "a2"), languages=("ar",))
    pool = [
        _ready(f"p{i:03d}", tags=frozenset(rng.sample(areas, rng.randint(0, 3))),
               languages=frozenset(rng.sample(["sv", "ar", "so"], rng.randint(1, 2))),
               engagements=(("socialforvaltningen", "2026-06-01"),) * rng.randint(0, 2))
        for i in range(300)
    ]
    covered: set[str] = set()
    spoken: set[str] = set()
    expected: list[str] = []
    for _ in range(3):
        best = min(
            (c for c in pool if c.participant_id not in expected),
            key=lambda c: (-ranking.marginal(c, needs, covered, spoken, c.recent_engagements(TODAY)),
                           c.recent_engagements(TODAY), c.last_engaged_on or "", c.participant_id),
        )
        expected.append(best.participant_id)
        covered |= best.tags.intersection(needs.areas)
        spoken |= best.languages.intersection(needs.languages)
    assert [p.candidate.participant_id for p in ranking.build_panel(pool, needs, TODAY)] == expected


def test_cooldown_holds_through_its_last_day() -> None:
    """``until`` is the cooldown's last day (the event contract): matching does not propose the
    person on that day, and does from the day after, as participants' eligibility says."""
    needs = Needs("r", "socialforvaltningen", areas=("a",))
    limit = Limit(10, 365)
    last_day = _ready("p", tags=frozenset({"a"}), contact_status="cooldown", contact_until=TODAY.isoformat())
    assert ranking.eligible(last_day, needs, limit, TODAY) is False
    assert [e.rule for e in ranking.exclusions(last_day, needs, limit, TODAY)] == ["cooldown"]
    ended = _ready("p", tags=frozenset({"a"}), contact_status="cooldown",
                   contact_until=date.fromordinal(TODAY.toordinal() - 1).isoformat())
    assert ranking.eligible(ended, needs, limit, TODAY) is True
    assert ranking.exclusions(ended, needs, limit, TODAY) == []


def _one_seat_at_a_time(pool: list[Candidate], needs: Needs, seated: list[Candidate], seats: int) -> list[str]:
    """The proposal by its definition: for each seat, every person not yet on the panel is weighed
    (what they add, less the rotation penalty), ties broken on fewer engagements, longer wait, id."""
    covered = {a for c in seated for a in c.tags.intersection(needs.areas)}
    spoken = {lang for c in seated for lang in c.languages.intersection(needs.languages)}
    chosen: list[str] = []
    taken = {c.participant_id for c in seated}
    for _ in range(seats):
        free = [c for c in pool if c.participant_id not in taken and c.participant_id not in chosen]
        if not free:
            break
        best = min(free, key=lambda c: (-ranking.marginal(c, needs, covered, spoken, c.recent_engagements(TODAY)),
                                        c.recent_engagements(TODAY), c.last_engaged_on or "", c.participant_id))
        chosen.append(best.participant_id)
        covered |= best.tags.intersection(needs.areas)
        spoken |= best.languages.intersection(needs.languages)
    return chosen


def test_the_fast_build_proposes_whom_weighing_everyone_for_every_seat_would_in_small_banks_full_of_ties() -> None:
    """Small banks where most people tie: the same few areas, busy people whose rotation penalty
    makes their contribution negative, members already seated who cover an area, people whose best
    possible contribution equals what someone earlier already adds. Whatever shortcut the build
    takes, its panel is the one the definition gives, seat by seat."""
    rng = random.Random(18)
    days = ["2026-02-01", "2026-05-01", "2026-08-01", "2026-10-15"]
    for case in range(1500):
        areas = ("a0", "a1")[: rng.randint(1, 2)]
        needs = Needs("r", "socialforvaltningen", areas=areas, languages=("ar",) if rng.random() < 0.3 else ())
        people = [
            _ready(f"p{i}", tags=frozenset(rng.sample(["a0", "a1", "b"], rng.randint(0, 2))),
                   languages=frozenset(rng.sample(["sv", "ar"], rng.randint(1, 2))),
                   engagements=tuple(("socialforvaltningen", rng.choice(days)) for _ in range(rng.randint(0, 2))))
            for i in range(rng.randint(1, 7))
        ]
        seated = people[:1] if rng.random() < 0.4 else []
        pool = people[len(seated):]
        seats = rng.randint(1, 3)
        built = ranking.build_panel(pool, needs, TODAY, size=seats, seated=seated)
        assert [p.candidate.participant_id for p in built] == _one_seat_at_a_time(pool, needs, seated, seats), case
