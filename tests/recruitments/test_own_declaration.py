"""Each caller reads back their own conflict-of-interest declaration for a candidate (the web's
candidate pages say what it means), and nobody reads another's."""

from __future__ import annotations

from shared.config import Settings
from tests.recruitments.conftest import SCORECARD, Rig


def test_a_hiring_manager_who_knows_the_candidate_steps_aside_and_reads_it_back(settings: Settings,
                                                                              make_rig) -> None:
    rig: Rig = make_rig(settings)
    rid = rig.open("joint")
    base = f"/recruitments/{rid}"
    rig.assign_panel(rid)
    rig.publish(rid)
    cid = rig.apply(rid, "varbi-1", "Alva Berg")
    scores = f"{base}/candidates/{cid}/scores"
    assert rig.get(scores, rig.hm)["own_declaration"] is None  # not declared yet

    rig.post(f"{base}/candidates/{cid}/conflicts", {"has_conflict": True}, rig.hm, 200)
    rig.post(f"{base}/candidates/{cid}/conflicts", {"has_conflict": False}, rig.p(0), 200)
    assert rig.get(scores, rig.hm)["own_declaration"] == {"has_conflict": True, "recused": True}
    assert rig.get(scores, rig.p(0))["own_declaration"] == {"has_conflict": False, "recused": False}
    assert rig.get(scores, rig.p(1))["own_declaration"] is None  # the others' answers are theirs
    assert rig.get(scores, rig.coord)["own_declaration"] is None

    # Stepping aside is what the service then enforces: no score, no panel view, no second answer.
    rig.refused(scores, {"scores": {a["key"]: 3 for a in SCORECARD}, "recommendation": "hire"}, rig.hm, 409,
                "recused")
    rig.get(f"{base}/candidates/{cid}/summary", rig.hm, 403)
    rig.refused(f"{base}/candidates/{cid}/conflicts", {"has_conflict": False}, rig.hm, 409, "already declared")
