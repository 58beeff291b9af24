"""Defects from the security review (issue "Trust", items 1, 3, 4 and 5): odd input gets a
clear answer, never a 500 and never a redirect to another site."""

from __future__ import annotations

import re

import pytest
from conftest import event_form, login, post, profile, text

from eventmate.web.redirects import same_site_path

FORM_TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.mark.parametrize("target", ["/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example",
                                    "https://evil.example/", "/%0a/x", "/\n/x", "javascript:alert(1)", ""])
def test_login_never_sends_people_to_another_site_or_fails(client, make_organiser, target):
    organiser = make_organiser()
    response = post(client, "/organiser/login?next=" + target.replace("\t", "%09").replace("\n", "%0a"),
                    {"email": organiser.email, "password": organiser.password})
    assert response.status_code == 302
    assert response.headers["Location"] == "/organiser/"


def test_login_still_returns_to_a_page_on_this_site(client, make_organiser):
    organiser = make_organiser()
    response = post(client, "/organiser/login?next=/organiser/invitations",
                    {"email": organiser.email, "password": organiser.password})
    assert response.headers["Location"] == "/organiser/invitations"


@pytest.mark.parametrize(("target", "ok"), [
    ("/e/abc/people?q=ana", True), ("/e/abc/people?%0Aenv;", True), ("/e/abc/people?\nenv;", False),
    ("/e/abc\t/x", False), ("//evil.example/e/abc", False), ("/e/other", False), (None, False),
])
def test_same_site_path(target, ok):
    assert same_site_path(target, prefix="/e/abc") == (target if ok else None)


def test_a_newline_in_the_pick_form_next_is_ignored_not_a_500(app, make_organiser, make_event, make_attendee,
                                                            at_the_event):
    event = make_event(make_organiser())
    me, other = make_attendee(event, "Ana Lima"), make_attendee(event, "Ben Okafor")
    phone = app.test_client()
    post(phone, "/return", {"code": me.code})
    response = post(phone, f"/e/{event.slug}/picks",
                    {"person": other.id, "next": f"/e/{event.slug}/people?\nenv;"})
    assert response.status_code == 302 and response.headers["Location"] == f"/e/{event.slug}"


@pytest.mark.parametrize("zone", ["A" * 300, "Europe/" + "x" * 300, "../../etc/passwd"])
def test_a_long_or_odd_time_zone_is_a_message_not_a_500(client, make_organiser, zone):
    login(client, make_organiser())
    response = post(client, "/organiser/events/new", event_form(timezone=zone))
    assert response.status_code == 422
    assert "know that time zone" in text(response)  # "We don't know that time zone. Try a city…"


def test_a_check_in_form_from_another_event_is_refused_kindly(app, client, make_organiser, make_event,
                                                             at_the_event):
    organiser = make_organiser()
    first, second = make_event(organiser), make_event(organiser, name="Friday breakfast")
    token = FORM_TOKEN_RE.search(text(client.get(first.checkin_path))).group(1)
    assert post(client, first.checkin_path, {**profile(), "form_token": token}).status_code == 302
    other_phone = app.test_client()
    response = post(other_phone, second.checkin_path, {**profile("Ben Okafor"), "form_token": token})
    assert response.status_code == 422
    assert "Please scan the poster again" in text(response)
    assert "Ben Okafor" in text(response)  # what was typed is kept


@pytest.mark.parametrize("value", ["²", "١٢", "𝟙"])  # Unicode digits: str.isdigit() says yes, int() may not
def test_a_unicode_digit_as_a_person_id_is_not_found_not_a_500(app, client, make_organiser, make_event,
                                                              make_attendee, at_the_event, value):
    """Issue "Trust", item 13: `person=²` was a 500."""
    event = make_event(make_organiser())
    ana = make_attendee(event, "Ana Lima")
    assert post(client, "/return", {"code": ana.code}).status_code == 302
    for url in (f"/e/{event.slug}/picks", f"/e/{event.slug}/picks/swap"):
        response = post(client, url, {"person": value, "drop": value})
        assert response.status_code == 404, url
