"""Invitation dates in the organiser's own time zone (issue 10, defect 13), in a real Chromium:
the page is rendered in the zone of the organiser's latest event, and a small script shows the
dates in the browser's zone instead (the organiser's browser here is in Auckland)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from eventmate.extensions import db
from eventmate.models import Invitation

from .test_dashboard import _log_in

pytestmark = [pytest.mark.e2e, pytest.mark.one_database]


def test_invitation_dates_follow_the_browsers_time_zone(live_server, contexts, make_organiser, make_event):
    origin = live_server.url
    organiser = make_organiser()
    make_event(organiser, timezone="Europe/London")
    page = _log_in(contexts.organiser(), origin, organiser)
    page.goto(f"{origin}/organiser/invitations")
    page.get_by_role("button", name="Make an invitation link").click()
    expect(page.locator("[data-zone]")).to_have_text("Times in Pacific/Auckland, this device's time zone.")
    with live_server.app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        made, expires = (moment.astimezone(ZoneInfo("Pacific/Auckland"))
                         for moment in (invitation.created_at, invitation.expires_at))
    expect(page.locator("time[data-local=day]")).to_contain_text(f"{made.day} ")
    expect(page.locator("time[data-local=day]")).to_contain_text(f"{made.year}")
    expect(page.locator("time[data-local=day-time]")).to_contain_text(f"{expires.day} ")
    expect(page.locator("time[data-local=day-time]")).to_contain_text(f"{expires:%H:%M}")
    assert not contexts.problems, contexts.problems
