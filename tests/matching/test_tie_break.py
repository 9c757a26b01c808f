"""Among equally fit people, matching proposes the one who has waited longest since taking part.

The fixtures differ in their engagement dates only, and the participant ids are chosen so that
the id order (the last tie-break) points the other way: only "longest wait first" passes.
"""

from __future__ import annotations

from datetime import date

from services.matching import ranking
from services.matching.ranking import Candidate, Limit, Needs

TODAY = date(2026, 11, 23)
DEPARTMENT = "socialforvaltningen"
NEEDS = Needs("r1", DEPARTMENT, areas=("boende",), panel_size=1)


def _person(pid: str, *engaged_on: str) -> Candidate:
    """A ready, consenting person with the wanted experience; only the engagement dates vary."""
    return Candidate(
        pid, tags=frozenset({"boende"}), consent_department=True, consent_matching=True, confidentiality=True,
        training=True, engagements=tuple((DEPARTMENT, on) for on in engaged_on),
    )


def _proposed(*people: Candidate, seats: int = 1) -> list[str]:
    panel = ranking.propose(list(people), NEEDS, Limit(), TODAY, bank_size=len(people), size=seats)
    return [pick.candidate.participant_id for pick in panel.picks]


def test_longest_wait_wins_among_people_engaged_within_the_year() -> None:
    # Both took part once in the last twelve months, so both carry the same rotation penalty.
    recent = _person("p1", "2026-10-01")
    waiting = _person("p2", "2026-01-15")
    assert _proposed(recent, waiting) == ["p2"]
    assert _proposed(waiting, recent) == ["p2"]  # input order does not matter
    assert _proposed(recent, waiting, seats=2) == ["p2", "p1"]


def test_longest_wait_wins_among_people_engaged_long_ago() -> None:
    # Outside the rotation year nobody carries a penalty; the date alone decides.
    last_year = _person("p1", "2025-06-01")
    years_ago = _person("p2", "2023-03-10")
    several = _person("p0", "2022-01-01", "2025-09-30")  # waited since its LAST engagement
    assert _proposed(last_year, years_ago) == ["p2"]
    assert _proposed(several, last_year, years_ago, seats=3) == ["p2", "p1", "p0"]


def test_never_engaged_has_waited_longest() -> None:
    veteran = _person("p1", "2021-05-05")
    newcomer = _person("p9")
    assert _proposed(veteran, newcomer) == ["p9"]
