"""Your phones and your data, in a real Chromium on two phones: Ana finds where she is signed
in, signs the other phone out (it is then simply not checked in), and downloads her data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.one_database]


def test_ana_signs_her_other_phone_out_and_takes_her_data(live_server, contexts, shot, make_organiser,
                                                           make_event, make_attendee):
    origin = live_server.url
    now = datetime.now(UTC)
    event = make_event(make_organiser(), timezone="UTC", name="Thursday founders evening",
                       starts_local=(now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                       ends_local=(now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    ana = make_attendee(event, "Ana Lima", contact="ana@studio.example")

    pages = []
    for dark in (False, True):
        page = contexts.phone(dark=dark).new_page()
        page.goto(f"{origin}/r/{ana.code}")
        page.get_by_role("button", name="Yes, that's me").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Hello again, Ana Lima")
        pages.append(page)
    mine, other = pages

    mine.get_by_role("link", name="Your phones and your data").click()
    expect(mine.get_by_role("heading", level=1)).to_have_text("Your phones and your data")
    rows = mine.locator("[data-device]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("This phone")
    shot(mine, "your-phones-and-data")
    shot(other, "home-before-sign-out")

    rows.nth(1).get_by_role("button", name="Sign out").click()
    expect(mine.get_by_role("status")).to_contain_text("That device no longer opens your notes")
    expect(rows).to_have_count(1)

    other.reload()
    expect(other.get_by_role("heading", level=1)).to_have_text("This phone isn't checked in yet")
    expect(other.get_by_text("Ana Lima")).to_have_count(0)

    with mine.expect_download() as download:
        mine.get_by_role("link", name="Download my data (JSON)").click()
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["you"]["name"] == "Ana Lima" and data["you"]["contact"] == "ana@studio.example"
    assert download.value.suggested_filename == f"eventmate-{event.slug}.json"

    mine.get_by_label("I understand").check()
    mine.get_by_role("button", name="Delete my data").click()
    expect(mine.get_by_role("heading", level=1)).to_have_text("Your data is deleted")
    shot(mine, "data-deleted")
    mine.goto(f"{origin}/e/{event.slug}")
    expect(mine.get_by_role("heading", level=1)).to_have_text("This phone isn't checked in yet")
    # "Not checked in here" answers 403, which Chromium logs; nothing else went wrong.
    assert [p for p in contexts.problems if "status of 403" not in p[2]] == []
