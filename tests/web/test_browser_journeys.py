"""Service users' journeys in real headless Chromium (Debian's, driven by Playwright) against
``delaktig up``: signing in through the development identity provider, answering invitations,
signing the undertaking, scoring on a phone without seeing the others' scores first, feedback,
honoraria and one's own data; a second person declines by keyboard alone and is replaced.
axe-core runs on every page visited and must find nothing serious or critical."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.web.system import System, eventually

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 375, "height": 812}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed: run `make browser`"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed: run `make browser`"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Audited:
    """A page whose every visit is checked with axe-core (WCAG 2.1 A/AA and best practice)."""

    def __init__(self, page: Any, shots: Path | None) -> None:
        self.page = page
        self.shots = shots
        self.visited: list[str] = []
        self.source = AXE.read_text()

    def check(self, shot: str | None = None) -> None:
        self.page.wait_for_load_state("load")
        # evaluate() runs through the DevTools protocol, so the page's CSP stays on for the app itself.
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(self.source)
        violations = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                 .map(v => ({id: v.id, impact: v.impact, help: v.help,
                             nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not serious, f"axe on {self.page.url}: {json.dumps(serious, ensure_ascii=False, indent=1)}"
        self.visited.append(self.page.url)
        if shot and self.shots is not None:
            self.page.screenshot(path=str(self.shots / f"{shot}.png"), full_page=True)


def tab_to(page: Any, text: str, limit: int = 80) -> None:
    """Press Tab until the focused element (or its label) reads ``text``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement;
            return ((e.labels && e.labels.length ? e.labels[0].innerText : '') + ' ' + (e.innerText || '') + ' '
                    + (e.getAttribute('aria-label') || '')).trim(); }""")
        if text in focused:
            visible = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
                return (s.outlineStyle !== 'none' && s.outlineWidth !== '0px') || s.boxShadow !== 'none'; }""")
            assert visible, f"focus on {text!r} is not visible"
            return
    raise AssertionError(f"could not reach {text!r} with the Tab key")


# The decline runs first: the phone journey ends with the hiring decision, after which nobody can answer.
def test_second_person_declines_by_keyboard_alone_and_is_replaced(system: System, browser: Any,
                                                                   screenshots: Path | None) -> None:
    from playwright.sync_api import expect

    declining = system.panel[1]
    rid = system.recruitment
    context = browser.new_context(viewport=PHONE, locale="sv-SE")
    page = context.new_page()
    audited = Audited(page, screenshots)
    page.goto(system.web + "/")
    audited.check()
    tab_to(page, "Logga in")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(system.idp) + "/choose"))
    tab_to(page, system.name_of(declining))
    page.keyboard.press("Enter")
    page.wait_for_url(system.web + "/mina-uppdrag")
    audited.check()
    tab_to(page, "Svara på inbjudan")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/svar$"))
    audited.check("svar")
    tab_to(page, "Ja, jag vill vara med")
    page.keyboard.press("ArrowDown")  # radios: arrow keys choose within the group
    tab_to(page, "Fortsätt")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/tacka-nej$"))
    audited.check()
    tab_to(page, "Jag vill inte säga varför")
    page.keyboard.press("ArrowDown")
    tab_to(page, "Fortsätt")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/kontrollera$"))
    expect(page.locator(".summary-list")).to_contain_text("Jag kan inte de dagarna")
    audited.check("kontrollera-svar")
    tab_to(page, "Tacka nej")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Du har tackat nej")
    audited.check()
    context.close()

    # The decline brought in the next best person, and recruitments learnt the new panel.
    invitation = system.call("GET", "matching", f"/recruitments/{rid}/invitation", system.as_participant(declining))
    assert invitation["status"] == "declined"
    panel = eventually(lambda: (p := system.call("GET", "recruitments", f"/recruitments/{rid}",
                                                 system.coordinator())["panel"]) and declining not in p and p)
    assert len(panel) == 3 and set(panel) - set(system.panel)
    newcomer = next(iter(set(panel) - set(system.panel)))
    status = system.call("GET", "matching", f"/recruitments/{rid}/invitation", system.as_participant(newcomer))
    assert status["status"] == "invited"


def test_service_user_from_invitation_to_feedback_on_a_phone(system: System, browser: Any,
                                                              screenshots: Path | None) -> None:
    from playwright.sync_api import expect

    me, other = system.panel[0], system.panel[2]
    name = system.name_of(me)
    rid, cid = system.recruitment, system.candidates[0]
    context = browser.new_context(viewport=PHONE, locale="sv-SE", accept_downloads=True)
    page = context.new_page()
    audited = Audited(page, screenshots)

    # Sign in through the development identity provider.
    page.goto(system.web + "/")
    audited.check("start")
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(re.escape(system.idp) + "/choose"))
    audited.check("inloggning")
    page.locator(f'button[data-sub="{me}"]').click()
    page.wait_for_url(system.web + "/mina-uppdrag")
    expect(page.get_by_text(f"Inloggad som {name}")).to_be_visible()
    expect(page.locator(".card-invitation")).to_contain_text("Socialsekreterare, ekonomiskt bistånd")
    audited.check("mina-uppdrag")

    # Accept the invitation (one question per page; an unanswered question says how to fix it).
    page.locator(".card-invitation a.button").click()
    audited.check()
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.locator(".error-summary")).to_contain_text("Välj om du vill vara med")
    audited.check("svar-fel")
    page.get_by_label("Ja, jag vill vara med").check()
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Du har tackat ja")
    audited.check()
    invitation = system.call("GET", "matching", f"/recruitments/{rid}/invitation", system.as_participant(me))
    assert invitation["status"] == "accepted"

    # Sign the confidentiality undertaking.
    page.get_by_role("link", name="Förberedelser").click()
    audited.check()
    page.get_by_role("link", name="Läs och skriv under").click()
    audited.check()
    page.get_by_label("Jag har läst och lovar att följa tystnadslöftet").check()
    page.get_by_role("button", name="Skriv under").click()
    today = datetime.now(UTC).date().isoformat()
    expect(page.get_by_test_id("undertaking-status")).to_have_text(f"Du skrev under {today}.")
    audited.check()

    # Another panel member scores first; I must not see it before I have scored myself.
    system.call("POST", "recruitments", f"/recruitments/{rid}/candidates/{cid}/conflicts",
                system.as_participant(other), {"has_conflict": False})
    system.call("POST", "recruitments", f"/recruitments/{rid}/candidates/{cid}/scores", system.as_participant(other),
                {"scores": {"motivation_user_participation": 2, "bemotande": 2, "samarbete": 2},
                 "recommendation": "hire", "comment": None})
    page.get_by_role("link", name="Mina uppdrag").click()
    page.get_by_role("link", name="Socialsekreterare, ekonomiskt bistånd").click()
    audited.check("uppdrag")
    page.get_by_role("link", name="Bedöm Emma Sundberg").click()
    # First the conflict-of-interest question, one thing on its own page.
    expect(page.get_by_role("heading", level=1)).to_have_text("Känner du Emma Sundberg?")
    audited.check("jav")
    page.get_by_label("Nej, jag känner inte personen").check()
    page.get_by_role("button", name="Skicka").click()
    expect(page.get_by_test_id("others-hidden")).to_be_visible()
    assert page.get_by_test_id("panel-scores").count() == 0
    audited.check("bedomning")
    page.get_by_role("button", name="Skicka bedömning").click()  # nothing chosen: every question says so
    expect(page.locator(".error-summary li")).to_have_count(4)
    audited.check()
    for key, value in (("motivation_user_participation", "5"), ("bemotande", "4"), ("samarbete", "4")):
        page.locator(f'input[name="attr_{key}"][value="{value}"]').check()
    page.get_by_label("Anställ", exact=True).check()
    page.get_by_label("Vill du förklara? (frivilligt)").fill("Lyssnade på riktigt.")
    page.get_by_role("button", name="Skicka bedömning").click()
    expect(page.get_by_test_id("own-score")).to_contain_text("Anställ")
    expect(page.get_by_test_id("panel-scores").locator("tbody tr")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    audited.check("bedomning-skickad")
    # An amendment needs a reason.
    page.get_by_role("link", name="Ändra din bedömning").click()
    page.get_by_role("button", name="Spara ändringen").click()
    expect(page.locator("#reason-error")).to_contain_text("Skriv varför du ändrar")
    audited.check()
    page.locator('input[name="attr_samarbete"][value="5"]').check()
    page.get_by_label("Varför ändrar du?").fill("Jag tänkte om efter samtalet.")
    page.get_by_role("button", name="Spara ändringen").click()
    expect(page.get_by_test_id("own-score")).to_contain_text("5")

    # The manager decides and the outcome is shared; then I tell how it went.
    system.call("POST", "recruitments", f"/recruitments/{rid}/decision", system.manager(),
                {"candidate_id": cid, "motivation": "Panelen var enig; starkast i bemötande."})
    system.call("POST", "recruitments", f"/recruitments/{rid}/outcome/share", system.coordinator())
    page.get_by_role("link", name="Mina uppdrag").click()
    expect(page.get_by_role("heading", name="Tidigare uppdrag")).to_be_visible()
    page.get_by_role("link", name="Socialsekreterare, ekonomiskt bistånd").click()
    expect(page.get_by_text("Chefen anställde Emma Sundberg.")).to_be_visible()
    audited.check("utfall")
    page.get_by_role("link", name="Berätta hur det var att vara med").click()
    audited.check()
    page.get_by_label("4").check()
    page.get_by_label("Berätta med egna ord").fill("Jag blev lyssnad på och fick veta hur det gick.")
    page.get_by_role("button", name="Skicka återkoppling").click()
    expect(page.get_by_role("status")).to_contain_text("Tack för din återkoppling")
    feedback = system.call("GET", "recruitments", f"/recruitments/{rid}/feedback", system.coordinator())
    assert any(f.get("rating") == 4 for f in feedback["participants"].values())

    # Honoraria: the interview score earned one (over Kafka, in the participants service).
    year = datetime.now(UTC).year
    eventually(lambda: system.call("GET", "participants", f"/participants/{me}/honoraria", system.as_participant(me),
                                   year=year)["totals"]["accrued_ore"] > 0)
    page.get_by_role("link", name="Arvoden").click()
    earned = page.get_by_test_id("honoraria-totals").locator(".total").first
    expect(earned.locator("dd")).to_have_text(re.compile(r"^[1-9][\d\s]* kr$"))
    expect(page.get_by_test_id("terms-status")).to_have_text("Du har godkänt villkoren.")
    audited.check("arvoden")
    page.get_by_role("link", name="Svara på villkoren").click()
    expect(page.get_by_text("ekonomiskt bistånd")).to_be_visible()
    audited.check()

    # Mina uppgifter: the Art. 15 report as a page and as a file.
    page.get_by_role("link", name="Mina uppgifter").click()
    audited.check()
    page.get_by_role("link", name="Visa mina uppgifter").click()
    expect(page.get_by_test_id("data-subject")).to_contain_text(name)
    audited.check("mina-uppgifter")
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("link", name="Ladda ner mina uppgifter (JSON-fil)").click()
    report = json.loads(Path(download.value.path()).read_text())
    assert report["subject"]["id"] == me and report["subject"]["name"] == name

    # English on request, then sign out: the session is gone.
    page.get_by_role("link", name="In English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My data")
    audited.check()
    page.get_by_role("link", name="På svenska").click()
    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(system.web + "/utloggad")
    audited.check()
    page.goto(system.web + "/mina-uppdrag")
    assert "/logga-in" in page.url
    audited.check()
    context.close()
    assert len(audited.visited) >= 20


def test_own_settings_consents_and_erasure(system: System, browser: Any, screenshots: Path | None) -> None:
    """Dates, contact details, pause, consents and erasure, by the person who declined (no longer
    on any panel), with axe on every page."""
    from playwright.sync_api import expect

    me = system.panel[1]
    context = browser.new_context(viewport=PHONE, locale="sv-SE")
    page = context.new_page()
    audited = Audited(page, screenshots)
    page.goto(system.web + "/logga-in")
    audited.check()
    page.get_by_role("button", name="Logga in").click()
    page.locator(f'button[data-sub="{me}"]').click()
    page.wait_for_url(system.web + "/mina-uppdrag")

    # Dates: an empty period is explained, a real one is added, then removed.
    page.get_by_role("link", name="Tider och kontakt").click()
    audited.check("tider-och-kontakt")
    page.get_by_role("button", name="Lägg till en period").click()
    expect(page.locator(".error-summary")).to_contain_text("Skriv ett datum")
    audited.check()
    page.get_by_label("Från och med").fill("2027-03-01")
    page.get_by_label("Till och med").fill("2027-03-31")
    page.get_by_role("button", name="Lägg till en period").click()
    expect(page.get_by_text("2027-03-01 till 2027-03-31")).to_be_visible()
    record = system.call("GET", "participants", f"/participants/{me}", system.as_participant(me))
    assert {"start": "2027-03-01", "end": "2027-03-31"} in record["availability"]
    page.get_by_role("button", name="Ta bort perioden 2027-03-01 till 2027-03-31").click()
    expect(page.get_by_text("2027-03-01 till 2027-03-31")).to_have_count(0)

    # Contact details: a wrong e-mail says how to write it.
    page.get_by_role("link", name="Ändra kontaktuppgifter").click()
    page.get_by_label("E-post").fill("inte-en-adress")
    page.get_by_role("button", name="Spara").click()
    expect(page.locator("#email-error")).to_contain_text("namn@exempel.se")
    audited.check()
    page.get_by_label("E-post").fill("ny.adress@example.org")
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_text("ny.adress@example.org")).to_be_visible()

    # Pause and come back.
    page.get_by_role("link", name="Ändra paus").click()
    audited.check()
    page.get_by_label("Ja, jag vill ha paus").check()
    page.get_by_role("button", name="Spara").click()
    expect(page.get_by_test_id("pause-status")).to_have_text("Du har paus. Vi frågar dig inte om nya uppdrag.")
    status = system.call("GET", "participants", f"/participants/{me}", system.as_participant(me))["contact_status"]
    assert status == "paused"

    # Consents: give one, withdraw it.
    page.get_by_role("link", name="Samtycken").click()
    audited.check("samtycken")
    page.get_by_role("button", name="Ge samtycke: Få information från oss, Socialförvaltningen").click()
    expect(page.get_by_role("button", name="Ta tillbaka: Få information från oss, Socialförvaltningen")).to_be_visible()
    consents = system.call("GET", "participants", f"/participants/{me}", system.as_participant(me))["consents"]
    assert "contact:socialforvaltningen" in consents
    page.get_by_role("button", name="Ta tillbaka: Få information från oss, Socialförvaltningen").click()
    expect(page.get_by_text("Vi skickar ingen mer information till dig.")).to_be_visible()  # checked first
    audited.check("ta-tillbaka-samtycke")
    page.get_by_role("button", name="Ta tillbaka samtycket").click()
    expect(page.get_by_role("button", name="Ge samtycke: Få information från oss, Socialförvaltningen")).to_be_visible()
    consents = system.call("GET", "participants", f"/participants/{me}", system.as_participant(me))["consents"]
    assert "contact:socialforvaltningen" not in consents

    # Erasure: what goes and what the law keeps, then it happens and the session ends.
    page.get_by_role("link", name="Mina uppgifter").click()
    page.get_by_role("link", name="Be oss radera dina uppgifter").click()
    expect(page.get_by_text("Det går inte att ångra")).to_be_visible()
    audited.check("radera")
    page.get_by_role("button", name="Radera mina uppgifter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dina uppgifter är raderade")
    audited.check()
    page.goto(system.web + "/mina-uppdrag")
    assert "/logga-in" in page.url
    context.close()


def test_one_time_code_sign_in_in_the_browser(system: System, browser: Any, screenshots: Path | None) -> None:
    """Without e-identification: a code to the phone (the outbox in development), axe on each page."""
    from playwright.sync_api import expect

    name, _, phone = "Kerstin Johansson", None, "070-100 00 03"
    context = browser.new_context(viewport=PHONE, locale="sv-SE")
    page = context.new_page()
    audited = Audited(page, screenshots)
    page.goto(system.web + "/logga-in")
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("link", name="Logga in med engångskod i stället").click()
    page.get_by_role("button", name="Skicka kod").click()
    expect(page.locator(".error-summary")).to_contain_text("Skriv din e-postadress eller ditt mobilnummer")
    audited.check()
    page.get_by_label("Vilken e-postadress eller vilket mobilnummer har du lämnat till oss?").fill(phone)
    page.get_by_role("button", name="Skicka kod").click()
    audited.check("engangskod")
    page.get_by_label("Skriv koden du fick").fill("000000")
    page.get_by_role("button", name="Logga in").click()
    expect(page.locator(".error-summary")).to_contain_text("Koden stämmer inte")
    audited.check()
    outbox = context.new_page()
    outbox.goto(system.idp + "/outbox")
    Audited(outbox, None).check()
    code = outbox.locator("td.code").first.inner_text()
    outbox.close()
    page.get_by_label("Skriv koden du fick").fill(code)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(system.web + "/mina-uppdrag")
    expect(page.get_by_text(f"Inloggad som {name}")).to_be_visible()
    context.close()
