"""The push subscription API (CONTRACT.md) and the device rows behind it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import csrf_token, post, text
from itsdangerous import URLSafeSerializer
from push_fixtures import push_receiver_fixture  # noqa: F401

from eventmate.extensions import db
from eventmate.models import Attendee, Device, DeviceAttendee, PushSubscription

API = "/api/push/subscriptions"


@pytest.fixture
def ana(app, make_organiser, make_event, make_attendee, at_the_event):
    event = make_event(make_organiser())
    person = make_attendee(event, "Ana Lima")
    phone = app.test_client()
    assert post(phone, "/return", {"code": person.code}).status_code == 302
    person.phone, person.event = phone, event
    return person


def send(client, method: str, body, token: str | None = None):
    headers = {"X-CSRFToken": token or csrf_token(client), "Accept": "application/json"}
    return client.open(API, method=method, json=body, headers=headers)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_subscribe_is_201_then_200_and_belongs_to_the_device(app, ana, push_receiver):
    sub = push_receiver.new_subscription()
    first = send(ana.phone, "POST", sub)
    assert first.status_code == 201 and first.get_json() == {"subscribed": True}
    again = send(ana.phone, "POST", sub)
    assert again.status_code == 200
    with app.app_context():
        [row] = db.session.scalars(sa.select(PushSubscription)).all()
        assert row.endpoint == sub["endpoint"]
        held = db.session.scalars(sa.select(DeviceAttendee.attendee_id).where(
            DeviceAttendee.device_id == row.device_id)).all()
        assert held == [ana.id]


def test_unsubscribe_forgets_it(app, ana, push_receiver):
    sub = push_receiver.new_subscription()
    send(ana.phone, "POST", sub)
    response = send(ana.phone, "DELETE", sub)
    assert response.status_code == 200 and response.get_json() == {"subscribed": False}
    assert _count(app, PushSubscription) == 0
    assert _count(app, Device) == 1  # the phone itself stays signed in


@pytest.mark.parametrize(("body", "words"), [
    ({}, "no endpoint"),
    ({"endpoint": "https://push.example/x"}, "no keys"),
    ({"endpoint": "https://push.example/x", "keys": {"p256dh": "abc", "auth": "abc"}}, "p256dh"),
    ({"endpoint": "ftp://push.example/x", "keys": {"p256dh": "a", "auth": "b"}}, "https://"),
    ("not an object", "JSON object"),
])
def test_malformed_subscriptions_get_a_json_400(ana, body, words):
    response = send(ana.phone, "POST", body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_subscription"
    assert words in response.get_json()["message"]


def test_a_body_that_is_not_json_is_a_json_400(ana):
    response = ana.phone.post(API, data="{{{", content_type="application/json",
                              headers={"X-CSRFToken": csrf_token(ana.phone)})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_subscription"


def test_without_the_csrf_token_nothing_is_stored(app, ana, push_receiver):
    response = ana.phone.post(API, json=push_receiver.new_subscription())
    assert response.status_code == 400 and response.get_json()["error"] == "csrf_failed"
    assert _count(app, PushSubscription) == 0


def test_a_browser_not_checked_in_anywhere_is_refused(app, push_receiver):
    stranger = app.test_client()
    response = send(stranger, "POST", push_receiver.new_subscription())
    assert response.status_code == 403 and response.get_json()["error"] == "not_checked_in"


def test_push_endpoints_on_this_machine_are_refused_outside_tests(make_app, ana, push_receiver):
    strict = make_app(PUSH_ALLOW_LOOPBACK=False).test_client()
    strict.set_cookie("em_device", ana.phone.get_cookie("em_device").value)
    response = send(strict, "POST", push_receiver.new_subscription())
    assert response.status_code == 400 and "https://" in response.get_json()["message"]


def test_a_cookie_from_before_devices_keeps_working_and_gets_a_device(app, ana, push_receiver):
    """Phones that checked in before this release carry only {event id: return code}.
    (The upgrade marks every attendee already there `legacy_cookie_ok`; Ana plays one.)"""
    with app.app_context():
        db.session.execute(sa.update(Attendee).where(Attendee.id == ana.id).values(legacy_cookie_ok=True))
        db.session.commit()
    old = app.test_client()
    old.set_cookie("em_device", URLSafeSerializer(app.config["SECRET_KEY"], salt="eventmate-device")
                   .dumps({str(ana.event.id): ana.code}))
    page = old.get(f"/e/{ana.event.slug}")
    assert page.status_code == 200 and "Ana Lima" in text(page)  # nobody is signed out
    # Its first page gives it a device, so it shows in Ana's device list and can be signed out.
    assert "em_device=" in page.headers["Set-Cookie"]  # the cookie now names its device
    response = send(old, "POST", push_receiver.new_subscription())
    assert response.status_code == 201
    assert old.get(f"/e/{ana.event.slug}").status_code == 200
    with app.app_context():
        devices = db.session.scalars(sa.select(Device)).all()
        assert len(devices) == 2  # Ana's own phone (signed in with the code) and this one
    again = send(old, "POST", push_receiver.new_subscription())
    assert again.status_code == 201
    assert _count(app, Device) == 2  # the second request found the device the first one made


def test_checking_in_twice_with_one_form_makes_one_device(app, make_organiser, make_event, at_the_event):
    import re

    from conftest import profile

    event = make_event(make_organiser())
    phone = app.test_client()
    token = re.search(r'name="form_token" value="([^"]+)"', text(phone.get(event.checkin_path))).group(1)
    for _ in range(2):
        post(phone, event.checkin_path, {**profile(), "form_token": token})
    assert _count(app, Device) == 1 and _count(app, DeviceAttendee) == 1


def test_a_replaced_subscription_is_renewed_by_the_service_worker(app, ana, push_receiver):
    old = push_receiver.new_subscription()
    send(ana.phone, "POST", old)
    new = push_receiver.new_subscription()
    sw = app.test_client()  # the service worker's fetch: same cookies, but no page and no token
    wrong = sw.post(API + "/renew", json={"old": {"endpoint": old["endpoint"], "auth": "x" * 22}, "new": new})
    assert wrong.status_code == 404
    ok = sw.post(API + "/renew", json={"old": {"endpoint": old["endpoint"], "auth": old["keys"]["auth"]},
                                       "new": new})
    assert ok.status_code == 200
    with app.app_context():
        assert db.session.scalars(sa.select(PushSubscription.endpoint)).all() == [new["endpoint"]]


def test_subscriptions_not_confirmed_for_sixty_days_expire(app, ana, push_receiver):
    from datetime import timedelta

    from eventmate import clock, devices

    send(ana.phone, "POST", push_receiver.new_subscription())
    with app.app_context():
        start = clock.now()
        clock.set_now(start + timedelta(days=59))
        assert devices.expire_subscriptions(db.session) == 0
        clock.set_now(start + timedelta(days=60, seconds=1))
        assert devices.expire_subscriptions(db.session) == 1


def test_last_seen_is_written_at_most_hourly(app, ana):
    from datetime import timedelta

    from eventmate import clock

    def last_seen():
        with app.app_context():
            return db.session.scalar(sa.select(Device.last_seen_at))

    signed_in = last_seen()
    start = clock.now()
    clock.set_now(start + timedelta(minutes=59))
    assert ana.phone.get(f"/e/{ana.event.slug}").status_code == 200
    assert last_seen() == signed_in
    clock.set_now(start + timedelta(minutes=61))
    ana.phone.get(f"/e/{ana.event.slug}")
    assert last_seen() == start + timedelta(minutes=61)
