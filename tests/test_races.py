"""Invariants under real concurrency: real threads against a real database file/server."""

from __future__ import annotations

import multiprocessing
import re
import threading

import pytest
import sqlalchemy as sa
from conftest import csrf_token, profile, text

from eventmate.extensions import db
from eventmate.models import Attendee

FORM_TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')


def test_same_form_submitted_eight_times_at_once_is_one_attendee(app, make_organiser, make_event,
                                                               at_the_event):
    event = make_event(make_organiser())
    phone = app.test_client()
    token = FORM_TOKEN_RE.search(text(phone.get(event.checkin_path))).group(1)
    csrf = csrf_token(phone)
    session_cookie = phone.get_cookie("session").value
    form_cookie = phone.get_cookie("em_form").value  # the form is bound to this browser
    start = threading.Barrier(8)
    results: list = []

    def tap():
        client = app.test_client()  # a racing request from the same phone (same cookies)
        client.set_cookie("session", session_cookie)
        client.set_cookie("em_form", form_cookie)
        start.wait()
        response = client.post(event.checkin_path,
                               data={**profile(), "form_token": token, "csrf_token": csrf})
        results.append((response.status_code, response.headers.get("Set-Cookie", "").split(";")[0]))

    threads = [threading.Thread(target=tap) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in results] == [302] * 8
    assert len({cookie for _, cookie in results}) == 1  # every tap gets the same identity
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 1


# --- the limit of three under real concurrency ---------------------------------------------

RACERS = 8


def _pick_in_a_process(url: str, picker_id: int, target_id: int, barrier, results) -> None:
    """One process: its own app, engine and connection, picking at the barrier's signal."""
    from conftest import test_config

    from eventmate import create_app, picks
    from eventmate.errors import PickLimitReached
    from eventmate.models import Attendee

    app = create_app(test_config(url))
    with app.app_context():
        picker = db.session.get(Attendee, picker_id)
        db.session.commit()  # end the read: on SQLite it holds the write lock (BEGIN IMMEDIATE)
        barrier.wait()
        try:
            picks.pick(db.session, picker, target_id)
            results.put("picked")
        except PickLimitReached:
            results.put("limit")
        except Exception as error:  # reported, so the assertion shows what went wrong
            results.put(f"error: {error!r}")
        db.engine.dispose()


def _count_picks(app, picker_id):
    from eventmate.models import Pick

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Pick).where(Pick.picker_id == picker_id))


@pytest.fixture
def crowd(app, make_organiser, make_event, make_attendee, at_the_event):
    event = make_event(make_organiser())
    picker = make_attendee(event, "Ana")
    return event, picker, [make_attendee(event, f"Target {n}") for n in range(RACERS)]


def test_eight_processes_never_make_a_fourth_pick(app, database_url, crowd):
    _event, picker, targets = crowd
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(RACERS), ctx.Queue()
    processes = [ctx.Process(target=_pick_in_a_process,
                             args=(database_url, picker.id, target.id, barrier, results))
                 for target in targets]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert sorted(outcomes) == ["limit"] * (RACERS - 3) + ["picked"] * 3
    assert _count_picks(app, picker.id) == 3


def test_eight_threads_through_the_web_never_make_a_fourth_pick(app, crowd):
    event, picker, targets = crowd
    cookie_source = app.test_client()
    from conftest import post
    assert post(cookie_source, "/return", {"code": picker.code}).status_code == 302
    device_cookie = cookie_source.get_cookie("em_device").value
    session_cookie = cookie_source.get_cookie("session").value
    csrf = csrf_token(cookie_source)
    start = threading.Barrier(RACERS)
    statuses: list[int] = []

    def tap(target):
        client = app.test_client()
        client.set_cookie("em_device", device_cookie)
        client.set_cookie("session", session_cookie)
        start.wait()
        response = client.post(f"/e/{event.slug}/picks", data={"person": target.id, "csrf_token": csrf})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=tap, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses) == [302] * 3 + [409] * (RACERS - 3)
    assert _count_picks(app, picker.id) == 3
