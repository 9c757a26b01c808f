"""The hiring manager's workspace and the applicant's page, in real headless Chromium against
``delaktig up``: a hiring manager opens a recruitment, co-writes the advert and the text on how
service users take part (who wrote what shown), publishes; the public advert page is reachable
signed out on a phone and says how users take part; the manager scores, reads who said what
beside their own assessment and decides against the users — refused without a reason, accepted
with one — shares the outcome, which the panel member sees; a keyboard-only journey; a hiring
manager of one department sees nothing of another's. axe-core on every page visited."""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.web.system import MANAGER, SOC, System, eventually
from tests.web.test_browser_journeys import AXE, CHROMIUM, PHONE, Audited, tab_to
from tests.web.test_staff_workspace import (  # noqa: F401  (fixtures shared with the staff workspace)
    OTHER,
    browser,
    invited,
    other_department,
    signed_in_page,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed: run `make browser`"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed: run `make browser`"),
]
OTHER_MANAGER = "test-manager-amf"
HOW = "Två brukare med erfarenhet av boende läser ansökningarna och intervjuar. Du planerar stödet med den boende."
DASH = "\N{EN DASH}"  # what a page shows for "nothing yet"
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def managers(system: System, other_department: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """The other department's hiring manager, known to the identity provider."""
    people = json.loads(system.people_file.read_text())
    if OTHER_MANAGER not in {p["sub"] for p in people}:
        people.append({"sub": OTHER_MANAGER, "name": "Chef Amf", "roles": ["hiring_manager"], "departments": [OTHER]})
        system.people_file.write_text(json.dumps(people))
    return {"own": MANAGER, "other": OTHER_MANAGER}


def open_by_form(page: Any, position: str, unit: str) -> str:
    """Fill the opening form with the mouse-free defaults a test needs; the recruitment's id."""
    page.get_by_label("Tjänst", exact=True).fill(position)
    page.get_by_label("Enhet", exact=True).fill(unit)
    page.get_by_label("Delad: brukarna träffar kandidaten i en egen intervju").check()
    page.get_by_label("Fler fokusområden, ett per rad").fill("Bemötande och respekt\nSamarbete")
    page.get_by_label("2", exact=True).check()
    page.get_by_label("Intervjuer från (frivilligt)").fill((datetime.now(UTC).date() + timedelta(days=10)).isoformat())
    page.get_by_role("button", name="Öppna rekryteringen").click()
    page.wait_for_url(re.compile(r".*/chef/rekryteringar/[0-9a-f-]{36}$"))
    return str(page.url.rsplit("/", 1)[1])


def test_hiring_manager_opens_co_writes_publishes_and_decides_against_the_users_with_a_reason(
        system: System, browser: Any, managers: dict[str, str], screenshots: Path | None) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context, page = signed_in_page(system, browser, MANAGER)
    audited = Audited(page, screenshots)
    page.get_by_test_id("hiring-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mina rekryteringar")
    audited.check("chef-start")
    page.get_by_test_id("open-recruitment").click()
    page.get_by_role("button", name="Öppna rekryteringen").click()
    expect(page.locator(".error-summary")).to_contain_text("Skriv vilken tjänst det gäller")
    expect(page.locator(".error-summary")).to_contain_text("Skriv två till fem fokusområden")
    audited.check()
    rid = open_by_form(page, "Personlig assistent, LSS", "lss")
    expect(page.get_by_role("status")).to_contain_text("Du är chef för den")
    view = system.call("GET", "recruitments", f"/recruitments/{rid}", system.manager())
    assert view["hiring_manager"] == MANAGER and view["interview_format"] == "split"
    assert [a["key"] for a in view["scorecard"]] == ["motivation_user_participation", "bemotande_och_respekt",
                                                     "samarbete"]
    assert view["needs"]["panel_size"] == 2
    audited.check("chef-rekrytering")

    # Co-writing: the manager's contributions, and a service user's once the panel is seated.
    page.get_by_label("Ditt bidrag: Så är brukarna med, och vad brukarstyrt arbete betyder i jobbet").fill(HOW)
    page.get_by_test_id("text-participation").get_by_role("button", name="Lägg till bidraget").click()
    expect(page.get_by_test_id("text-participation")).to_contain_text("Skrivet av: dig")
    page.get_by_label("Ditt bidrag: Annons").fill("Vi söker en boendestödjare som vill arbeta brukarstyrt.")
    page.get_by_test_id("text-advert").get_by_role("button", name="Lägg till bidraget").click()
    expect(page.get_by_test_id("text-advert")).to_contain_text("Vi söker en boendestödjare")
    audited.check()
    # Publishing: both texts come prefilled from the contributions.
    expect(page.get_by_label("Så är brukarna med (visas med annonsen)")).to_have_value(HOW)
    page.get_by_role("button", name="Publicera annonsen").click()
    expect(page.get_by_role("status")).to_contain_text("Annonsen är publicerad (version 1)")
    audited.check()
    context.close()

    # The applicant's page: signed out, on a phone, it says how service users take part.
    public = browser.new_context(viewport=PHONE, locale="sv-SE")
    visitor = public.new_page()
    seen = Audited(visitor, screenshots)

    def listed() -> bool:
        visitor.goto(system.web + "/annonser")
        return "Personlig assistent, LSS" in visitor.locator("main").inner_text()

    eventually(listed, timeout=60)  # the public read model learns the advert over Kafka
    seen.check("annonser")
    visitor.get_by_role("link", name="Personlig assistent, LSS").click()
    how = visitor.get_by_test_id("how-users-take-part")
    expect(how).to_contain_text("Planen är att 2 brukare sitter i intervjupanelen.")
    expect(how).to_contain_text("Du träffar brukarna i en egen intervju")
    expect(visitor.get_by_test_id("participation-text")).to_have_text(HOW)
    # Only the manager wrote so far: the page does not claim the users did.
    expect(how).not_to_contain_text("har varit med och skrivit")
    expect(visitor.get_by_test_id("advert-text")).to_contain_text("Vi söker en boendestödjare")
    expect(visitor.get_by_role("button", name="Logga ut")).to_have_count(0)
    expect(visitor.locator("main")).not_to_contain_text(MANAGER)
    assert visitor.evaluate(FITS)
    seen.check("annons")
    visitor.get_by_role("link", name="In English").click()
    expect(visitor.get_by_role("heading", level=2).first).to_have_text(
        "How service users take part in this recruitment")
    seen.check()
    public.close()

    # Applications arrive from the ATS; the coordinator seats two service users (with reasons:
    # the availability rule is soft), who co-write, accept and recommend not hiring Dana.
    base = f"/recruitments/{rid}"
    dana = system.call("POST", "recruitments", base + "/applications", system.coordinator(),
                       {"ats_ref": "ATS-HM-1", "name": "Dana Holm", "email": "dana@example.net"})["id"]
    system.call("POST", "recruitments", base + "/applications", system.coordinator(),
                {"ats_ref": "ATS-HM-2", "name": "Elis Strand", "email": "elis@example.net"})
    picks = eventually(lambda: seatable(system, rid)[:2] if len(seatable(system, rid)) >= 2 else None, timeout=90)
    system.call("POST", "matching", base + "/panel", system.coordinator(),
                {"members": picks, "overrides": [{"participant_id": p, "reason": "kan på distans"} for p in picks]})
    panel = eventually(lambda: system.call("GET", "recruitments", base, system.coordinator())["panel"])
    for n, pid in enumerate(panel):
        me = system.as_participant(pid)
        eventually(functools.partial(invited, system, base, me))
        system.call("POST", "matching", base + "/invitation/acceptance", me)
        if n == 0:
            system.call("POST", "recruitments", base + "/candidates/" + dana + "/assessments", me,
                        {"shortlist": "yes", "motivation": "Brevet visar respekt"})
            system.call("POST", "recruitments", base + "/participation-text/contributions", me,
                        {"text": "Vi i panelen har själva fått ekonomiskt bistånd."})
        system.call("POST", "recruitments", f"{base}/candidates/{dana}/conflicts", me, {"has_conflict": False})
        system.call("POST", "recruitments", f"{base}/candidates/{dana}/scores", me,
                    {"scores": {a["key"]: 2 for a in view["scorecard"]}, "recommendation": "no_hire"})

    context, page = signed_in_page(system, browser, MANAGER)
    audited = Audited(page, screenshots)
    page.goto(f"{system.web}/chef/rekryteringar/{rid}")
    written = page.get_by_test_id("text-participation").locator("li", has_text="Vi i panelen")
    expect(written).to_contain_text("Skrivet av: en brukare")  # who wrote what, pseudonymously
    assessed = f"en brukare: Gå vidare {DASH} Brevet visar respekt"  # who assessed, how and why
    expect(page.get_by_test_id(f"candidate-{dana}")).to_contain_text(assessed)
    audited.check()
    page.get_by_test_id(f"candidate-{dana}").get_by_role("link", name="Dana Holm").click()
    # A split interview: the users met Dana on their own; what they said is there before the
    # manager's own assessment, which then stands beside it.
    expect(page.get_by_test_id("users-recommendation")).to_have_text("Anställ inte")
    expect(page.get_by_test_id("own-recommendation")).to_have_text(DASH)
    page.get_by_role("button", name="Skicka bedömning").click()
    expect(page.locator(".error-summary")).to_contain_text("Bekräfta att du inte känner kandidaten")
    audited.check()
    page.get_by_label("Jag känner inte kandidaten (inget jäv)").check()
    for fieldset in page.locator("fieldset").filter(has=page.get_by_label("5", exact=True)).all():
        fieldset.get_by_label("5", exact=True).check()
    page.get_by_label("Anställ", exact=True).check()
    page.get_by_role("button", name="Skicka bedömning").click()
    expect(page.get_by_role("status")).to_contain_text("Din bedömning är sparad")
    expect(page.get_by_test_id("users-recommendation")).to_have_text("Anställ inte")
    expect(page.get_by_test_id("own-recommendation")).to_have_text("Anställ")
    expect(page.get_by_test_id("who-said-what")).to_contain_text("Du")
    audited.check("chef-vem-sa-vad")

    # Against the users: refused without a reason (nothing decided), accepted with one.
    page.get_by_label("Motivering").fill("Lång erfarenhet av boendestöd")
    page.get_by_role("button", name="Fatta beslut").click()
    expect(page.locator(".error-summary")).to_contain_text("Du går emot brukarnas rekommendation")
    audited.check()
    assert system.call("GET", "recruitments", base, system.manager()).get("decision") is None
    page.get_by_label("Skäl att gå emot brukarnas rekommendation").fill(
        "Referenser visar ett brukarnära arbetssätt som inte kom fram i intervjun")
    page.get_by_role("button", name="Fatta beslut").click()
    expect(page.get_by_role("status")).to_contain_text("Beslutet är sparat")
    expect(page.get_by_test_id("decision")).to_contain_text("Referenser visar")
    audited.check()
    page.get_by_test_id("share").click()
    expect(page.get_by_role("status")).to_contain_text(f"delat med {len(panel)} personer")
    # Feedback (effect goal 2), and the follow-ups with the day each falls due.
    page.get_by_role("group", name="Hur mycket tillförde brukarnas medverkan?").get_by_label("4", exact=True).check()
    page.get_by_label("Berätta med egna ord").fill("Brukarnas frågor visade hur kandidaten bemöter människor")
    page.get_by_role("button", name="Skicka återkopplingen").click()
    expect(page.get_by_test_id("manager-feedback")).to_contain_text("4/5")
    expect(page.get_by_test_id("follow-ups")).to_contain_text("6 månader: dags från")
    audited.check("chef-efter-beslut")
    # The 2:4 extract for the applicant who was not hired: printable, no other applicant's data.
    page.goto(f"{system.web}/chef/rekryteringar/{rid}")
    page.get_by_role("link", name="Elis Strand").click()
    page.get_by_test_id("extract-link").click()
    extract = page.get_by_test_id("extract")
    expect(extract).to_contain_text("diskrimineringslagen (2008:567) 2 kap. 4 §")
    expect(extract).not_to_contain_text("Dana")
    page.emulate_media(media="print")
    assert not page.locator("header").is_visible() and not page.locator("nav").is_visible()
    page.emulate_media(media="screen")
    audited.check("chef-utdrag")
    context.close()

    # A panel member sees the outcome, and why the manager went against them, on their own page.
    context = browser.new_context(locale="sv-SE")
    member = context.new_page()
    member.goto(system.web + "/logga-in")
    member.get_by_role("button", name="Logga in").click()
    member.locator(f'button[data-sub="{panel[0]}"]').click()
    member.wait_for_url(system.web + "/mina-uppdrag")
    member.goto(f"{system.web}/uppdrag/{rid}")
    expect(member.locator("main")).to_contain_text("Chefen anställde Dana Holm")
    expect(member.locator("main")).to_contain_text("Referenser visar")
    Audited(member, None).check()
    context.close()
    # The advert is no longer open to applicants once the decision is made.
    eventually(lambda: system.http.get(system.url("recruitments", f"/adverts/{rid}"), timeout=10).status_code == 404)


def seatable(system: System, rid: str) -> list[str]:
    """People matching explains for this recruitment (it learns of it over Kafka) whom no hard
    rule keeps off the panel; each is seated with a reason in case a soft rule applies."""
    found = []
    for pid in system.participants.values():
        r = system.http.get(system.url("matching", f"/recruitments/{rid}/candidates/{pid}/explanation"), timeout=10,
                            headers={"Authorization": f"Bearer {system.coordinator()}"})
        if r.status_code == 200 and not any(e["severity"] == "hard" for e in r.json()["excluded_by"]):
            found.append(pid)
    return found


def test_hiring_manager_opens_and_co_writes_by_keyboard_alone(
        system: System, browser: Any, managers: dict[str, str]) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context, page = signed_in_page(system, browser, MANAGER, viewport=PHONE)
    audited = Audited(page, None)
    tab_to(page, "Anställa")
    page.keyboard.press("Enter")
    page.wait_for_url(system.web + "/chef")
    audited.check()
    assert page.evaluate(FITS)
    tab_to(page, "Öppna en ny rekrytering")
    page.keyboard.press("Enter")
    page.wait_for_url(system.web + "/chef/ny")
    tab_to(page, "Tjänst")
    page.keyboard.type("Kurator, skolan")
    tab_to(page, "Enhet")
    page.keyboard.type("elevhalsa")
    tab_to(page, "Tillsammans: brukarna och du")
    page.keyboard.press("Space")
    tab_to(page, "Fler fokusområden")
    page.keyboard.type("Lyhördhet")
    page.keyboard.press("Enter")  # a new line in the text area, not a submit
    page.keyboard.type("Samarbete")
    tab_to(page, "Öppna rekryteringen")
    assert page.evaluate(FITS)
    audited.check()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/chef/rekryteringar/[0-9a-f-]{36}$"))
    rid = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("status")).to_contain_text("Du är chef för den")
    tab_to(page, "Ditt bidrag: Så är brukarna med")
    page.keyboard.type("Brukare sitter med i intervjun.")
    page.keyboard.press("Tab")  # to the section's own button
    page.keyboard.press("Space")
    expect(page.get_by_test_id("text-participation")).to_contain_text("Brukare sitter med i intervjun.")
    assert page.evaluate(FITS)
    audited.check()
    view = system.call("GET", "recruitments", f"/recruitments/{rid}", system.manager())
    assert view["interview_format"] == "joint" and [a["label"] for a in view["scorecard"]][1:] == [
        "Lyhördhet", "Samarbete"]
    assert view["participation_text"][0]["by"] == {"id": MANAGER, "role": "hiring_manager"}
    context.close()


def test_a_hiring_manager_of_one_department_sees_nothing_of_another(
        system: System, browser: Any, managers: dict[str, str], other_department: dict[str, str]) -> None:  # noqa: F811
    from playwright.sync_api import expect

    mine = [r for r in system.call("GET", "recruitments", "/recruitments", system.manager())["items"]]
    assert mine, "the other journeys open recruitments in the manager's department"
    rid, cid = system.recruitment, system.candidates[0]
    context, page = signed_in_page(system, browser, OTHER_MANAGER)
    audited = Audited(page, None)
    page.goto(system.web + "/chef")
    # Their own department's recruitment (they are its manager), none of the other department's.
    expect(page.get_by_test_id("my-recruitments")).to_contain_text("Arbetskonsulent, jobbtorget")
    for r in mine:
        expect(page.locator("main")).not_to_contain_text(r["position"])
    audited.check()
    for path in (f"/chef/rekryteringar/{rid}", f"/chef/rekryteringar/{rid}/kandidater/{cid}",
                 f"/chef/rekryteringar/{rid}/kandidater/{cid}/utdrag"):
        response = page.goto(system.web + path)
        assert response is not None and response.status in (403, 404), (path, response and response.status)
        expect(page.locator("main")).not_to_contain_text("Socialsekreterare")
        expect(page.locator("main")).not_to_contain_text("Emma Sundberg")
        audited.check()
    # Opening one in a department that is not theirs is refused by the page and by the service.
    page.goto(system.web + "/chef/ny")
    expect(page.get_by_label("Förvaltning").locator("option")).to_have_count(1)
    expect(page.get_by_label("Förvaltning").locator("option")).to_have_text(OTHER)
    before = system.call("GET", "recruitments", "/recruitments", system.admin())["items"]
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    refused = page.request.post(system.web + "/chef/ny", form={
        "csrf_token": csrf or "", "position": "Fel förvaltning", "unit": "x", "department": SOC,
        "interview_format": "joint", "attributes": "A\nB", "panel_size": "2", "languages": "sv"})
    assert refused.status == 400
    unsigned = page.request.post(system.web + "/chef/ny", form={
        "position": "Utan token", "unit": "x", "department": OTHER, "interview_format": "joint",
        "attributes": "A\nB", "panel_size": "2", "languages": "sv"})
    assert unsigned.status == 400  # no CSRF token: refused before anything is sent to the service
    assert len(system.call("GET", "recruitments", "/recruitments", system.admin())["items"]) == len(before)
    context.close()
