"""Notes saves as a new user meets them (issue 11), in a real Chromium on a phone, against the
real app on SQLite and PostgreSQL:

- removed from my three in another tab: the next autosave is *refused* (said so, the text
  kept on the page and on the phone, in the outbox), not taken for being offline; chosen again, a reload
  puts the text back and saves it;
- two tabs: different fields both land; the same field shows both versions, nothing is
  dropped, and "Keep mine" saves mine knowingly;
- typing a line and tapping "Back to my three" at once still saves it (sent on leaving);
- a server error is retried with backoff (no `online` event ever comes); offline says so.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from eventmate import notes, picks
from eventmate.extensions import db
from eventmate.models import Attendee, Note

from .conftest import sign_in_on

pytestmark = [pytest.mark.e2e]

ANA, BEN = "Ana Lima", "Ben Okafor"
SAVED = re.compile(r"^Saved \d\d:\d\d\.$")
STATUS = "[data-save-status]"
FIELDS = ("working_on", "needs", "offer", "personal")
WORKING_ON, NEEDS, OFFER = "What they're working on", "What they need", "What I can offer, or promised"


def the_room(app, make_organiser, make_event, make_attendee) -> SimpleNamespace:
    """An evening happening now, and Ana, who has chosen Ben."""
    now = datetime.now(UTC)
    event = make_event(make_organiser(), timezone="UTC",
                       starts_local=(now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                       ends_local=(now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    ana, ben = make_attendee(event, ANA), make_attendee(event, BEN)
    with app.app_context():
        try:
            picks.pick(db.session, db.session.get(Attendee, ana.id), ben.id)
        finally:
            db.session.remove()
    return SimpleNamespace(event=event, ana=ana, ben=ben)


def sign_in(context, origin: str, room):
    return sign_in_on(context, origin, room.ana.code, ANA)


def open_notes(page, origin: str, room):
    page.goto(f"{origin}/e/{room.event.slug}/notes/{room.ben.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(BEN)
    return page


def stored(app, room) -> dict[str, str] | None:
    with app.app_context():
        try:
            note = db.session.scalar(sa.select(Note).where(
                Note.author_id == room.ana.id, Note.subject_id == room.ben.id))
            return None if note is None else {name: getattr(note, name) for name in FIELDS}
        finally:
            db.session.remove()


def eventually(check, seconds: float = 8.0):
    """The database, polled: a request sent as a page is left lands a moment later."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


#: The phone's outbox entries about this notes page, as {field: {"value", "base"}} (later wins).
KEPT_ON_PHONE = """() => new Promise((ok, fail) => {
  const open = indexedDB.open("eventmate", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("outbox", { keyPath: "id" });
  open.onerror = () => fail(open.error);
  open.onsuccess = () => {
    const all = open.result.transaction("outbox").objectStore("outbox").getAll();
    all.onsuccess = () => {
      open.result.close();
      const kept = {};
      all.result.filter(e => e.url === location.pathname).sort((a, b) => a.at - b.at).forEach(e => {
        for (const n of Object.keys(e.fields)) {
          if (!n.startsWith("base_")) kept[n] = { value: e.fields[n], base: e.fields["base_" + n] };
        }
      });
      ok(kept);
    };
  };
})"""


def kept_on_phone(page) -> dict:
    return page.evaluate(KEPT_ON_PHONE)


@pytest.mark.one_database
def test_removed_from_my_three_in_another_tab_is_refused_not_offline(
        live_server, contexts, make_organiser, make_event, make_attendee):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee)
    phone = contexts.phone()
    page = open_notes(sign_in(phone, origin, room), origin, room)
    status = page.locator(STATUS)
    working_on = page.get_by_label(WORKING_ON)
    working_on.fill("Hiring a first salesperson")
    expect(status).to_have_text(SAVED)

    tab = phone.new_page()  # another tab: Ben is removed from Ana's three
    tab.goto(f"{origin}/e/{room.event.slug}")
    tab.locator(f'[data-chosen="{BEN}"]').get_by_role("button", name="Remove").click()
    expect(tab.locator(f'[data-chosen="{BEN}"]')).to_have_count(0)

    typed = "Hiring a first salesperson, and someone for ops"
    working_on.fill(typed)
    expect(status).to_have_text(re.compile(r"^They're not one of your three any more.*"
                                           r"What you typed stays here and on this phone\.$"))
    expect(working_on).to_have_value(typed)
    assert kept_on_phone(page)["working_on"] == {"value": typed, "base": "Hiring a first salesperson"}
    assert stored(app, room)["working_on"] == "Hiring a first salesperson"

    # Chosen again, the notes page puts back what was typed on this phone and saves it.
    tab.goto(f"{origin}/e/{room.event.slug}/people")
    tab.get_by_role("button", name=f"Choose {BEN}").click()
    page.reload()  # (leaving sends it too: whichever lands first, it is saved once)
    expect(working_on).to_have_value(typed)
    assert eventually(lambda: stored(app, room)["working_on"] == typed)
    assert eventually(lambda: kept_on_phone(page) == {})
    expect(status).not_to_have_text(re.compile("Couldn't|not one of your three"))
    notes_url = page.url
    assert [p for p in contexts.problems if not (p[1] == notes_url and "status of 404" in p[2])] == []


def test_two_tabs_merge_per_field_and_show_both_versions_of_one(
        live_server, contexts, make_organiser, make_event, make_attendee):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee)
    phone = contexts.phone()
    b = open_notes(sign_in(phone, origin, room), origin, room)  # opened first
    a = open_notes(phone.new_page(), origin, room)

    a.get_by_label(NEEDS).fill("A roaster in Porto")
    expect(a.locator(STATUS)).to_have_text(SAVED)
    b.get_by_label(OFFER).fill("Intro to Luís")
    expect(b.locator(STATUS)).to_have_text(SAVED)
    assert stored(app, room) == {"working_on": "", "needs": "A roaster in Porto", "offer": "Intro to Luís",
                                 "personal": ""}

    # The same field on both: A's lands; B sees A's version beside its own, nothing dropped.
    a.get_by_label(WORKING_ON).fill("A café chain")
    expect(a.locator(STATUS)).to_have_text(SAVED)
    b.get_by_label(WORKING_ON).fill("Three cafés and a bakery")
    expect(b.locator(STATUS)).to_have_text(re.compile(r"^This changed on another screen"))
    conflict = b.locator("[data-conflict]")
    expect(conflict.locator("[data-theirs]")).to_have_text("A café chain")
    expect(b.get_by_label(WORKING_ON)).to_have_value("Three cafés and a bakery")
    assert stored(app, room)["working_on"] == "A café chain"

    conflict.get_by_role("button", name="Keep mine").click()
    expect(b.locator(STATUS)).to_have_text(SAVED)
    expect(conflict).to_have_count(0)
    assert stored(app, room) == {"working_on": "Three cafés and a bakery", "needs": "A roaster in Porto",
                                 "offer": "Intro to Luís", "personal": ""}
    assert all("status of 409" in p[2] for p in contexts.problems), contexts.problems


# The request sent as the page is left sometimes never reached the server here (2 of 7 runs
# at one point, not explained); the note then waits in the outbox, which the next page sends
# on load. Either way the note must be saved without the notes page being opened again.
def test_typing_then_leaving_at_once_still_saves(
        live_server, contexts, make_organiser, make_event, make_attendee):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee)
    page = open_notes(sign_in(contexts.phone(), origin, room), origin, room)
    page.get_by_label(OFFER).fill("A review of his pitch deck")
    page.get_by_role("link", name="Back to my three").click()  # well inside the autosave's pause
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello again, {ANA}")
    assert eventually(lambda: (stored(app, room) or {}).get("offer")) == "A review of his pitch deck"
    assert contexts.problems == []


@pytest.mark.one_database
def test_a_server_error_is_retried_with_backoff_and_offline_is_said(
        live_server, contexts, make_organiser, make_event, make_attendee, monkeypatch):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee)
    page = open_notes(sign_in(contexts.phone(), origin, room), origin, room)
    status = page.locator(STATUS)
    real_save, calls = notes.save, []

    def failing_twice(*args, **kwargs):  # the real server answers a real 500 (CONTRACT's JSON)
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise RuntimeError("the database is restarting")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(notes, "save", failing_twice)
    page.get_by_label(NEEDS).fill("Clients in Spain")
    expect(status).to_have_text(re.compile(r"^Couldn't save just now .* Trying again in 1 s\.$"))
    expect(status).to_have_text(SAVED, timeout=15_000)
    assert len(calls) == 3
    gaps = [round(later - earlier, 1) for earlier, later in zip(calls, calls[1:], strict=False)]
    assert 0.9 <= gaps[0] < 2 and 1.9 <= gaps[1] < 3.5, gaps  # 1 s, then 2 s
    assert stored(app, room)["needs"] == "Clients in Spain"
    monkeypatch.undo()

    page.context.set_offline(True)
    page.get_by_label(OFFER).fill("Typed in the basement")
    expect(status).to_have_text(re.compile(
        r"^Couldn't save — you seem to be offline\. It's kept on this phone and will save when you're back\."))
    assert kept_on_phone(page)["offer"]["value"] == "Typed in the basement"
    page.context.set_offline(False)
    expect(status).to_have_text(SAVED)
    assert stored(app, room)["offer"] == "Typed in the basement"
    assert len([p for p in contexts.problems if "status of 500" in p[2]]) == 2, contexts.problems
    assert all("status of 500" in p[2] or "ERR_INTERNET_DISCONNECTED" in p[2] for p in contexts.problems)
