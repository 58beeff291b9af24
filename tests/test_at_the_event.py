"""The evening through the test client: who's here, picking, swapping, notes, pick-me codes,
and an access matrix that plants unique note text and checks only its author ever sees it."""

from __future__ import annotations

import re
import uuid

import pytest
from conftest import login, post, text

NOTE = "planted-note-9c41e7"


@pytest.fixture
def evening(app, make_organiser, make_event, make_attendee, at_the_event):
    organiser = make_organiser()
    event = make_event(organiser)
    other_event = make_event(organiser, name="Next door")
    people = {name: make_attendee(event, name, contact=f"{name.lower()}@example.org")
              for name in ("Ana", "Bea", "Chen", "Dara", "Émilie")}
    people["Stranger"] = make_attendee(other_event, "Stranger")
    return {"organiser": organiser, "event": event, "other_event": other_event, **people}


def phone(app, person):
    """A phone that is `person` (signed in with their return code)."""
    client = app.test_client()
    assert post(client, "/return", {"code": person.code}).status_code == 302
    return client


def choose(client, event, person):
    return post(client, f"/e/{event.slug}/picks", {"person": person.id})


def write_note(client, event, person, **fields):
    return post(client, f"/e/{event.slug}/notes/{person.id}", {"client_id": str(uuid.uuid4()), **fields})


def test_whos_here_lists_and_searches(app, evening):
    ana = phone(app, evening["Ana"])
    page = text(ana.get(f"/e/{evening['event'].slug}/people"))
    for name in ("Bea", "Chen", "Dara", "Émilie"):
        assert f'data-person="{name}"' in page
    assert 'data-person="Ana"' not in page and "Stranger" not in page
    found = text(ana.get(f"/e/{evening['event'].slug}/people?q=émi"))
    assert 'data-person="Émilie"' in found and 'data-person="Bea"' not in found
    none = text(ana.get(f"/e/{evening['event'].slug}/people?q=<zzz>"))
    assert "0 matches for “&lt;zzz&gt;”" in none


def test_pick_three_fourth_offers_a_swap(app, evening):
    ev = evening["event"]
    ana = phone(app, evening["Ana"])
    for name in ("Bea", "Chen", "Dara"):
        assert choose(ana, ev, evening[name]).status_code == 302
    fourth = choose(ana, ev, evening["Émilie"])
    assert fourth.status_code == 409
    body = text(fourth)
    assert "already chosen three" in body and 'aria-label="Swap Chen for Émilie"' in body
    swapped = post(ana, f"/e/{ev.slug}/picks/swap", {"drop": evening["Chen"].id, "person": evening["Émilie"].id})
    assert swapped.status_code == 302
    home = text(ana.get(f"/e/{ev.slug}"))
    assert re.findall(r'data-chosen="([^"]+)"', home) == ["Bea", "Émilie", "Dara"]


@pytest.mark.parametrize(("target", "status", "message"), [
    ("Ana", 400, "That&#39;s you!"),
    ("Stranger", 404, "different event"),
])
def test_pick_refusals_are_explained(app, evening, target, status, message):
    ana = phone(app, evening["Ana"])
    response = choose(ana, evening["event"], evening[target])
    assert response.status_code == status and message in text(response)


def test_mutual_is_shown_to_both_with_contact(app, evening):
    ev = evening["event"]
    ana, bea = phone(app, evening["Ana"]), phone(app, evening["Bea"])
    choose(ana, ev, evening["Bea"])
    home = text(ana.get(f"/e/{ev.slug}"))
    assert "data-mutual" not in home and "bea@example.org" not in home
    home = text(bea.get(f"/e/{ev.slug}"))  # Ana's details go to the person she picked
    assert "data-mutual" not in home and 'href="mailto:ana@example.org"' in home
    choose(bea, ev, evening["Ana"])
    for client, contact in ((ana, "bea@example.org"), (bea, "ana@example.org")):
        home = text(client.get(f"/e/{ev.slug}"))
        assert "data-mutual" in home and contact in home
    chen_home = text(phone(app, evening["Chen"]).get(f"/e/{ev.slug}"))
    assert "data-mutual" not in chen_home


def test_notes_round_trip_and_survive_unpick(app, evening):
    ev = evening["event"]
    ana = phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    saved = write_note(ana, ev, evening["Bea"], working_on="A café chain ☕", personal=NOTE)
    assert saved.status_code == 302
    assert "Notes (2 of 4)" in text(ana.get(f"/e/{ev.slug}"))
    post(ana, f"/e/{ev.slug}/picks/{evening['Bea'].id}/remove")
    assert ana.get(f"/e/{ev.slug}/notes/{evening['Bea'].id}").status_code == 404
    choose(ana, ev, evening["Bea"])
    page = text(ana.get(f"/e/{ev.slug}/notes/{evening['Bea'].id}"))
    assert NOTE in page and "A café chain ☕" in page


def test_note_too_long_keeps_the_text(app, evening):
    ev = evening["event"]
    ana = phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    response = write_note(ana, ev, evening["Bea"], needs="ü" * 2001, offer="Intro to Sam")
    assert response.status_code == 422
    assert "under 2000 characters" in text(response) and "Intro to Sam" in text(response)


def test_pick_me_code(app, evening):
    ev = evening["event"]
    bea = phone(app, evening["Bea"])
    qr_page = text(bea.get(f"/e/{ev.slug}/qr"))
    assert "<svg" in qr_page and evening["Bea"].code not in qr_page
    ana = phone(app, evening["Ana"])
    landing = ana.get(f"/p/{evening['Bea'].pickme}")
    assert "Add Bea to my three" in text(landing)
    choose(ana, ev, evening["Bea"])
    assert "Already one of your three" in text(ana.get(f"/p/{evening['Bea'].pickme}"))
    assert "your own code" in text(bea.get(f"/p/{evening['Bea'].pickme}"))
    stranger = phone(app, evening["Stranger"])
    elsewhere = stranger.get(f"/p/{evening['Bea'].pickme}")
    assert elsewhere.status_code == 403 and "from another event" in text(elsewhere)
    fresh = app.test_client().get(f"/p/{evening['Bea'].pickme}")
    assert fresh.status_code == 403 and "Check in first" in text(fresh)
    assert app.test_client().get("/p/nosuchcode").status_code == 404


# --- the access matrix ----------------------------------------------------------------------

def routes(ev, subject_id):
    return [
        ("GET", f"/e/{ev.slug}", None),
        ("GET", f"/e/{ev.slug}/people", None),
        ("GET", f"/e/{ev.slug}/notes/{subject_id}", None),
        ("POST", f"/e/{ev.slug}/notes/{subject_id}", {"client_id": str(uuid.uuid4()), "needs": "overwrite"}),
        ("POST", f"/e/{ev.slug}/picks", {"person": subject_id}),
        ("POST", f"/e/{ev.slug}/picks/{subject_id}/remove", {}),
        ("POST", f"/e/{ev.slug}/picks/swap", {"drop": subject_id, "person": subject_id}),
    ]


@pytest.mark.parametrize("who", ["anonymous", "bea", "stranger", "organiser"])
def test_only_the_author_ever_sees_their_notes(app, evening, who):
    ev = evening["event"]
    ana = phone(app, evening["Ana"])
    choose(ana, ev, evening["Chen"])
    write_note(ana, ev, evening["Chen"], personal=NOTE)
    visitor = {
        "anonymous": lambda: app.test_client(),
        "bea": lambda: phone(app, evening["Bea"]),
        "stranger": lambda: phone(app, evening["Stranger"]),
        "organiser": lambda: _organiser(app, evening["organiser"]),
    }[who]()
    for method, url, data in routes(ev, evening["Chen"].id):
        response = visitor.get(url) if method == "GET" else post(visitor, url, data)
        assert NOTE not in text(response), (who, url)
        assert response.status_code < 500, (who, url)
    for url in ("/organiser/", f"/organiser/events/{ev.id}"):
        assert NOTE not in text(visitor.get(url))
    # Ana's note and pick are untouched by everyone else's attempts.
    page = text(ana.get(f"/e/{ev.slug}/notes/{evening['Chen'].id}"))
    assert NOTE in page and "overwrite" not in page


LETTER = "planted-letter-5e02b9"
PLACE = "planted-place-77c1d0"


def morning_routes(ev, ana_id, chen_id, coffee_id):
    return [
        ("GET", f"/e/{ev.slug}/follow-up", None),
        ("GET", f"/e/{ev.slug}/inbox", None),
        ("GET", f"/e/{ev.slug}/with/{ana_id}", None),
        ("GET", f"/e/{ev.slug}/with/{chen_id}", None),
        ("GET", f"/e/{ev.slug}/coffee/{coffee_id}.ics", None),
        ("POST", f"/e/{ev.slug}/with/{chen_id}/write", {"body": "overwrite", "client_id": str(uuid.uuid4())}),
        ("POST", f"/e/{ev.slug}/with/{ana_id}/coffee", {"date0": "2026-05-20", "time0": "10:00", "version": "0"}),
        ("POST", f"/e/{ev.slug}/coffee/{coffee_id}/accept", {"slot": "0", "version": "0"}),
        ("POST", f"/e/{ev.slug}/coffee/{coffee_id}/cancel", {"version": "0"}),
        ("POST", f"/e/{ev.slug}/follow-up/{chen_id}/send", {"body": "overwrite", "client_id": str(uuid.uuid4())}),
        ("POST", f"/e/{ev.slug}/with/{ana_id}/mute", {}),
    ]


@pytest.mark.parametrize("who", ["anonymous", "bea", "stranger", "organiser"])
def test_only_the_two_people_ever_see_their_notes_and_coffee(app, evening, who):
    from eventmate.extensions import db
    from eventmate.models import Coffee, Letter, Mute

    ev = evening["event"]
    ana, chen = phone(app, evening["Ana"]), phone(app, evening["Chen"])
    choose(ana, ev, evening["Chen"])
    assert post(ana, f"/e/{ev.slug}/follow-up/{evening['Chen'].id}/send",
                {"body": LETTER, "client_id": str(uuid.uuid4())}).status_code == 302
    assert post(ana, f"/e/{ev.slug}/with/{evening['Chen'].id}/coffee",
                {"date0": "2026-05-18", "time0": "10:00", "place": PLACE, "version": ""}).status_code == 302
    with app.app_context():
        coffee_id = db.session.query(Coffee.id).scalar()
    visitor = {
        "anonymous": lambda: app.test_client(),
        "bea": lambda: phone(app, evening["Bea"]),
        "stranger": lambda: phone(app, evening["Stranger"]),
        "organiser": lambda: _organiser(app, evening["organiser"]),
    }[who]()
    for method, url, data in morning_routes(ev, evening["Ana"].id, evening["Chen"].id, coffee_id):
        response = visitor.get(url) if method == "GET" else post(visitor, url, data)
        page = text(response)
        assert LETTER not in page and PLACE not in page, (who, url)
        assert response.status_code < 500 and response.mimetype != "text/calendar", (who, url)
    for url in ("/organiser/", f"/organiser/events/{ev.id}"):
        assert LETTER not in text(visitor.get(url)) and PLACE not in text(visitor.get(url))
    with app.app_context():  # untouched by everyone else's attempts
        assert [(x.body, x.sender_id) for x in db.session.query(Letter)] == [(LETTER, evening["Ana"].id)]
        row = db.session.get(Coffee, coffee_id)
        assert (row.state, row.version, row.place) == ("proposed", 0, PLACE)
        # Muting is anyone's own choice (Bea may mute Ana); nobody can make Chen mute her.
        assert db.session.query(Mute).filter_by(muter_id=evening["Chen"].id).count() == 0
    thread = text(chen.get(f"/e/{ev.slug}/with/{evening['Ana'].id}"))
    assert LETTER in thread and PLACE in thread


def _organiser(app, organiser):
    client = app.test_client()
    login(client, organiser)
    return client


def test_notes_page_of_someone_i_did_not_pick_is_not_found(app, evening):
    ev = evening["event"]
    bea = phone(app, evening["Bea"])
    assert bea.get(f"/e/{ev.slug}/notes/{evening['Chen'].id}").status_code == 404
    assert bea.get(f"/e/{ev.slug}/notes/{evening['Stranger'].id}").status_code == 404
    assert bea.get(f"/e/{ev.slug}/notes/999999").status_code == 404


def test_front_page_leads_back_to_my_events(app, evening):
    ana = phone(app, evening["Ana"])
    page = text(ana.get("/"))
    assert f'href="/e/{evening["event"].slug}"' in page and "Your events" in page
    assert "Your events" not in text(app.test_client().get("/"))


def test_autosave_answers_json(app, evening):
    ev = evening["event"]
    ana = phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    from conftest import csrf_token
    headers = {"Accept": "application/json", "X-CSRFToken": csrf_token(ana)}
    url = f"/e/{ev.slug}/notes/{evening['Bea'].id}"
    ok = ana.post(url, data={"client_id": str(uuid.uuid4()), "needs": "Intro to a hotelier"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["saved"] is True
    bad = ana.post(url, data={"client_id": str(uuid.uuid4()), "needs": "x" * 2001}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["error"] == "invalid"
    assert "Intro to a hotelier" in text(ana.get(url))


def test_leaving_hides_me_and_keeps_my_three(app, evening):
    ev = evening["event"]
    bea, ana = phone(app, evening["Bea"]), phone(app, evening["Ana"])
    choose(bea, ev, evening["Chen"])
    assert post(bea, f"/e/{ev.slug}/leave").status_code == 302
    assert 'data-person="Bea"' not in text(ana.get(f"/e/{ev.slug}/people"))
    refused = choose(ana, ev, evening["Bea"])
    assert refused.status_code == 409 and "isn&#39;t checked in" in text(refused)
    home = text(bea.get(f"/e/{ev.slug}"))
    assert "You've left this event" in home and 'data-chosen="Chen"' in home
    post(bea, f"/e/{ev.slug}/rejoin")
    assert 'data-person="Bea"' in text(ana.get(f"/e/{ev.slug}/people"))


def test_absurd_ids_and_pages_are_not_found_not_errors(app, evening):
    ev = evening["event"]
    ana = phone(app, evening["Ana"])
    assert ana.get(f"/e/{ev.slug}/notes/99999999999999999999").status_code == 404
    assert choose(ana, ev, type("P", (), {"id": "99999999999999999999"})).status_code == 404
    assert choose(ana, ev, type("P", (), {"id": "-1"})).status_code == 404
    assert ana.get(f"/e/{ev.slug}/people?page=99999999999999999999").status_code == 200
    organiser = app.test_client()
    login(organiser, evening["organiser"])
    assert organiser.get("/organiser/events/99999999999999999999").status_code == 404


def test_inside_an_event_not_found_leads_back_to_it(app, evening):
    ev = evening["event"]
    ana = phone(app, evening["Ana"])
    page = ana.get(f"/e/{ev.slug}/notes/{evening['Bea'].id}")
    assert page.status_code == 404 and f'href="/e/{ev.slug}"' in text(page) and "Back to" in text(page)


def test_pick_me_when_three_are_chosen_says_it_means_a_swap(app, evening):
    ev = evening["event"]
    ana = phone(app, evening["Ana"])
    for name in ("Bea", "Chen", "Dara"):
        choose(ana, ev, evening[name])
    landing = text(ana.get(f"/p/{evening['Émilie'].pickme}"))
    assert "Swap someone for Émilie" in landing
