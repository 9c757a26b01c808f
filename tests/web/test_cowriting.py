"""Service users co-write from their own pages, and the hiring manager can step aside, in real
headless Chromium against ``delaktig up``: a panel member adds to the advert by keyboard alone on
a phone (the question on its own page, an error summary, "check your answer", a confirmation
saying what happens next), and the hiring manager's page then shows it as written by "en
brukare"; a service user not on the recruitment gets no such page; a form without its CSRF token
is refused and records nothing; a hiring manager who knows a candidate declares it, checks what
it means, steps aside, and the page says so. axe-core on every page visited."""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.web.system import MANAGER, SCORECARD, SOC, System, csrf_of, eventually, sign_in
from tests.web.test_browser_journeys import AXE, CHROMIUM, PHONE, Audited, tab_to
from tests.web.test_hiring_workspace import FITS, seatable
from tests.web.test_staff_workspace import browser, invited, signed_in_page  # noqa: F401  (fixture shared)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed: run `make browser`"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed: run `make browser`"),
]
POSITION = "Boendestödjare, skriva tillsammans"
MANAGER_WROTE = "Vi söker en boendestödjare som planerar stödet tillsammans med den boende."
OTHER_WROTE = "Den som söker ska tycka om att lyssna."
MINE = "Skriv att brukarna är med och väljer vem som får jobbet."


@pytest.fixture(scope="module")
def world(system: System) -> dict[str, Any]:
    """A recruitment of the manager's own, not yet advertised, with two service users seated who
    have said yes; the manager and another panel member have written in the advert already."""
    people = json.loads(system.people_file.read_text())
    if MANAGER not in {p["sub"] for p in people}:
        people.append({"sub": MANAGER, "name": "Chef Soc", "roles": ["hiring_manager"], "departments": [SOC]})
        system.people_file.write_text(json.dumps(people))
    today = datetime.now(UTC).date()
    rid = system.call("POST", "recruitments", "/recruitments", system.coordinator(), {
        "department": SOC, "unit": "boendestod", "position": POSITION, "hiring_manager": MANAGER,
        "interview_format": "split", "scorecard": SCORECARD,
        "planned": {"interviews_from": (today + timedelta(days=30)).isoformat(),
                    "interviews_to": (today + timedelta(days=31)).isoformat()},
        "needs": {"experience_areas": ["economic_assistance"], "languages": ["sv"], "panel_size": 2}})["id"]
    base = f"/recruitments/{rid}"
    picks = eventually(lambda: seatable(system, rid)[:2] if len(seatable(system, rid)) >= 2 else None, timeout=90)
    system.call("POST", "matching", base + "/panel", system.coordinator(),
                {"members": picks, "overrides": [{"participant_id": p, "reason": "kan de dagarna"} for p in picks]})
    panel = eventually(lambda: system.call("GET", "recruitments", base, system.coordinator())["panel"], timeout=90)
    for pid in panel:
        me = system.as_participant(pid)
        eventually(functools.partial(invited, system, base, me), timeout=90)
        system.call("POST", "matching", base + "/invitation/acceptance", me)
    writer, other = panel
    system.call("POST", "recruitments", base + "/advert/contributions", system.manager(), {"text": MANAGER_WROTE})
    system.call("POST", "recruitments", base + "/advert/contributions", system.as_participant(other),
                {"text": OTHER_WROTE})
    outsider = next(p for p in system.participants.values() if p not in panel and p != system.panel[1])
    return {"rid": rid, "base": base, "writer": writer, "other": other, "outsider": outsider}


def advert_contributions(system: System, base: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = system.call("GET", "recruitments", base, system.coordinator())["advert"]
    return items


def test_a_service_user_adds_to_the_advert_by_keyboard_alone_and_the_manager_sees_en_brukare(
        system: System, browser: Any, world: dict[str, Any], screenshots: Path | None) -> None:  # noqa: F811
    from playwright.sync_api import expect

    rid, writer = world["rid"], world["writer"]
    context = browser.new_context(viewport=PHONE, locale="sv-SE")
    page = context.new_page()
    audited = Audited(page, screenshots)
    page.goto(system.web + "/")
    tab_to(page, "Logga in")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(system.idp) + "/choose"))
    tab_to(page, system.name_of(writer))
    page.keyboard.press("Enter")
    page.wait_for_url(system.web + "/mina-uppdrag")
    audited.check()

    # From Mina uppdrag through the assignment to its texts: who wrote what, never a name.
    tab_to(page, POSITION)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{system.web}/uppdrag/{rid}")
    audited.check()
    tab_to(page, "Skriv med i texterna")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{system.web}/uppdrag/{rid}/texter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Texterna till rekryteringen")
    advert = page.get_by_test_id("text-advert")
    expect(advert.locator("li", has_text=MANAGER_WROTE)).to_contain_text("Skrivet av: chefen")
    expect(advert.locator("li", has_text=OTHER_WROTE)).to_contain_text("Skrivet av: en brukare")
    expect(page.locator("main")).not_to_contain_text(system.name_of(world["other"]))
    expect(page.locator("main")).not_to_contain_text(world["other"])
    # Not advertised yet: the job description is open too.
    expect(page.get_by_role("link", name="Skriv i tjänstebeskrivningen")).to_be_visible()
    assert page.evaluate(FITS)
    audited.check("skriv-med-texter")

    # One question on its page; nothing written says how to fix it.
    tab_to(page, "Skriv i annonsen")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{system.web}/uppdrag/{rid}/texter/annons")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vad vill du lägga till i annonsen?")
    audited.check("skriv-med-fraga")
    tab_to(page, "Fortsätt")
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Skriv vad du vill lägga till i annonsen")
    assert summary.get_by_role("link").get_attribute("href") == "#text"  # the summary leads to the field
    expect(page.locator("#text-error")).to_contain_text("Skriv vad du vill lägga till i annonsen")
    audited.check()
    tab_to(page, "Vad vill du lägga till i annonsen?")
    page.keyboard.type(MINE)
    tab_to(page, "Fortsätt")
    page.keyboard.press("Enter")

    # Check your answer, with what sending means; nothing is recorded before it is sent.
    page.wait_for_url(f"{system.web}/uppdrag/{rid}/texter/annons/kontrollera")
    expect(page.get_by_test_id("draft")).to_have_text(MINE)
    expect(page.locator("main")).to_contain_text("Ditt namn står inte med")
    assert not any(c["text"] == MINE for c in advert_contributions(system, world["base"]))
    assert page.evaluate(FITS)
    audited.check("skriv-med-kontrollera")
    tab_to(page, "Skicka bidraget")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ditt bidrag är skickat")
    expect(page.get_by_test_id("what-next")).to_contain_text("Chefen läser bidragen")
    audited.check("skriv-med-skickat")
    mine = [c for c in advert_contributions(system, world["base"]) if c["text"] == MINE]
    assert [c["by"] for c in mine] == [{"id": writer, "role": "participant"}]  # recorded once, as theirs
    tab_to(page, "Läs texterna och vem som skrev vad")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("text-advert").locator("li", has_text=MINE)).to_contain_text("Skrivet av: dig")
    audited.check()
    context.close()

    # The hiring manager's page: the contribution, by "en brukare", without the writer's name.
    context, page = signed_in_page(system, browser, MANAGER, viewport=PHONE)
    audited = Audited(page, None)
    page.goto(f"{system.web}/chef/rekryteringar/{rid}")
    written = page.get_by_test_id("text-advert").locator("li", has_text=MINE)
    expect(written).to_contain_text("Skrivet av: en brukare")
    expect(page.locator("main")).not_to_contain_text(system.name_of(writer))
    audited.check()
    context.close()


def test_a_service_user_not_on_the_recruitment_gets_no_co_writing_page(
        system: System, browser: Any, world: dict[str, Any]) -> None:  # noqa: F811
    from playwright.sync_api import expect

    rid = world["rid"]
    before = len(advert_contributions(system, world["base"]))
    context = browser.new_context(viewport=PHONE, locale="sv-SE")
    page = context.new_page()
    audited = Audited(page, None)
    page.goto(system.web + "/logga-in")
    page.get_by_role("button", name="Logga in").click()
    page.locator(f'button[data-sub="{world["outsider"]}"]').click()
    page.wait_for_url(system.web + "/mina-uppdrag")
    expect(page.locator("main")).not_to_contain_text(POSITION)
    audited.check()
    for path in (f"/uppdrag/{rid}/texter", f"/uppdrag/{rid}/texter/annons",
                 f"/uppdrag/{rid}/texter/annons/kontrollera"):
        response = page.goto(system.web + path)
        assert response is not None and response.status in (403, 404), (path, response and response.status)
        expect(page.locator("main")).not_to_contain_text(POSITION)
        expect(page.locator("main")).not_to_contain_text(OTHER_WROTE)
        audited.check()
    # Posting anyway, with a valid token of their own session, is refused and writes nothing.
    page.goto(system.web + "/mina-uppdrag")
    csrf = page.locator('input[name="csrf_token"]').first.get_attribute("value") or ""
    posted = page.request.post(f"{system.web}/uppdrag/{rid}/texter/annons", form={"csrf_token": csrf, "text": "x"})
    assert posted.status in (403, 404)
    context.close()
    assert len(advert_contributions(system, world["base"])) == before


def test_a_contribution_sent_without_its_csrf_token_is_refused_and_records_nothing(
        system: System, world: dict[str, Any]) -> None:
    rid, base = world["rid"], world["base"]
    s = sign_in(system, world["other"])
    write = f"{system.web}/uppdrag/{rid}/texter/annons"
    text = "Brukarna ska få veta vem som fick jobbet."
    unsigned = s.post(write, data={"text": text}, allow_redirects=False, timeout=10)
    assert unsigned.status_code == 400 and "Formuläret hade gått ut" in unsigned.text
    drafted = s.post(write, data={"text": text, "csrf_token": csrf_of(s.get(write, timeout=10).text)},
                     allow_redirects=False, timeout=10)
    assert drafted.status_code == 303 and drafted.headers["Location"].endswith("/kontrollera")
    check = write + "/kontrollera"
    for forged in ({}, {"csrf_token": "forged"}):
        refused = s.post(check, data=forged, allow_redirects=False, timeout=10)
        assert refused.status_code == 400
    assert not any(c["text"] == text for c in advert_contributions(system, base))
    sent = s.post(check, data={"csrf_token": csrf_of(s.get(check, timeout=10).text)}, timeout=10)
    assert sent.status_code == 200 and "Ditt bidrag är skickat" in sent.text
    assert [c["text"] for c in advert_contributions(system, base)].count(text) == 1
    # Sending the same answer again finds nothing waiting: it is not recorded twice.
    again = s.post(check, data={"csrf_token": csrf_of(sent.text)}, allow_redirects=False, timeout=10)
    assert again.status_code == 302 and again.headers["Location"].endswith("/texter/annons")
    assert [c["text"] for c in advert_contributions(system, base)].count(text) == 1


def test_a_hiring_manager_who_knows_the_candidate_steps_aside_and_the_page_says_so(
        system: System, browser: Any, world: dict[str, Any], screenshots: Path | None) -> None:  # noqa: F811
    from playwright.sync_api import expect

    rid, base = world["rid"], world["base"]
    system.call("POST", "recruitments", base + "/advert/publish", system.coordinator(), {"text": MANAGER_WROTE})
    cid = system.call("POST", "recruitments", base + "/applications", system.coordinator(),
                      {"ats_ref": "ATS-CW-1", "name": "Robin Nordin", "email": "robin@example.net"})["id"]
    context, page = signed_in_page(system, browser, MANAGER, viewport=PHONE)
    audited = Audited(page, screenshots)
    page.goto(f"{system.web}/chef/rekryteringar/{rid}/kandidater/{cid}")
    expect(page.get_by_role("heading", name="Känner du Robin Nordin?")).to_be_visible()
    audited.check()
    page.get_by_test_id("recuse-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kontrollera innan du anmäler jäv")
    expect(page.locator("main")).to_contain_text("Du bedömer inte Robin Nordin.")
    expect(page.locator("main")).to_contain_text("Du kan inte ändra svaret efteråt.")
    # Nothing is declared before the manager confirms, nor by a form without its CSRF token.
    unsigned = page.request.post(f"{system.web}/chef/rekryteringar/{rid}/kandidater/{cid}/jav", form={})
    assert unsigned.status == 400
    own = system.call("GET", "recruitments", f"{base}/candidates/{cid}/scores", system.manager())
    assert own["own_declaration"] is None
    assert page.evaluate(FITS)
    audited.check("chef-jav-kontrollera")
    page.get_by_role("button", name="Anmäl jäv och avstå").click()
    page.wait_for_url(f"{system.web}/chef/rekryteringar/{rid}/kandidater/{cid}")
    expect(page.get_by_role("status")).to_contain_text("Din jävsanmälan är sparad.")
    recused = page.get_by_test_id("recused")
    expect(recused).to_contain_text("Du har anmält jäv för Robin Nordin")
    expect(recused).to_contain_text("Du bedömer inte Robin Nordin.")
    expect(recused).to_contain_text("Du ser inte panelens bedömningar av Robin Nordin.")
    expect(page.get_by_role("button", name="Skicka bedömning")).to_have_count(0)
    expect(page.get_by_test_id("recuse-link")).to_have_count(0)
    assert page.evaluate(FITS)
    audited.check("chef-jav")
    own = system.call("GET", "recruitments", f"{base}/candidates/{cid}/scores", system.manager())
    assert own["own_declaration"] == {"has_conflict": True, "recused": True}
    # The service holds the manager to it: their score for Robin is refused.
    r = system.http.post(system.url("recruitments", f"{base}/candidates/{cid}/scores"), timeout=10,
                         headers={"Authorization": f"Bearer {system.manager()}"},
                         json={"scores": {a["key"]: 4 for a in SCORECARD}, "recommendation": "hire"})
    assert r.status_code == 409 and "recused" in r.json()["detail"]
    context.close()
