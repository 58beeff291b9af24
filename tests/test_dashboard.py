"""The organiser dashboard (issue "The organiser dashboard", part one): live counters, the
arrivals chart, the morning-after funnel, polling with 304s, the events list — aggregates
only, a fixed number of queries, and nothing that tells who picked whom."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from conftest import EVENING, login, post, text

from eventmate import checkin, clock, coffee, dashboard, devices, followup, letters, notes, picks, tokens
from eventmate.extensions import db
from eventmate.models import Attendee, Event, Message, Pick
from eventmate.push import Subscription

#: The standard evening runs 18:00–22:00 UTC; check-in opens at 16:00.
NIGHT = EVENING + timedelta(hours=1)
MORNING = EVENING + timedelta(hours=15)


def arrive(app, event, name: str, at) -> SimpleNamespace:
    clock.set_now(at)
    with app.app_context():
        ev = db.session.get(Event, event.id)
        attendee, code = checkin.check_in(db.session, ev, {"name": name, "what_i_do": "x", "how_i_help": "y",
                                                           "looking_for": "z"},
                                          form_token=checkin.new_form_token(app.config["SECRET_KEY"]),
                                          secret=app.config["SECRET_KEY"])
        return SimpleNamespace(id=attendee.id, code=code)


def pick(app, picker, picked) -> None:
    with app.app_context():
        picks.pick(db.session, db.session.get(Attendee, picker.id), picked.id)
        db.session.remove()


@pytest.fixture
def night(app, client, make_organiser, make_event):
    """Five people arrived between 17:50 and 18:20; Eve left. Ana chose Ben, Chloe and Dev;
    Ben and Chloe chose Ana back; Ben has reminders on."""
    organiser = make_organiser()
    event = make_event(organiser)
    times = [EVENING - timedelta(minutes=10), EVENING + timedelta(minutes=2), EVENING + timedelta(minutes=3),
             EVENING + timedelta(minutes=4), EVENING + timedelta(minutes=21)]
    ana, ben, chloe, dev, eve = (arrive(app, event, name, at) for name, at in
                                 zip(("Ana", "Ben", "Chloe", "Dev", "Eve"), times, strict=True))
    clock.set_now(NIGHT)
    for picker, picked in ((ana, ben), (ana, chloe), (ana, dev), (ben, ana), (chloe, ana)):
        pick(app, picker, picked)
    with app.app_context():
        checkin.leave(db.session, db.session.get(Attendee, eve.id))
        device = devices.attach(db.session, "ben-phone-credential", [db.session.get(Attendee, ben.id)])
        devices.subscribe(db.session, device, Subscription(endpoint="https://push.example/ben", p256dh="p" * 87,
                                                           auth="a" * 22))
        db.session.remove()
    login(client, organiser)
    yield SimpleNamespace(event=event, organiser=organiser, ana=ana, ben=ben, chloe=chloe, dev=dev, eve=eve,
                          page=f"/organiser/events/{event.id}", live=f"/organiser/events/{event.id}/live")
    clock.reset()


def figures(page: str) -> dict[str, str]:
    return dict(re.findall(r'<dd data-([a-z-]+)>(\d+)</dd>', page))


def test_the_live_counters_say_how_the_night_is_going(app, client, night):
    page = text(client.get(night.page))
    assert figures(page) == {"here-now": "4", "checked-in": "5", "picked-one": "3", "picked-three": "1",
                             "mutual-pairs": "2", "push": "1"}
    assert "(1 left early)" in page


def test_arrivals_are_counted_per_five_minutes_with_a_table(app, client, night):
    with app.app_context():
        line = dashboard.timeline(db.session, db.session.get(Event, night.event.id))
    assert line.minutes == 5
    assert line.bars[0].starts_at == EVENING - timedelta(minutes=10)
    # 17:50 ×1, 17:55, 18:00 ×3, 18:05, 18:10, 18:15, 18:20 ×1, then empty buckets up to now (19:00).
    assert [b.arrivals for b in line.bars[:7]] == [1, 0, 3, 0, 0, 0, 1]
    assert sum(b.arrivals for b in line.bars) == 5 and line.bars[-1].starts_at <= NIGHT
    page = text(client.get(night.page))
    assert 'role="img"' in page and "<title>18:00: 3</title>" in page
    assert "<td>18:00</td><td>3</td>" in page  # the same numbers, as a table


def test_a_long_event_gets_wider_bars():
    assert next(m for m in dashboard.BUCKETS if 600 / m < dashboard.MAX_BARS) == 15


def test_polling_answers_304_until_something_changes(app, client, night):
    first = client.get(night.live)
    assert first.status_code == 200 and first.headers["ETag"]
    assert 'data-checked-in>5<' in text(first) and "<html" not in text(first)
    again = client.get(night.live, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    arrive(app, night.event, "Fay", NIGHT)
    changed = client.get(night.live, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and 'data-checked-in>6<' in text(changed)
    assert changed.headers["ETag"] != first.headers["ETag"]


def test_a_server_process_keeps_each_events_poll_for_a_few_seconds(make_app, make_organiser, make_event):
    """Fifty dashboards on one busy door: within LIVE_POLL_CACHE_SECONDS a process answers from
    what it last counted (no query, whoever asks), then counts again; access is still checked on
    every poll, and each event keeps its own numbers."""
    app = make_app(LIVE_POLL_CACHE_SECONDS=3600)
    organiser, stranger = make_organiser(), make_organiser()
    event, other = make_event(organiser), make_event(organiser, name="Another night")
    clock.set_now(NIGHT)
    arrive(app, event, "Ana", NIGHT)
    clock.set_now(NIGHT)
    door, office, nosy = app.test_client(), app.test_client(), app.test_client()
    login(door, organiser)
    login(office, organiser)
    login(nosy, stranger)
    url = f"/organiser/events/{event.id}/live"
    first = door.get(url)
    assert 'data-checked-in>1<' in text(first)
    arrive(app, event, "Ben", NIGHT)
    clock.set_now(NIGHT)
    with counting(app) as kept:
        again = office.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304  # Ben is not counted yet: this is the kept poll
    assert nosy.get(url).status_code == 404
    assert 'data-checked-in>0<' in text(door.get(f"/organiser/events/{other.id}/live"))
    app.extensions["eventmate.polls"].clear()  # as when the few seconds are up
    with counting(app) as counted:
        fresh = office.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert fresh.status_code == 200 and 'data-checked-in>2<' in text(fresh)
    assert len(kept) < len(counted), (len(kept), len(counted))


def test_a_compressed_poll_gets_its_304_from_the_counters_alone(app, client, night):
    """Found by the dashboards benchmark: a compressed answer's ETag comes back as "<tag>:br",
    which the view never matched, so every poll read every arrival and rendered the page,
    and only then did compression answer 304. Now the counters' one query decides."""
    for n in range(40):  # a fragment over the compression threshold
        arrive(app, night.event, f"Guest {n}", NIGHT + timedelta(minutes=5 * n))
    first = client.get(night.live, headers={"Accept-Encoding": "br"})
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "br"
    assert first.headers["ETag"].endswith(':br"')
    with counting(app) as polls:
        again = client.get(night.live, headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    with counting(app) as full:
        client.get(night.live, headers={"Accept-Encoding": "br"})
    assert len(polls) < len(full), (len(polls), len(full))
    # The chart's arrivals are part of the version: an undone check-in and a new arrival at
    # once (the same count) still change it.
    with app.app_context():
        first_guest = db.session.scalar(sa.select(Attendee).where(Attendee.name == "Guest 0"))
        first_guest.checked_in_at = None
        db.session.commit()
    arrive(app, night.event, "Late Lou", NIGHT + timedelta(hours=3, minutes=30))
    moved = client.get(night.live, headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200


def test_the_morning_after_funnel(app, client, night):
    with app.app_context():
        s = db.session
        # The prompt went out: Ana by push, Ben by email, Chloe only in the app.
        for person, channel in ((night.ana, "push"), (night.ben, "email"), (night.chloe, "app")):
            s.execute(sa.update(Message).where(Message.attendee_id == person.id, Message.kind == "prompt")
                      .values(state="sent", channel=channel, sent_at=MORNING))
        s.commit()
        clock.set_now(MORNING)  # within 24 hours of the end (22:00)
        ana = s.get(Attendee, night.ana.id)
        letters.send(s, ana, night.ben.id, {"body": "Lovely to meet you."}, str(uuid.uuid4()))
        letters.send(s, ana, night.chloe.id, {"body": "Lovely to meet you too."}, str(uuid.uuid4()))
        row = coffee.propose(s, ana, night.ben.id, coffee.form_values(ana.event, coffee.default_slots(ana.event)), "")
        coffee.accept(s, s.get(Attendee, night.ben.id), row.id, "0", row.version)
        clock.set_now(EVENING + timedelta(hours=4 + 30))  # a day and a half later: late
        followup.mark_followed_up(s, s.get(Attendee, night.chloe.id), night.ana.id, "email")
        s.commit()
        db.session.remove()
    page = text(client.get(night.page))
    steps = dict(re.findall(r'data-step="([a-z_]+)">\s*<div class="funnel-label"><span>[^<]*</span>'
                            r'<span><strong>(\d+)</strong>', page))
    assert steps == {"checked_in": "5", "picked_one": "3", "picked_three": "1", "prompted": "3",
                     "followed_up": "2", "in_time": "1"}
    assert "60%" in page  # 3 of 5 chose someone
    facts = figures(page)
    assert facts["checked-in"] == "5" and "On the night" in page  # the night's counters stay below
    assert (facts["prompts-push"], facts["prompts-email"], facts["prompts-app"]) == ("1", "1", "1")
    assert (facts["notes-sent"], facts["coffees-proposed"], facts["coffees-accepted"]) == ("3", "1", "1")


def _normalised(page: str) -> str:
    """The page without its per-request CSRF token."""
    return re.sub(r'(name="csrf-token" content|name="csrf_token" value)="[^"]+"', r'\1=""', page)


def test_who_picked_whom_never_reaches_the_dashboard(app, client, night):
    """Two rooms with the same counts and different pairs give byte-identical dashboards; no
    note, drafted message or name of a picker appears anywhere the organiser can reach."""
    secret = f"zq{uuid.uuid4().hex}"
    with app.app_context():
        notes.save(db.session, db.session.get(Attendee, night.ana.id), night.ben.id,
                   {"working_on": secret, "personal": secret}, str(uuid.uuid4()))
        db.session.remove()
    pages = {url: _normalised(text(client.get(url)))
             for url in (night.page, night.live, "/organiser/")}
    assert all(secret not in page for page in pages.values())
    # Re-pair the room: Dev chose Ana, Chloe and Ben; Ana and Chloe chose Dev back. Same
    # counts (three people chose, one chose three, two mutual pairs), other pairs.
    with app.app_context():
        db.session.execute(sa.delete(Pick))
        db.session.commit()
        db.session.remove()
    for picker, picked in ((night.dev, night.ana), (night.dev, night.chloe), (night.dev, night.ben),
                           (night.ana, night.dev), (night.chloe, night.dev)):
        pick(app, picker, picked)
    for url, before in pages.items():
        assert _normalised(text(client.get(url))) == before, url


@contextmanager
def counting(app):
    seen = []

    def count(*_args):
        seen.append(1)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)


def test_the_dashboard_costs_the_same_queries_for_10_and_2000_people(app, client, night):
    def queries() -> list[int]:
        found = []
        for url in (night.page, night.live, "/organiser/"):
            with counting(app) as seen:
                assert client.get(url).status_code == 200
            found.append(len(seen))
        return found

    clock.set_now(MORNING)  # the funnel too
    small = queries()
    with app.app_context():
        now = clock.now()
        db.session.execute(sa.insert(Attendee), [
            {"event_id": night.event.id, "name": f"Guest {n}", "what_i_do": "x", "how_i_help": "y",
             "looking_for": "z", "checked_in_at": now - timedelta(minutes=n % 300),
             "return_code_hash": tokens.digest(f"code-{n}"), "pickme_token": f"{n:032d}", "search_text": ""}
            for n in range(1995)])
        db.session.commit()
        db.session.remove()
    assert queries() == small


def test_the_events_list_groups_and_counts(app, client, night, make_event):
    make_event(night.organiser, name="Next month's evening",
               starts_local=(EVENING + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
               ends_local=(EVENING + timedelta(days=30, hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page = text(client.get("/organiser/"))
    assert page.index("Happening now") < page.index("Coming up")
    assert "5 checked in" in page and "Nobody checked in yet" in page
    # Closing check-in by hand during the evening doesn't make it a past event.
    post(client, f"/organiser/events/{night.event.id}/checkin", {"mode": "closed"})
    page = text(client.get("/organiser/"))
    assert page.index("Happening now") < page.index("Thursday founders evening") < page.index("Coming up")
    assert "Check-in closed" in page
    clock.set_now(MORNING)
    page = text(client.get("/organiser/"))
    assert "Happening now" not in page and page.index("Coming up") < page.index("Past")
