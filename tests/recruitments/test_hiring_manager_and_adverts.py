"""The hiring manager opens their own recruitments; the text on how service users take part is
co-written and recorded like the advert; published adverts are public (no sign-in, nothing
personal, paginated). Over real HTTP and the real broker, on both backends."""

from __future__ import annotations

from typing import Any

from shared.config import Settings
from tests.recruitments.conftest import DEPARTMENT, SCORECARD, Rig

OTHER = "arbetsmarknadsforvaltningen"
HOW_USERS_TAKE_PART = ("Tre personer med egen erfarenhet av ekonomiskt bistånd skriver annonsen med oss och "
                       "sitter med på intervjun. I jobbet planerar du insatser tillsammans med den du möter.")


def opening(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"department": DEPARTMENT, "unit": "ekonomiskt-bistand", "position": "Socialsekreterare",
                            "interview_format": "split", "scorecard": SCORECARD,
                            "planned": {"interviews_from": "2027-01-10", "interviews_to": "2027-01-12"},
                            "needs": {"experience_areas": ["economic_assistance"], "languages": ["sv"],
                                      "panel_size": 2}}
    body.update(changes)
    return body


def publish(rig: Rig, rid: str, text: str, participation: str | None = HOW_USERS_TAKE_PART) -> None:
    rig.post(f"/recruitments/{rid}/advert/publish", {"text": text, "participation_text": participation}, rig.hm, 200)


def public(rig: Rig, path: str, status: int = 200, **params: Any) -> Any:
    """A request with no token at all, as an applicant's browser sends it."""
    r = rig.http.get(f"{rig.url}{path}", params=params or None)
    assert r.status_code == status, (path, r.status_code, r.text)
    return r.json()


def caught_up(rig: Rig) -> None:
    rig.service.relay().drain()
    rig.service.public_adverts().catch_up()


def test_a_hiring_manager_opens_a_recruitment_of_their_department_as_its_manager(settings: Settings,
                                                                                make_rig) -> None:
    rig: Rig = make_rig(settings)
    rid = rig.post("/recruitments", opening(), rig.hm, 201)["id"]
    view = rig.get(f"/recruitments/{rid}", rig.hm)
    assert view["hiring_manager"] == rig.manager
    assert view["interview_format"] == "split" and [a["key"] for a in view["scorecard"]] == [
        a["key"] for a in SCORECARD]
    # So the decision is theirs to make (the domain's rule: only the recruitment's hiring manager).
    assert view["coordinator"] == ""  # nobody named yet; a coordinator still sees it in the department
    assert rig.get(f"/recruitments/{rid}", rig.coord)["id"] == rid

    before = rig.service.app.max_position()
    # Not for somebody else, not in another department, not without a valid scorecard.
    problem = rig.refused("/recruitments", opening(hiring_manager="manager-someone-else"), rig.hm, 422,
                          "own hiring manager")
    assert problem["field"] == "hiring_manager"
    rig.refused("/recruitments", opening(department=OTHER), rig.hm, 403, "")
    problem = rig.refused("/recruitments", opening(scorecard=SCORECARD[:2]), rig.hm, 422, "3 to 6")
    assert "scorecard" in problem["field"]
    # A coordinator still names the manager.
    problem = rig.refused("/recruitments", opening(), rig.coord, 422, "hiring manager")
    assert problem["field"] == "hiring_manager"
    assert rig.service.app.max_position() == before  # no refusal stored anything


def test_how_users_take_part_is_co_written_recorded_and_public_with_the_advert(settings: Settings,
                                                                              make_rig) -> None:
    rig: Rig = make_rig(settings)
    rid = rig.open()
    base = f"/recruitments/{rid}"
    rig.assign_panel(rid)
    rig.post(f"{base}/participation-text/contributions", {"text": "Vi brukare läser alla ansökningar."},
             rig.p(0), 201)
    rig.post(f"{base}/participation-text/contributions", {"text": "Du arbetar med brukarråd varje månad."},
             rig.hm, 201)
    view = rig.get(base, rig.coord)
    assert [(c["by"], c["text"]) for c in view["participation_text"]] == [
        ({"id": rig.participants[0], "role": "participant"}, "Vi brukare läser alla ansökningar."),
        ({"id": rig.manager, "role": "hiring_manager"}, "Du arbetar med brukarråd varje månad.")]
    assert view["published_participation"] is None
    caught_up(rig)  # nothing is public before the advert is published
    assert public(rig, "/adverts")["items"] == []
    public(rig, f"/adverts/{rid}", 404)

    publish(rig, rid, "Vi söker en socialsekreterare till ekonomiskt bistånd.")
    assert rig.get(base, rig.coord)["published_participation"]["text"] == HOW_USERS_TAKE_PART
    alva = rig.apply(rid, "varbi-1", "Alva Berg")
    caught_up(rig)
    advert = public(rig, f"/adverts/{rid}")
    assert advert["advert_text"] == "Vi söker en socialsekreterare till ekonomiskt bistånd."
    assert advert["participation_text"] == HOW_USERS_TAKE_PART
    assert (advert["position"], advert["unit"], advert["department"]) == (
        "Socialsekreterare", "ekonomiskt-bistand", DEPARTMENT)
    assert advert["interview_format"] == "joint" and advert["users_on_panel"] == 3
    assert advert["users_wrote"] is True  # a panel member's contribution is recorded
    listed = public(rig, "/adverts")
    assert [a["id"] for a in listed["items"]] == [rid] and listed["next_cursor"] is None
    # Nothing personal: no one's id, name or contact, and not the people who wrote the text.
    everything = str(listed) + str(advert)
    for secret in (rig.manager, rig.coordinator, *rig.participants, alva, "Alva", "example.se"):
        assert secret not in everything, secret

    # Who wrote what reaches the decision-influence record, with the person's own id.
    rig.service.decision_influence().catch_up()
    influence = rig.get(f"{base}/influence", rig.coord)["items"]
    assert ("ParticipationTextContributed", rig.participants[0], "participant") in {
        (i["event_type"], i["actor_id"], i["actor_role"]) for i in influence}

    # Once the decision is made the advert is no longer open to applicants.
    rig.score(rid, alva, rig.p(0), (4, 4, 4), "hire")
    rig.post(f"{base}/decision", {"candidate_id": alva, "motivation": "Panelen var enig"}, rig.hm, 201)
    caught_up(rig)
    public(rig, f"/adverts/{rid}", 404)
    assert public(rig, "/adverts")["items"] == []


def test_the_participation_text_is_published_with_the_advert_or_not_at_all(settings: Settings,
                                                                          make_rig) -> None:
    rig: Rig = make_rig(settings)
    rid = rig.open()
    base = f"/recruitments/{rid}"
    before = rig.service.app.max_position()
    problem = rig.refused(f"{base}/advert/publish", {"text": "Annons", "participation_text": "x" * 4001},
                          rig.hm, 422, "")
    assert "participation_text" in problem["field"]
    assert rig.service.app.max_position() == before and rig.get(base, rig.hm)["advert_version"] == 0
    rig.refused(f"{base}/participation-text/contributions", {"text": ""}, rig.hm, 422, "")
    other_manager = rig.tok("hiring_manager", "manager-elsewhere", (OTHER,))
    r = rig.http.post(f"{rig.url}{base}/participation-text/contributions", json={"text": "Hej"},
                      headers=other_manager)
    assert r.status_code == 404  # another department's recruitment does not exist for them
    assert rig.service.app.max_position() == before
    # Published without the text, the advert says nothing made up about it.
    rig.publish(rid)
    caught_up(rig)
    published = public(rig, f"/adverts/{rid}")
    assert published["participation_text"] is None and published["users_wrote"] is False


def test_public_adverts_page_by_cursor_while_new_ones_are_published(settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(settings)
    rids = [rig.open() for _ in range(4)]
    for n, rid in enumerate(rids[:3]):
        publish(rig, rid, f"Annons {n}")
    caught_up(rig)
    first = public(rig, "/adverts", limit=2)
    assert [a["id"] for a in first["items"]] == rids[:2]
    assert first["next_cursor"]
    publish(rig, rids[3], "Annons 3")  # written between the pages: appears later, nothing repeats
    caught_up(rig)
    second = public(rig, "/adverts", limit=2, cursor=first["next_cursor"])
    assert [a["id"] for a in second["items"]] == [rids[2], rids[3]]
    assert second["next_cursor"] is None
    assert len(public(rig, "/adverts", limit=200, department=DEPARTMENT)["items"]) == 4
    assert public(rig, "/adverts", department=OTHER)["items"] == []
    for params, field in (({"limit": 201}, "limit"), ({"limit": 0}, "limit"), ({"cursor": "not-a-cursor"}, "cursor"),
                          ({"cursor": "WyJ4Il0"}, "cursor")):
        problem = public(rig, "/adverts", 422, **params)
        assert problem["field"].endswith(field), problem


def test_staff_see_who_assessed_each_application_and_panel_users_do_not(settings: Settings, make_rig) -> None:
    rig: Rig = make_rig(settings)
    rid = rig.open()
    base = f"/recruitments/{rid}"
    rig.assign_panel(rid)
    rig.publish(rid)
    alva = rig.apply(rid, "varbi-1", "Alva Berg")
    rig.post(f"{base}/candidates/{alva}/assessments", {"shortlist": "yes", "motivation": "Lyhörd i brevet"},
             rig.p(1), 200)
    staff = {c["id"]: c for c in rig.get(f"{base}/candidates", rig.hm)["items"]}
    assert staff[alva]["assessments"] == [{"assessor": {"id": rig.participants[1], "role": "participant"},
                                          "shortlist": "yes", "motivation": "Lyhörd i brevet"}]
    panel = {c["id"]: c for c in rig.get(f"{base}/candidates", rig.p(0))["items"]}
    assert "assessments" not in panel[alva]
