"""Numbers a projection stores have maximums (issue 17, finding 11): a budget of 1e20 öre a month
used to be accepted and then overflowed the dashboards' BIGINT column, dead-lettering the event."""

from __future__ import annotations

from services.participants.schemas import MAX_BUDGET_ORE_PER_MONTH
from services.participants.service import Participants
from shared.config import Settings
from tests.conftest import bearer

SETTINGS = {
    "participation_limit": {"max_engagements": 4, "period_days": 365},
    "rates": {"hour_ore": 28600, "half_day_ore": 103100, "full_day_ore": 206300, "valid_from": "2026-01-01"},
    "retention": {"inactive_profile_months": 24},
}
BIGINT_MAX = 2**63 - 1


def test_budget_has_a_maximum_that_fits_every_stored_sum(sqlite_settings: Settings, serve, token, http) -> None:
    service = Participants.build(sqlite_settings)
    url = serve(service.http())
    admin = bearer(token(role="administrator", departments=()))
    target = f"{url}/departments/socialforvaltningen/settings"
    before = service.app.max_position()
    for budget in (10**20, MAX_BUDGET_ORE_PER_MONTH + 1, -1):
        r = http.put(target, headers=admin, json={**SETTINGS, "budget_ore_per_month": budget})
        assert r.status_code == 422, r.text
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert r.json()["field"] == "budget_ore_per_month"
    assert service.app.max_position() == before  # nothing stored
    # A hundred years of the largest budget still fits the projections' 64-bit columns.
    assert MAX_BUDGET_ORE_PER_MONTH * 12 * 100 < BIGINT_MAX
    r = http.put(target, headers=admin, json={**SETTINGS, "budget_ore_per_month": MAX_BUDGET_ORE_PER_MONTH})
    assert r.status_code == 200, r.text
    assert r.json()["budget_ore_per_month"] == MAX_BUDGET_ORE_PER_MONTH
    service.close()
