"""Invariants under real concurrency: real threads against a real database file/server."""

from __future__ import annotations

import re
import threading

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
    start = threading.Barrier(8)
    results: list = []

    def tap():
        client = app.test_client()  # a racing request from the same phone (same session)
        client.set_cookie("session", session_cookie)
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
