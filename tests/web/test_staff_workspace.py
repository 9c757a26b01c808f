"""The staff workspace in real headless Chromium against ``delaktig up``: one navigation for
every role (a coordinator lands on the workspace, an auditor on what they may read), the
coordinator's brukarbank (filtering, paging, a person's page, registering with consents) and the
recruitments board with what each card lacks. axe-core on every page visited. Scoping: a
coordinator of one department sees no person or recruitment of another on any page."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.web.system import COORDINATOR, MANAGER, SCORECARD, SOC, System, csrf_of, eventually, sign_in
from tests.web.test_browser_journeys import AXE, CHROMIUM, Audited

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed: run `make browser`"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed: run `make browser`"),
]

OTHER = "arbetsmarknadsforvaltningen"
OTHER_COORDINATOR = "test-coordinator-amf"
AUDITOR = "test-auditor"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def other_department(system: System) -> dict[str, str]:
    """A person and a recruitment in another department, and the staff the provider vouches for."""
    coordinator = system.token(OTHER_COORDINATOR, "coordinator", (OTHER,))
    person = system.call("POST", "participants", "/participants", coordinator,
                         {"name": "Birgitta Annan-Förvaltning", "email": "birgitta@example.org",
                          "departments": [OTHER]})["id"]
    system.call("POST", "participants", f"/participants/{person}/consents", coordinator,
                {"purpose": "recruitment", "department": OTHER})
    today = datetime.now(UTC).date()
    rid = system.call("POST", "recruitments", "/recruitments", coordinator, {
        "department": OTHER, "unit": "jobbtorget", "position": "Arbetskonsulent, jobbtorget",
        "hiring_manager": "test-manager-amf", "interview_format": "split",
        "planned": {"interviews_from": (today + timedelta(days=20)).isoformat(),
                    "interviews_to": (today + timedelta(days=21)).isoformat()},
        "scorecard": SCORECARD, "needs": {"experience_areas": [], "languages": ["sv"], "panel_size": 3}})["id"]
    people = json.loads(system.people_file.read_text())
    known = {p["sub"] for p in people}
    for entry in ({"sub": OTHER_COORDINATOR, "name": "Samordnare Amf", "roles": ["coordinator"],
                   "departments": [OTHER]},
                  {"sub": MANAGER, "name": "Chef Soc", "roles": ["hiring_manager"], "departments": [SOC]},
                  {"sub": AUDITOR, "name": "Revisor", "roles": ["auditor"], "departments": [SOC]}):
        if entry["sub"] not in known:
            people.append(entry)
    system.people_file.write_text(json.dumps(people))
    # A second recruitment of the coordinator's own department, interviewing after everyone's
    # dates: the availability rule (soft) empties the pool, so every pick needs a reason.
    later = system.call("POST", "recruitments", "/recruitments", system.coordinator(), {
        "department": SOC, "unit": "boendestod", "position": "Boendestödjare, boendestöd",
        "hiring_manager": MANAGER, "interview_format": "joint",
        "planned": {"interviews_from": (today + timedelta(days=120)).isoformat(),
                    "interviews_to": (today + timedelta(days=121)).isoformat()},
        "scorecard": SCORECARD, "needs": {"experience_areas": [], "languages": ["sv"], "panel_size": 2}})["id"]
    system.call("POST", "recruitments", f"/recruitments/{later}/advert/publish", system.coordinator(),
                {"text": "Boendestödjare till boendestöd. Brukare sitter med i intervjupanelen och bedömer."})
    applicant = system.call("POST", "recruitments", f"/recruitments/{later}/applications", system.coordinator(),
                            {"ats_ref": "ATS-LATER-1", "name": "Cecilia Berg", "email": "cecilia@example.net"})["id"]
    # Matching has learnt of the recruitment once it explains anybody for it. Not one fixed
    # person: the service users' journeys erase somebody, whom matching then no longer explains.
    some = list(system.participants.values())[:5]

    def matching_knows_later() -> bool:
        return any(system.http.get(system.url("matching", f"/recruitments/{later}/candidates/{pid}/explanation"),
                                   headers={"Authorization": f"Bearer {system.coordinator()}"},
                                   timeout=10).status_code == 200 for pid in some)

    eventually(matching_knows_later, timeout=90)
    return {"person": person, "recruitment": rid, "later": later, "applicant": applicant}


def bank_of(system: System, department: str) -> list[dict[str, Any]]:
    """Every summary the participants service lists for the department, page after page."""
    people: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = system.call("GET", "participants", "/participants", system.coordinator(), department=department,
                           limit=200, **({"cursor": cursor} if cursor else {}))
        people.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return people


def overridable(system: System, rid: str) -> list[str]:
    """Names of the people in the bank whom only soft rules keep off this panel (an earlier
    journey may have erased someone or withdrawn a consent)."""
    names = []
    for name, pid in system.participants.items():
        r = system.http.get(system.url("matching", f"/recruitments/{rid}/candidates/{pid}/explanation"), timeout=10,
                            headers={"Authorization": f"Bearer {system.coordinator()}"})
        if r.status_code == 200 and r.json()["excluded_by"] and all(
                e["severity"] == "soft" for e in r.json()["excluded_by"]):
            names.append(name)
    assert len(names) >= 3, names
    return names


def invited(system: System, base: str, token: str) -> bool:
    """Whether matching has this person's invitation yet (it learns the panel over Kafka)."""
    r = system.http.get(system.url("matching", base + "/invitation"), timeout=10,
                        headers={"Authorization": f"Bearer {token}"})
    return r.status_code == 200


def signed_in_page(system: System, browser: Any, sub: str, lang: str = "sv-SE",
                   viewport: dict[str, int] | None = None) -> tuple[Any, Any]:
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, locale=lang,
                                  accept_downloads=True)
    page = context.new_page()
    page.goto(system.web + "/logga-in")
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(re.compile(re.escape(system.idp) + "/choose"))
    page.locator(f'button[data-sub="{sub}"]').click()
    page.wait_for_url(re.compile(re.escape(system.web) + "/arbetsyta"))
    return context, page


def test_coordinator_works_the_bank_and_the_board_within_their_department(
        system: System, browser: Any, other_department: dict[str, str], screenshots: Path | None) -> None:
    from playwright.sync_api import expect

    context, page = signed_in_page(system, browser, COORDINATOR)
    audited = Audited(page, screenshots)
    # One navigation: the same header, with the coordinator's pages.
    expect(page.get_by_role("heading", level=1)).to_have_text("Din arbetsyta")
    nav = page.get_by_role("navigation", name="Meny")
    expect(nav.get_by_role("link", name="Brukarbanken")).to_be_visible()
    expect(nav.get_by_role("link", name="Rekryteringar")).to_be_visible()
    audited.check("personal-arbetsyta")

    # The bank: every person of the department, by name; none of the other department.
    nav.get_by_role("link", name="Brukarbanken").click()
    table = page.get_by_test_id("bank-table")
    # Everyone the participants service lists for the department (an earlier journey may have erased one).
    bank = bank_of(system, SOC)
    listed = {p["id"] for p in bank}
    not_ready = sum(not p["ready"] for p in bank)  # another journey may have registered someone not ready yet
    for name, pid in system.participants.items():
        if pid in listed:
            expect(table).to_contain_text(name)
    expect(page.locator("body")).not_to_contain_text("Birgitta")
    # Each row says when the person last took part and their honoraria this year (in kronor).
    expect(table.get_by_role("columnheader", name="Senast med")).to_be_visible()
    expect(table.get_by_role("columnheader", name="Arvoden i år")).to_be_visible()
    expect(table.locator("tbody tr").first).to_contain_text(" kr")
    expect(page.get_by_test_id("bank-count")).to_contain_text(f"{len(listed)} personer på den här sidan")
    audited.check("brukarbanken")
    page.get_by_label("Redo att delta").select_option("no")
    page.get_by_role("button", name="Visa").click()
    # The bank page serves 15 at a time; the world has fewer, so the first page holds them all.
    expect(page.get_by_test_id("bank-count")).to_contain_text(f"{min(not_ready, 15)} personer på den här sidan")
    if not not_ready:
        expect(page.get_by_test_id("bank-table")).to_contain_text("Ingen person matchar")
    audited.check()

    # Register a person with two consents; the page shows what was recorded.
    page.get_by_test_id("register-person").click()
    page.get_by_role("button", name="Registrera").click()
    expect(page.locator(".error-summary")).to_contain_text("Skriv personens namn")
    audited.check()
    page.get_by_label("Namn", exact=True).fill("Sara Nyström")
    page.get_by_label("E-post").fill("sara.nystrom@example.org")
    page.get_by_label("Vara med i rekryteringar").check()
    page.get_by_label("Bli föreslagen till paneler").check()
    page.get_by_role("button", name="Registrera").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sara Nyström")
    expect(page.get_by_role("status")).to_contain_text("Personen är registrerad")
    consents = page.get_by_test_id("consents")
    expect(consents.locator("li")).to_have_count(2)
    expect(page.get_by_test_id("ready")).to_contain_text("Inte redo")
    audited.check("brukarbanken-person")
    new_id = page.url.split("/brukarbank/")[1].split("?")[0]
    # The bank list is a read model: it shows the new person once the registration has reached it.
    def consents_listed() -> set[str]:
        return {c for p in bank_of(system, SOC) if p["id"] == new_id for c in p["consents"]}

    eventually(lambda: consents_listed() == {"recruitment", "matching"}, timeout=30)

    # The same page in English (the language choice is in the header).
    page.get_by_role("link", name="In English").click()
    expect(page.get_by_role("heading", level=2).first).to_have_text("Consents")
    page.get_by_role("link", name="På svenska").click()

    # The board: the department's recruitment, with what it lacks; not the other department's.
    page.get_by_role("navigation", name="Meny").get_by_role("link", name="Rekryteringar").click()
    card = page.get_by_test_id(f"card-{system.recruitment}")
    expect(card).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Arbetskonsulent")
    audited.check("rekryteringar")
    card.get_by_role("link").click()
    panel = page.get_by_test_id("panel")
    expect(panel.locator("li")).to_have_count(3)
    audited.check("rekrytering")

    # Scoping by address: the other department's person, recruitment and list are refused.
    for path in (f"/brukarbank/{other_department['person']}?department={SOC}",
                 f"/brukarbank/{other_department['person']}?department={OTHER}",
                 f"/brukarbank?department={OTHER}",
                 f"/rekryteringar/{other_department['recruitment']}"):
        response = page.goto(system.web + path)
        assert response is not None and response.status in (403, 404), (path, response and response.status)
        expect(page.locator("body")).not_to_contain_text("Birgitta")
        expect(page.locator("body")).not_to_contain_text("Arbetskonsulent")
        audited.check()
    context.close()


def test_coordinator_assigns_a_panel_with_overrides_and_replaces_a_member(
        system: System, browser: Any, other_department: dict[str, str], screenshots: Path | None) -> None:
    from playwright.sync_api import expect

    rid = other_department["later"]
    first, second, third = overridable(system, rid)[:3]
    context, page = signed_in_page(system, browser, COORDINATOR)
    audited = Audited(page, screenshots)
    page.goto(f"{system.web}/rekryteringar/{rid}")
    expect(page.get_by_test_id("lacks")).to_contain_text("Ingen panel")
    audited.check()
    page.get_by_test_id("propose").click()
    # Nobody is free on the interview days: the page says which rule emptied the pool, and why each person.
    expect(page.get_by_test_id("empty-reason")).to_be_visible()
    expect(page.get_by_test_id("others")).to_contain_text("not available")
    audited.check("panel-forslag")
    page.get_by_label(first, exact=True).check()
    page.get_by_label(second, exact=True).check()
    page.get_by_label(f"Varför ska {second} vara med ändå?").fill("Har sagt att hon kan flytta en resa")
    page.get_by_role("button", name="Tilldela panelen").click()
    expect(page.locator(".error-summary")).to_contain_text("Skriv varför personen ska vara med trots regeln")
    audited.check()
    page.get_by_label(f"Varför ska {first} vara med ändå?").fill("Kan delta på distans de dagarna")
    # One override is recorded per rule set aside: earlier journeys may have put one of the two past
    # another soft rule too (a participation limit), so the count comes from matching's explanations.
    rules = sum(len(system.call("GET", "matching", f"/recruitments/{rid}/candidates/{system.participants[name]}"
                                "/explanation", system.coordinator())["excluded_by"]) for name in (first, second))
    assert rules >= 2
    page.get_by_role("button", name="Tilldela panelen").click()
    expect(page.get_by_role("status")).to_contain_text(f"2 personer, {rules} undantag med skäl")
    panel = eventually(lambda: (p := system.call("GET", "recruitments", f"/recruitments/{rid}",
                                                 system.coordinator())["panel"]) and p)
    assert set(panel) == {system.participants[first], system.participants[second]}

    # The third person gets free on those days; replacing the second seats them, and the page says so.
    today = datetime.now(UTC).date()
    me = system.as_participant(system.participants[third])
    system.call("PUT", "participants", f"/participants/{system.participants[third]}/availability", me,
                {"windows": [{"start": today.isoformat(), "end": (today + timedelta(days=150)).isoformat()}]})
    explain = f"/recruitments/{rid}/candidates/{system.participants[third]}/explanation"
    eventually(lambda: system.call("GET", "matching", explain, system.coordinator())["eligible"])
    page.reload()
    expect(page.get_by_test_id("panel")).to_contain_text(second)
    audited.check("rekrytering-panel")
    reason = page.get_by_label(f"Varför ska {second} ersättas?")
    reason.fill("Blev sjuk")
    page.locator("form.replace-form", has=reason).get_by_role("button", name="Ersätt").click()
    expect(page.get_by_role("status")).to_contain_text(f"{third} tar platsen")
    audited.check()
    eventually(lambda: system.participants[third] in system.call("GET", "recruitments", f"/recruitments/{rid}",
                                                                 system.coordinator())["panel"])
    context.close()


def test_hiring_manager_decides_against_the_users_only_with_a_reason_and_shares_the_outcome(
        system: System, browser: Any, other_department: dict[str, str], screenshots: Path | None) -> None:
    from playwright.sync_api import expect

    rid, cid = other_department["later"], other_department["applicant"]
    base = f"/recruitments/{rid}"
    panel = system.call("GET", "recruitments", base, system.coordinator())["panel"]
    if not panel:  # run on its own: seat two people with reasons, as the coordinator's journey does
        picks = [system.participants[name] for name in overridable(system, rid)[:2]]
        system.call("POST", "matching", base + "/panel", system.coordinator(),
                    {"members": picks, "overrides": [{"participant_id": p, "reason": "kan på distans"} for p in picks]})
        panel = eventually(lambda: system.call("GET", "recruitments", base, system.coordinator())["panel"])
    # The service users on the panel accept and recommend not hiring.
    for pid in panel:
        me = system.as_participant(pid)
        eventually(functools.partial(invited, system, base, me))
        system.call("POST", "matching", base + "/invitation/acceptance", me)
        system.call("POST", "recruitments", f"{base}/candidates/{cid}/conflicts", me, {"has_conflict": False})
        system.call("POST", "recruitments", f"{base}/candidates/{cid}/scores", me,
                    {"scores": {a["key"]: 2 for a in SCORECARD}, "recommendation": "no_hire"})

    context, page = signed_in_page(system, browser, MANAGER)
    audited = Audited(page, screenshots)
    page.get_by_role("navigation", name="Meny").get_by_role("link", name="Rekryteringar").click()
    card = page.get_by_test_id(f"card-{rid}")
    expect(card).to_contain_text("Boendestödjare")
    audited.check()
    card.get_by_role("link").click()
    page.get_by_test_id("candidates").get_by_role("link", name="Cecilia Berg").click()
    expect(page.get_by_test_id("users-recommendation")).to_have_text("Anställ inte")
    audited.check("vem-sa-vad")
    page.get_by_label("Motivering").fill("Stark erfarenhet av boendestöd och goda referenser")
    page.get_by_role("button", name="Fatta beslut").click()
    expect(page.locator(".error-summary")).to_contain_text("Du går emot brukarnas rekommendation")
    audited.check()
    assert system.call("GET", "recruitments", base, system.manager()).get("decision") is None
    page.get_by_label("Skäl att gå emot brukarnas rekommendation").fill(
        "Referenserna visar ett brukarnära arbetssätt som inte kom fram i intervjun")
    page.get_by_role("button", name="Fatta beslut").click()
    expect(page.get_by_role("status")).to_contain_text("Beslutet är sparat")
    expect(page.get_by_test_id("decision")).to_contain_text("Referenserna visar")
    audited.check()
    page.get_by_test_id("share").click()
    expect(page.get_by_role("status")).to_contain_text(f"delat med {len(panel)} personer")
    audited.check()
    context.close()

    # A panel member sees the outcome, and why the manager went against them, on their own page.
    context = browser.new_context(locale="sv-SE")
    page = context.new_page()
    page.goto(system.web + "/logga-in")
    page.get_by_role("button", name="Logga in").click()
    page.locator(f'button[data-sub="{panel[0]}"]').click()
    page.wait_for_url(system.web + "/mina-uppdrag")
    page.goto(f"{system.web}/uppdrag/{rid}")
    expect(page.locator("main")).to_contain_text("Chefen anställde Cecilia Berg")
    expect(page.locator("main")).to_contain_text("Referenserna visar")
    Audited(page, None).check()
    context.close()


def test_coordinator_approves_honoraria_downloads_the_payroll_file_and_records_a_payment(
        system: System, browser: Any, other_department: dict[str, str], screenshots: Path | None) -> None:
    from playwright.sync_api import expect

    rid, cid = other_department["later"], other_department["applicant"]
    panel = system.call("GET", "recruitments", f"/recruitments/{rid}", system.coordinator())["panel"]
    if not panel:
        pytest.skip("needs the panel that scored in the hiring manager's journey")
    year = datetime.now(UTC).year
    pid = panel[0]

    def accrued() -> Any:
        ledger = system.call("GET", "participants", f"/participants/{pid}/honoraria", system.coordinator(), year=year)
        return ledger if any(a["department"] == SOC for a in ledger["accruals"]) else None

    ledger = eventually(accrued)  # the score reaches participants over Kafka and becomes an accrual
    assert cid  # the accrual comes from scoring this candidate
    period = f"{datetime.now(UTC):%Y-%m}"
    ours = [a for a in ledger["accruals"] if a["department"] == SOC and a["accrued_on"].startswith(period)]
    # The page reads the department's honoraria read model: wait until it holds these accruals too.
    eventually(lambda: len((system.honoraria_listed(pid, SOC, period) or {"accruals": []})["accruals"]) == len(ours))
    context, page = signed_in_page(system, browser, COORDINATOR)
    audited = Audited(page, screenshots)
    page.get_by_role("navigation", name="Meny").get_by_role("link", name="Arvoden").click()
    pending = [a for a in ours if not a["approved"]]
    # Another journey may have approved or paid this person's earlier accruals of the period.
    payable_before = [a for a in ours if a["approved"] and a["payroll_ref"] is None]
    paid_before = [a for a in ours if a["payroll_ref"] is not None]
    section = page.get_by_test_id(f"honoraria-{pid}")
    expect(section).to_contain_text(f"Att godkänna: {len(pending)} st")
    audited.check("personal-arvoden")
    section.get_by_role("button", name=re.compile("Godkänn arvodena")).click()
    expect(page.get_by_role("status")).to_contain_text(f"{len(pending)} arvoden är godkända")
    expect(page.get_by_test_id(f"honoraria-{pid}")).to_contain_text(
        f"Godkänt, inte betalt: {len(pending) + len(payable_before)} st")
    audited.check()
    with page.expect_download() as download:
        page.get_by_test_id("payroll-csv").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.splitlines()[0] == "payee_ref,period,activity_type,amount_ore,activities"
    assert ledger["payee_ref"] in csv_text
    page.get_by_test_id(f"honoraria-{pid}").get_by_label(re.compile("Lönens referens")).fill("LON-2026-1")
    page.get_by_test_id(f"honoraria-{pid}").get_by_role("button", name="Registrera utbetalning").click()
    expect(page.get_by_role("status")).to_contain_text("Utbetalningen på")
    expect(page.get_by_test_id(f"honoraria-{pid}")).to_contain_text(
        f"Betalt: {len(pending) + len(payable_before) + len(paid_before)} st")
    audited.check()
    context.close()

    # The other department's coordinator sees none of it, on the page or in their payroll file.
    context, page = signed_in_page(system, browser, OTHER_COORDINATOR)
    page.goto(system.web + "/arvoden-att-betala")
    expect(page.locator("main")).not_to_contain_text(system.name_of(pid))
    Audited(page, None).check()
    other_csv = page.request.get(system.web + f"/arvoden-att-betala/lonefil.csv?period={period}").text()
    assert ledger["payee_ref"] not in other_csv
    refused = page.request.get(system.web + f"/arvoden-att-betala/lonefil.csv?department={SOC}")
    assert refused.status == 403
    context.close()


def test_other_departments_coordinator_sees_only_their_own(system: System, browser: Any,
                                                           other_department: dict[str, str]) -> None:
    from playwright.sync_api import expect

    # On a phone (375 px): the pages fit the width; wide tables scroll inside their own box.
    context, page = signed_in_page(system, browser, OTHER_COORDINATOR, viewport={"width": 375, "height": 812})
    audited = Audited(page, None)
    fits = "() => document.documentElement.scrollWidth <= window.innerWidth"
    wide = """() => [...document.querySelectorAll('main *')]
                 .filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 5)
                 .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""
    assert page.evaluate(fits)
    page.get_by_role("navigation", name="Meny").get_by_role("link", name="Brukarbanken").click()
    expect(page.get_by_test_id("bank-table")).to_contain_text("Birgitta Annan-Förvaltning")
    page.wait_for_load_state("load")
    assert page.evaluate(fits), page.evaluate(wide)
    for name in system.participants:
        expect(page.locator("body")).not_to_contain_text(name)
    audited.check()
    page.get_by_role("navigation", name="Meny").get_by_role("link", name="Rekryteringar").click()
    expect(page.get_by_test_id(f"card-{other_department['recruitment']}")).to_contain_text("Ingen panel")
    expect(page.locator("body")).not_to_contain_text("Socialsekreterare")
    assert page.evaluate(fits), page.evaluate(wide)
    audited.check()
    page.get_by_role("navigation", name="Meny").get_by_role("link", name="Rättvisa").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(OTHER)
    page.wait_for_load_state("load")
    assert page.evaluate(fits), page.evaluate(wide)
    for name in system.participants:
        expect(page.locator("main")).not_to_contain_text(name)
    audited.check()
    response = page.goto(f"{system.web}/rattvisa?department={SOC}")
    assert response is not None and response.status == 403
    context.close()


def test_auditor_lands_on_what_they_may_read(system: System, browser: Any, other_department: dict[str, str],
                                            screenshots: Path | None) -> None:
    from playwright.sync_api import expect

    context, page = signed_in_page(system, browser, AUDITOR)
    audited = Audited(page, screenshots)
    expect(page.get_by_role("heading", level=1)).to_have_text("Din arbetsyta")
    # The dashboards admit coordinators, hiring managers and administrators: not offered to an auditor.
    expect(page.get_by_test_id("dashboards-link")).to_have_count(0)
    expect(page.get_by_role("navigation", name="Meny").get_by_role("link", name="Brukarbanken")).to_have_count(0)
    audited.check()
    # The fairness report: figures, the chart and the same figures as a table, without names.
    page.get_by_role("navigation", name="Meny").get_by_role("link", name="Rättvisa").click()
    expect(page.get_by_test_id("fairness-chart")).to_be_visible()
    report = system.call("GET", "matching", f"/departments/{SOC}/fairness", system.token(AUDITOR, "auditor", (SOC,)))
    expect(page.get_by_test_id("fairness-figures")).to_contain_text(str(report["active_participants"]))
    rows = page.get_by_test_id("fairness-table").locator("tbody tr")
    expect(rows).to_have_count(min(10, len(report["longest_waiting"])))
    for name in system.participants:
        expect(page.locator("main")).not_to_contain_text(name)
    audited.check("rattvisa")
    response = page.goto(system.web + "/brukarbank")
    assert response is not None and response.status == 403
    audited.check()
    context.close()


def test_registering_needs_the_csrf_token_and_the_departments_own(system: System,
                                                                 other_department: dict[str, str]) -> None:
    before = bank_of(system, SOC)
    s = sign_in(system, COORDINATOR)
    form = s.get(system.web + "/brukarbank/ny")
    assert form.status_code == 200
    refused = s.post(system.web + "/brukarbank/ny", data={"name": "Utan Token", "department": SOC})
    assert refused.status_code == 400
    other = s.post(system.web + "/brukarbank/ny", data={"csrf_token": csrf_of(form.text), "name": "Fel Förvaltning",
                                                       "department": OTHER, "preferred_language": "sv"})
    assert other.status_code == 400  # not one of the choices this coordinator is offered
    after = bank_of(system, SOC)
    assert len(after) == len(before)  # neither post registered anyone
    assert requests.get(system.web + "/brukarbank", timeout=10, allow_redirects=False).status_code == 302
