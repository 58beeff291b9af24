"""Defects from the security review (issue "Trust", items 8, 12 and 15): password spraying is
stopped, nothing a client sends grows without bound in memory, and a client cannot choose the
host our links point at."""

from __future__ import annotations

import re

from conftest import PASSWORD, csrf_token, login, post, text

from eventmate import config
from eventmate.web import attendee, organiser

TWO_MB = 2 * 1024 * 1024


# --- item 8: password spraying --------------------------------------------------------------

def test_password_spraying_from_one_address_is_stopped(client, make_organiser):
    """40 wrong passwords across 40 emails from one address were 40 × 401, never a 429."""
    make_organiser()
    statuses = [post(client, "/organiser/login", {"email": f"guess{n}@example.org", "password": "Winter2026!"})
                .status_code for n in range(40)]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    response = post(client, "/organiser/login", {"email": "one-more@example.org", "password": "Spring2026!"})
    assert response.status_code == 429
    # Warm words that say when: the window is ten minutes, not "a minute".
    assert re.search(r"Please take a break and try again in about (9|10) minutes", text(response))
    assert int(response.headers["Retry-After"]) > 60


def test_an_office_behind_one_address_logging_in_is_never_stopped(app, make_organiser):
    """Only failures count: a team sharing one address logs in all day, typos included."""
    team = [make_organiser() for _ in range(5)]
    browser = app.test_client()
    for n in range(19):  # typos, just under the limit
        typo = {"email": team[n % 5].email.replace("@", "@@" if n % 2 else "@x"), "password": PASSWORD}
        assert post(browser, "/organiser/login", typo).status_code == 401
    for _ in range(5):  # then 25 good log-ins from the same address: more than the failure limit
        for person in team:
            browser = app.test_client()
            response = post(browser, "/organiser/login", {"email": person.email, "password": PASSWORD})
            assert response.status_code == 302, text(response)


def test_the_failure_limit_is_a_setting(make_app, tmp_path):
    assert config.load(str(tmp_path))["LOGIN_FAILURE_RATE_LIMIT"] == "20 per 10 minutes"
    strict = make_app(LOGIN_FAILURE_RATE_LIMIT="3 per hour")
    browser = strict.test_client()
    statuses = [post(browser, "/organiser/login", {"email": f"g{n}@example.org", "password": "nope"}).status_code
                for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    page = text(post(browser, "/organiser/login", {"email": "x@example.org"}))
    assert re.search(r"try again in about (59|60) minutes", page), page


# --- item 12: unbounded input ----------------------------------------------------------------

def test_the_login_rate_limit_key_is_small_for_a_huge_email(app):
    """150 log-ins with 400 KB emails made 150 keys of 400 KB each."""
    huge = "a" * 400_000 + "@example.org"
    keys = []
    for email in (huge, " " + huge.upper() + " ", "ana@example.org"):
        with app.test_request_context("/organiser/login", method="POST", data={"email": email}):
            keys.append(organiser._login_key())
    assert all(len(key) < 120 for key in keys)
    assert keys[0] == keys[1] != keys[2]  # still one counter per address and email


def test_the_checkin_rate_limit_key_is_small_for_a_huge_form_token(app):
    huge = "t" * 400_000
    keys = []
    for token in (huge, huge + "u"):
        with app.test_request_context("/c/x/y", method="POST", data={"form_token": token}):
            keys.append(attendee._form_key())
    assert all(len(key) < 120 for key in keys)
    assert keys[0] != keys[1]


def test_a_2_mb_login_form_is_refused_with_a_friendly_page(client):
    response = post(client, "/organiser/login", {"email": "ana@example.org", "password": "x" * TWO_MB})
    assert response.status_code == 413
    page = text(response)
    assert "more than we can take in one go" in page and "Go to the start" in page
    assert "Traceback" not in page and "Request Entity Too Large" not in page


def test_a_2_mb_body_on_a_json_endpoint_gets_the_json_error(client):
    response = client.post("/api/push/subscriptions/renew", data="x" * TWO_MB, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {"error": "too_large",
                                   "message": "That was more than we can take in one go. Please send something "
                                              "shorter."}
    response = client.post("/api/push/subscriptions", data="x" * TWO_MB, content_type="application/json",
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 413 and response.get_json()["error"] == "too_large"


def test_the_request_size_limit_is_a_setting(monkeypatch, tmp_path):
    assert config.load(str(tmp_path))["MAX_CONTENT_LENGTH"] == 1024 * 1024
    monkeypatch.setenv("EVENTMATE_MAX_REQUEST_BYTES", "5000")
    assert config.load(str(tmp_path))["MAX_CONTENT_LENGTH"] == 5000


# --- item 15: X-Forwarded-Host ---------------------------------------------------------------

FORGED = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def test_a_forged_forwarded_host_does_not_move_the_posters_link(make_app, make_organiser, make_event):
    """With EVENTMATE_PROXY_HOPS and no base URL, links followed a host the client chose."""
    owner = make_organiser()
    event = make_event(owner)
    browser = make_app(PROXY_HOPS=1).test_client()
    login(browser, owner)
    for url in (f"/organiser/events/{event.id}/poster", f"/organiser/events/{event.id}"):
        page = text(browser.get(url, headers=FORGED))
        assert f"https://localhost{event.checkin_path}" in page  # the proxy's scheme is still trusted
        assert "evil.example" not in page


def test_the_forwarded_host_is_trusted_only_when_configured(make_app, make_organiser, make_event, monkeypatch,
                                                            tmp_path):
    assert config.load(str(tmp_path))["PROXY_TRUST_HOST"] is False
    monkeypatch.setenv("EVENTMATE_PROXY_TRUST_HOST", "1")
    assert config.load(str(tmp_path))["PROXY_TRUST_HOST"] is True

    owner = make_organiser()
    event = make_event(owner)
    browser = make_app(PROXY_HOPS=1, PROXY_TRUST_HOST=True).test_client()
    login(browser, owner)
    page = text(browser.get(f"/organiser/events/{event.id}/poster",
                            headers={**FORGED, "X-Forwarded-Host": "events.example.org"}))
    assert f"https://events.example.org{event.checkin_path}" in page
