"""Saving listening notes the way the page's script does (issue 11, "found when tried as a
new user would"), on SQLite and PostgreSQL: every failure a script can meet is answered in
CONTRACT's JSON shape, so the page can tell "refused" (say what happened, keep the text) from
"offline" (try again).
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from conftest import csrf_token, post, text
from test_at_the_event import choose, phone

from eventmate import notes
from eventmate.extensions import db
from eventmate.models import Note

JSON = {"Accept": "application/json"}
FIELDS = ("working_on", "needs", "offer", "personal")


@pytest.fixture
def evening(app, make_organiser, make_event, make_attendee, at_the_event):
    """An evening on now: Ana, Bea and Chen checked in."""
    event = make_event(make_organiser())
    return {"event": event, **{name: make_attendee(event, name) for name in ("Ana", "Bea", "Chen")}}


def url(event, person) -> str:
    return f"/e/{event.slug}/notes/{person.id}"


def autosave(client, event, person, client_id: str | None = None, token: str | None = None, **fields):
    """What static/js/notes.js sends: the changed fields, each with `base_<field>`, a fresh
    client id, the CSRF token in a header, asking for JSON."""
    data = {"client_id": client_id or str(uuid.uuid4()), **fields}
    headers = {**JSON, "X-CSRFToken": token if token is not None else csrf_token(client)}
    return client.post(url(event, person), data=data, headers=headers)


def stored(app, author, subject) -> dict[str, str] | None:
    with app.app_context():
        note = db.session.scalar(sa.select(Note).where(Note.author_id == author.id, Note.subject_id == subject.id))
        values = None if note is None else {name: getattr(note, name) for name in FIELDS}
        db.session.remove()
    return values


def assert_contract_error(response, status: int, code: str) -> dict:
    """CONTRACT.md: `{"error": "<stable code>", "message": "<words for people>"}`, never a page."""
    assert response.status_code == status, text(response)[:300]
    assert response.is_json, f"{status} answered {response.mimetype}: {text(response)[:200]}"
    body = response.get_json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"], body
    assert "<html" not in text(response).lower()
    return body


# --- JSON errors a script can tell from being offline --------------------------------------

def test_every_refusal_of_an_autosave_is_json_in_the_contract_shape(app, evening, monkeypatch):
    """The reported defect: Bea is removed from Ana's three in another tab; Ana's next
    autosave was answered with the HTML 'Nothing here' page, which the script read as being
    offline, forever."""
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    assert autosave(ana, ev, evening["Bea"], needs="A hotelier").status_code == 200
    post(ana, f"/e/{ev.slug}/picks/{evening['Bea'].id}/remove")  # the other tab

    gone = assert_contract_error(autosave(ana, ev, evening["Bea"], needs="A hotelier, Lisbon",
                                          base_needs="A hotelier"), 404, "not_found")
    assert "not one of your three" in gone["message"]
    assert_contract_error(autosave(ana, ev, type("P", (), {"id": 999_999})), 404, "not_found")
    stranger = app.test_client()
    assert_contract_error(autosave(stranger, ev, evening["Bea"], needs="x"), 403, "not_checked_in")
    assert_contract_error(autosave(ana, ev, evening["Bea"], token="", needs="x"), 400, "csrf_failed")

    choose(ana, ev, evening["Bea"])
    assert_contract_error(autosave(ana, ev, evening["Bea"], needs="x" * 2001), 422, "invalid")

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away mid-save")

    monkeypatch.setattr(notes, "save", broken)
    assert_contract_error(autosave(ana, ev, evening["Bea"], needs="y"), 500, "server_error")
    assert stored(app, evening["Ana"], evening["Bea"])["needs"] == "A hotelier"


def test_the_push_subscription_api_answers_json_for_a_missing_route_and_method(app, evening):
    ana = phone(app, evening["Ana"])
    headers = {**JSON, "X-CSRFToken": csrf_token(ana)}
    assert_contract_error(ana.post("/api/push/nothing-here", json={}, headers=headers), 404, "not_found")
    assert_contract_error(ana.get("/api/push/subscriptions/renew", headers=JSON), 405, "method_not_allowed")
