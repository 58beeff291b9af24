"""Defects from the security review (issue "Trust", items 2, 10 and 14): log-out ends the
session everywhere its cookie was copied, a password can be changed or reset by email, the
CSRF token changes at log-in and log-out, and only one organiser can ever be "the first".
Sessions and device cookies from before the upgrade keep working."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta

import sqlalchemy as sa
from conftest import PASSWORD, csrf_token, login, post, profile
from conftest import test_config as app_config  # its own name would be collected as a test
from conftest import text as raw_text
from flask_migrate import upgrade
from smtp_fixtures import smtp_server_fixture  # noqa: F401

from eventmate import clock, create_app, organisers, tokens
from eventmate.extensions import db
from eventmate.models import Organiser
from eventmate.web import device

NEW_PASSWORD = "another fine long password"
SESSION = "session"


def text(response) -> str:
    return html.unescape(raw_text(response))


def copy_session(source, target) -> None:
    """What someone with a copy of the cookie (a shared computer, a stolen backup) holds."""
    target.set_cookie(SESSION, source.get_cookie(SESSION).value)


def is_logged_in(client) -> bool:
    response = client.get("/organiser/")
    assert response.status_code in (200, 302), text(response)
    return response.status_code == 200


def session_cookie(app, contents: dict) -> str:
    """A session cookie as this app signs it, with exactly `contents`."""
    return app.session_interface.get_signing_serializer(app).dumps(contents)


# --- item 2: log-out ends the session -------------------------------------------------------

def test_a_copy_of_the_session_cookie_stops_working_at_log_out(client, other_client, make_organiser):
    """Before: the copy still opened /organiser/ after POST /organiser/logout."""
    organiser = make_organiser()
    login(client, organiser)
    copy_session(client, other_client)
    assert is_logged_in(other_client)
    assert post(client, "/organiser/logout").status_code == 302
    assert not is_logged_in(client)
    assert not is_logged_in(other_client)
    # Logging in again works, and the old copy stays dead.
    login(client, organiser)
    assert is_logged_in(client)
    assert not is_logged_in(other_client)


def test_a_session_from_before_session_versions_still_opens_the_organiser_pages(app, make_organiser):
    """Cookies made before the upgrade hold the bare id: they count as version 0."""
    organiser = make_organiser()
    browser = app.test_client()
    browser.set_cookie(SESSION, session_cookie(app, {"_user_id": str(organiser.id), "_fresh": True}))
    assert is_logged_in(browser)
    # A forged or garbled id opens nothing.
    for bad in (f"{organiser.id}:7", f"{organiser.id}:x", "x", f"{organiser.id}:-1", "²", ""):
        stranger = app.test_client()
        stranger.set_cookie(SESSION, session_cookie(app, {"_user_id": bad, "_fresh": True}))
        assert not is_logged_in(stranger), bad


def test_the_upgrade_keeps_sessions_and_marks_the_earliest_organiser_as_founder(tmp_path):
    """Migrate an install from the previous revision with organisers and a live session."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(revision="7e2dc4f5bebd")
        from werkzeug.security import generate_password_hash
        with db.engine.begin() as conn:
            for n in (1, 2):
                conn.execute(sa.text("INSERT INTO organiser (id, email, password_hash, created_at) "
                                     "VALUES (:id, :email, :hash, '2026-05-14 18:00:00.000000')"),
                             {"id": n, "email": f"o{n}@example.org", "hash": generate_password_hash(PASSWORD)})
        upgrade()
        rows = db.session.execute(sa.select(Organiser.id, Organiser.session_version, Organiser.is_founder)
                                  .order_by(Organiser.id)).all()
        assert [tuple(r) for r in rows] == [(1, 0, True), (2, 0, False)]
        db.session.remove()
    browser = app.test_client()
    browser.set_cookie(SESSION, session_cookie(app, {"_user_id": "2", "_fresh": True}))
    assert is_logged_in(browser)
    # The open sign-up stays closed on an install that already has organisers.
    assert browser.get("/organiser/signup").status_code == 403
    with app.app_context():
        db.engine.dispose()


# --- item 2: changing the password ----------------------------------------------------------

def change(client, current=PASSWORD, new=NEW_PASSWORD, again=None):
    return post(client, "/organiser/password", {"current_password": current, "new_password": new,
                                                "new_password_again": new if again is None else again})


def test_outside_the_tests_passwords_are_stored_as_scrypt_hashes(database_url):
    """The suite hashes with a cheap method (conftest): the app's own setting is scrypt, for
    new accounts, changed passwords and the unknown-email decoy alike."""
    config = {key: value for key, value in app_config(database_url).items() if key != "PASSWORD_HASH_METHOD"}
    app = create_app(config)
    with app.app_context():
        organiser = organisers.create_organiser(db.session, {"email": "s@example.org", "password": PASSWORD})
        db.session.commit()
        assert organiser.password_hash.startswith("scrypt:32768:8:1$")
        organisers.change_password(db.session, organiser, {
            "current_password": PASSWORD, "new_password": "another long one", "new_password_again": "another long one"})
        assert organiser.password_hash.startswith("scrypt:32768:8:1$")
        assert organisers._dummy_hash().startswith("scrypt:")
        assert organisers.authenticate(db.session, "s@example.org", "another long one").id == organiser.id
        db.session.remove()
        db.engine.dispose()


def test_password_change_checks_like_sign_up_and_says_what_is_wrong(client, make_organiser):
    login(client, make_organiser())
    assert "Change your password" in text(client.get("/organiser/password"))
    wrong = change(client, current="not my password")
    assert wrong.status_code == 422
    assert "That isn't your current password." in text(wrong)
    short = change(client, new="short", again="short")
    assert short.status_code == 422 and "at least 10 characters" in text(short)
    differs = change(client, again=NEW_PASSWORD + "!")
    assert differs.status_code == 422 and "aren't the same" in text(differs)
    assert NEW_PASSWORD not in text(differs), "passwords are never sent back"


def test_password_change_signs_out_other_sessions_and_keeps_this_one(app, client, other_client,
                                                                      make_organiser):
    organiser = make_organiser()
    login(client, organiser)
    login(other_client, organiser)  # another browser
    response = change(client)
    assert response.status_code == 302, text(response)
    assert "Password changed" in text(client.get(response.headers["Location"]))
    assert is_logged_in(client)
    assert not is_logged_in(other_client)
    fresh = app.test_client()
    assert post(fresh, "/organiser/login", {"email": organiser.email, "password": PASSWORD}).status_code == 401
    assert post(fresh, "/organiser/login", {"email": organiser.email, "password": NEW_PASSWORD}).status_code == 302


def test_password_change_needs_a_log_in(client):
    response = client.get("/organiser/password")
    assert response.status_code == 302 and "/organiser/login" in response.headers["Location"]


# --- item 2: reset by email -----------------------------------------------------------------

def test_without_smtp_the_login_page_says_whom_to_ask_and_has_no_dead_link(client):
    page = text(client.get("/organiser/login"))
    assert "/organiser/forgot" not in page
    assert "Ask whoever runs EventMate" in page and "create-organiser" in page
    assert client.get("/organiser/forgot").status_code == 404


def reset_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    match = re.search(r"https://eventmate\.example(/organiser/reset/[A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def test_a_reset_link_by_email_sets_a_new_password_once_and_ends_every_session(
        make_app, make_organiser, smtp_server):
    mailing = make_app(SMTP_URL=smtp_server.url, BASE_URL="https://eventmate.example")
    organiser = make_organiser()
    logged_in = mailing.test_client()
    login(logged_in, organiser)

    browser = mailing.test_client()
    page = text(browser.get("/organiser/login"))
    assert 'href="/organiser/forgot"' in page and "Forgot your password?" in page
    asked = post(browser, "/organiser/forgot", {"email": organiser.email.upper()})
    assert asked.status_code == 200
    [message] = smtp_server.wait_for(1)
    assert message["To"] == organiser.email
    assert message["Subject"] == "Set a new EventMate password"
    path = reset_link(message)
    token = path.rsplit("/", 1)[1]
    with mailing.app_context():  # only a hash is kept
        stored = db.session.execute(sa.text("SELECT token_hash FROM password_reset")).scalars().all()
        assert stored == [tokens.digest(token)]

    assert "Set a new password" in text(browser.get(path))
    mismatch = post(browser, path, {"new_password": NEW_PASSWORD, "new_password_again": "no"})
    assert mismatch.status_code == 422 and "aren't the same" in text(mismatch)
    done = post(browser, path, {"new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/organiser/login")
    assert not is_logged_in(logged_in), "a reset ends every session"
    assert post(browser, "/organiser/login", {"email": organiser.email, "password": PASSWORD}).status_code == 401
    assert post(browser, "/organiser/login", {"email": organiser.email, "password": NEW_PASSWORD}).status_code == 302

    again = mailing.test_client()
    assert again.get(path).status_code == 403, "single use"
    assert post(again, path, {"new_password": "a third long password",
                              "new_password_again": "a third long password"}).status_code == 403


def test_unknown_email_gets_the_same_answer_and_no_mail(make_app, make_organiser, smtp_server):
    mailing = make_app(SMTP_URL=smtp_server.url, BASE_URL="https://eventmate.example")
    known = make_organiser(email="known@example.org")
    unknown_answer = text(post(mailing.test_client(), "/organiser/forgot", {"email": "nobody@example.org"}))
    known_answer = text(post(mailing.test_client(), "/organiser/forgot", {"email": known.email}))
    strip = lambda page: re.sub(r'content="[^"]+"|value="[^"]+"|<strong>[^<]*</strong>', "", page)  # noqa: E731
    assert strip(unknown_answer) == strip(known_answer)
    assert "If there is an organiser account for" in known_answer
    messages = smtp_server.wait_for(1)
    assert [m["To"] for m in messages] == ["known@example.org"]


def test_a_reset_link_expires_after_an_hour(make_app, make_organiser, smtp_server):
    mailing = make_app(SMTP_URL=smtp_server.url, BASE_URL="https://eventmate.example")
    organiser = make_organiser()
    browser = mailing.test_client()
    post(browser, "/organiser/forgot", {"email": organiser.email})
    path = reset_link(smtp_server.wait_for(1)[0])
    clock.set_now(clock.now() + timedelta(minutes=61))
    try:
        answer = browser.get(path)
        assert answer.status_code == 403 and "expired or was already used" in text(answer)
    finally:
        clock.reset()
    assert mailing.test_client().get("/organiser/reset/not-a-real-token").status_code == 403


def test_reset_requests_are_rate_limited_per_address_and_per_email(make_app, make_organiser, smtp_server):
    mailing = make_app(SMTP_URL=smtp_server.url, BASE_URL="https://eventmate.example")
    organiser = make_organiser()
    # Per email, from many addresses: nobody can fill an inbox with links.
    statuses = []
    for n in range(4):
        browser = mailing.test_client()
        browser.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        statuses.append(post(browser, "/organiser/forgot", {"email": organiser.email}).status_code)
    assert statuses == [200, 200, 200, 429]
    # Per address, whatever the email.
    browser = mailing.test_client()
    browser.environ_base["REMOTE_ADDR"] = "10.0.1.1"
    statuses = [post(browser, "/organiser/forgot", {"email": f"who{n}@example.org"}).status_code
                for n in range(6)]
    assert statuses == [200] * 5 + [429]
    assert len(smtp_server.wait_for(3)) == 3


# --- item 10: the CSRF token changes at log-in and log-out ---------------------------------

def test_a_csrf_token_planted_before_log_in_is_refused_after_it(app, make_organiser):
    """Before: an attacker's pre-log-in session (and its token), planted in a victim's
    browser, kept its token through the victim's log-in."""
    organiser = make_organiser()
    attacker = app.test_client()
    planted = csrf_token(attacker)
    victim = app.test_client()
    copy_session(attacker, victim)
    login(victim, organiser)
    forged = victim.post("/organiser/invitations", data={"csrf_token": planted})
    assert forged.status_code == 400, text(forged)
    # The page's own fresh token works.
    assert post(victim, "/organiser/invitations").status_code == 302


def test_the_csrf_token_changes_at_log_out(client, make_organiser):
    login(client, make_organiser())
    before = csrf_token(client)
    assert post(client, "/organiser/logout").status_code == 302
    assert client.post("/return", data={"csrf_token": before, "code": "x"}).status_code == 400
    assert csrf_token(client) != before


def test_organiser_log_in_and_out_never_sign_the_attendee_out(client, make_organiser, make_event,
                                                              at_the_event):
    """One phone, two roles: the attendee identity lives in its own cookie."""
    organiser = make_organiser()
    event = make_event(organiser)
    page = client.get(event.checkin_path)
    form_token = re.search(r'name="form_token" value="([^"]+)"', text(page)).group(1)
    checked_in = post(client, event.checkin_path, {**profile("Ana Lima"), "form_token": form_token})
    assert checked_in.status_code == 302, text(checked_in)
    home = checked_in.headers["Location"]
    assert "Ana Lima" in text(client.get(home))
    device_cookie = client.get_cookie(device.COOKIE).value
    login(client, organiser)
    assert post(client, "/organiser/logout").status_code == 302
    assert client.get_cookie(device.COOKIE).value == device_cookie
    assert "Ana Lima" in text(client.get(home))


# --- item 14: one first organiser, even under racing sign-ups -------------------------------

def test_racing_first_sign_ups_make_exactly_one_organiser(app):
    """Before (PostgreSQL, READ COMMITTED): several simultaneous sign-ups all got in."""
    racers = 8
    browsers = [app.test_client() for _ in range(racers)]
    for browser in browsers:
        assert browser.get("/organiser/signup").status_code == 200  # the form is open to all
    forms = [{"email": f"first{n}@example.org", "password": PASSWORD, "csrf_token": csrf_token(browser)}
             for n, browser in enumerate(browsers)]
    barrier = threading.Barrier(racers)
    statuses: list[int | None] = [None] * racers
    errors: list[BaseException] = []

    def sign_up(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            response = browsers[n].post("/organiser/signup", data=forms[n])
            statuses[n] = response.status_code
            if response.status_code == 403:
                assert "need an invitation" in text(response) or "needs an invitation" in text(response)
        except BaseException as error:  # noqa: BLE001 - reported below, with the thread's test
            errors.append(error)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sorted(statuses) == [302] + [403] * (racers - 1), statuses
    with app.app_context():
        emails = db.session.execute(sa.text("SELECT email FROM organiser")).scalars().all()
        assert emails == [forms[statuses.index(302)]["email"]]
        assert db.session.scalar(sa.select(Organiser.is_founder))
