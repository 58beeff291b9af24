"""Saving listening notes the way the page's script and the plain form do (issue 11, "found
when tried as a new user would"), on SQLite and PostgreSQL:

- every failure a script can meet is answered in CONTRACT's JSON shape, so the page can tell
  "refused" (say what happened, keep the text) from "offline" (try again);
- a save sends only what changed, with the values it was based on; fields merge one by one,
  and a field changed elsewhere since is a 409 carrying both versions, never a silent loss;
- one save design: a client id, a hash of the change, the base values, the stored result: a
  replay answers that result, the same id with another change or person is a clear 409;
- real threads racing on one field: exactly one wins, the others see both versions.
"""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa
from conftest import csrf_token, post, text
from test_at_the_event import choose, phone

from eventmate import clock, notes
from eventmate.extensions import db
from eventmate.models import Note, NoteSave

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


def count(app, model) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(model))
        db.session.remove()
    return n


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
    same_id = str(uuid.uuid4())
    assert autosave(ana, ev, evening["Bea"], same_id, offer="An intro").status_code == 200
    assert_contract_error(autosave(ana, ev, evening["Bea"], same_id, offer="Two intros"), 409,
                          "client_id_reused")

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


# --- per-field merge ------------------------------------------------------------------------

def test_two_tabs_changing_different_fields_both_keep_their_change(app, evening):
    """The reported defect: tab A changed "What they need", tab B (opened earlier) changed
    "What I can offer"; both said "Saved" and A's change was silently undone."""
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    a = autosave(ana, ev, evening["Bea"], needs="A roaster in Porto", base_needs="")
    b = autosave(ana, ev, evening["Bea"], offer="Intro to Luís", base_offer="")
    assert (a.status_code, b.status_code) == (200, 200)
    assert stored(app, evening["Ana"], evening["Bea"]) == {
        "working_on": "", "needs": "A roaster in Porto", "offer": "Intro to Luís", "personal": ""}

    # The plain form (no script) from a page opened before both: it sends every field, with
    # what each held then. Only the field typed into changes.
    page = {name: "" for name in FIELDS} | {f"base_{name}": "" for name in FIELDS}
    form = post(ana, url(ev, evening["Bea"]), {**page, "personal": "Runs marathons",
                                               "client_id": str(uuid.uuid4())})
    assert form.status_code == 302
    assert stored(app, evening["Ana"], evening["Bea"]) == {
        "working_on": "", "needs": "A roaster in Porto", "offer": "Intro to Luís", "personal": "Runs marathons"}


def test_the_same_field_changed_on_two_screens_is_a_409_with_both_versions(app, evening):
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    assert autosave(ana, ev, evening["Bea"], offer="Intro to Luís", base_offer="").status_code == 200
    clash = autosave(ana, ev, evening["Bea"], offer="A review of her deck", base_offer="",
                     needs="Clients in Spain", base_needs="")
    body = assert_contract_error(clash, 409, "note_conflict")
    assert body["conflicts"] == {"offer": {"yours": "A review of her deck", "theirs": "Intro to Luís"}}
    assert body["values"] == {"needs": "Clients in Spain"}  # the field nobody else touched is saved
    assert stored(app, evening["Ana"], evening["Bea"])["offer"] == "Intro to Luís"  # nothing dropped

    # "Keep mine", knowingly: the same text, now based on the version it replaces.
    keep = autosave(ana, ev, evening["Bea"], offer="A review of her deck", base_offer="Intro to Luís")
    assert keep.status_code == 200 and keep.get_json()["values"] == {"offer": "A review of her deck"}
    assert stored(app, evening["Ana"], evening["Bea"])["offer"] == "A review of her deck"


def test_the_plain_form_shows_both_versions_and_saves_mine_when_sent_again(app, evening):
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    page = text(ana.get(url(ev, evening["Bea"])))
    assert 'name="base_offer" value=""' in page
    autosave(ana, ev, evening["Bea"], offer="Intro to Luís", base_offer="")  # another screen
    form = {name: "" for name in FIELDS} | {f"base_{name}": "" for name in FIELDS}
    form |= {"offer": "A review of her deck", "client_id": str(uuid.uuid4())}
    clash = post(ana, url(ev, evening["Bea"]), form)
    assert clash.status_code == 409
    again = text(clash)
    assert "It now says: “Intro to Luís”" in again and ">A review of her deck</textarea>" in again
    assert 'name="base_offer" value="Intro to Luís"' in again
    assert stored(app, evening["Ana"], evening["Bea"])["offer"] == "Intro to Luís"
    form |= {"base_offer": "Intro to Luís", "client_id": str(uuid.uuid4())}
    assert post(ana, url(ev, evening["Bea"]), form).status_code == 302
    assert stored(app, evening["Ana"], evening["Bea"])["offer"] == "A review of her deck"


# --- one save design: client id, change hash, base values, stored result --------------------

def test_a_replay_answers_the_stored_result_and_changes_nothing(app, evening):
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    first_id, clash_id = str(uuid.uuid4()), str(uuid.uuid4())
    first = autosave(ana, ev, evening["Bea"], first_id, needs="v1", base_needs="")
    later = autosave(ana, ev, evening["Bea"], needs="v2", base_needs="v1")
    clash = autosave(ana, ev, evening["Bea"], clash_id, needs="v3", base_needs="v1")
    assert (first.status_code, later.status_code, clash.status_code) == (200, 200, 409)
    clock.set_now(clock.now().replace(hour=21, minute=7))
    for replay_id, answer, fields in ((first_id, first, {"needs": "v1", "base_needs": ""}),
                                      (clash_id, clash, {"needs": "v3", "base_needs": "v1"})):
        replay = autosave(ana, ev, evening["Bea"], replay_id, **fields)  # the outbox, sent again
        assert (replay.status_code, replay.get_json()) == (answer.status_code, answer.get_json())
    assert stored(app, evening["Ana"], evening["Bea"])["needs"] == "v2"
    assert count(app, NoteSave) == 3


def test_a_reused_client_id_about_another_person_is_a_clear_409(app, evening):
    """The reported defect: saving about Chen with the id of a save about Bea answered
    {"saved": true} and stored nothing."""
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    choose(ana, ev, evening["Chen"])
    used = str(uuid.uuid4())
    assert autosave(ana, ev, evening["Bea"], used, needs="About Bea").status_code == 200
    assert_contract_error(autosave(ana, ev, evening["Chen"], used, needs="About Chen"), 409, "client_id_reused")
    assert_contract_error(autosave(ana, ev, evening["Bea"], used, needs="About Bea, edited"), 409,
                          "client_id_reused")
    assert stored(app, evening["Ana"], evening["Chen"]) is None
    assert stored(app, evening["Ana"], evening["Bea"])["needs"] == "About Bea"
    # The plain form (a page brought back with the Back button) keeps what was typed.
    form = post(ana, url(ev, evening["Chen"]), {"needs": "About Chen", "client_id": used})
    assert form.status_code == 409 and ">About Chen</textarea>" in text(form)
    assert f'name="client_id" value="{used}"' not in text(form)


def test_a_save_from_before_changes_were_recorded_is_still_a_replay(app, evening):
    """Rows the migration left with no change hash: their id is answered "saved" about the
    same note, and refused about anyone else."""
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    choose(ana, ev, evening["Chen"])
    old = str(uuid.uuid4())
    assert autosave(ana, ev, evening["Bea"], old, needs="Before the upgrade").status_code == 200
    with app.app_context():
        db.session.execute(sa.update(NoteSave).where(NoteSave.client_id == old)
                           .values(change_hash=None, result=None))
        db.session.commit()
        db.session.remove()
    replay = autosave(ana, ev, evening["Bea"], old, needs="anything")
    assert replay.status_code == 200 and replay.get_json()["saved"] is True
    assert stored(app, evening["Ana"], evening["Bea"])["needs"] == "Before the upgrade"
    assert_contract_error(autosave(ana, ev, evening["Chen"], old, needs="x"), 409, "client_id_reused")


# --- races, with real threads ---------------------------------------------------------------

THREADS = 6


def _race(app, evening, payloads) -> list:
    """Each payload from its own phone (all Ana's), released together at a barrier."""
    ev = evening["event"]
    clients = [phone(app, evening["Ana"]) for _ in payloads]
    tokens = [csrf_token(c) for c in clients]
    start = threading.Barrier(len(payloads))
    answers: list = [None] * len(payloads)

    def send(i):
        start.wait()
        answers[i] = autosave(clients[i], ev, evening["Bea"], token=tokens[i], **payloads[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_racing_saves_of_one_field_one_wins_the_others_see_both_versions(app, evening):
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    assert autosave(ana, ev, evening["Bea"], personal="Runs marathons").status_code == 200  # the note exists
    texts = [f"Offer number {i}" for i in range(THREADS)]
    answers = _race(app, evening, [{"offer": t, "base_offer": ""} for t in texts])
    won = [i for i, r in enumerate(answers) if r.status_code == 200]
    assert len(won) == 1, [(r.status_code, r.get_json()) for r in answers]
    winner = texts[won[0]]
    for i, r in enumerate(answers):
        if i != won[0]:
            body = assert_contract_error(r, 409, "note_conflict")
            assert body["conflicts"] == {"offer": {"yours": texts[i], "theirs": winner}}
    assert stored(app, evening["Ana"], evening["Bea"])["offer"] == winner


def test_one_save_sent_at_once_from_many_tabs_is_stored_once_with_one_answer(app, evening):
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    same = str(uuid.uuid4())
    answers = _race(app, evening, [{"client_id": same, "needs": "A roaster", "base_needs": ""}] * THREADS)
    assert {(r.status_code, str(r.get_json())) for r in answers} == {(200, str(answers[0].get_json()))}
    assert count(app, NoteSave) == 1
    assert stored(app, evening["Ana"], evening["Bea"])["needs"] == "A roaster"


@pytest.mark.parametrize("reason", ["a new note", "an existing note"])
def test_racing_first_saves_of_different_fields_all_land(app, evening, reason):
    ev, ana = evening["event"], phone(app, evening["Ana"])
    choose(ana, ev, evening["Bea"])
    if reason == "an existing note":
        autosave(ana, ev, evening["Bea"], working_on="A café chain")
    answers = _race(app, evening, [{name: f"{name} text", f"base_{name}": ""}
                                   for name in ("needs", "offer", "personal")])
    assert [r.status_code for r in answers] == [200, 200, 200]
    values = stored(app, evening["Ana"], evening["Bea"])
    assert (values["needs"], values["offer"], values["personal"]) == ("needs text", "offer text", "personal text")
