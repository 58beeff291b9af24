"""What a newcomer tripped on, part two (issue 10, defects 9, 13): a check-in form that
outlives its moment, and invitation dates. Each test failed before its fix."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from conftest import login, post, profile, text

from eventmate import clock, events
from eventmate.extensions import db
from eventmate.models import Attendee, Event

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TOKENS_RE = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')


def _tokens(response) -> dict:
    return dict(TOKENS_RE.findall(text(response)))


def _checkin_link(output: str) -> str:
    """The path of the check-in link `demo` printed."""
    return urlsplit(re.search(r"Check-in link:\s+(\S+)", output).group(1)).path


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# --- defect 9: a check-in form that outlives its moment -----------------------------------

ANSWERS = profile("Zoë Martin", looking_for="A buyer at a hotel group who cares about local bakeries")


def _open_form(app, event):
    phone = app.test_client()
    form = phone.get(event.checkin_path)
    assert form.status_code == 200
    return phone, _tokens(form)


def _shows_answers(page: str) -> bool:
    return 'value="Zoë Martin"' in page and ANSWERS["looking_for"] in page and "Traceback" not in page


def test_checkin_closing_while_someone_types_keeps_their_answers(app, make_organiser, make_event,
                                                                  at_the_event):
    """It was a bare "Check-in is closed" page, and everything typed was gone."""
    event = make_event(make_organiser())
    phone, tokens = _open_form(app, event)
    with app.app_context():
        events.set_checkin_mode(db.session, db.session.get(Event, event.id), "closed")
    refused = phone.post(event.checkin_path, data={**ANSWERS, **tokens})
    page = text(refused)
    assert refused.status_code == 403
    assert _shows_answers(page) and "closed while you were filling this in" in page
    assert _count(app, Attendee) == 0
    with app.app_context():  # the organiser opens it again; the same form, one tap
        events.set_checkin_mode(db.session, db.session.get(Event, event.id), "auto")
    retried = phone.post(event.checkin_path, data={**ANSWERS, **_tokens(refused)})
    assert retried.status_code == 302
    assert _count(app, Attendee, Attendee.name == "Zoë Martin") == 1


def test_a_checkin_form_whose_session_is_gone_comes_back_with_its_answers(app, make_organiser,
                                                                          make_event, at_the_event):
    """A phone that closed its browser while its owner typed has no session cookie, so the
    CSRF token is refused: that was a bare error page, and the answers were gone."""
    event = make_event(make_organiser())
    phone, tokens = _open_form(app, event)
    phone.delete_cookie("session")
    refused = phone.post(event.checkin_path, data={**ANSWERS, **tokens})
    page = text(refused)
    assert refused.status_code == 400
    assert _shows_answers(page) and "Your answers are still here" in page
    assert _count(app, Attendee) == 0
    retried = phone.post(event.checkin_path, data={**ANSWERS, **_tokens(refused)})
    assert retried.status_code == 302
    assert _count(app, Attendee, Attendee.name == "Zoë Martin") == 1


def test_a_poster_key_changed_while_someone_types_shows_what_they_typed(app, make_organiser,
                                                                        make_event, at_the_event):
    event = make_event(make_organiser())
    phone, tokens = _open_form(app, event)
    with app.app_context():
        events.rotate_checkin_key(db.session, db.session.get(Event, event.id))
    refused = phone.post(event.checkin_path, data={**ANSWERS, **tokens})
    page = text(refused)
    assert refused.status_code == 404 and "no longer valid" in page
    assert "Zoë Martin" in page and ANSWERS["looking_for"] in page
    assert tokens["form_token"] not in page  # the page's own tokens are never shown back


# --- defect 13: invitation dates in the organiser's time zone ------------------------------

def test_invitation_dates_are_in_the_time_zone_of_the_organisers_events(app, client, make_organiser,
                                                                        make_event, other_client):
    """They were UTC dates: made at 01:30 on 15 May in Auckland showed "Made 14 May"."""
    organiser = make_organiser()
    make_event(organiser, timezone="Pacific/Auckland", starts_local="2026-05-20T18:00",
               ends_local="2026-05-20T22:00")
    clock.set_now(datetime(2026, 5, 14, 13, 30, tzinfo=UTC))  # 01:30 on 15 May in Auckland
    login(client, organiser)
    post(client, "/organiser/invitations")
    page = text(client.get("/organiser/invitations"))
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert "Made 15 May 2026" in words and "Made 14 May" not in words
    assert "expires Fri 22 May, 01:30" in words  # seven days, to the minute
    assert "Times in Pacific/Auckland" in words
    # Someone with no event yet: UTC, and the page says so.
    newcomer = make_organiser()
    login(other_client, newcomer)
    post(other_client, "/organiser/invitations")
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text(other_client.get("/organiser/invitations"))))
    assert "Times in UTC." in words and "Made 14 May 2026" in words and "expires Thu 21 May, 13:30" in words
