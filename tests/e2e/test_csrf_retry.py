"""A page left open on a phone survives a CSRF rotation (security issue 9, item 10).

The session, and the CSRF token in it, is replaced when an organiser logs in or out in the
same browser. A page opened before that still carries the old token. Its scripts send
through static/js/send.js: on a CSRF refusal they fetch a fresh token from the page's own
URL and retry once, and never lose what was typed. Here, on the notes page's autosave, in a
real Chromium on a phone, on SQLite and PostgreSQL:

- Ana's notes page is open; an organiser logs in in another tab of the same browser. What
  she types next is refused once (400 csrf_failed), sent again with the fresh token, saved
  ("Saved HH:MM.") and in the database; the page's form carries the fresh token too, so a
  plain "Save notes" afterwards works.
- A session that is gone again before every send gets every token refused, the fresh one
  too: one retry, no more; the page says it was not saved and to reload, the text stays in
  the field and on the phone (the outbox), and a reload (once the session lasts) puts it back
  and saves it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from eventmate import picks
from eventmate.extensions import db
from eventmate.models import Attendee, Note

pytestmark = [pytest.mark.e2e, pytest.mark.one_database]

ANA, BEN = "Ana Lima", "Ben Okafor"
AFTER_ROTATION = "Promised an intro to Marta at Flink (typed after the log-in)"
WHILE_REFUSED = "Raising a seed round in March (typed while every token was refused)"
#: What the notes page says when its token is refused even after fetching a fresh one.
REFUSED = re.compile(r"^We couldn't accept that save: this page's session has ended\. .*reload the page")
SAVED = re.compile(r"^Saved \d\d:\d\d\.$")
#: Nothing about this notes page waits in the phone's outbox (IndexedDB) any more.
NOTHING_WAITS_HERE = """() => new Promise((ok, fail) => {
  const open = indexedDB.open("eventmate", 1);
  open.onerror = () => fail(open.error);
  open.onsuccess = () => {
    const all = open.result.transaction("outbox").objectStore("outbox").getAll();
    all.onsuccess = () => { open.result.close(); ok(!all.result.some(e => e.url === location.pathname)); };
  };
})"""


def the_room(app, make_organiser, make_event, make_attendee) -> SimpleNamespace:
    """An evening happening now, its organiser, and Ana, who has chosen Ben."""
    now = datetime.now(UTC)
    organiser = make_organiser()
    event = make_event(organiser, timezone="UTC",
                       starts_local=(now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                       ends_local=(now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    ana, ben = make_attendee(event, ANA), make_attendee(event, BEN)
    with app.app_context():
        try:
            picks.pick(db.session, db.session.get(Attendee, ana.id), ben.id)
        finally:
            db.session.remove()
    return SimpleNamespace(organiser=organiser, event=event, ana=ana, ben=ben)


def notes_page(context, origin: str, room):
    """Ana's phone, signed in with her return link, on her notes page about Ben."""
    page = context.new_page()
    page.goto(f"{origin}/r/{room.ana.code}")
    page.get_by_role("button", name="Yes, that's me").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello again, {ANA}")
    page.goto(f"{origin}/e/{room.event.slug}/notes/{room.ben.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(BEN)
    return page


def stored_note(app, room) -> dict[str, str] | None:
    """Ana's note about Ben as the database holds it."""
    with app.app_context():
        try:
            note = db.session.scalar(sa.select(Note).where(
                Note.author_id == room.ana.id, Note.subject_id == room.ben.id))
            return None if note is None else {"working_on": note.working_on, "offer": note.offer}
        finally:
            db.session.remove()


def sends_to(page, url: str) -> list[SimpleNamespace]:
    """Every request the page makes to `url` from now on: method, CSRF token sent, status."""
    seen: list[SimpleNamespace] = []

    def on_request(request):
        if request.url == url:
            seen.append(SimpleNamespace(method=request.method, token=request.headers.get("x-csrftoken"),
                                        request=request))

    page.on("request", on_request)
    return seen


def status_of(sent: SimpleNamespace) -> int:
    response = sent.request.response()
    assert response is not None, f"{sent.method} had no response"
    return response.status


def page_token(page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content")


def refused_loads(problems, url: str) -> list:
    """Console errors other than Chromium's log line for a refused (400) request to `url`."""
    return [p for p in problems if not (p[1] == url and "status of 400" in p[2])]


def test_a_rotated_token_is_fetched_afresh_and_the_save_retried_once(
        live_server, contexts, make_organiser, make_event, make_attendee):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee)
    phone = contexts.phone()
    page = notes_page(phone, origin, room)
    url = page.url
    old_token = page_token(page)

    # The rotation: an organiser logs in in another tab of this browser (a new session).
    tab = phone.new_page()
    tab.goto(f"{origin}/organiser/login")
    tab.get_by_label("Email").fill(room.organiser.email)
    tab.get_by_label("Password").fill(room.organiser.password)
    tab.get_by_role("button", name="Log in").click()
    expect(tab.get_by_role("heading", level=1)).to_have_text("Your events")
    tab.close()

    sent = sends_to(page, url)
    offer = page.get_by_label("What I can offer, or promised")
    offer.fill(AFTER_ROTATION)
    expect(page.locator("[data-save-status]")).to_have_text(SAVED)

    # Refused with the old token, the page fetched itself for a fresh one, sent once more.
    assert [s.method for s in sent] == ["POST", "GET", "POST"], sent
    assert [status_of(s) for s in sent] == [400, 200, 200]
    assert sent[0].token == old_token
    fresh = page_token(page)
    assert fresh != old_token and sent[2].token == fresh
    expect(page.locator('form[data-notes] input[name="csrf_token"]')).to_have_value(fresh)
    expect(offer).to_have_value(AFTER_ROTATION)
    assert stored_note(app, room) == {"working_on": "", "offer": AFTER_ROTATION}

    # The form took the fresh token too: a plain submit works after the rotation.
    page.get_by_label("What they're working on").fill("Hiring a first salesperson")
    page.get_by_role("button", name="Save notes").click()
    expect(page.locator("p.flash")).to_have_text(f"Notes about {BEN} saved. Only you can see them.")
    assert stored_note(app, room) == {"working_on": "Hiring a first salesperson", "offer": AFTER_ROTATION}

    assert refused_loads(contexts.problems, url) == []


def test_when_every_token_is_refused_it_retries_once_and_keeps_the_text(
        live_server, contexts, make_organiser, make_event, make_attendee):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee)
    page = notes_page(contexts.phone(), origin, room)
    url = page.url

    # A session that never lasts: just before each POST leaves the phone, its session cookie
    # is cleared (as a log-in or log-out in another tab would replace it), so the server
    # refuses every token the page sends — the freshly fetched one included.
    phone = page.context

    def without_session(route):
        if route.request.method == "POST":
            phone.clear_cookies(name="session")
        route.continue_()

    page.route(url, without_session)
    sent = sends_to(page, url)
    working_on = page.get_by_label("What they're working on")
    working_on.fill(WHILE_REFUSED)
    status = page.locator("[data-save-status]")
    expect(status).to_have_text(REFUSED)

    assert [s.method for s in sent] == ["POST", "GET", "POST"], sent  # one retry, no more
    assert [status_of(s) for s in sent] == [400, 200, 400]
    expect(working_on).to_have_value(WHILE_REFUSED)
    assert stored_note(app, room) is None

    # The session lasts again, and the page is reloaded as it said: what was typed is put
    # back from the phone and saved (leaving the old page may have sent it already: once).
    page.unroute(url)
    page.reload()
    expect(working_on).to_have_value(WHILE_REFUSED)
    expect(status).not_to_have_text(REFUSED)
    page.wait_for_function(NOTHING_WAITS_HERE)
    assert stored_note(app, room) == {"working_on": WHILE_REFUSED, "offer": ""}
    offer = page.get_by_label("What I can offer, or promised")
    offer.fill("A review of his pitch deck")
    expect(status).to_have_text(SAVED)
    assert stored_note(app, room) == {"working_on": WHILE_REFUSED, "offer": "A review of his pitch deck"}

    assert refused_loads(contexts.problems, url) == []
