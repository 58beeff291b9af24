"""The pages through Flask's test client: every form's good and bad paths."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import EVENING, PASSWORD, csrf_token, event_form, login, post, profile, text

from eventmate import clock, create_app
from eventmate.extensions import db
from eventmate.models import Attendee, Event

FORM_TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')


def check_in_via_form(client, path, **fields):
    page = client.get(path)
    assert page.status_code == 200, text(page)
    token = FORM_TOKEN_RE.search(text(page)).group(1)
    return post(client, path, {**profile(**fields), "form_token": token})


# --- basics -------------------------------------------------------------------------------

def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    response = app.test_client().get("/healthz")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_pages_carry_csrf_meta_and_strict_headers(client):
    response = client.get("/")
    assert '<meta name="csrf-token" content="' in text(response)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_page_is_friendly_and_json_routes_get_json(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Nothing here" in text(response) and "Traceback" not in text(response)
    api = client.get("/api/nothing")
    assert api.status_code == 404
    assert api.get_json()["error"] == "not_found" and api.get_json()["message"]


def test_post_without_csrf_token_is_refused_kindly(client):
    response = client.post("/organiser/signup", data={"email": "a@b.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "send it again" in text(response)


def test_compressed_when_the_browser_asks(client):
    css = client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers.get("Content-Encoding") == "gzip"
    css.close()
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
    assert len(response.get_data()) < len(text(client.get("/")))


# --- organisers ---------------------------------------------------------------------------

def test_empty_install_invites_the_first_organiser(client):
    page = text(client.get("/"))
    assert "Create the organiser account" in page
    response = post(client, "/organiser/signup", {"email": "Ana@Example.org", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/organiser/events/new")
    assert "New event" in text(client.get("/organiser/events/new"))


def test_signup_mistakes_keep_the_email_and_say_what_is_wrong(client):
    response = post(client, "/organiser/signup", {"email": "ana@example.org", "password": "short"})
    assert response.status_code == 422
    page = text(response)
    assert 'value="ana@example.org"' in page
    assert "at least 10 characters" in page


def test_after_the_first_organiser_signup_needs_an_invitation(client, other_client, make_organiser):
    host = make_organiser()
    assert "Organiser log-in" in text(other_client.get("/"))
    closed = other_client.get("/organiser/signup")
    assert closed.status_code == 403 and "invitation" in text(closed)
    login(client, host)
    response = post(client, "/organiser/invitations")
    link = re.search(r"data-invite-link>([^<]+)<", text(client.get(response.headers["Location"]))).group(1)
    path = link.split("localhost", 1)[1].replace("&amp;", "&")
    assert "invited" in text(other_client.get(path))
    invite = path.split("invite=", 1)[1]
    signed_up = post(other_client, "/organiser/signup",
                     {"email": "guest@example.org", "password": PASSWORD, "invite": invite})
    assert signed_up.status_code == 302
    reuse = text(post(client.application.test_client(), "/organiser/signup",
                      {"email": "third@example.org", "password": PASSWORD, "invite": invite}))
    assert "expired, been used, or been withdrawn" in reuse


def test_login_wrong_credentials_one_message_and_email_kept(client, make_organiser):
    organiser = make_organiser()
    for email, password in ((organiser.email, "wrong password!"), ("nobody@example.org", PASSWORD)):
        response = post(client, "/organiser/login", {"email": email, "password": password})
        assert response.status_code == 401
        assert "don&#39;t match" in text(response) and f'value="{email}"' in text(response)


def test_login_is_rate_limited(client, make_organiser):
    organiser = make_organiser()
    statuses = [post(client, "/organiser/login", {"email": organiser.email, "password": "nope"}).status_code
                for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert "wait a minute" in text(post(client, "/organiser/login", {"email": organiser.email, "password": "x"}))


def test_login_redirect_stays_on_this_site(client, make_organiser):
    organiser = make_organiser()
    token = csrf_token(client)
    response = client.post("/organiser/login?next=//evil.example/x",
                           data={"email": organiser.email, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/organiser/"


def test_logout_needs_a_post(client, make_organiser):
    login(client, make_organiser())
    assert client.get("/organiser/logout").status_code == 405
    assert post(client, "/organiser/logout").status_code == 302
    assert client.get("/organiser/").status_code == 302


def test_create_event_and_see_it(client, make_organiser):
    login(client, make_organiser())
    response = post(client, "/organiser/events/new", event_form(name="Café & Co <night>", timezone="Europe/Lisbon"))
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Café &amp; Co &lt;night&gt;" in page
    assert "Lisbon (WEST, UTC+01:00)" in page
    assert "only this computer can reach" in page  # the test client's origin is localhost
    assert "Café &amp; Co &lt;night&gt;" in text(client.get("/organiser/"))


def test_event_form_mistakes_keep_everything_typed(client, make_organiser):
    login(client, make_organiser())
    form = event_form(name="Spring mixer", timezone="Atlantis/Capital",
                      ends_local=(EVENING - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    response = post(client, "/organiser/events/new", form)
    assert response.status_code == 422
    page = text(response)
    assert 'value="Spring mixer"' in page and 'value="Atlantis/Capital"' in page
    assert "We don&#39;t know that time zone" in page
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_edit_event(client, make_organiser, make_event):
    organiser = make_organiser()
    event = make_event(organiser)
    login(client, organiser)
    form = text(client.get(f"/organiser/events/{event.id}/edit"))
    assert 'value="Thursday founders evening"' in form
    response = post(client, f"/organiser/events/{event.id}/edit", event_form(name="Renamed", prompt_hour="8"))
    assert response.status_code == 302
    assert "Renamed" in text(client.get(f"/organiser/events/{event.id}"))
    bad = post(client, f"/organiser/events/{event.id}/edit", event_form(name=""))
    assert bad.status_code == 422 and "Please add the event" in text(bad)


def test_poster_and_svg_carry_the_checkin_url(client, make_organiser, make_event):
    organiser = make_organiser()
    event = make_event(organiser)
    login(client, organiser)
    poster = text(client.get(f"/organiser/events/{event.id}/poster"))
    shown = re.sub(r"<span class=\"nobr\">|</span>|<wbr>", "", poster)  # it may wrap at its slashes
    assert "<svg" in poster and f"http://localhost{event.checkin_path}" in shown
    svg = client.get(f"/organiser/events/{event.id}/poster.svg")
    assert svg.mimetype == "image/svg+xml" and svg.get_data().startswith(b"<svg")
    assert "attachment" in svg.headers["Content-Disposition"]


def test_poster_uses_the_configured_base_url(make_app, make_organiser, make_event):
    client = make_app(BASE_URL="https://meet.example.org").test_client()
    organiser = make_organiser()
    event = make_event(organiser)
    login(client, organiser)
    page = text(client.get(f"/organiser/events/{event.id}"))
    assert f"https://meet.example.org{event.checkin_path}" in page
    assert "only this computer" not in page and "plain http" not in page


def test_rotate_key_and_close_checkin(client, other_client, make_organiser, make_event, at_the_event):
    organiser = make_organiser()
    event = make_event(organiser)
    login(client, organiser)
    assert other_client.get(event.checkin_path).status_code == 200
    post(client, f"/organiser/events/{event.id}/rotate-key")
    old = other_client.get(event.checkin_path)
    assert old.status_code == 404 and "no longer valid" in text(old) and "form_token" not in text(old)
    with client.application.app_context():
        new_path = f"/c/{event.slug}/{db.session.get(Event, event.id).checkin_key}"
    post(client, f"/organiser/events/{event.id}/checkin", {"mode": "closed"})
    closed = other_client.get(new_path)
    assert closed.status_code == 403 and "Check-in is closed" in text(closed)
    post(client, f"/organiser/events/{event.id}/checkin", {"mode": "open"})
    assert other_client.get(new_path).status_code == 200
    assert post(client, f"/organiser/events/{event.id}/checkin", {"mode": "sideways"}).status_code == 400


# --- attendees ----------------------------------------------------------------------------

@pytest.fixture
def event(make_organiser, make_event, at_the_event):
    return make_event(make_organiser())


def test_check_in_from_the_poster(client, event):
    form = client.get(event.checkin_path)
    assert "The introduction I am looking for" in text(form)
    response = check_in_via_form(client, event.checkin_path, name="Zoë <script>x</script>")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    home = text(client.get(response.headers["Location"]))
    assert "You're in, Zoë &lt;script&gt;x&lt;/script&gt;!" in home
    assert "<script>x" not in home
    assert re.search(r"data-return-code>[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}<", home)


def test_check_in_bad_input_keeps_the_text(client, event):
    page = client.get(event.checkin_path)
    token = FORM_TOKEN_RE.search(text(page)).group(1)
    response = post(client, event.checkin_path,
                    {**profile(looking_for="", what_i_do="ü" * 141, contact="LinkedIn: zoë"), "form_token": token})
    assert response.status_code == 422
    body = text(response)
    assert "Please add the introduction" in body and "under 140 characters" in body
    assert "ü" * 141 in body and "LinkedIn: zoë" in body and token in body
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 0


def test_rescanning_on_the_same_phone_says_already_checked_in(client, event):
    check_in_via_form(client, event.checkin_path)
    again = client.get(event.checkin_path)
    assert "You're already checked in" in text(again) and "form_token" not in text(again)
    resubmit = check_in_via_form_again = post(client, event.checkin_path, {**profile(), "form_token": "x" * 43})
    assert resubmit.status_code == 200 and "already checked in" in text(check_in_via_form_again)
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 1


def test_double_submit_of_one_form_is_one_attendee(client, event):
    page = client.get(event.checkin_path)
    token = FORM_TOKEN_RE.search(text(page)).group(1)
    csrf = csrf_token(client)
    first = client.post(event.checkin_path, data={**profile(), "form_token": token, "csrf_token": csrf})
    client.delete_cookie("em_device")  # the second tap raced ahead of the first response
    second = client.post(event.checkin_path, data={**profile(), "form_token": token, "csrf_token": csrf})
    assert first.status_code == second.status_code == 302
    assert first.headers["Set-Cookie"].split(";")[0] == second.headers["Set-Cookie"].split(";")[0]
    with client.application.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 1


def test_home_without_check_in_offers_the_return_code(other_client, event):
    page = other_client.get(f"/e/{event.slug}")
    assert page.status_code == 403 and "isn't checked in yet" in text(page)
    assert other_client.get("/e/zzzzzz").status_code == 404


def test_return_link_asks_then_signs_this_device_in(client, other_client, event, make_attendee):
    ana = make_attendee(event, "Ana")
    confirm = other_client.get(f"/r/{ana.code}")
    assert "Continue as Ana?" in text(confirm)
    assert "em_device" not in confirm.headers.get("Set-Cookie", "")
    signed = post(other_client, "/return", {"code": ana.code})
    assert signed.status_code == 302
    assert "Hello again, Ana" in text(other_client.get(signed.headers["Location"]))


def test_typed_return_code_forgives_dashes_and_case(other_client, event, make_attendee):
    ana = make_attendee(event, "Ana")
    typed = "-".join(ana.code[i:i + 4] for i in range(0, 16, 4)).lower().replace("0", "o")
    response = post(other_client, "/return", {"code": f"  {typed} "})
    assert response.status_code == 302


def test_wrong_return_code_is_a_clear_message(other_client, event):
    response = post(other_client, "/return", {"code": "ABCD-EFGH"})
    assert response.status_code == 422
    assert "doesn&#39;t match anyone" in text(response) and 'value="ABCD-EFGH"' in text(response)
    assert other_client.get("/r/NOTACODE").status_code == 404


def test_return_code_attempts_are_limited(other_client, event):
    """Codes that match no one: 20 a minute per address (issue 9, item 11)."""
    statuses = [post(other_client, "/return", {"code": f"WRONG{i:011d}"}).status_code for i in range(21)]
    assert statuses[-1] == 429 and statuses[:20] == [422] * 20


def test_checkin_limit_follows_the_phone_not_the_venue_address(app, event):
    """Twelve different phones behind one NAT all check in; one phone hammering is stopped."""
    for n in range(12):
        response = check_in_via_form(app.test_client(), event.checkin_path, name=f"Guest {n}")
        assert response.status_code == 302
    hammer = app.test_client()
    token = FORM_TOKEN_RE.search(text(hammer.get(event.checkin_path))).group(1)
    statuses = [post(hammer, event.checkin_path, {**profile(name=""), "form_token": token}).status_code
                for _ in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429


def test_checkin_opens_two_hours_before_the_start(client, make_organiser, make_event):
    event = make_event(make_organiser())
    clock.set_now(EVENING - timedelta(hours=3))
    page = client.get(event.checkin_path)
    assert page.status_code == 403 and "hasn't opened yet" in text(page)
    clock.set_now(EVENING - timedelta(hours=2))
    assert client.get(event.checkin_path).status_code == 200


def test_an_unexpected_error_is_a_friendly_page(make_app):
    broken = make_app()

    @broken.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = broken.test_client().get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in text(response)
    assert "secret internals" not in text(response) and "Traceback" not in text(response)


def test_cookies_are_secure_over_https(app, event):
    phone = app.test_client()
    page = phone.get(event.checkin_path, base_url="https://localhost")
    assert "Secure" in page.headers["Set-Cookie"]  # the session cookie with the CSRF token
    token = FORM_TOKEN_RE.search(text(page)).group(1)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', text(page)).group(1)
    response = phone.post(event.checkin_path, base_url="https://localhost",
                          data={**profile(), "form_token": token, "csrf_token": csrf},
                          # what a browser sends under our Referrer-Policy: same-origin
                          headers={"Referer": f"https://localhost{event.checkin_path}"})
    device_cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("em_device=")][0]
    assert "Secure" in device_cookie and "HttpOnly" in device_cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
