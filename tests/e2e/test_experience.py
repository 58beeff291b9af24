"""What a newcomer tripped on (issue "A night out, not a form"), in a real Chromium at 390×844:
the swap page with a very long word (defect 14), the notch and home indicator (defect 15),
and the poster, always light with its date, time and venue, a Print button, and the link
never broken inside its key. SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from eventmate import picks
from eventmate.extensions import db
from eventmate.models import Attendee

from .conftest import event_on_now

pytestmark = [pytest.mark.e2e, pytest.mark.one_database]

LONG = "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaft"


def _on_now(make_event, organiser, **form):
    return event_on_now(make_event, organiser, venue="The Corner Room, 12 Market Street", **form)


def _as(page, origin, person):
    page.goto(f"{origin}/r/{person.code}")
    page.get_by_role("button", name="Yes, that's me").click()


def test_a_very_long_word_keeps_the_swap_button_in_its_card(live_server, contexts, shot, make_organiser,
                                                          make_event, make_attendee):
    origin, app = live_server.url, live_server.app
    event = _on_now(make_event, make_organiser())
    me = make_attendee(event, "Ana Lima")
    three = [make_attendee(event, f"{LONG} {n}") for n in range(3)]
    fourth = make_attendee(event, "Ben Okafor")
    with app.app_context():
        for person in three:
            picks.pick(db.session, db.session.get(Attendee, me.id), person.id)
    page = contexts.phone().new_page()
    _as(page, origin, me)
    page.goto(f"{origin}/e/{event.slug}/people?q=ben")
    page.get_by_role("button", name="Choose Ben Okafor").click()
    expect(page.get_by_role("heading", name="You've already chosen three")).to_be_visible()
    card = page.locator(".card").first.bounding_box()
    for button in page.get_by_role("button", name=re.compile("^Swap")).all():
        box = button.bounding_box()
        assert box["x"] + box["width"] <= card["x"] + card["width"], "a Swap button sticks out of its card"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "swap-long-word")
    # The swap page answers 409 (the pick was refused); nothing else may complain.
    assert [p for p in contexts.problems if "409" not in p[2]] == [] and fourth.id


def test_pages_keep_clear_of_the_notch_and_the_home_indicator(live_server, contexts, make_organiser, make_event,
                                                              make_attendee):
    origin = live_server.url
    event = _on_now(make_event, make_organiser())
    me = make_attendee(event, "Ana Lima")
    page = contexts.phone().new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setSafeAreaInsetsOverride", {"insets": {"top": 47, "bottom": 34, "left": 0, "right": 0}})
    _as(page, origin, me)
    brand = page.get_by_role("link", name="EventMate", exact=True).bounding_box()
    assert brand["y"] >= 47, "the top bar sits under the notch"
    padding = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main')).paddingBottom)")
    assert padding >= 34, "the page ends under the home indicator"
    cdp.send("Emulation.setSafeAreaInsetsOverride", {"insets": {"top": 0, "bottom": 21, "left": 47, "right": 47}})
    page.reload()
    main = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main')).paddingLeft)")
    assert main >= 47, "in landscape the content sits under the notch"


def test_the_poster_is_light_dated_printable_and_its_link_unbroken(live_server, contexts, shot, make_organiser,
                                                                   make_event):
    origin = live_server.url
    organiser = make_organiser()
    event = _on_now(make_event, organiser, name="Thursday founders evening")
    context = contexts.phone(dark=True)  # an organiser's phone in dark mode, at the printer
    page = context.new_page()
    page.goto(f"{origin}/organiser/login")
    page.get_by_label("Email").fill(organiser.email)
    page.get_by_label("Password").fill(organiser.password)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{origin}/organiser/events/{event.id}/poster")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    assert page.evaluate("getComputedStyle(document.querySelector('.poster-tools a')).color") == "rgb(31, 95, 91)"
    expect(page.locator(".poster-when")).to_contain_text("The Corner Room, 12 Market Street")
    expect(page.locator(".poster-when")).to_contain_text(re.compile(r"\d{2}:\d{2}–\d{2}:\d{2}"))
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    expect(page.get_by_role("banner")).to_be_visible()
    # The link may wrap at its slashes, never inside a part (the key stays whole).
    for rects in page.locator(".poster-url .nobr").evaluate_all("els => els.map(e => e.getClientRects().length)"):
        assert rects == 1
    shot(page, "poster-dark-phone")
    assert contexts.problems == []


def test_who_is_here_finds_people_as_you_type_and_keeps_your_place(live_server, contexts, shot, make_organiser,
                                                                    make_event, make_attendee):
    origin = live_server.url
    event = _on_now(make_event, make_organiser(), name="Thursday founders evening")
    me = make_attendee(event, "Ana Lima")
    for n in range(30):
        make_attendee(event, f"Guest {n:02d} Example", what_i_do=f"Does thing number {n}")
    make_attendee(event, "Zoë Ōkubo", what_i_do="Greenhouse sensors for urban farms")
    for chosen, (dark, guest) in enumerate(((False, "Guest 20 Example"), (True, "Guest 21 Example")), start=1):
        page = contexts.phone(dark=dark).new_page()
        _as(page, origin, me)
        expect(page.get_by_role("link", name="My three")).to_have_attribute("aria-current", "page")
        page.get_by_text("Thursday founders evening", exact=True).click()  # time and venue, one tap away
        expect(page.locator(".event-info p")).to_contain_text("The Corner Room")
        page.get_by_role("link", name="Who's here").click()
        expect(page.get_by_role("link", name="Who's here")).to_have_attribute("aria-current", "page")
        page.get_by_role("searchbox").press_sequentially("zoe", delay=30)  # no Search tap
        expect(page.locator("[data-person]")).to_have_count(1)
        assert page.url.endswith("/people?q=zoe")
        page.get_by_role("searchbox").fill("")
        page.get_by_role("searchbox").press_sequentially("guest", delay=30)
        expect(page.locator(".sticky-count")).to_contain_text("30 matches")
        row = page.locator(f'[data-person="{guest}"]')
        row.get_by_text(guest).click()  # tap a row: how they help, whom they look for
        expect(row.locator(".one-liners")).to_be_visible()
        row.get_by_role("button", name=f"Choose {guest}").click()
        expect(page.locator(".sticky-count")).to_contain_text(f"{chosen} of 3 chosen")
        assert page.url.endswith(f"#{row.get_attribute('id')}")
        box = row.bounding_box()
        assert 0 <= box["y"] < 844, "choosing someone jumped away from their row"
        expect(page.locator(".sticky-count")).to_be_in_viewport()  # the counter stays in sight
        expect(row).to_contain_text("One of your three")
        shot(page, f"who-is-here-{'dark' if dark else 'light'}")
        page.get_by_role("link", name="My three").click()
        expect(page.locator("[data-empty-slot]")).to_have_count(3 - chosen)
        shot(page, f"my-three-slots-{'dark' if dark else 'light'}")
        page.context.close()
    assert [p for p in contexts.problems if "409" not in p[2]] == []


def test_check_in_without_stumbles_and_within_its_budget(live_server, contexts, make_organiser, make_event):
    """The form says where and when, Enter moves on instead of sending a half-filled form, the
    optional fields are in sight, and the first load stays light for venue wifi."""
    origin = live_server.url
    event = _on_now(make_event, make_organiser(), name="Thursday founders evening")
    page = contexts.phone().new_page()
    sizes = []
    page.on("requestfinished", lambda request: sizes.append((request.url, request.resource_type,
                                                            request.sizes()["responseBodySize"])))
    page.goto(f"{origin}{event.checkin_path}")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello! A little about you")
    expect(page.locator("[data-event-when]")).to_contain_text("The Corner Room, 12 Market Street")
    expect(page.get_by_label("Your name", exact=True)).to_have_attribute("autocapitalize", "words")
    expect(page.get_by_label(re.compile("^Email"))).to_be_visible()  # not folded away
    expect(page.get_by_role("link", name=re.compile("Already checked in on another phone"))).to_be_visible()
    total = sum(size for _url, _kind, size in sizes)
    script = sum(size for _url, kind, size in sizes if kind == "script")
    print(f"check-in first load: {len(sizes)} requests, {total} bytes on the wire, {script} of script")
    assert len(sizes) <= 6 and total <= 50 * 1024 and script <= 15 * 1024, sizes
    page.get_by_label("Your name", exact=True).fill("Zoë Ōkubo")
    page.get_by_label("Your name", exact=True).press("Enter")
    expect(page.get_by_label("What I do", exact=True)).to_be_focused()
    assert page.url.endswith(event.checkin_path)  # nothing was sent
    assert contexts.problems == []
