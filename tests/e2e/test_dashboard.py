"""The organiser dashboard in a real Chromium: the live night updates while a phone checks
in (no reload), and the morning-after funnel of last night's event — on a laptop and a phone.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from eventmate import clock, letters, picks
from eventmate.extensions import db
from eventmate.models import Attendee, Message

from .conftest import event_on_now

pytestmark = [pytest.mark.e2e, pytest.mark.one_database]


def _log_in(context, origin, organiser):
    page = context.new_page()
    page.goto(f"{origin}/organiser/login")
    page.get_by_label("Email").fill(organiser.email)
    page.get_by_label("Password").fill(organiser.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your events")
    return page


def _on_now(make_event, organiser):
    return event_on_now(make_event, organiser, name="Thursday founders evening")


def test_the_live_night_updates_while_people_check_in(live_server, contexts, shot, make_organiser,
                                                       make_event, make_attendee):
    origin = live_server.url
    organiser = make_organiser()
    event = _on_now(make_event, organiser)
    make_attendee(event, "Ana Lima")
    door = _log_in(contexts.organiser(), origin, organiser)
    door.goto(f"{origin}/organiser/events/{event.id}")
    checked_in = door.locator("[data-checked-in]")
    expect(checked_in).to_have_text("1")

    phone = contexts.phone().new_page()
    phone.goto(f"{origin}{event.checkin_path}")
    phone.get_by_label("Your name", exact=True).fill("Ben Okafor")
    phone.get_by_label("What I do", exact=True).fill("Podcasts about small presses")
    phone.get_by_label("How I can help others", exact=True).fill("Audio editing tips")
    phone.get_by_label("The introduction I am looking for", exact=True).fill("A literary agent")
    phone.get_by_role("button", name=re.compile("^Check in")).click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("You're in")

    # Back to the dashboard's tab: it refreshes at once (and every 10 s while shown).
    door.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(checked_in).to_have_text("2")
    expect(door.locator("[data-here-now]")).to_have_text("2")
    expect(door.locator("svg[data-timeline] rect")).not_to_have_count(0)
    shot(door, "dashboard-live-laptop")
    door.set_viewport_size({"width": 390, "height": 844})
    shot(door, "dashboard-live-phone")
    assert contexts.problems == []


def test_the_morning_after_funnel_of_last_night(live_server, contexts, shot, make_organiser, make_event,
                                                 make_attendee):
    origin, app = live_server.url, live_server.app
    yesterday = datetime.now(UTC) - timedelta(days=1)
    organiser = make_organiser()
    event = make_event(organiser, name="Last night's founders evening", timezone="UTC",
                       starts_local=(yesterday - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
                       ends_local=yesterday.strftime("%Y-%m-%dT%H:%M"))
    clock.set_now(yesterday - timedelta(hours=1))  # during the evening (the server waits for the reset)
    people = [make_attendee(event, name) for name in ("Ana Lima", "Ben Okafor", "Chloé Dubois", "Dev Patel")]
    with app.app_context():
        s = db.session
        ana, ben = s.get(Attendee, people[0].id), s.get(Attendee, people[1].id)
        for other in people[1:]:
            picks.pick(s, ana, other.id)
        picks.pick(s, ben, ana.id)
        s.execute(sa.update(Message).where(Message.kind == "prompt").values(state="sent", channel="push"))
        s.commit()
        clock.set_now(yesterday + timedelta(hours=12))  # the morning after
        letters.send(s, ana, ben.id, {"body": "Lovely to meet you."}, str(uuid.uuid4()))
        db.session.remove()
    clock.reset()
    page = _log_in(contexts.organiser(), origin, organiser)
    page.get_by_text("Past").wait_for()
    page.get_by_role("link", name="Last night's founders evening").click()
    funnel = page.locator("[data-funnel]")
    expect(funnel.get_by_role("heading", level=2)).to_have_text("The morning after")
    expect(funnel.locator('[data-step="followed_up"] strong')).to_have_text("1")
    expect(funnel.locator('[data-step="picked_one"]')).to_contain_text("50%")
    shot(page, "dashboard-morning-after-laptop")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "dashboard-morning-after-phone")
    assert contexts.problems == []


def test_the_door_checks_someone_in_by_hand_and_their_code_works_later(live_server, contexts, shot,
                                                                        make_organiser, make_event):
    origin = live_server.url
    organiser = make_organiser()
    event = _on_now(make_event, organiser)
    door_context = contexts.organiser()
    page = _log_in(door_context, origin, organiser)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{origin}/organiser/events/{event.id}")
    page.get_by_role("link", name="People and the door").click()
    page.locator("summary", has_text="Check someone in by hand").click()
    page.get_by_label("Their name").fill("Wanda Walk-in")
    page.get_by_label("What they do").fill("Runs the bakery round the corner")
    page.get_by_role("button", name="Check them in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wanda Walk-in is checked in")
    code = page.locator("[data-handover-code]").inner_text().replace(" ", "")
    shot(page, "door-handover-phone")
    page.get_by_role("link", name="Back to people").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_text("checked in Wanda Walk-in")).to_be_visible()
    shot(page, "door-people-phone")

    phone = contexts.phone().new_page()
    phone.goto(f"{origin}/return")
    phone.get_by_label("Return code").fill(code)
    phone.get_by_role("button", name="Continue").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Wanda Walk-in")
    assert contexts.problems == []


def test_an_imported_guest_list_meets_a_phone_at_the_door(live_server, contexts, shot, make_organiser, make_event,
                                                          tmp_path):
    """Import a Luma export (preview, confirm), then a registered guest scans the poster with
    the same email: the door list shows one person, checked in, with what they typed."""
    origin, app = live_server.url, live_server.app
    organiser = make_organiser()
    event = _on_now(make_event, organiser)
    export = tmp_path / "luma-guests.csv"
    export.write_text(
        "api_id,name,first_name,last_name,email,phone_number,created_at,approval_status,checked_in_at\n"
        "gst-1,Benjamin Okafor,Benjamin,Okafor,ben@example.org,,2026-05-02T09:00:00Z,approved,\n"
        "gst-2,Chloé Dubois,Chloé,Dubois,chloe@example.org,,2026-05-02T09:05:00Z,approved,\n"
        "gst-3,Dev Patel,Dev,Patel,dev@example,,2026-05-02T09:10:00Z,approved,\n"
        "gst-4,Eve Adams,Eve,Adams,eve@example.org,,2026-05-02T09:12:00Z,declined,\n", encoding="utf-8")
    door = _log_in(contexts.organiser(), origin, organiser)
    door.goto(f"{origin}/organiser/events/{event.id}/people")
    door.get_by_role("link", name="Import registrations").click()
    door.get_by_label("CSV file").set_input_files(str(export))
    door.get_by_role("button", name="Preview").click()
    expect(door.get_by_role("heading", level=2, name="2 people to add")).to_be_visible()
    expect(door.get_by_text("Not an email address")).to_be_visible()
    shot(door, "import-preview-laptop")
    door.get_by_role("button", name="Add 2 people").click()
    expect(door.get_by_text("2 people are on the list")).to_be_visible()
    expect(door.get_by_role("row", name=re.compile("Chloé Dubois"))).to_contain_text("registered, not here yet")

    phone = contexts.phone().new_page()
    phone.goto(f"{origin}{event.checkin_path}")
    phone.get_by_label("Your name", exact=True).fill("Ben Okafor")
    phone.get_by_label("What I do", exact=True).fill("Podcasts about small presses")
    phone.get_by_label("How I can help others", exact=True).fill("Audio editing tips")
    phone.get_by_label("The introduction I am looking for", exact=True).fill("A literary agent")
    phone.get_by_label(re.compile("^Email")).fill("Ben@Example.org")
    phone.get_by_role("button", name=re.compile("^Check in")).click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("You're in")
    expect(phone.locator("body")).not_to_contain_text("Benjamin")

    door.goto(f"{origin}/organiser/events/{event.id}/people")
    expect(door.get_by_role("row", name=re.compile("Ben Okafor"))).not_to_contain_text("registered")
    expect(door.locator("[data-person]")).to_have_count(2)
    door.goto(f"{origin}/organiser/events/{event.id}")
    expect(door.locator("[data-registered]")).to_have_text("1 of the 2 who registered has checked in.")
    door.set_viewport_size({"width": 390, "height": 844})
    door.goto(f"{origin}/organiser/events/{event.id}/people")
    shot(door, "people-with-registrations-phone")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 2
    assert contexts.problems == []
