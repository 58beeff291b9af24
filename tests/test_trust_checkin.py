"""Issue 9, item 7: the check-in form token is no second key.

A form token replayed from another phone yields nobody's identity; the same browser's retry
still lands on its attendee; the database keeps only the token's hash; return codes are
random, not derived from the token and the secret; the migration hashes existing tokens and
signs nobody out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from conftest import EVENING, csrf_token, post, profile, text
from conftest import test_config as app_config  # its own name would be collected as a test
from flask_migrate import upgrade
from itsdangerous import URLSafeSerializer

from eventmate import create_app, tokens
from eventmate.extensions import db

FORM_TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')
CODE_RE = re.compile(r"data-return-code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<")
SECRET = "test-secret"  # conftest.test_config's
BEFORE = "a5480d881135"  # the revision before check-in tokens were hashed


def form_token(page) -> str:
    return FORM_TOKEN_RE.search(text(page)).group(1)


def set_cookies(response) -> dict[str, str]:
    """Name → the whole Set-Cookie line, for every cookie a response sets."""
    return {line.split("=", 1)[0]: line for line in response.headers.getlist("Set-Cookie")}


def return_code(client, event) -> str:
    return tokens.normalise_code(CODE_RE.search(text(client.get(f"/e/{event.slug}"))).group(1))


def old_return_code(token: str) -> str:
    """How the return code used to be made: from the form token and the secret alone."""
    return tokens.derived_code(SECRET, f"return-code:{token}", 16)


def old_device_credential(token: str) -> str:
    return hmac.new(SECRET.encode(), f"device:{token}".encode(), "sha256").hexdigest()


def old_form_token() -> str:
    """A form token as the code before this change signed it (not bound to a browser)."""
    nonce = secrets.token_urlsafe(16)[:22]
    signature = hmac.new(SECRET.encode(), f"checkin-form:{nonce}".encode(), "sha256").digest()
    return nonce + base64.urlsafe_b64encode(signature).decode()[:21]


@pytest.fixture
def event(make_organiser, make_event, at_the_event):
    return make_event(make_organiser())


def test_a_form_token_replayed_from_another_phone_yields_no_identity(app, client, other_client, event):
    page = client.get(event.checkin_path)
    token = form_token(page)
    ana = post(client, event.checkin_path,
               {**profile("Ana Lima", contact="ana.private@example.org"), "form_token": token})
    assert ana.status_code == 302
    ana_code = return_code(client, event)

    # Another phone, with the token copied (from a shared screen, a proxy log, a borrowed
    # phone's history): with no form cookie, then with a form cookie of its own.
    replay = post(other_client, event.checkin_path, {**profile("Mallory"), "form_token": token})
    other_client.get(event.checkin_path)  # now it has its own em_form cookie
    replay_with_own_cookie = post(other_client, event.checkin_path, {**profile("Mallory"), "form_token": token})
    for response in (replay, replay_with_own_cookie):
        body = text(response)
        assert response.status_code == 422  # a fresh form with a clear message, never a 500
        assert "opened on another phone" in body and "Please scan the poster again" in body
        assert "em_device" not in set_cookies(response)
        assert "Ana Lima" not in body and "ana.private@example.org" not in body
        assert ana_code not in tokens.normalise_code(body)
        fresh = form_token(response)
        assert fresh != token and 'value="Mallory"' in body  # what was typed is kept
    assert other_client.get(f"/e/{event.slug}").status_code == 403  # not checked in as anyone

    # The fresh form checks Mallory in as herself, not as Ana.
    mallory = post(other_client, event.checkin_path, {**profile("Mallory"), "form_token": fresh})
    assert mallory.status_code == 302
    assert "Mallory" in text(other_client.get(f"/e/{event.slug}"))
    assert "Ana Lima" in text(client.get(f"/e/{event.slug}"))


def test_the_same_browser_retrying_after_a_lost_response_lands_on_the_same_attendee(app, client, other_client,
                                                                                   event):
    page = client.get(event.checkin_path)
    form_cookie = set_cookies(page)["em_form"]
    assert "HttpOnly" in form_cookie and "SameSite=Lax" in form_cookie
    token = form_token(page)
    csrf = csrf_token(client)
    first = client.post(event.checkin_path, data={**profile(), "form_token": token, "csrf_token": csrf})
    client.delete_cookie("em_device")  # the response never arrived
    # Meanwhile someone replays the token from elsewhere: it changes nothing for Ana.
    assert post(other_client, event.checkin_path, {**profile("Mallory"), "form_token": token}).status_code == 422
    retry = client.post(event.checkin_path, data={**profile(), "form_token": token, "csrf_token": csrf})
    assert first.status_code == retry.status_code == 302
    assert set_cookies(first)["em_device"].split(";")[0] == set_cookies(retry)["em_device"].split(";")[0]
    assert "Ana Lima" in text(client.get(f"/e/{event.slug}"))
    with app.app_context():
        assert db.session.execute(sa.text("SELECT count(*) FROM attendee")).scalar() == 1


def test_the_form_cookie_is_secure_over_https(app, event):
    page = app.test_client().get(event.checkin_path, base_url="https://localhost")
    form_cookie = set_cookies(page)["em_form"]
    assert "Secure" in form_cookie and "HttpOnly" in form_cookie and "SameSite=Lax" in form_cookie


def every_text_value(app) -> list[str]:
    """Every string held anywhere in the database."""
    values = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)).all():
                values.extend(str(value) for value in row if value is not None)
        db.session.rollback()
    return values


def test_the_database_holds_no_clear_form_token(app, client, event):
    page = client.get(event.checkin_path)
    token = form_token(page)
    assert post(client, event.checkin_path, {**profile(), "form_token": token}).status_code == 302
    code = return_code(client, event)
    held = every_text_value(app)
    assert not [value for value in held if token in value or code in value]
    binding = client.get_cookie("em_form").value  # nor the form cookie the seal's key needs
    assert not [value for value in held if binding in value]
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT checkin_token_hash FROM attendee")).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_return_codes_are_not_made_from_the_token_and_the_secret(app, event):
    """With a database copy and the secret key, nobody can recompute a return code."""
    for name in ("Ana Lima", "Ben Okafor"):
        phone = app.test_client()
        token = form_token(phone.get(event.checkin_path))
        response = post(phone, event.checkin_path, {**profile(name), "form_token": token})
        assert response.status_code == 302
        cookie = URLSafeSerializer(SECRET, salt="eventmate-device").loads(phone.get_cookie("em_device").value)
        code = cookie[str(event.id)]
        assert code == return_code(phone, event)
        assert code != old_return_code(token)
        assert cookie["_d"] != old_device_credential(token)


# --- across the upgrade -------------------------------------------------------------------

def sql_time(moment) -> str:
    """SQLAlchemy's SQLite datetime format, in UTC; PostgreSQL reads it too."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def test_the_upgrade_hashes_existing_tokens_and_signs_nobody_out(empty_url, at_the_event):
    url = empty_url
    now = at_the_event
    # Three people checked in before the upgrade: their tokens in clear, their codes derived.
    people = [(n, f"Guest {n}", old_form_token()) for n in (1, 2, 3)]
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO organiser (id, email, password_hash, created_at) "
                "VALUES (1, 'host@example.org', 'scrypt$x', :t)"), {"t": sql_time(EVENING)})
            conn.execute(sa.text(
                "INSERT INTO event (id, organiser_id, slug, checkin_key, name, venue, starts_at, ends_at, "
                "timezone, prompt_hour, checkin_mode, created_at) VALUES (1, 1, 'thu-founders', :key, "
                "'Thursday founders evening', 'The Corner Room', :start, :end, 'UTC', 9, 'auto', :start)"),
                {"key": "k" * 32, "start": sql_time(EVENING), "end": sql_time(EVENING + timedelta(hours=4))})
            for n, name, token in people:
                # Guest 1 checked in two minutes ago (a retry may be in flight); the others earlier.
                checked_in = now - (timedelta(minutes=2) if n == 1 else timedelta(minutes=30))
                conn.execute(sa.text(
                    "INSERT INTO attendee (id, event_id, name, what_i_do, how_i_help, looking_for, "
                    "checked_in_at, checkin_token, return_code_hash, pickme_token, search_text) "
                    "VALUES (:id, 1, :name, 'Design', 'Feedback', 'Intros', :t, :token, :code_hash, :pickme, '')"),
                    {"id": n, "name": name, "t": sql_time(checked_in), "token": token,
                     "code_hash": tokens.digest(old_return_code(token)), "pickme": f"{n}" * 32})
        upgrade()
        with db.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("attendee")}
            rows = conn.execute(sa.text(
                "SELECT id, checkin_token_hash, return_code_hash FROM attendee ORDER BY id")).all()
        db.engine.dispose()
    assert "checkin_token" not in columns
    assert [tuple(row) for row in rows] == [
        (n, hashlib.sha256(token.encode()).hexdigest(), tokens.digest(old_return_code(token)))
        for n, _, token in people]

    path = "/c/thu-founders/" + "k" * 32
    try:
        # A phone holding a device cookie from before the upgrade is still Guest 2.
        phone = app.test_client()
        phone.set_cookie("em_device", URLSafeSerializer(SECRET, salt="eventmate-device")
                         .dumps({"1": old_return_code(people[1][2])}))
        assert "Guest 2" in text(phone.get("/e/thu-founders"))

        # Guest 1's form was submitted just before the upgrade and the response was lost: the
        # retry lands on Guest 1, with the code and device the first answer carried.
        retry = post(app.test_client(), path, {**profile("Guest 1"), "form_token": people[0][2]})
        assert retry.status_code == 302
        device = URLSafeSerializer(SECRET, salt="eventmate-device").loads(
            set_cookies(retry)["em_device"].split(";")[0].split("=", 1)[1])
        assert device == {"1": old_return_code(people[0][2]), "_d": old_device_credential(people[0][2])}

        # Guest 3's token, long after that check-in: no identity, a fresh form.
        replay = post(app.test_client(), path, {**profile("Mallory"), "form_token": people[2][2]})
        assert replay.status_code == 422 and "Guest 3" not in text(replay)
        assert "em_device" not in set_cookies(replay)
        with app.app_context():
            assert db.session.execute(sa.text("SELECT count(*) FROM attendee")).scalar() == 3
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()
