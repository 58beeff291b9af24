"""The outbox for my three (issue 11), against the real app over HTTP on SQLite and PostgreSQL:

- the same batch of changes replayed from eight threads at once, after one copy's answer was
  lost: every change lands exactly once (a late "choose Bea" never undoes "remove Bea"), every
  copy gets the same answer, exactly one copy of each is the one that applied it;
- in a real Chromium: choices made offline wait on the phone and say so, reach the server once
  when it is back, a fourth is refused and shown; signing out holds off while a change is
  unsent and goes ahead once it has been sent;
- a note and a pick made offline wait in the same outbox (one status line), survive a reload
  made offline, and each reach the server once; signing out with a change that can't be sent
  offers "Discard unsent changes", which empties the outbox and signs the phone out.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import sqlalchemy as sa
from playwright.sync_api import expect

from eventmate import notes, picks
from eventmate.extensions import db
from eventmate.models import Attendee, Note, NoteSave, Pick, PickChange

from .conftest import sign_in_on

ANA, BEA, CHEN, DARA, EMIL, FEMI, GUS = ("Ana Lima", "Bea Costa", "Chen Wei", "Dara Byrne", "Emil Sørensen",
                                         "Femi Adé", "Gus Moreau")
CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
THREADS = 8


def the_room(app, make_organiser, make_event, make_attendee, chosen=()) -> SimpleNamespace:
    """An evening happening now: Ana and six others; Ana has already chosen `chosen`."""
    now = datetime.now(UTC)
    event = make_event(make_organiser(), timezone="UTC",
                       starts_local=(now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                       ends_local=(now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    people = {name: make_attendee(event, name) for name in (ANA, BEA, CHEN, DARA, EMIL, FEMI, GUS)}
    with app.app_context():
        try:
            for name in chosen:
                picks.pick(db.session, db.session.get(Attendee, people[ANA].id), people[name].id)
        finally:
            db.session.remove()
    return SimpleNamespace(event=event, people=people, ana=people[ANA])


def three(app, room) -> list[str]:
    with app.app_context():
        try:
            return list(db.session.scalars(
                sa.select(Attendee.name).join(Pick, Pick.picked_id == Attendee.id)
                .where(Pick.picker_id == room.ana.id).order_by(Pick.slot)))
        finally:
            db.session.remove()


def recorded(app, room) -> list[tuple[str, int]]:
    with app.app_context():
        try:
            return list(db.session.execute(
                sa.select(PickChange.client_id, PickChange.status)
                .where(PickChange.attendee_id == room.ana.id).order_by(PickChange.id)).tuples())
        finally:
            db.session.remove()


def test_the_same_batch_replayed_at_once_and_after_a_lost_answer_lands_once(
        live_server, make_organiser, make_event, make_attendee):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee)
    slug, who = room.event.slug, {name: a.id for name, a in room.people.items()}
    phone = requests.Session()
    csrf = CSRF_RE.search(phone.get(f"{origin}/return").text).group(1)
    assert phone.post(f"{origin}/return", data={"code": room.ana.code, "csrf_token": csrf},
                      allow_redirects=False).status_code == 302
    batch = [(f"/e/{slug}/picks", {"person": who[BEA]}), (f"/e/{slug}/picks", {"person": who[CHEN]}),
             (f"/e/{slug}/picks", {"person": who[DARA]}), (f"/e/{slug}/picks/{who[BEA]}/remove", {}),
             (f"/e/{slug}/picks", {"person": who[EMIL]}),
             (f"/e/{slug}/picks/swap", {"person": who[FEMI], "drop": who[DARA]}),
             (f"/e/{slug}/picks", {"person": who[GUS]})]  # a fourth: refused
    batch = [(url, {**fields, "client_id": str(uuid.uuid4())}) for url, fields in batch]

    # The first change is sent and its answer lost (the connection closes before it comes).
    token = phone.get(f"{origin}/e/{slug}/csrf", headers={"Accept": "application/json"}).json()["csrf_token"]
    lost = http.client.HTTPConnection(urlsplit(origin).hostname, urlsplit(origin).port, timeout=10)
    lost.request("POST", batch[0][0], body=urlencode({**batch[0][1], "csrf_token": token}), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
        "Cookie": "; ".join(f"{c.name}={c.value}" for c in phone.cookies)})
    lost.close()
    deadline = time.monotonic() + 10
    while not recorded(app, room) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(recorded(app, room)) == 1

    # Then the phone replays the whole batch — from eight threads at once.
    start, answers = threading.Barrier(THREADS), [None] * THREADS

    def replay(n):
        copy = requests.Session()
        copy.cookies.update(phone.cookies)
        fresh = copy.get(f"{origin}/e/{slug}/csrf", headers={"Accept": "application/json"}).json()["csrf_token"]
        start.wait()
        answers[n] = [copy.post(origin + url, data={**fields, "csrf_token": fresh},
                                headers={"Accept": "application/json"}) for url, fields in batch]

    threads = [threading.Thread(target=replay, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    seen = [[(r.status_code, {k: v for k, v in r.json().items() if k != "replay"}) for r in mine]
            for mine in answers]
    assert all(mine == seen[0] for mine in seen)  # every copy got the same answer
    assert [status for status, _ in seen[0]] == [200] * 6 + [409]
    assert seen[0][6][1]["error"] == "pick_limit"
    applied = [sum(not mine[i].json()["replay"] for mine in answers) for i in range(len(batch))]
    assert applied == [0] + [1] * 6  # the lost copy applied the first; one thread each of the rest
    assert three(app, room) == [EMIL, CHEN, FEMI]  # Bea's slot went to Emil; Femi took Dara's
    assert [status for _, status in recorded(app, room)] == [200] * 6 + [409]
    assert {client_id for client_id, _ in recorded(app, room)} == {fields["client_id"] for _, fields in batch}


OUTBOX_COUNT = """() => new Promise((ok, fail) => {
  const open = indexedDB.open("eventmate", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("outbox", { keyPath: "id" });
  open.onsuccess = () => {
    const count = open.result.transaction("outbox").objectStore("outbox").count();
    count.onsuccess = () => { open.result.close(); ok(count.result); };
  };
  open.onerror = () => fail(open.error);
})"""


@pytest.mark.e2e
def test_offline_choices_wait_on_the_phone_land_once_and_a_fourth_is_refused(
        live_server, contexts, make_organiser, make_event, make_attendee):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee, chosen=(BEA, CHEN))
    slug = room.event.slug
    phone = contexts.phone()
    page = sign_in_on(phone, origin, room.ana.code, ANA)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    page.goto(f"{origin}/e/{slug}/people")  # through the service worker: kept for offline
    status = page.locator("[data-outbox-status]")

    # The phone thinks it is online; the request dies on the way (the plain form is sent).
    page.evaluate("Object.defineProperty(navigator, 'onLine', {get: () => true})")
    phone.set_offline(True)
    page.get_by_role("button", name=f"Choose {DARA}").click()
    expect(status).to_have_text("Saved on this phone — I'll send it when you're back online.")
    expect(page.locator(f'[data-person="{DARA}"] button')).to_have_text("Waiting to send")
    assert page.evaluate("navigator.onLine") is False  # the page it came from, again: kept by the worker
    page.get_by_role("button", name=f"Choose {EMIL}").click()  # offline; a fourth, the page can't know
    expect(status).to_have_text("2 changes saved on this phone — I'll send them when you're back online.")
    assert three(app, room) == [BEA, CHEN] and recorded(app, room) == []

    phone.set_offline(False)
    expect(status.locator("p.sent")).to_have_text("Sent — everything from this phone is saved.")
    refused = status.get_by_text(f"Couldn't add {EMIL}: You've already chosen three people.")
    expect(refused).to_contain_text("Swap one out to add someone new.")
    expect(page.locator(f'[data-person="{EMIL}"] button')).to_have_text("Not sent")
    assert three(app, room) == [BEA, CHEN, DARA]
    assert [status for _, status in recorded(app, room)] == [200, 409]  # each change once

    # Signing out waits while a change is unsent (here: removing Bea, kept while offline).
    page.goto(f"{origin}/e/{slug}/you")
    phone.set_offline(True)
    page.evaluate("""([slug, bea]) => eventmateOutbox.put({id: crypto.randomUUID(), at: Date.now(), slug,
        url: `/e/${slug}/picks/${bea}/remove`, fields: {}, name: "Bea", kind: "unpick"})""",
                  [slug, room.people[BEA].id])
    page.locator(".device", has_text="This phone").get_by_role("button", name="Sign out").click()
    held = status.locator("[data-held]")
    expect(held).to_have_text(re.compile(r"^1 change on this phone hasn't been sent yet, so I've held off\."))
    assert page.url.endswith(f"/e/{slug}/you")
    phone.set_offline(False)
    held.get_by_role("button", name="Try again").click()
    expect(page).to_have_url(re.compile(r"/return\?signed_out=1$"))
    assert three(app, room) == [CHEN, DARA]  # sent before signing out
    assert page.evaluate(OUTBOX_COUNT) == 0  # and the outbox is empty (the refusal went with it)
    assert [p for p in contexts.problems
            if not re.search(r"ERR_INTERNET_DISCONNECTED|status of 409", p[2])] == []


def note_saves(app, room, subject, field: str = "needs") -> tuple[str | None, int]:
    """A field of Ana's note about `subject`, and how many note saves the server applied."""
    with app.app_context():
        try:
            value = db.session.scalar(sa.select(getattr(Note, field)).where(
                Note.author_id == room.ana.id, Note.subject_id == subject.id))
            return value, db.session.scalar(sa.select(sa.func.count()).select_from(NoteSave))
        finally:
            db.session.remove()


def eventually(check, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


@pytest.mark.e2e
@pytest.mark.one_database
def test_a_note_and_a_pick_made_offline_share_the_outbox_and_discard_signs_out(
        live_server, contexts, make_organiser, make_event, make_attendee, monkeypatch):
    origin, app = live_server.url, live_server.app
    room = the_room(app, make_organiser, make_event, make_attendee, chosen=(BEA,))
    slug, bea = room.event.slug, room.people[BEA]
    typed = "A roaster in Porto, and someone who knows café chains"
    phone = contexts.phone()
    page = sign_in_on(phone, origin, room.ana.code, ANA)
    assert page.evaluate("navigator.serviceWorker.ready.then(r => !!r.active)")
    # Typed before the upgrade, kept in localStorage by the notes page then: moved into the
    # outbox on the next page load, and sent.
    page.evaluate("([key, kept]) => localStorage.setItem(key, JSON.stringify(kept))",
                  [f"eventmate:notes:/e/{slug}/notes/{bea.id}", {"personal": {"value": "Biscuit, a dog", "base": ""}}])
    page.goto(f"{origin}/e/{slug}/people")
    assert eventually(lambda: note_saves(app, room, bea, "personal") == ("Biscuit, a dog", 1))
    assert eventually(lambda: page.evaluate(OUTBOX_COUNT) == 0) and page.evaluate("localStorage.length") == 0
    for path in ("/you", f"/notes/{bea.id}"):  # through the worker: kept for offline, as /people
        page.goto(f"{origin}/e/{slug}{path}")
    status, saved = page.locator("[data-outbox-status]"), page.locator("[data-save-status]")
    needs = page.get_by_label("What they need")

    phone.set_offline(True)
    needs.fill(typed)
    expect(status).to_have_text("Saved on this phone — I'll send it when you're back online.")
    expect(saved).to_have_text(re.compile(r"^Couldn't save — you seem to be offline\."))
    page.goto(f"{origin}/e/{slug}/people")  # offline: the worker's copy
    page.get_by_role("button", name=f"Choose {CHEN}").click()
    expect(status).to_have_text("2 changes saved on this phone — I'll send them when you're back online.")
    page.goto(f"{origin}/e/{slug}/notes/{bea.id}")
    page.reload()  # still offline: the page as it was, what I typed put back from the phone
    expect(needs).to_have_value(typed)
    expect(status).to_have_text("2 changes saved on this phone — I'll send them when you're back online.")
    assert note_saves(app, room, bea) == ("", 1) and recorded(app, room) == []

    phone.set_offline(False)
    expect(status.locator("p.sent")).to_have_text("Sent — everything from this phone is saved.")
    expect(saved).to_have_text(re.compile(r"^Saved \d\d:\d\d\.$"))
    assert note_saves(app, room, bea) == (typed, 2)  # each change once
    assert three(app, room) == [BEA, CHEN] and [s for _, s in recorded(app, room)] == [200]
    assert page.evaluate(OUTBOX_COUNT) == 0

    # With no page of ours open, the service worker sends a note typed offline (Background Sync).
    phone.set_offline(True)
    needs.fill(typed + ".")
    expect(status).to_have_text("Saved on this phone — I'll send it when you're back online.")
    page.goto("about:blank")
    phone.set_offline(False)
    assert eventually(lambda: note_saves(app, room, bea) == (typed + ".", 3))
    page.goto(f"{origin}/e/{slug}/notes/{bea.id}")
    expect(needs).to_have_value(typed + ".")
    assert page.evaluate(OUTBOX_COUNT) == 0

    # A change that can't be sent (typed offline; back online, the server fails every note
    # save): signing out holds off, and "Discard unsent changes" drops it and signs out.
    def broken(*args, **kwargs):
        raise RuntimeError("the database is restarting")

    phone.set_offline(True)
    needs.fill(typed + " (and a bakery)")
    expect(status).to_have_text("Saved on this phone — I'll send it when you're back online.")
    monkeypatch.setattr(notes, "save", broken)
    phone.set_offline(False)
    expect(saved).to_have_text(re.compile(r"^Couldn't save just now — something went wrong on our side\."))
    page.goto(f"{origin}/e/{slug}/you")
    page.locator(".device", has_text="This phone").get_by_role("button", name="Sign out").click()
    held = status.locator("[data-held]")
    expect(held).to_have_text(re.compile(r"^1 change on this phone hasn't been sent yet, so I've held off\."))
    held.get_by_role("button", name="Discard unsent changes").click()
    expect(page).to_have_url(re.compile(r"/return\?signed_out=1$"))
    assert page.evaluate(OUTBOX_COUNT) == 0
    assert phone.request.get(f"{origin}/e/{slug}/csrf", headers={"Accept": "application/json"}).status == 403
    assert note_saves(app, room, bea) == (typed + ".", 3)  # the discarded text never arrived
    assert [p for p in contexts.problems
            if not re.search(r"ERR_INTERNET_DISCONNECTED|status of 500", p[2])] == []
