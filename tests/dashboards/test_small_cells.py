"""Small-cell protection states its own threshold: no exported cell describes fewer than FIVE
people. The number is written here on purpose (not imported), so loosening or tightening the
constant in the code fails this test."""

from __future__ import annotations

from typing import Any

from services.dashboards.export import protect, summary

FIVE = 5  # the rule agreed with the university's ethics review


def _rows(department: str, month: str, people: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"department": department, "month": month, "participant": f"p{start + i}"} for i in range(people)]


def test_a_month_with_five_people_is_kept_and_one_with_four_loses_its_month() -> None:
    rows = _rows("soc", "2026-03", FIVE) + _rows("soc", "2026-04", FIVE - 1, start=100) + _rows(
        "soc", "2026-05", 1, start=200)
    kept, coarsened, withheld = protect(rows, "participant")
    months = [r["month"] for r in kept]
    assert months.count("2026-03") == FIVE
    assert "2026-04" not in months and "2026-05" not in months
    assert months.count("") == FIVE  # the four and the one together describe five: kept without month
    assert (coarsened, withheld) == (FIVE, 0)


def test_a_department_describing_four_people_is_withheld() -> None:
    rows = _rows("arb", "2026-03", 2) + _rows("arb", "2026-04", 2, start=10) + _rows("soc", "2026-03", FIVE, 20)
    kept, coarsened, withheld = protect(rows, "participant")
    assert {r["department"] for r in kept} == {"soc"}
    assert (coarsened, withheld) == (4, 4)
    # The same person counted twice is still one person.
    twice = _rows("skol", "2026-03", FIVE - 1) + _rows("skol", "2026-03", 1)
    assert protect(twice, "participant")[0] == []


def test_summary_cells_below_five_are_suppressed() -> None:
    def feedback(department: str, n: int) -> list[dict[str, Any]]:
        return [{"department": department, "influence_rating": 4} for _ in range(n)]

    tables: dict[str, list[dict[str, Any]]] = {
        "participant_feedback.csv": feedback("soc", FIVE) + feedback("arb", FIVE - 1),
        "manager_feedback.csv": [],
        "hire_followups.csv": [],
        "recruitments.csv": [],
    }
    cells = {row["department"]: row for row in summary(tables)}
    assert cells["soc"] == {"department": "soc", "measure": "influence_rating_mean", "n": FIVE,
                            "value": "4.00", "status": "ok"}
    assert cells["arb"] == {"department": "arb", "measure": "influence_rating_mean", "n": "", "value": "",
                            "status": "suppressed"}
