"""The coordinator's journeys in real headless Chromium against ``delaktig up``, on a 375 px
phone: a whole recruitment's user involvement with the keyboard alone (Tab, Enter, Space and
typing), a person's rights (restriction, a legal hold that blocks erasure, erasure once it is
lifted), and scoping: a coordinator of another department finds nothing of this one on any
staff page or in the payroll file. axe-core on every page visited."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.web.system import COORDINATOR, MANAGER, SCORECARD, SOC, System, eventually
from tests.web.test_browser_journeys import PHONE, Audited, tab_to
from tests.web.test_staff_workspace import (  # noqa: F401  (fixtures used by name)
    AUDITOR,
    OTHER,
    OTHER_COORDINATOR,
    bank_of,
    browser,
    invited,
    other_department,
    pytestmark,  # slow, browser, and skipped without chromium or axe-core
    signed_in_page,
)

POSITION = "Handläggare, ekonomiskt bistånd (kväll)"
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


class OnPhone(Audited):
    """axe-core on every page, and every page fits the 375 px width (tables scroll in their box)."""

    def check(self, shot: str | None = None) -> None:
        super().check(shot)
        assert self.page.evaluate(FITS), f"{self.page.url} is wider than the phone"


def keyboard_sign_in(system: System, page: Any, sub_name: str) -> None:
    page.goto(system.web + "/logga-in")
    tab_to(page, "Logga in")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(system.idp) + "/choose"))
    tab_to(page, sub_name)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(re.escape(system.web) + "/arbetsyta"))


def follow(page: Any, text: str, key: str = "Enter", navigates: bool = True) -> None:
    """Tab to ``text`` and press ``key``: Enter on a link or button (waiting for the page it
    opens), Space on a box."""
    tab_to(page, text, limit=200)
    if key == "Enter" and navigates:
        with page.expect_navigation():
            page.keyboard.press(key)
    else:
        page.keyboard.press(key)


def fill(page: Any, label: str, value: str) -> None:
    tab_to(page, label, limit=200)
    page.keyboard.press("Control+A")
    page.keyboard.type(value)


def explanation(system: System, rid: str, pid: str) -> dict[str, Any] | None:
    r = system.http.get(system.url("matching", f"/recruitments/{rid}/candidates/{pid}/explanation"), timeout=10,
                        headers={"Authorization": f"Bearer {system.coordinator()}"})
    return r.json() if r.status_code == 200 else None


def away_on_interview_days(system: System, rid: str, pid: str) -> bool:
    """Matching knows the recruitment and that this person is away then (a soft rule)."""
    found = explanation(system, rid, pid)
    return bool(found and [e["rule"] for e in found["excluded_by"]] and
                all(e["severity"] == "soft" for e in found["excluded_by"]))


@pytest.fixture(scope="module")
def evening(system: System) -> dict[str, Any]:
    """A recruitment of the coordinator's department for which one person of the bank is away on
    the interview days (every pick of them needs a reason), and one applicant."""
    today = datetime.now(UTC).date()
    listed = {p["id"] for p in bank_of(system, SOC) if p["ready"]}
    people = [pid for pid in system.participants.values() if pid in listed]
    assert len(people) >= 4, "the journey needs four ready people in the bank"
    away = next(pid for pid in people if pid not in system.panel)
    system.call("PUT", "participants", f"/participants/{away}/availability", system.as_participant(away),
                {"windows": [{"start": today.isoformat(), "end": (today + timedelta(days=3)).isoformat()}]})
    rid = system.call("POST", "recruitments", "/recruitments", system.coordinator(), {
        "department": SOC, "unit": "ekonomiskt-bistand", "position": POSITION, "hiring_manager": MANAGER,
        "interview_format": "joint",
        "planned": {"interviews_from": (today + timedelta(days=14)).isoformat(),
                    "interviews_to": (today + timedelta(days=16)).isoformat()},
        "scorecard": SCORECARD, "needs": {"experience_areas": ["economic_assistance"], "languages": ["sv"],
                                          "panel_size": 2}})["id"]
    system.call("POST", "recruitments", f"/recruitments/{rid}/advert/publish", system.coordinator(),
                {"text": "Handläggare med kvällsmottagning. Brukare sitter med i intervjupanelen."})
    applicant = system.call("POST", "recruitments", f"/recruitments/{rid}/applications", system.coordinator(),
                            {"ats_ref": "ATS-EVENING-1", "name": "Dana Öberg", "email": "dana@example.net"})["id"]
    eventually(functools.partial(away_on_interview_days, system, rid, away), timeout=90)
    return {"rid": rid, "away": away, "applicant": applicant}


def test_coordinator_runs_a_recruitments_user_involvement_with_the_keyboard_alone(
        system: System, browser: Any, evening: dict[str, Any], screenshots: Path | None) -> None:  # noqa: F811
    from playwright.sync_api import expect

    rid, away = evening["rid"], evening["away"]
    base = f"/recruitments/{rid}"
    context = browser.new_context(viewport=PHONE, locale="sv-SE", accept_downloads=True)
    page = context.new_page()
    audited = OnPhone(page, screenshots)
    keyboard_sign_in(system, page, "Samordnare Soc")
    audited.check()

    # Register a person with two consents.
    follow(page, "Brukarbanken")
    audited.check()
    follow(page, "Registrera en person")
    audited.check()
    fill(page, "Namn", "Tove Tangent")
    fill(page, "E-post", "tove.tangent@example.org")
    follow(page, "Vara med i rekryteringar", "Space")
    follow(page, "Bli föreslagen till paneler", "Space")
    follow(page, "Registrera")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tove Tangent")
    expect(page.get_by_test_id("consents").locator("li")).to_have_count(2)
    audited.check()

    # Open the recruitment, ask for a proposal and assign it with one override and its reason.
    follow(page, "Rekryteringar")
    audited.check()
    follow(page, POSITION)
    expect(page.get_by_role("heading", level=1)).to_contain_text(POSITION)
    audited.check()
    follow(page, "Be om ett förslag")
    expect(page.get_by_test_id("proposed").locator("li")).to_have_count(2)
    expect(page.get_by_test_id("others")).to_contain_text(system.name_of(away))
    audited.check()
    follow(page, system.name_of(away), "Space")
    follow(page, "Tilldela panelen")
    expect(page.locator(".error-summary")).to_contain_text("Skriv varför personen ska vara med trots regeln")
    audited.check()
    fill(page, f"Varför ska {system.name_of(away)} vara med ändå?", "Kan delta på distans de dagarna")
    follow(page, "Tilldela panelen")
    expect(page.get_by_role("status")).to_contain_text("3 personer, 1 undantag med skäl")
    audited.check()
    panel = eventually(lambda: (p := system.call("GET", "recruitments", base, system.coordinator())["panel"]) and p)
    assert away in panel and len(panel) == 3

    # One member accepts, another declines: the next best takes the seat; the page follows both.
    accepting, declining = [pid for pid in panel if pid != away][:2]
    for pid in (accepting, declining):
        eventually(functools.partial(invited, system, base, system.as_participant(pid)))
    system.call("POST", "matching", base + "/invitation/acceptance", system.as_participant(accepting))
    declined = system.call("POST", "matching", base + "/invitation/decline", system.as_participant(declining),
                           {"reason": "not_available"})
    assert declined["replacement_found"] is True

    def replaced() -> Any:
        seats = system.call("GET", "matching", base + "/invitations", system.coordinator())["seats"]
        seat = next(s for s in seats if s["invitations"][0]["participant_id"] == declining)
        return seat["current"]["participant_id"] if len(seat["invitations"]) == 2 else None

    newcomer = eventually(replaced)
    follow(page, "Rekryteringar")
    follow(page, POSITION)
    invitations = page.get_by_test_id("invitations")
    seat_of = {s["invitations"][0]["participant_id"]: s["seat"]
               for s in system.call("GET", "matching", base + "/invitations", system.coordinator())["seats"]}
    expect(page.get_by_test_id(f"seat-{seat_of[accepting]}")).to_contain_text(
        f"{system.name_of(accepting)}: Har tackat ja")
    declined_seat = page.get_by_test_id(f"seat-{seat_of[declining]}")
    expect(declined_seat).to_contain_text(f"{system.name_of(declining)}: Har tackat nej")
    expect(declined_seat).to_contain_text("Skäl: kan inte de dagarna")
    expect(declined_seat).to_contain_text(f"Platsen gick till {system.name_of(newcomer)}")
    expect(declined_seat).to_contain_text(f"{system.name_of(newcomer)}: Väntar på svar")
    expect(invitations).to_contain_text(f"{system.name_of(away)}: Väntar på svar")
    audited.check("rekrytering-inbjudningar")

    # The member who accepted scores the applicant; the honorarium is approved and in the payroll file.
    me = system.as_participant(accepting)
    cid = evening["applicant"]
    eventually(lambda: accepting in system.call("GET", "recruitments", base, system.coordinator())["panel"])
    system.call("POST", "recruitments", f"{base}/candidates/{cid}/conflicts", me, {"has_conflict": False})
    system.call("POST", "recruitments", f"{base}/candidates/{cid}/scores", me,
                {"scores": {a["key"]: 4 for a in SCORECARD}, "recommendation": "hire"})
    year, period = datetime.now(UTC).year, f"{datetime.now(UTC):%Y-%m}"

    def pending() -> Any:
        ledger = system.call("GET", "participants", f"/participants/{accepting}/honoraria", system.coordinator(),
                             year=year)
        mine = [a for a in ledger["accruals"]
                if a["department"] == SOC and a["accrued_on"].startswith(period) and not a["approved"]]
        return ledger if mine else None

    ledger = eventually(pending)
    # The page reads the department's honoraria read model: wait until it lists the accrual too.
    eventually(lambda: any(not a["approved"] for a in (system.honoraria_listed(accepting, SOC, period)
                                                       or {"accruals": []})["accruals"]))
    follow(page, "Arvoden")
    section = page.get_by_test_id(f"honoraria-{accepting}")
    expect(section).to_contain_text("Att godkänna")
    expect(page.get_by_test_id(f"tax-flags-{accepting}")).to_contain_text("skatt")
    audited.check()
    follow(page, f"Godkänn arvodena för {system.name_of(accepting)}")
    expect(page.get_by_role("status")).to_contain_text("arvoden är godkända")
    audited.check()
    with page.expect_download() as download:
        follow(page, "Hämta lönefilen (CSV)", navigates=False)
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.splitlines()[0] == "payee_ref,period,activity_type,amount_ore,activities"
    assert ledger["payee_ref"] in csv_text
    approved = system.call("GET", "participants", f"/participants/{accepting}/honoraria", system.coordinator(),
                           year=year)["accruals"]
    assert all(a["approved"] for a in approved if a["department"] == SOC and a["accrued_on"].startswith(period))
    context.close()


def test_a_persons_rights_restriction_a_hold_that_blocks_erasure_and_erasure_once_lifted(
        system: System, browser: Any, screenshots: Path | None) -> None:  # noqa: F811
    from playwright.sync_api import expect

    pid = system.call("POST", "participants", "/participants", system.coordinator(),
                      {"name": "Rut Rättighet", "email": "rut@example.org", "departments": [SOC]})["id"]
    record = f"/participants/{pid}"
    system.call("PUT", "participants", record + "/contact-status", system.as_participant(pid), {"status": "paused"})
    context, page = signed_in_page(system, browser, COORDINATOR, viewport=PHONE)
    audited = OnPhone(page, screenshots)
    page.goto(f"{system.web}/brukarbank/{pid}?department={SOC}")
    expect(page.get_by_test_id("contact-log")).to_contain_text("pausad, ändrad av personen själv")
    audited.check()
    page.get_by_test_id("rights-link").click()
    expect(page.get_by_test_id("restriction")).to_have_text("Inte begränsad")
    expect(page.get_by_test_id("holds")).to_contain_text("Inga spärrar")
    audited.check("rattigheter")

    # Restriction: the form, the check page, nothing yet; then the confirmation says what follows.
    page.get_by_role("link", name="Ändra begränsningen").click()
    page.get_by_label("Ja, begränsa").check()
    page.get_by_label("Varför begränsas behandlingen?").fill("Personen bestrider att adressen är riktig")
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kontrollera innan du skickar")
    expect(page.locator("main")).to_contain_text("föreslås inte till paneler")
    expect(page.locator("main")).to_contain_text("Personen bestrider att adressen är riktig")
    audited.check("rattigheter-kontrollera")
    assert system.call("GET", "participants", record, system.coordinator())["restricted"] is False
    page.get_by_role("button", name="Spara begränsningen").click()
    expect(page.get_by_test_id("confirmation")).to_contain_text("Behandlingen är begränsad")
    expect(page.locator("main")).to_contain_text("Vad händer nu")
    audited.check("rattigheter-klart")
    restricted = system.call("GET", "participants", record, system.coordinator())
    # The reason is recorded with the restriction (encrypted with the person's key, read back here).
    assert restricted["restricted"] is True
    assert restricted["restriction_reason"] == "Personen bestrider att adressen är riktig"

    # A legal hold with its ground and what it is about, sent as two fields.
    page.get_by_role("link", name="Personens rättigheter").click()
    expect(page.get_by_test_id("restriction")).to_contain_text("Begränsad")
    expect(page.get_by_test_id("restriction-reason")).to_contain_text("Personen bestrider att adressen är riktig")
    page.get_by_role("link", name="Lägg till en spärr").click()
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.locator(".error-summary")).to_contain_text("Välj varför")
    audited.check()
    page.get_by_label("Pågående tvist eller rättslig process").check()
    page.get_by_label("Beskriv kort vad spärren gäller").fill("Överklagat beslut, dnr 2026-0042")
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.locator("main")).to_contain_text("Överklagat beslut, dnr 2026-0042")
    page.get_by_role("button", name="Lägg till spärren").click()
    expect(page.get_by_test_id("confirmation")).to_contain_text("Spärren är tillagd")
    audited.check()
    holds = system.call("GET", "participants", record, system.coordinator())["legal_holds"]
    assert [(h["ground"], h["reason"]) for h in holds] == [("legal_claim", "Överklagat beslut, dnr 2026-0042")]

    # Erasure is refused while the hold stands: said plainly, and nothing is erased.
    page.get_by_role("link", name="Personens rättigheter").click()
    page.get_by_role("link", name="Radera personens uppgifter").click()
    page.get_by_label(re.compile("tagit tillbaka sitt samtycke")).check()
    page.get_by_role("button", name="Fortsätt").click()
    expect(page.locator("main")).to_contain_text("går inte att ångra")
    page.get_by_role("button", name="Radera uppgifterna").click()
    expect(page.get_by_test_id("refusal")).to_contain_text("kan inte raderas eftersom det finns en spärr")
    expect(page.get_by_test_id("refusal")).to_contain_text("dnr 2026-0042")
    audited.check("radering-sparrad")
    assert system.call("GET", "participants", record, system.coordinator())["name"] == "Rut Rättighet"

    # Lift the hold, then the erasure goes through and the confirmation says what happens next.
    page.get_by_test_id("refusal").get_by_role("link", name="Personens rättigheter").click()
    expect(page.get_by_test_id("holds")).to_contain_text(
        "Pågående tvist eller rättslig process: Överklagat beslut, dnr 2026-0042")
    page.get_by_role("button", name=re.compile("Häv spärren")).click()
    expect(page.locator("main")).to_contain_text("Utan spärrar kan personens uppgifter raderas")
    page.get_by_role("button", name="Häv spärren").click()
    expect(page.get_by_test_id("confirmation")).to_contain_text("Spärren är hävd")
    audited.check()
    page.get_by_role("link", name="Personens rättigheter").click()
    page.get_by_role("link", name="Radera personens uppgifter").click()
    page.get_by_label(re.compile("tagit tillbaka sitt samtycke")).check()
    page.get_by_role("button", name="Fortsätt").click()
    page.get_by_role("button", name="Radera uppgifterna").click()
    expect(page.get_by_test_id("confirmation")).to_contain_text("Uppgifterna är raderade")
    expect(page.locator("main")).to_contain_text("finns inte längre i brukarbanken")
    expect(page.locator("main")).not_to_contain_text("Rut")
    audited.check("radering-klar")
    gone = system.http.get(system.url("participants", record), timeout=10,
                           headers={"Authorization": f"Bearer {system.coordinator()}"})
    assert gone.status_code == 404
    context.close()


def test_a_coordinator_of_another_department_sees_nothing_of_this_one_anywhere(
        system: System, browser: Any, other_department: dict[str, str], evening: dict[str, Any]) -> None:  # noqa: F811
    from playwright.sync_api import expect

    soc_people = [p["id"] for p in bank_of(system, SOC)]
    soc_names = [name for name, pid in system.participants.items() if pid in soc_people]
    year, period = datetime.now(UTC).year, f"{datetime.now(UTC):%Y-%m}"
    payee_refs = [system.call("GET", "participants", f"/participants/{pid}/honoraria", system.coordinator(),
                              year=year)["payee_ref"] for pid in soc_people]
    soc_recruitments = [r["position"] for r in system.call("GET", "recruitments", "/recruitments",
                                                           system.coordinator())["items"] if r["department"] == SOC]
    assert soc_names and payee_refs and POSITION in soc_recruitments

    context, page = signed_in_page(system, browser, OTHER_COORDINATOR, viewport=PHONE)
    audited = OnPhone(page, None)
    # One navigation: the dashboards are in the header, in the language in use.
    dashboards = page.get_by_role("navigation", name="Meny").get_by_role("link", name="Översikter och rapporter")
    expect(dashboards).to_have_attribute("href", re.compile(r"/overview\?lang=sv$"))

    def nothing_of_soc(where: str) -> None:
        text = page.locator("body").inner_text()
        leaked = [s for s in (*soc_names, *soc_recruitments, *soc_people) if s in text]
        assert not leaked, f"{where} shows {leaked}"

    # Every staff page this coordinator can open, through the navigation and their own records.
    pages = ["/arbetsyta", "/brukarbank", "/brukarbank/ny", "/rekryteringar", "/arvoden-att-betala",
             f"/arvoden-att-betala?period={period}", "/rattvisa",
             f"/brukarbank/{other_department['person']}?department={OTHER}",
             f"/brukarbank/{other_department['person']}/rattigheter?department={OTHER}",
             f"/rekryteringar/{other_department['recruitment']}"]
    for path in pages:
        response = page.goto(system.web + path)
        assert response is not None and response.status == 200, (path, response and response.status)
        nothing_of_soc(path)
        audited.check()
    expect(page.locator("main")).to_contain_text("Arbetskonsulent")

    # The payroll file: only their own department's payees.
    csv_text = page.request.get(system.web + f"/arvoden-att-betala/lonefil.csv?period={period}").text()
    assert csv_text.startswith("payee_ref,period,activity_type,amount_ore,activities")
    assert not [ref for ref in payee_refs if ref in csv_text]

    # By address: this department's people, their rights pages, recruitments and files are refused.
    soc_pid, rid = soc_people[0], evening["rid"]
    for path in (f"/brukarbank/{soc_pid}?department={OTHER}", f"/brukarbank/{soc_pid}?department={SOC}",
                 f"/brukarbank/{soc_pid}/rattigheter?department={OTHER}",
                 f"/brukarbank/{soc_pid}/rattigheter?department={SOC}",
                 f"/brukarbank/{soc_pid}/rattigheter/radering?department={OTHER}",
                 f"/brukarbank/{soc_pid}/rattigheter/radering/kontrollera?department={OTHER}",
                 f"/brukarbank?department={SOC}", f"/rekryteringar/{rid}", f"/arvoden-att-betala?department={SOC}",
                 f"/rattvisa?department={SOC}", f"/arvoden-att-betala/lonefil.csv?department={SOC}"):
        if "lonefil" in path:  # a file, not a page: asked for as the browser's download would
            assert page.request.get(system.web + path).status == 403, path
            continue
        response = page.goto(system.web + path)
        assert response is not None and response.status in (403, 404), (path, response and response.status)
        nothing_of_soc(path)
    # A rights form posted straight at the service's person: refused, and nothing changed.
    form = page.request.get(system.web + f"/brukarbank/{other_department['person']}/rattigheter/begransning"
                            f"?department={OTHER}").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    before = system.call("GET", "participants", f"/participants/{soc_pid}", system.coordinator())["restricted"]
    posted = page.request.post(system.web + f"/brukarbank/{soc_pid}/rattigheter/begransning?department={OTHER}",
                               form={"csrf_token": token.group(1), "restricted": "yes"})
    assert posted.status in (403, 404)
    assert system.call("GET", "participants", f"/participants/{soc_pid}", system.coordinator())["restricted"] == before
    context.close()

    # The recruitment's own hiring manager follows its invitations, without the service users' names.
    context, page = signed_in_page(system, browser, MANAGER, viewport=PHONE)
    page.goto(f"{system.web}/rekryteringar/{system.recruitment}")  # its panel was assigned when the world was made
    invitations = page.get_by_test_id("invitations")
    expect(invitations).to_contain_text("en person i banken")
    for name in soc_names:
        expect(invitations).not_to_contain_text(name)
    OnPhone(page, None).check()
    context.close()
    assert requests.get(system.web + f"/brukarbank/{soc_pid}/rattigheter", timeout=10,
                        allow_redirects=False).status_code == 302  # signed out: to the sign-in


def test_an_auditor_lands_on_the_access_log_and_finds_who_read_a_persons_data(
        system: System, browser: Any, other_department: dict[str, str], screenshots: Path | None) -> None:  # noqa: F811
    from playwright.sync_api import expect

    listed = {p["id"] for p in bank_of(system, SOC)}
    person = next(pid for pid in system.participants.values() if pid in listed)  # a journey may erase one
    # A coordinator's page read of the person is a logged read with its purpose.
    system.call("GET", "participants", f"/participants/{person}", system.coordinator(), purpose="brukarbank")
    context, page = signed_in_page(system, browser, AUDITOR, viewport=PHONE)
    audited = OnPhone(page, screenshots)
    expect(page.get_by_test_id("access-log-link")).to_be_visible()
    audited.check()
    page.get_by_role("navigation", name="Meny").get_by_role("link", name="Åtkomstloggen").click()
    page.get_by_role("button", name="Sök").click()
    expect(page.locator(".error-summary")).to_contain_text("Fyll i minst ett av fälten")
    audited.check()

    def found() -> bool:
        page.get_by_label("Personens id").fill(person)
        page.get_by_role("button", name="Sök").click()
        return page.get_by_test_id("access-table").filter(has_text="brukarbank").count() > 0

    eventually(found)  # the read reaches the audit service over Kafka
    table = page.get_by_test_id("access-table")
    expect(table).to_contain_text(COORDINATOR)
    expect(table).to_contain_text(SOC)
    for name in system.participants:
        expect(page.locator("main")).not_to_contain_text(name)  # pseudonymous ids only
    audited.check("granskning-atkomstlogg")
    context.close()
    # Nobody else may open it: the coordinator is refused.
    context, page = signed_in_page(system, browser, COORDINATOR)
    response = page.goto(system.web + "/granskning/atkomstlogg")
    assert response is not None and response.status == 403
    context.close()
