"""Keeping attendee data no longer than promised (issue "The organiser dashboard"): each event's
attendee data is deleted at its end + EVENTMATE_RETENTION_DAYS by the worker's pass, and
nothing else is; the dashboard's numbers survive; an organiser can delete an event outright
after typing its name."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import EVENING, event_form, login, post, text

from eventmate import clock, devices, events, letters, notes, picks, retention
from eventmate.extensions import db
from eventmate.models import Attendee, Device, Event, Letter, Message, Note, Pick

END = EVENING + timedelta(hours=4)  # the standard evening ends 22:00 UTC


def _room(app, make_attendee, event, names):
    people = [make_attendee(event, name) for name in names]
    with app.app_context():
        s = db.session
        first = s.get(Attendee, people[0].id)
        for other in people[1:]:
            picks.pick(s, first, other.id)
        notes.save(s, first, people[1].id, {"working_on": f"note in {event.name}"}, str(uuid.uuid4()))
        letters.send(s, first, people[1].id, {"body": f"hello from {event.name}"}, str(uuid.uuid4()))
        devices.attach(s, f"phone-{event.id}", [first])
        db.session.remove()
    return people


def _counts(app, event_id: int) -> dict[str, int]:
    with app.app_context():
        found = {model.__tablename__: db.session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.event_id == event_id))
            for model in (Attendee, Pick, Note, Letter, Message)}
        db.session.remove()
    return found


@pytest.fixture
def two_events(app, make_organiser, make_event, make_attendee):
    """Last week's evening and one three months ago, each with people, picks, notes, a letter
    and a device; check-in happens while each is on."""
    organiser = make_organiser()
    old = make_event(organiser, name="Spring evening")
    recent = make_event(organiser, name="Summer evening",
                        starts_local=(EVENING + timedelta(days=80)).strftime("%Y-%m-%dT%H:%M"),
                        ends_local=(END + timedelta(days=80)).strftime("%Y-%m-%dT%H:%M"))
    clock.set_now(EVENING + timedelta(hours=1))
    _room(app, make_attendee, old, ["Ana", "Ben", "Chloe"])
    clock.set_now(EVENING + timedelta(days=80, hours=1))
    _room(app, make_attendee, recent, ["Dev", "Eve"])
    yield organiser, old, recent
    clock.reset()


def test_a_new_event_promises_a_deletion_date_that_attendees_see(app, make_organiser, make_event):
    event = make_event(make_organiser())
    with app.app_context():
        assert db.session.get(Event, event.id).purge_after == END + timedelta(days=90)
    clock.set_now(EVENING)
    try:
        page = text(app.test_client().get(event.checkin_path))
    finally:
        clock.reset()
    assert "Your answers and notes are deleted on 12 August 2026" in page


def test_the_worker_pass_purges_what_is_due_and_nothing_else(app, runner, two_events):
    organiser, old, recent = two_events
    before_recent = _counts(app, recent.id)
    assert all(before_recent.values()) and all(_counts(app, old.id).values())

    # 89 days after the old event: nothing is due yet.
    result = runner.invoke(args=["send-prompts", "--now", (END + timedelta(days=89)).isoformat()])
    assert result.exit_code == 0 and "deleted the attendee data" not in result.output
    assert all(_counts(app, old.id).values())

    result = runner.invoke(args=["send-prompts", "--now", (END + timedelta(days=90, minutes=1)).isoformat()])
    assert result.exit_code == 0, result.output
    assert "deleted the attendee data of 1 past event" in result.output
    assert _counts(app, old.id) == dict.fromkeys(before_recent, 0)
    assert _counts(app, recent.id) == before_recent  # not due: untouched
    with app.app_context():
        s = db.session
        purged = s.get(Event, old.id)
        assert purged.purged_at is not None and purged.name == "Spring evening"
        assert "note in Spring" not in purged.summary and "Ana" not in purged.summary
        labels = {d.credential_hash for d in s.scalars(sa.select(Device))}
        assert labels == {devices.tokens.digest(f"phone-{recent.id}")}  # the old event's phone held nobody else
        s.remove()
    # Running again changes nothing.
    again = runner.invoke(args=["send-prompts", "--now", (END + timedelta(days=91)).isoformat()])
    assert "deleted the attendee data" not in again.output


def test_the_numbers_survive_the_purge(app, client, two_events):
    organiser, old, _recent = two_events
    login(client, organiser)
    clock.set_now(END + timedelta(days=30))
    before = text(client.get(f"/organiser/events/{old.id}"))
    assert "<dd data-checked-in>3</dd>" in before and "deleted on 12 August 2026" in before
    with app.app_context():
        retention.purge(db.session, db.session.get(Event, old.id))
    after = text(client.get(f"/organiser/events/{old.id}"))
    for figure in ('<dd data-checked-in>3</dd>', '<dd data-picked-one>1</dd>', '<dd data-picked-three>0</dd>'):
        assert figure in after
    assert 'data-step="followed_up"' in after and "data-purged" in after
    assert "People and the door" not in after
    listed = text(client.get("/organiser/")).split(f'data-event="{old.id}"')[1].split("</li>")[0]
    assert "3 checked in" in listed  # the list keeps the number too
    assert client.get(f"/organiser/events/{old.id}/live").status_code == 200


def test_two_workers_purging_at_once_keep_the_first_ones_numbers(app, two_events):
    """Real threads, each with its own session, purge the same due event at the same moment:
    the people are deleted once and the kept numbers are the evening's, not zeros."""
    _organiser, old, _recent = two_events
    clock.set_now(END + timedelta(days=91))
    barrier, results = threading.Barrier(2), []

    def worker():
        with app.app_context():
            event = db.session.get(Event, old.id)
            db.session.commit()  # SQLite: no transaction open across the barrier
            barrier.wait()
            results.append(retention.purge(db.session, event))
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [0, 3]
    with app.app_context():
        kept = retention.kept(db.session.get(Event, old.id))
        assert kept[0].checked_in == 3 and kept[0].picked_one == 1
    assert _counts(app, old.id)["attendee"] == 0


def test_events_made_before_retention_are_not_purged(app, runner, two_events):
    _organiser, old, _recent = two_events
    with app.app_context():
        db.session.execute(sa.update(Event).where(Event.id == old.id).values(purge_after=None))
        db.session.commit()
    runner.invoke(args=["send-prompts", "--now", (END + timedelta(days=400)).isoformat()])
    assert all(_counts(app, old.id).values())


def test_editing_an_event_keeps_the_promised_span(app, make_organiser, make_event):
    organiser = make_organiser()
    event = make_event(organiser)
    with app.app_context():
        ev = db.session.get(Event, event.id)
        later = (END + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        events.update_event(db.session, ev, event_form(ends_local=later))
        assert ev.purge_after == END + timedelta(hours=2, days=90)


def test_deleting_an_event_needs_its_name(app, client, two_events, make_organiser):
    organiser, old, recent = two_events
    login(client, organiser)
    clock.set_now(END + timedelta(days=1))
    url = f"/organiser/events/{old.id}/delete"
    wrong = post(client, url, {"confirm_name": "Spring"})
    assert wrong.status_code == 422 and "Type the event&#39;s name" in text(wrong)
    assert 'value="Spring"' in text(wrong)  # what was typed stays
    assert all(_counts(app, old.id).values())

    stranger = app.test_client()
    login(stranger, make_organiser())
    assert post(stranger, url, {"confirm_name": "Spring evening"}).status_code == 404

    done = post(client, url, {"confirm_name": "  spring   EVENING "}, follow_redirects=True)
    assert "Spring evening is deleted" in text(done)
    assert client.get(f"/organiser/events/{old.id}").status_code == 404
    assert _counts(app, old.id) == dict.fromkeys(_counts(app, old.id), 0)
    assert all(_counts(app, recent.id).values())
    with app.app_context():
        assert db.session.get(Event, old.id) is None
