"""The recruitments list (``GET /recruitments``) and its read model, on both backends.

The list answers from the ``RecruitmentList`` read model (fed from ``recruitments.events``), a
page at a time (shared/pagination.py), filtered by department and stage, scoped as one
recruitment is: staff see their departments', a participant the recruitments whose panel they
sit on. The read model must equal what the stored events say, and a replay from offset zero must
rebuild it row for row. A recruitment's long stream loads from snapshots.
"""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID, uuid4

from services.recruitments.domain import Recruitment
from services.recruitments.projections import ListScope, RecruitmentList, RecruitmentScoring
from shared.auth import Principal
from shared.config import Settings
from shared.consumer import ConsumerLoop
from shared.db import Database
from tests.recruitments.conftest import DEPARTMENT, SCORECARD, Rig

OTHER = "arbetsmarknadsforvaltningen"
PLANNED = {"advert_on": None, "interviews_from": None, "interviews_to": None, "decision_by": None}


def staff(sub: str, role: str = "coordinator", *departments: str) -> Principal:
    return Principal(sub=sub, roles=frozenset({role}), departments=frozenset(departments or (DEPARTMENT,)))


def open_in(rig: Rig, department: str, position: str = "Socialsekreterare") -> str:
    """Open a recruitment through the application (as the API does, without HTTP)."""
    rid = rig.service.app.open_recruitment(
        staff("coord-anna", "coordinator", department), department=department, unit="enhet",
        position=position, hiring_manager=rig.manager, interview_format="joint", planned=PLANNED,
        scorecard=SCORECARD, needs={"experience_areas": [], "languages": [], "panel_size": 2},
    )
    return str(rid)


def walk(rig: Rig, who: dict[str, str], limit: int, between: Any = None, **filters: str | list[str]) -> list[str]:
    """Every id the list serves page by page; ``between`` runs after each page (writes meanwhile)."""
    served: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **filters, **({"cursor": cursor} if cursor else {})}
        r = rig.http.get(f"{rig.url}/recruitments", params=params, headers=who)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        served += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return served
        if between is not None:
            between()


def test_pages_while_recruitments_are_opened_and_move_on(settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(settings)
    present = [open_in(rig, DEPARTMENT) for _ in range(7)]
    rig.settle()
    opened_meanwhile: list[str] = []

    def writes() -> None:
        # New recruitments, and old ones changing stage, while the client is between pages.
        opened_meanwhile.append(open_in(rig, DEPARTMENT))
        rig.service.app.publish_advert(staff("coord-anna"), UUID(present[len(opened_meanwhile)]), "Annons")
        rig.settle()

    served = walk(rig, rig.coord, 3, writes)
    assert len(served) == len(set(served)), "an item served twice"
    assert set(present) <= set(served), "an item present at the start was missed"
    assert served[: len(present)] == present  # the order they were opened in
    # A new recruitment sorts after every earlier one, so the walk ends with what it met.
    assert set(served) - set(present) <= set(opened_meanwhile)


def test_newest_first_pages_back_through_history_while_recruitments_are_opened(settings: Settings,
                                                                               make_rig) -> None:
    """A service user's past assignments, newest first: paging back never serves one twice or skips
    one that was there, whatever is opened meanwhile (the new ones are newer than the first page)."""
    rig: Rig = make_rig(settings)
    present = [open_in(rig, DEPARTMENT) for _ in range(7)]
    rig.settle()

    def writes() -> None:
        open_in(rig, DEPARTMENT)
        rig.settle()

    served = walk(rig, rig.coord, 3, writes, newest_first="true")
    assert served == present[::-1]


def test_limits_and_cursors_are_checked_naming_the_field(sqlite_settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(sqlite_settings)
    for params, field in (({"limit": 201}, "limit"), ({"limit": 0}, "limit"), ({"limit": "many"}, "limit"),
                          ({"cursor": "%%%"}, "cursor"), ({"cursor": "WzFd"}, "cursor"),  # [1]: one part, not two
                          ({"stage": "hired"}, "stage"), ({"stage": ["decided", "hired"]}, "stage"),
                          ({"newest_first": "maybe"}, "newest_first"), ({"department": "Not A Code"}, "department")):
        r = rig.http.get(f"{rig.url}/recruitments", params=params, headers=rig.coord)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert field in r.text, (params, r.text)
    r = rig.http.get(f"{rig.url}/recruitments", params={"limit": 200}, headers=rig.coord)
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}


def test_filters_and_scope_are_those_of_one_recruitment(settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(settings)
    ours = [open_in(rig, DEPARTMENT) for _ in range(3)]
    theirs = open_in(rig, OTHER)
    app = rig.service.app
    app.publish_advert(staff("coord-anna"), UUID(ours[1]), "Annons")
    app.learn_panel(ours[2], [rig.participants[0]], "matching-ev-1", {"id": "matching", "role": "system"})
    rig.settle()
    admin = rig.tok("administrator", "admin-1", ())
    assert walk(rig, admin, 2) == [*ours, theirs]
    assert walk(rig, admin, 2, department=OTHER) == [theirs]
    assert walk(rig, rig.coord, 50) == ours  # a coordinator of one department sees only its own
    assert walk(rig, rig.coord, 50, department=OTHER) == []
    assert walk(rig, rig.coord, 50, stage="advertised") == [ours[1]]
    assert walk(rig, rig.coord, 50, stage="interviewing") == [ours[2]]
    assert walk(rig, rig.coord, 50, stage="drafting") == [ours[0]]
    assert walk(rig, rig.coord, 1, stage=["advertised", "interviewing"]) == [ours[1], ours[2]]  # several stages
    assert walk(rig, admin, 2, newest_first="true") == [theirs, *reversed(ours)]
    assert walk(rig, admin, 1, newest_first="true", stage=["drafting", "interviewing"]) == [theirs, ours[2], ours[0]]
    assert walk(rig, rig.p(0), 50) == [ours[2]]  # a participant: only the panel they sit on
    assert walk(rig, rig.p(0), 50, stage="drafting") == []
    others = str(app.open_recruitment(
        staff("coord-anna"), department=DEPARTMENT, unit="enhet", position="Kurator", hiring_manager="manager-cy",
        interview_format="joint", planned=PLANNED, scorecard=SCORECARD,
        needs={"experience_areas": [], "languages": [], "panel_size": 2}))
    rig.settle()
    assert walk(rig, rig.coord, 2, hiring_manager=rig.manager) == ours  # what a hiring manager's start page asks
    assert walk(rig, rig.coord, 2, hiring_manager="manager-cy") == [others]
    assert walk(rig, rig.p(1), 50) == []
    assert rig.http.get(f"{rig.url}/recruitments", headers=rig.tok("auditor", "aud-1")).status_code == 403
    # Every item is what the one-recruitment view says of it.
    listed = rig.get("/recruitments", rig.coord)["items"]
    assert len(listed) == 4
    for item in listed:
        view = rig.get(f"/recruitments/{item['id']}", rig.coord)
        assert item == {k: view[k] for k in item}


def listed(db: Database) -> dict[str, dict[str, Any]]:
    """Every row of the list read model, as an administrator's list shows it."""
    page = RecruitmentList.page(db, ListScope(all_departments=True), limit=200)
    assert page["next_cursor"] is None
    return {item["id"]: item for item in page["items"]}


def test_the_read_model_equals_the_events_and_replays_row_for_row(settings: Settings, make_rig) -> None:
    """Property-style: random histories of a few recruitments; the list equals what each
    recruitment's stored events rebuild, and a fresh replay from offset zero equals the live one."""
    rig: Rig = make_rig(settings)
    app = rig.service.app
    member = Principal(sub=rig.participants[0], roles=frozenset({"participant"}))
    scores = {a["key"]: 4 for a in SCORECARD}
    for seed in range(3):
        chance = random.Random(seed)
        rids = [open_in(rig, chance.choice([DEPARTMENT, OTHER])) for _ in range(3)]
        for _ in range(40):
            rid = chance.choice(rids)
            rec: Recruitment = app.recruitment(UUID(rid))
            step = chance.choices(["publish", "apply", "panel", "decide", "close"], weights=[3, 3, 2, 3, 1])[0]
            who = staff("coord-anna", "coordinator", rec.department or DEPARTMENT)
            if rec.stage in ("decided", "closed"):
                continue
            if step == "publish":
                app.publish_advert(who, UUID(rid), f"Annons {seed}")
            elif step == "apply" and rec.advert_version:
                app.receive_application(who, UUID(rid), ats_ref=str(uuid4()), name=None, email=None, phone=None,
                                        protected_identity=True)
            elif step == "panel":
                app.learn_panel(rid, [rig.participants[0]], str(uuid4()), {"id": "matching", "role": "system"})
            elif step == "decide" and rec.panel and rec.candidates:
                cid = next(iter(rec.candidates))
                if member.sub not in rec.candidate(cid)["conflicts"]:
                    app.declare_conflict(member, UUID(rid), cid, False)
                    app.score(member, UUID(rid), cid, scores, "hire", None)
                app.decide(staff(rig.manager, "hiring_manager", rec.department or DEPARTMENT), UUID(rid), cid,
                           "motivering", None)
            elif step == "close":
                app.close_recruitment(who, UUID(rid), "cancelled", "budget")
        rig.settle()
        live = listed(rig.service.db)
        for rid, item in live.items():
            assert item == app.overview(app.recruitment(UUID(rid))), rid
        # The board's "scores missing" count, from its own read model, is what the aggregate says.
        admin = Principal(sub="admin-1", roles=frozenset({"administrator"}))
        for item in RecruitmentScoring.annotate(rig.service.db, [dict(i) for i in live.values()]):
            assert item["unscored"] == app.view(admin, UUID(item["id"]))["unscored"], item["id"]
    assert {item["stage"] for item in live.values()} >= {"interviewing", "decided", "closed"}  # histories vary
    fresh = Database(settings, "recruitments_list_replay")
    try:
        ConsumerLoop(settings, fresh, RecruitmentList()).catch_up()
        assert listed(fresh) == live
        ConsumerLoop(settings, fresh, RecruitmentScoring()).catch_up()
        assert RecruitmentScoring.annotate(fresh, list(live.values())) == RecruitmentScoring.annotate(
            rig.service.db, [dict(i) for i in live.values()])
    finally:
        fresh.close()


def test_a_long_recruitment_loads_from_its_snapshot(settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(settings)
    app = rig.service.app
    rid = UUID(open_in(rig, DEPARTMENT))
    for version in range(45):
        app.publish_advert(staff("coord-anna"), rid, f"Annons version {version + 1}")
    snapshot = app.snapshots.get(rid, desc=True, limit=1) if app.snapshots else None
    taken = list(snapshot or [])
    assert taken and taken[0].originator_version == 40  # every 20th event
    loaded = app.recruitment(rid)
    rebuilt: Any = None
    for stored in app.events.get(rid):
        rebuilt = stored.mutate(rebuilt)
    assert loaded.version == rebuilt.version == 46
    assert {k: v for k, v in vars(loaded).items() if k != "_pending_events"} == {
        k: v for k, v in vars(rebuilt).items() if k != "_pending_events"}
    assert loaded.published_advert["text"] == "Annons version 45"


def test_candidates_page_in_the_order_received_while_applications_arrive(sqlite_settings: Settings,
                                                                          make_rig) -> None:
    rig: Rig = make_rig(sqlite_settings)
    rid = open_in(rig, DEPARTMENT)
    rig.publish(rid)
    present = [rig.apply(rid, f"ats-{i}", f"Sökande {i}") for i in range(5)]
    served: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = rig.http.get(f"{rig.url}/recruitments/{rid}/candidates", params=params, headers=rig.coord)
        assert r.status_code == 200, r.text
        served += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
        rig.apply(rid, f"ats-late-{len(served)}", "Sen sökande")  # arrives between pages
    assert len(served) == len(set(served)) and served[:5] == present
    assert rig.http.get(f"{rig.url}/recruitments/{rid}/candidates", params={"limit": 201},
                        headers=rig.coord).status_code == 422


def test_the_list_says_how_many_candidates_still_lack_scores(sqlite_settings: Settings, make_rig) -> None:
    """The staff board's "scores missing" comes from the list (a read model), not from one
    request per candidate: a candidate lacks scores until every seat of the panel has scored."""
    rig: Rig = make_rig(sqlite_settings)
    rid = rig.open()
    rig.publish(rid)
    rig.assign_panel(rid, rig.participants[:2])
    first, second = rig.apply(rid, "ats-1", "Alva"), rig.apply(rid, "ats-2", "Omar")

    def unscored() -> tuple[int, int]:
        rig.settle()
        listed = next(i for i in rig.get("/recruitments", rig.coord)["items"] if i["id"] == rid)
        return listed["unscored"], rig.get(f"/recruitments/{rid}", rig.coord)["unscored"]

    assert unscored() == (2, 2)
    rig.score(rid, first, rig.p(0), (4, 4, 4), "hire")
    assert unscored() == (2, 2)  # one seat of two has scored
    rig.score(rid, first, rig.p(1), (3, 4, 5), "hire")
    assert unscored() == (1, 1)
    rig.score(rid, second, rig.p(0), (2, 2, 2), "no_hire")
    rig.score(rid, second, rig.p(1), (2, 3, 2), "no_hire")
    assert unscored() == (0, 0)
