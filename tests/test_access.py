"""Who may open what: anonymous, organiser X, organiser Y and an attendee against every
organiser route. Someone else's object looks exactly like a missing one."""

from __future__ import annotations

import re

import pytest
from conftest import CSRF_RE, event_form, login, post, text

from eventmate.extensions import db
from eventmate.models import Event

EVENT_GETS = ["/organiser/events/{id}", "/organiser/events/{id}/edit",
              "/organiser/events/{id}/poster", "/organiser/events/{id}/poster.svg"]
EVENT_POSTS = [("/organiser/events/{id}/edit", event_form(name="Hijacked")),
               ("/organiser/events/{id}/rotate-key", {}),
               ("/organiser/events/{id}/checkin", {"mode": "closed"})]
OTHER_GETS = ["/organiser/", "/organiser/events/new", "/organiser/invitations"]


@pytest.fixture
def world(app, make_organiser, make_event, make_attendee, at_the_event):
    x = make_organiser("x@example.org")
    y = make_organiser("y@example.org")
    event = make_event(x, name="X's private evening")
    return {"x": x, "y": y, "event": event, "attendee": make_attendee(event, "Ana")}


def snapshot(app, event_id):
    with app.app_context():
        ev = db.session.get(Event, event_id)
        return (ev.name, ev.checkin_key, ev.checkin_mode)


def normalised(body: str) -> str:
    return CSRF_RE.sub("", body)


@pytest.mark.parametrize("who", ["anonymous", "attendee"])
def test_strangers_are_sent_to_log_in(app, client, world, who):
    if who == "attendee":
        post(client, "/return", {"code": world["attendee"].code})
    before = snapshot(app, world["event"].id)
    for url in [u.format(id=world["event"].id) for u in EVENT_GETS] + OTHER_GETS:
        response = client.get(url)
        assert response.status_code == 302 and "/organiser/login" in response.headers["Location"], url
    for url, data in EVENT_POSTS:
        response = post(client, url.format(id=world["event"].id), data)
        assert response.status_code == 302 and "/organiser/login" in response.headers["Location"], url
    assert snapshot(app, world["event"].id) == before


def test_organiser_y_cannot_tell_x_event_exists(app, client, world):
    login(client, world["y"])
    before = snapshot(app, world["event"].id)
    for template in EVENT_GETS:
        theirs = client.get(template.format(id=world["event"].id))
        missing = client.get(template.format(id=987654))
        assert theirs.status_code == missing.status_code == 404, template
        assert normalised(text(theirs)) == normalised(text(missing))
        assert "X&#39;s private evening" not in text(theirs)
    for template, data in EVENT_POSTS:
        theirs = post(client, template.format(id=world["event"].id), data)
        missing = post(client, template.format(id=987654), data)
        assert theirs.status_code == missing.status_code == 404, template
    assert snapshot(app, world["event"].id) == before
    assert "private evening" not in text(client.get("/organiser/"))


def test_organiser_y_cannot_revoke_x_invitation(app, client, other_client, world):
    login(client, world["x"])
    post(client, "/organiser/invitations")
    page = text(client.get("/organiser/invitations"))
    invitation_id = re.search(r"/organiser/invitations/(\d+)/revoke", page).group(1)
    login(other_client, world["y"])
    assert post(other_client, f"/organiser/invitations/{invitation_id}/revoke").status_code == 404
    assert "Withdraw" in text(client.get("/organiser/invitations"))


def test_organiser_x_reaches_every_route_of_their_event(client, world):
    login(client, world["x"])
    for url in [u.format(id=world["event"].id) for u in EVENT_GETS] + OTHER_GETS:
        assert client.get(url).status_code == 200, url


def test_organiser_logout_keeps_the_attendee_identity(client, world):
    post(client, "/return", {"code": world["attendee"].code})
    login(client, world["x"])
    post(client, "/organiser/logout")
    assert "Hello again, Ana" in text(client.get(f"/e/{world['event'].slug}"))
