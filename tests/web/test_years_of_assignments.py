"""A service user with years of assignments: `/mina-uppdrag` shows the newest past ones a page at a
time, with a link to older ones and back, over the real system (``delaktig up``).

In a department of its own (so the other web tests' department is untouched): one person in the
bank, eleven recruitments with that person on the panel, each then cancelled.
"""

from __future__ import annotations

import re
import time

from services.web.i18n import SV
from services.web.pages import PAST_PAGE
from tests.web.system import System, sign_in

AMF = "arbetsmarknadsforvaltningen"
PERSON = ("Sara Nilsson", "sara.nilsson@example.org", "070-100 00 09")
PAST = PAST_PAGE + 1  # one more than a page: the oldest is on the second page


def past_ids(html: str) -> list[str]:
    """The recruitments listed under "Tidigare uppdrag", in page order."""
    section = html.split('id="tidigare"', 1)[1]
    return re.findall(r'data-recruitment="([0-9a-f-]{36})"', section)


def test_past_assignments_page_back_through_the_years(system: System) -> None:
    system.department_settings(AMF, max_engagements=PAST + 5)  # the limit is not what this is about
    pid = system.ready_participant(*PERSON, AMF)
    system.more_people.append({"sub": pid, "name": PERSON[0], "roles": ["participant"], "email": PERSON[1],
                               "phone": PERSON[2]})
    system.write_people()
    opened: list[str] = []
    for n in range(PAST):
        rid = system.open_recruitment(AMF, f"Arbetskonsulent {n + 1}", panel_size=1, in_days=3 + 7 * n)
        assert system.assign_panel(AMF, rid, 1) == [pid]
        system.call("POST", "recruitments", f"/recruitments/{rid}/close", system.coordinator(AMF),
                    {"outcome": "cancelled", "reason": "Tjänsten drogs in"})
        opened.append(rid)
    newest_first = list(reversed(opened))

    browser = sign_in(system, pid)

    def past_page(url: str, expected: list[str]) -> str:
        """The page once it lists ``expected`` (closing reaches the person's list through the
        recruitments list's read model a moment later)."""
        deadline = time.monotonic() + 60
        while True:
            html = browser.get(url, timeout=10).text
            if past_ids(html) == expected or time.monotonic() > deadline:
                return html
            time.sleep(0.3)

    older_link, newest_link = SV["earlier_assignments"], SV["latest_assignments"]
    first = past_page(system.web + "/mina-uppdrag", newest_first[:PAST_PAGE])
    assert past_ids(first) == newest_first[:PAST_PAGE]
    assert older_link in first and newest_link not in first
    older = re.search(r'href="(/mina-uppdrag\?tidigare=[^"#]+)#tidigare"', first)
    assert older is not None, "no link to older assignments"

    second = past_page(system.web + older.group(1).replace("&amp;", "&"), newest_first[PAST_PAGE:])
    assert past_ids(second) == newest_first[PAST_PAGE:]  # the oldest, and nothing shown twice
    assert older_link not in second and newest_link in second
    assert re.search(r'href="/mina-uppdrag#tidigare"', second), "no link back to the latest"

    # A cursor typed by hand, or one of another listing, starts again from the newest: no error page.
    typed = browser.get(system.web + "/mina-uppdrag?tidigare=not-a-cursor", timeout=10)
    assert typed.status_code == 200
    assert past_ids(typed.text) == newest_first[:PAST_PAGE]
