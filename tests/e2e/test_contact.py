"""The contact rule in a real Chromium on two phones. Runs on SQLite and PostgreSQL.

Ada and Ben check in from the poster, each sharing contact details. Ada chooses Ben: Ben's
page says "Ada Lovelace chose you" with Ada's details as tappable links, while Ada's page
shows nothing of Ben's. Ben chooses Ada back with one tap: now each sees the other's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from e2e.test_door import fill_profile, too_wide

pytestmark = [pytest.mark.e2e, pytest.mark.one_database]

ADA = {
    "Your name": "Ada Lovelace",
    "What I do": "I design analytical engines for small manufacturers",
    "How I can help others": "Turning a messy process into a clear diagram",
    "The introduction I am looking for": "A maker of precision gears who exports",
}
ADA_CONTACT = "ada@studio.example\n+44 (0)20 7946 0958\nlinkedin.com/in/ada-lovelace-engines"
BEN = {
    "Your name": "Ben Okafor",
    "What I do": "Sales coach for hardware start-ups",
    "How I can help others": "How to run your first ten sales calls",
    "The introduction I am looking for": "A founder about to hire their first salesperson",
}
BEN_CONTACT = "ben@sales.example · www.benokafor.coach"


def check_in(context, url: str, who: dict[str, str], contact: str):
    page = context.new_page()
    page.goto(url)
    fill_profile(page, who)
    page.get_by_label("Contact details to share").fill(contact)
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"You're in, {who['Your name']}!")
    return page


def test_ben_sees_who_chose_him_and_ada_sees_nothing_of_bens(live_server, contexts, shot,
                                                             make_organiser, make_event):
    now = datetime.now(UTC)
    event = make_event(make_organiser(), timezone="UTC",
                       starts_local=(now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
                       ends_local=(now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    poster_url = live_server.url + event.checkin_path
    ada = check_in(contexts.phone(), poster_url, ADA, ADA_CONTACT)
    ben = check_in(contexts.phone(), poster_url, BEN, BEN_CONTACT)
    home = ben.url.split("?")[0]

    # Ada chooses Ben from who's here.
    ada.get_by_role("link", name="Who's here", exact=True).click()
    ada.get_by_role("button", name="Choose Ben Okafor", exact=True).click()
    expect(ada.locator("p.flash")).to_have_text("Ben Okafor is one of your three.")

    # Ben's page: Ada chose him, and her details are his to tap.
    ben.goto(home)
    chose = ben.locator('[data-chose-me="Ada Lovelace"]')
    expect(chose).to_contain_text("Ada Lovelace chose you")
    expect(chose).to_contain_text(ADA["What I do"])
    expect(chose.get_by_role("link", name="ada@studio.example")).to_have_attribute(
        "href", "mailto:ada@studio.example")
    expect(chose.get_by_role("link", name="+44 (0)20 7946 0958")).to_have_attribute(
        "href", "tel:+442079460958")
    web = chose.get_by_role("link", name="linkedin.com/in/ada-lovelace-engines")
    expect(web).to_have_attribute("href", "https://linkedin.com/in/ada-lovelace-engines")
    expect(web).to_have_attribute("rel", "noopener nofollow")
    expect(ben.locator("[data-chosen]")).to_have_count(0)
    for scheme in ("light", "dark"):
        ben.emulate_media(color_scheme=scheme)
        shot(ben, f"contact-ben-chose-you-{scheme}")
        assert not too_wide(ben), too_wide(ben)
    ben.emulate_media(color_scheme="light")

    # Ada's page: Ben is one of her three, but nothing of his details — he hasn't chosen her.
    ada.goto(home)
    expect(ada.locator('[data-chosen="Ben Okafor"]')).to_be_visible()
    assert "ben@sales.example" not in ada.content() and "benokafor" not in ada.content()
    expect(ada.locator("[data-chose-me]")).to_have_count(0)
    shot(ada, "contact-ada-chose-ben")

    # Ben chooses Ada back with one tap: each now sees the other's details.
    chose.get_by_role("button", name="Choose Ada Lovelace too").click()
    expect(ben.locator("p.flash")).to_have_text("Ada Lovelace is one of your three.")
    mine = ben.locator('[data-chosen="Ada Lovelace"]')
    expect(mine.locator("[data-mutual]")).to_be_visible()
    expect(mine.get_by_role("link", name="ada@studio.example")).to_have_attribute(
        "href", "mailto:ada@studio.example")
    expect(chose).to_contain_text("One of your three")
    shot(ben, "contact-ben-mutual")
    assert not too_wide(ben), too_wide(ben)
    ada.reload()
    expect(ada.locator('[data-chosen="Ben Okafor"]').get_by_role("link", name="www.benokafor.coach")
           ).to_have_attribute("href", "https://www.benokafor.coach")

    assert contexts.problems == []
