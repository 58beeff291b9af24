"""The evening, in a real Chromium on phones (journey steps 4–6). Runs on SQLite and PostgreSQL.

Five attendees check in from the decoded poster QR, each on a phone of their own. Ana finds
people in who's here and chooses three; a fourth is refused with the swap page. Ana writes
notes (the form, and the page's autosave). Ben opens Ana's notes link and sees nothing of
them — neither before nor after choosing the same person. Ben chooses Ana: both see
"mutual". Ana makes room and chooses Emma by scanning Emma's pick-me code.

Screenshots go to tests/screenshots/<db>/evening-NN-name.png, and one clean picture of
Ana's home to docs/screenshot-home.png for the README.
"""

from __future__ import annotations

import itertools
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.conftest import PHONE, SCREENSHOTS
from e2e.test_door import fill_profile, read_qr, too_wide

pytestmark = [pytest.mark.e2e]

#: The README's picture, refreshed only on request (EVENTMATE_UPDATE_DOCS=1): a test run
#: should not rewrite tracked files.
README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-home.png"
UPDATE_DOCS = os.environ.get("EVENTMATE_UPDATE_DOCS") == "1"


def person(name: str, does: str, helps: str, looking: str) -> dict[str, str]:
    return {
        "Your name": name,
        "What I do": does,
        "How I can help others": helps,
        "The introduction I am looking for": looking,
    }


ANA = person("Ana Lima", "I run a small design studio for boutique hotels",
             "Honest feedback on your brand and website",
             "Someone who buys interiors for a hotel group")
BEN = person("Ben Okafor", "Sales coach for hardware start-ups",
             "How to run your first ten sales calls",
             "A founder about to hire their first salesperson")
CHLOE = person("Chloé Martin", "Founder of a children's book subscription",
               "Introductions to independent publishers",
               "A logistics partner for small parcels")
DEV = person("Dev Patel", "Data engineer moving into climate tech",
             "Cleaning up messy spreadsheets and dashboards",
             "A climate start-up that needs its first data hire")
EMMA = person("Emma Schulz", "Organises maker markets in the old tram depot",
              "Stalls for local makers, and how to fill a room",
              "A sponsor for the winter market")
EVERYONE = [ANA, BEN, CHLOE, DEV, EMMA]

#: Planted in Ana's notes about Chloé; nobody else may ever see them.
PLANTED = "Planted-7f3c: Chloé is raising a seed round in March"
AUTOSAVED = "Autosaved-91d2: promised an intro to Marta at Flink"
SECRETS = (PLANTED, AUTOSAVED)


def name(who: dict[str, str]) -> str:
    return who["Your name"]


@pytest.fixture
def snap(shot, db_name):
    """`snap(page, "name")`: a full-page screenshot, evening-NN-name.png; phone pages are
    also checked to fit the screen's width. (`shot` has emptied the folder for this run.)"""
    folder = SCREENSHOTS / db_name
    counter = itertools.count(1)

    def take(page, label: str, *, phone: bool = True) -> bytes:
        png = page.screenshot(path=folder / f"evening-{next(counter):02d}-{label}.png", full_page=True)
        if phone:
            sticking_out = too_wide(page)
            assert not sticking_out, f"{label} is wider than the phone's screen: {sticking_out}"
        return png

    return take


def flash(page):
    return page.locator("p.flash")


def check_in(context, url: str, who: dict[str, str]):
    page = context.new_page()
    page.goto(url)
    fill_profile(page, who)
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"You're in, {name(who)}!")
    return page


def search(page, words: str, expect_names: list[str]) -> None:
    """Type into who's here's search box and submit, like a person would."""
    page.get_by_role("link", name="Who's here", exact=True).click()
    page.get_by_role("searchbox", name="Search by name or what people do").fill(words)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".sticky-count")).to_contain_text(f"for “{words}”")
    expect(page.locator("[data-person]")).to_have_count(len(expect_names))
    found = [page.locator("[data-person]").nth(i).get_attribute("data-person")
             for i in range(len(expect_names))]
    assert sorted(found) == sorted(expect_names)


def choose(page, who: dict[str, str]) -> None:
    page.get_by_role("button", name=f"Choose {name(who)}", exact=True).click()
    expect(flash(page)).to_have_text(f"{name(who)} is one of your three.")
    expect(page.locator(f'[data-person="{name(who)}"]')).to_contain_text("One of your three")


def go_home(page) -> None:
    page.get_by_role("link", name="My three", exact=True).click()
    expect(page.get_by_role("heading", name="Your three")).to_be_visible()


def chosen(page) -> list[str]:
    return sorted(page.locator("[data-chosen]").evaluate_all(
        "all => all.map(e => e.dataset.chosen)"))


def mutual_with(page) -> list[str]:
    return sorted(page.locator("[data-chosen]:has([data-mutual])").evaluate_all(
        "all => all.map(e => e.dataset.chosen)"))


def test_the_evening(live_server, browser, contexts, snap, make_organiser, make_event):
    origin = live_server.url
    now = datetime.now(UTC)
    organiser = make_organiser()
    event = make_event(
        organiser, name="Thursday founders evening", timezone="UTC",
        starts_local=(now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        ends_local=(now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
    )

    # --- the poster by the door, read from its pixels --------------------------------
    desk = contexts.organiser().new_page()
    desk.goto(origin + "/organiser/login")
    desk.get_by_label("Email").fill(organiser.email)
    desk.get_by_label("Password").fill(organiser.password)
    desk.get_by_role("button", name="Log in").click()
    expect(desk.get_by_role("button", name="Log out")).to_be_visible()
    desk.goto(f"{origin}/organiser/events/{event.id}/poster")
    expect(desk.locator(".poster-code svg")).to_be_visible()
    decoded = read_qr(snap(desk, "poster", phone=False))
    assert decoded == [origin + event.checkin_path], decoded
    poster_url = decoded[0]

    # --- five phones scan it and check in --------------------------------------------
    a, b, c, d, e = (check_in(contexts.phone(), poster_url, who) for who in EVERYONE)
    snap(a, "ana-welcome")
    home_url = a.url.split("?")[0]
    assert home_url == f"{origin}/e/{event.slug}"

    # --- Ana finds people in who's here and chooses three ----------------------------
    search(a, "ben", [name(BEN)])
    choose(a, BEN)
    search(a, "CHLOÉ", [name(CHLOE)])  # case-folded beyond ASCII, on both databases
    snap(a, "ana-search-chloe")
    choose(a, CHLOE)
    search(a, "climate", [name(DEV)])  # a word from what Dev does
    choose(a, DEV)
    snap(a, "ana-chose-dev")

    # A fourth is refused: the swap page, and her three stays at three.
    search(a, "emma", [name(EMMA)])
    expect(a.locator(".sticky-count")).to_contain_text("3 of 3 chosen")
    with a.expect_response(lambda r: r.request.method == "POST") as refused:
        a.get_by_role("button", name=f"Choose {name(EMMA)}", exact=True).click()
    assert refused.value.status == 409
    expect(a.get_by_role("heading", level=1)).to_have_text("You've already chosen three")
    expect(a.locator("main")).to_contain_text(f"Swap one of them for {name(EMMA)}?")
    expect(a.get_by_role("button", name="Swap")).to_have_count(3)
    snap(a, "ana-fourth-refused")
    a.get_by_role("link", name="Keep my three as they are").click()
    expect(a.locator("#three-heading + .muted")).to_have_text("3 of 3")
    assert chosen(a) == sorted([name(BEN), name(CHLOE), name(DEV)])
    assert a.get_by_role("link", name="Find people").count() == 0
    snap(a, "ana-home-three")

    # --- Ana's notes about Chloé: the form, then the autosave ------------------------
    a.locator(f'[data-chosen="{name(CHLOE)}"]').get_by_role("link", name="Add notes").click()
    expect(a.get_by_role("heading", level=1)).to_have_text(name(CHLOE))
    notes_url = a.url
    assert re.fullmatch(rf"{re.escape(home_url)}/notes/\d+", notes_url), notes_url
    a.get_by_label("What they're working on").fill(PLANTED)
    a.get_by_label("What they need").fill("A logistics partner before Christmas")
    snap(a, "ana-notes-typed")
    a.get_by_role("button", name="Save notes").click()
    expect(flash(a)).to_have_text(f"Notes about {name(CHLOE)} saved. Only you can see them.")
    expect(a.locator(f'[data-chosen="{name(CHLOE)}"]').get_by_role("link", name="Notes (2 of 4)")).to_be_visible()

    a.goto(notes_url)
    expect(a.get_by_label("What they're working on")).to_have_value(PLANTED)
    a.get_by_label("What I can offer, or promised").fill(AUTOSAVED)
    expect(a.locator("[data-save-status]")).to_have_text(re.compile(r"^Saved \d\d:\d\d\.$"))
    snap(a, "ana-notes-autosaved")
    a.reload()
    expect(a.get_by_label("What I can offer, or promised")).to_have_value(AUTOSAVED)
    expect(a.get_by_label("What they're working on")).to_have_value(PLANTED)
    go_home(a)
    expect(a.locator(f'[data-chosen="{name(CHLOE)}"]').get_by_role("link", name="Notes (3 of 4)")).to_be_visible()

    # --- Ben tries Ana's notes link: nothing of them, ever ---------------------------
    def private(page) -> None:
        html = page.content()
        leaked = [secret for secret in SECRETS if secret in html]
        assert not leaked, f"{page.url} shows Ana's notes to Ben: {leaked}"

    response = b.goto(notes_url)
    assert response is not None and response.status == 404
    expect(b.get_by_role("heading", level=1)).to_have_text("Nothing here")
    private(b)
    snap(b, "ben-ana-notes-url-404")

    # Ben chooses Chloé too: the same link now opens his own notes, empty.
    b.goto(home_url)
    private(b)
    search(b, "book subscription", [name(CHLOE)])
    private(b)
    choose(b, CHLOE)
    private(b)
    response = b.goto(notes_url)
    assert response is not None and response.status == 200
    expect(b.get_by_role("heading", level=1)).to_have_text(name(CHLOE))
    for field in b.locator("form[data-notes] textarea").all():
        expect(field).to_have_value("")
    expect(b.locator("[data-save-status]")).to_have_text("")
    private(b)
    snap(b, "ben-own-empty-notes")

    # --- Ben chooses Ana: mutual, on both phones -------------------------------------
    search(b, "ana lima", [name(ANA)])
    private(b)
    choose(b, ANA)
    private(b)
    go_home(b)
    private(b)
    assert chosen(b) == sorted([name(ANA), name(CHLOE)])
    assert mutual_with(b) == [name(ANA)]
    expect(b.locator(f'[data-chosen="{name(ANA)}"] [data-mutual]')).to_be_visible()
    snap(b, "ben-home-mutual")

    a.reload()
    assert mutual_with(a) == [name(BEN)]
    expect(a.locator(f'[data-chosen="{name(BEN)}"] [data-mutual]')).to_be_visible()
    snap(a, "ana-home-mutual")

    # --- Ana makes room, then chooses Emma by scanning Emma's pick-me code -----------
    a.locator(f'[data-chosen="{name(DEV)}"]').get_by_role("button", name="Remove").click()
    undo = a.locator("form.undo")
    expect(undo).to_contain_text(f"{name(DEV)} is no longer one of your three. Your notes are kept.")
    expect(a.locator("#three-heading + .muted")).to_have_text("2 of 3")
    expect(a.locator("[data-empty-slot]")).to_have_count(1)
    undo.get_by_role("button", name="Undo").click()  # a mistake is one tap away from undone
    expect(a.locator(f'[data-chosen="{name(DEV)}"]')).to_be_visible()
    expect(a.locator("#three-heading + .muted")).to_have_text("3 of 3")
    a.locator(f'[data-chosen="{name(DEV)}"]').get_by_role("button", name="Remove").click()
    expect(undo).to_be_visible()

    e.get_by_role("link", name="My code", exact=True).click()
    expect(e.get_by_role("heading", level=1)).to_have_text("Let them choose you")
    expect(e.locator(".qr svg")).to_be_visible()
    decoded = read_qr(snap(e, "emma-pickme-code"))
    assert len(decoded) == 1 and re.fullmatch(rf"{re.escape(origin)}/p/[\w-]+", decoded[0]), decoded

    a.goto(decoded[0])
    expect(a.get_by_role("heading", level=1)).to_have_text(name(EMMA))
    expect(a.locator("main")).to_contain_text(EMMA["What I do"])
    snap(a, "ana-scanned-emma")
    a.get_by_role("button", name=f"Add {name(EMMA)} to my three").click()
    expect(flash(a)).to_have_text(f"{name(EMMA)} is one of your three.")
    expect(a.locator("#three-heading + .muted")).to_have_text("3 of 3")
    assert chosen(a) == sorted([name(BEN), name(CHLOE), name(EMMA)])
    assert mutual_with(a) == [name(BEN)]
    snap(a, "ana-home-final")

    # The others' homes, for the record.
    for page, label in ((c, "chloe"), (d, "dev")):
        page.goto(home_url)
        assert chosen(page) == []
        snap(page, f"{label}-home")

    # --- one clean picture of Ana's home for the README ------------------------------
    readme = browser.new_context(**{**PHONE, "device_scale_factor": 1}, color_scheme="light",
                                 storage_state=a.context.storage_state())
    try:
        page = readme.new_page()
        page.goto(home_url)
        expect(page.locator("[data-chosen]")).to_have_count(3)
        expect(flash(page)).to_have_count(0)
        if UPDATE_DOCS:
            README_SHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=README_SHOT, full_page=True)
    finally:
        readme.close()

    # No console errors or script exceptions, apart from the two refusals provoked above.
    expected = {(404, notes_url), (409, f"{home_url}/picks")}
    unexpected = [
        problem for problem in contexts.problems
        if not any(f"status of {status}" in problem[2] and problem[1] == url for status, url in expected)
    ]
    assert unexpected == []
