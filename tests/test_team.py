"""Co-organisers (issue "The organiser dashboard"): the owner adds another organiser by email;
they see and run the event, others don't; only the owner deletes it or changes the team."""

from __future__ import annotations

import html
import re

import pytest
from conftest import login, post, text


@pytest.fixture
def team(app, client, make_organiser, make_event, make_attendee, at_the_event):
    owner, zoe, yan = make_organiser("owner@example.org"), make_organiser("zoe@example.org"), \
        make_organiser("yan@example.org")
    event = make_event(owner, name="Thursday founders evening")
    make_attendee(event, "Ana Lima")
    login(client, owner)
    zoe_client, yan_client = app.test_client(), app.test_client()
    login(zoe_client, zoe)
    login(yan_client, yan)
    base = f"/organiser/events/{event.id}"
    return type("Team", (), dict(owner=client, zoe=zoe_client, yan=yan_client, event=event, base=base,
                                  zoe_id=zoe.id))


def test_a_co_organiser_runs_the_event_and_nobody_else_sees_it(app, team):
    assert team.zoe.get(team.base).status_code == 404
    added = post(team.owner, f"{team.base}/team", {"email": "  ZOE@example.org "}, follow_redirects=True)
    assert "zoe@example.org can now run Thursday founders evening with you" in text(added)
    assert "Thursday founders evening" in text(team.zoe.get("/organiser/"))
    for url in (team.base, f"{team.base}/live", f"{team.base}/people", f"{team.base}/poster"):
        assert team.zoe.get(url).status_code == 200, url
    assert post(team.zoe, f"{team.base}/people.csv", {}).status_code == 200
    # Only the owner deletes it or changes who runs it.
    assert post(team.zoe, f"{team.base}/delete", {"confirm_name": "Thursday founders evening"}).status_code == 404
    assert team.zoe.get(f"{team.base}/team").status_code == 404
    assert post(team.zoe, f"{team.base}/team", {"email": "yan@example.org"}).status_code == 404
    assert team.owner.get(team.base).status_code == 200
    # Another organiser still cannot tell it exists.
    assert team.yan.get(team.base).status_code == 404 and "Thursday" not in text(team.yan.get("/organiser/"))

    removed = post(team.owner, f"{team.base}/team/{team.zoe_id}/remove", {}, follow_redirects=True)
    assert "no longer see this event" in text(removed)
    assert team.zoe.get(team.base).status_code == 404


@pytest.mark.parametrize(("email", "message"), [
    ("owner@example.org", "That&#39;s the event&#39;s owner"),
    ("not an email", "email"),
])
def test_adding_someone_who_cannot_be_added_says_why(app, team, email, message):
    response = post(team.owner, f"{team.base}/team", {"email": email})
    assert response.status_code == 422 and message in text(response)
    assert f'value="{email}"' in text(response)  # what was typed stays


def test_someone_without_an_account_is_invited_in_one_step(app, team):
    """No account for that email: the owner gets a sign-up link that makes whoever uses it a
    co-organiser of this event (and of no other)."""
    page = post(team.owner, f"{team.base}/team", {"email": "Nina@Example.org"})
    assert page.status_code == 200 and "nina@example.org has no account yet" in text(page)
    assert page.headers["Cache-Control"] == "no-store"
    link = re.search(r"<code data-invite-link>([^<]+)</code>", text(page)).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    nina = app.test_client()
    signed_up = post(nina, "/" + html.unescape(path), {"email": "nina@example.org", "password": "a fine long password"})
    assert signed_up.status_code == 302, text(signed_up)
    assert nina.get(team.base).status_code == 200
    assert "nina@example.org" in text(team.owner.get(f"{team.base}/team"))
    assert team.owner.get("/organiser/invitations").status_code == 200
    # The link works once.
    assert post(app.test_client(), "/" + html.unescape(path),
                {"email": "mallory@example.org", "password": "a fine long password"}).status_code == 403


def test_adding_twice_is_the_same(app, team):
    for _ in range(2):
        assert post(team.owner, f"{team.base}/team", {"email": "zoe@example.org"}).status_code == 302
    assert text(team.owner.get(f"{team.base}/team")).count('data-co-organiser="zoe@example.org"') == 1
