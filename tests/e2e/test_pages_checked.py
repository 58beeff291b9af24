"""Every page an attendee sees, checked as a whole (issue 10's test requirement), in a real
Chromium at 390×844, light and dark:

- axe-core finds 0 violations (every page, the poster and the organiser's main pages too);
- the Nu HTML checker finds 0 errors in the HTML the server sent (one JVM for all pages);
- no page is wider than the screen, no date or time field cuts its value off, and no page
  logs a console error;
- a full-page screenshot of each, light and dark, in tests/screenshots/sqlite*/, to look at.

One evening, and the morning after, on one SQLite database: the pages don't differ by
database, so PostgreSQL is not run here. axe-core and vnu-jar come from npm (package-lock.json,
`make test` installs them); without them, or without Java, the test is skipped — or fails
under EVENTMATE_REQUIRE_ALL=1.

axe is loaded into every page as a context init script, which the page's CSP does not govern,
so the pages run under their real CSP and a violation shows as a console error (it was
injected with `add_script_tag` under `bypass_csp` first: 97 s against about 70 s, and blind to
the CSP). Service workers are blocked, so each page checked is the server's answer (the worker
has its own tests).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import need
from playwright.sync_api import expect

from e2e.test_door import too_wide
from eventmate import clock, letters, notes, picks
from eventmate.extensions import db
from eventmate.models import Attendee, Message

from .conftest import event_on_now

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
INSTALL = "run `make test`, or `npm ci --ignore-scripts` at the repository root"

pytestmark = [pytest.mark.e2e,
              # One database is enough: the pages are the same on both (the CI suite is near its limit).
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

EVENT = "Thursday founders evening"
VENUE = "The Corner Room, 12 Market Street"

#: axe's violations, kept small (its full result, with every pass, is large to send back).
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")),
  }));
}"""


#: Date and time fields narrower than their own value: Chromium cuts the value off inside
#: the box ("09:30 AI" for 09:30 AM), which no overflow measure sees. Each field is compared
#: with a hidden copy of itself at its natural width.
CLIPPED_FIELDS_JS = """() => {
  const found = [];
  for (const e of document.querySelectorAll("input[type=date], input[type=time], input[type=datetime-local]")) {
    const has = e.getBoundingClientRect().width;
    if (!has) continue;  // not shown (a closed <details>)
    const natural = e.cloneNode();
    natural.removeAttribute("id");
    natural.style.cssText = "position: absolute; visibility: hidden; width: auto; min-width: 0; max-width: none";
    e.after(natural);
    const needs = natural.getBoundingClientRect().width;
    natural.remove();
    if (has + 0.5 < needs) found.push(`#${e.id || e.name}: ${Math.round(has)}px wide, needs ${Math.round(needs)}px`);
  }
  return found;
}"""


class Checker:
    """Visits pages in one phone context (light or dark) and records what is wrong with each."""

    def __init__(self, page, scheme: str, shot, html: dict[str, bytes], problems: list[str]) -> None:
        self.page, self.scheme, self.shot = page, scheme, shot
        self.html, self.problems = html, problems

    def goto(self, url: str, name: str, status: int = 200) -> None:
        self.check(self.page.goto(url), name, status)

    def after(self, button, name: str, status: int = 200) -> None:
        """Check the page a button (a form sent) leads to."""
        with self.page.expect_navigation() as navigation:
            button.click()
        self.check(navigation.value, name, status)

    def check(self, response, name: str, status: int) -> None:
        page = self.page
        where = f"{name} ({self.scheme}, {page.url})"
        assert response is not None and response.status == status, (where, response and response.status)
        assert not response.from_service_worker, f"{where}: answered by the service worker, not the server"
        if self.scheme == "light":  # the server's HTML is the same in both: check it once
            self.html[name] = response.body()
        self.shot(page, f"{name}-{self.scheme}")
        self.problems += [f"{where}: wider than the screen: {what}" for what in too_wide(page)]
        self.problems += [f"{where}: value cut off: {what}" for what in page.evaluate(CLIPPED_FIELDS_JS)]
        for v in page.evaluate(AXE_RUN):
            self.problems.append(f"{where}: axe {v['id']} ({v['impact']}): {v['help']} — {v['targets']}")


def start_nu(pages: dict[str, bytes], folder: Path) -> subprocess.Popen:
    """The Nu HTML checker on every page at once (its JVM takes seconds to start), in the
    background while the browser goes on; `nu_errors` collects what it found."""
    files = []
    for n, (name, body) in enumerate(pages.items(), start=1):
        path = folder / f"{n:02d}-{name}.html"
        path.write_bytes(body)
        files.append(str(path))
    return subprocess.Popen(["java", "-jar", str(VNU), "--errors-only", "--format", "json", *files],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def nu_errors(nu: subprocess.Popen) -> list[str]:
    """Each error the checker found: file (numbered page name), line, message, the HTML."""
    _out, report = nu.communicate(timeout=120)
    messages = json.loads(report)["messages"]
    assert nu.returncode == 0 or messages, report
    return [f"Nu {Path(m.get('url', '?')).name}:{m.get('lastLine', '?')}: {m['type']}: {m['message']} "
            f"[{m.get('extract', '').strip()}]" for m in messages]


def test_every_page_light_and_dark(live_server, contexts, shot, make_organiser, make_event, make_attendee,
                                   tmp_path):
    need(AXE.exists(), f"axe-core is not installed ({INSTALL})")
    need(VNU.exists(), f"the Nu HTML checker (vnu-jar) is not installed ({INSTALL})")
    need(shutil.which("java") is not None, "Java is not installed (apt-get install default-jre-headless)")
    origin, app = live_server.url, live_server.app

    # --- the evening: Ana chose Ben, Chloé and Dev, wrote about Ben; Chloé chose Ana ---------
    organiser = make_organiser()
    event = event_on_now(make_event, organiser, name=EVENT, venue=VENUE)
    ana = make_attendee(event, "Ana Lima", what_i_do="I run a small design studio for boutique hotels",
                        contact="ana@studio.example")
    ben = make_attendee(event, "Ben Okafor", what_i_do="Sales coach for hardware start-ups")
    chloe = make_attendee(event, "Chloé Martin", what_i_do="Founder of a children's book subscription",
                          contact="chloe@books.example\n+44 20 7946 0958", contact_consent="yes")
    dev = make_attendee(event, "Dev Patel", what_i_do="Data engineer moving into climate tech")
    fay = make_attendee(event, "Fay Wong", what_i_do="Runs a coworking space by the station")
    newcomers = {"light": make_attendee(event, "Eve Light"), "dark": make_attendee(event, "Eve Dark")}
    with app.app_context():
        me = db.session.get(Attendee, ana.id)
        for person in (ben, chloe, dev):
            picks.pick(db.session, me, person.id)
        notes.save(db.session, me, ben.id, {"working_on": "Hiring his first account executive",
                                             "offer": "A review of his pitch deck"}, str(uuid.uuid4()))
        picks.pick(db.session, db.session.get(Attendee, chloe.id), ana.id)
        morning = db.session.scalar(sa.select(Message.due_at).where(
            Message.attendee_id == ana.id, Message.kind == "prompt"))
        db.session.remove()
    home = f"{origin}/e/{event.slug}"

    html: dict[str, bytes] = {}
    problems: list[str] = []
    nu = None
    try:
        for scheme in ("light", "dark"):
            if scheme == "dark":  # every page's HTML is in: check it while the dark pass runs
                nu = start_nu(html, tmp_path)
            clock.reset()
            # No service worker: every page checked is the one the server sent, not a cached copy.
            context = contexts.phone(dark=scheme == "dark", service_workers="block")
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            check = Checker(page, scheme, shot, html, problems)

            # A new phone: the check-in form, and the pages anyone may open.
            check.goto(f"{origin}{event.checkin_path}", "check-in")
            check.goto(f"{origin}/return", "return-code")
            check.goto(f"{origin}/offline", "offline")

            # A newcomer: welcome with three empty places, someone's pick-me code, then leaving for good.
            eve = newcomers[scheme]
            check.goto(f"{origin}/r/{eve.code}", "return-confirm")
            with page.expect_navigation():
                page.get_by_role("button", name="Yes, that's me").click()
            check.goto(f"{home}?welcome=1", "home-welcome")  # three empty places
            check.goto(f"{origin}/p/{ben.pickme}", "pick-me")
            check.goto(f"{home}/you", "you")
            page.get_by_label("I understand", exact=False).check()
            check.after(page.get_by_role("button", name="Delete my data"), "deleted")

            # Ana at the evening: her three, who's here, a full three asks for a swap.
            page.goto(f"{origin}/r/{ana.code}")
            check.after(page.get_by_role("button", name="Yes, that's me"), "home-three")
            check.goto(f"{home}/people", "who-is-here")
            check.goto(f"{home}/people?q=chlo", "who-is-here-search")
            page.goto(f"{home}/people?q=fay")
            check.after(page.get_by_role("button", name=f"Choose {fay.name}"), "swap", 409)
            check.goto(f"{home}/notes/{ben.id}", "notes")
            check.goto(f"{home}/qr", "my-code")
            check.goto(f"{home}/you/answers", "answers")

            # The organiser, on a phone too: the events, the live night, the people, the poster.
            page.goto(f"{origin}/organiser/login")
            page.get_by_label("Email").fill(organiser.email)
            page.get_by_label("Password").fill(organiser.password)
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            check.goto(f"{origin}/organiser/", "organiser-events")
            check.goto(f"{origin}/organiser/events/{event.id}", "organiser-event")
            check.goto(f"{origin}/organiser/events/{event.id}/people", "organiser-people")
            check.goto(f"{origin}/organiser/events/{event.id}/poster", "poster")

            # The morning after (the live server shares this clock): Ana wrote to Ben, he replied.
            clock.set_now(morning)
            if scheme == "light":
                with app.app_context():
                    letters.send(db.session, db.session.get(Attendee, ana.id), ben.id,
                                 {"body": "Hi Ben, lovely to meet you last night."}, str(uuid.uuid4()))
                    letters.send(db.session, db.session.get(Attendee, ben.id), ana.id,
                                 {"body": "Likewise! Coffee next week?"}, str(uuid.uuid4()))
                    db.session.remove()
            check.goto(home, "home-morning")
            check.goto(f"{home}/follow-up", "follow-up")
            check.goto(f"{home}/inbox", "inbox")
            check.goto(f"{home}/with/{ben.id}", "thread")
            page.context.close()
    except BaseException:
        if nu is not None:  # no checker left running after a failure
            nu.kill()
            nu.communicate()
        raise
    finally:
        clock.reset()

    problems += nu_errors(nu)
    # The swap page answers 409 (the pick was refused): the browser logs that status.
    problems += [f"console ({context}, {url}): {text}" for context, url, text in contexts.problems
                 if not ("/picks" in url and "409" in text)]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
