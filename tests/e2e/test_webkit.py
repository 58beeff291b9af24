"""The attendee's evening in WebKit, the engine of iPhone Safari (issue 10), on one phone.

WebKitGTK's MiniBrowser, driven by its WebDriver (selenium) on a virtual 390×844 screen
(`xvfb-run`, the window set to the screen's size). Ana
checks in from the QR link, sees the welcome, searches who's here and chooses two people (the
page keeps its place), opens her three, writes notes about Chloé (the autosave, then the Save
button) and opens her code. At each step: what she sees, no page wider than the screen, and no
script error.

WebKit's driver gives no console log, so each page gets an error recorder (`error`,
`unhandledrejection`, `securitypolicyviolation`) as soon as it has loaded, read back before
leaving it: it sees what goes wrong after load (IndexedDB, the service worker, fetches,
autosave). Errors thrown while a page's scripts first run come before it; the steps that need
those scripts (live search, autosave) show that they ran.

Screenshots: tests/screenshots/webkit/NN-name.png. Runs on SQLite only: the subject is the
browser. Skipped without WebKitGTK, xvfb or selenium — or fails under EVENTMATE_REQUIRE_ALL=1.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import need

from .conftest import SCREENSHOTS, event_on_now

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

WEBDRIVER = shutil.which("WebKitWebDriver")
MINIBROWSER = Path("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")
WIDTH, HEIGHT = 390, 844
WAIT = 10
SHOTS = SCREENSHOTS / "webkit"

#: Collects the page's script errors in `window.__errors` (installed once per document).
RECORDER = """
if (!window.__errors) {
  window.__errors = [];
  addEventListener("error", e => __errors.push(e.message ? `${e.message} (${e.filename}:${e.lineno})`
    : `failed to load ${(e.target && (e.target.src || e.target.href)) || "?"}`), true);
  addEventListener("unhandledrejection", e => __errors.push(`unhandled rejection: ${e.reason}`));
  addEventListener("securitypolicyviolation", e => __errors.push(`CSP: ${e.violatedDirective} ${e.blockedURI}`));
}
"""
#: How far below the event name's last letter the top bar's summary goes on: a line of its
#: own means the "▾" after it wrapped alone (WebKit did, where Chromium kept it with the word).
ARROW_ALONE = """
const summary = document.querySelector(".event-info summary"), text = summary.lastChild;
const range = document.createRange();
range.setStart(text, text.length - 1); range.setEnd(text, text.length);
const padding = parseFloat(getComputedStyle(summary).paddingBottom);
return summary.getBoundingClientRect().bottom - padding - range.getBoundingClientRect().bottom;
"""
#: How wide the page is, against the viewport and the screen.
WIDTHS = """return {scroll: document.documentElement.scrollWidth, inner: innerWidth,
                    screen: screen.width, height: innerHeight};"""

PEOPLE = [
    ("Ben Okafor", "Sales coach for hardware start-ups"),
    ("Chloé Martin", "Founder of a children's book subscription"),
    ("Dev Patel", "Data engineer moving into climate tech"),
    ("Emma Schulz", "Organises maker markets in the old tram depot"),
    ("Farah Haddad", "Runs a ceramics studio with evening classes"),
    ("Gustav Lindqvist", "Builds booking software for small gyms"),
    ("Hana Kobayashi", "Translator for games and apps, Japanese and English"),
    ("Ivan Petrov", "Accountant for freelancers and tiny companies"),
    ("Julia Souza", "Product designer between jobs"),
    ("Kwame Mensah", "Brews alcohol-free beer in a railway arch"),
    ("Lena Vogel", "Journalist writing about the local food scene"),
    ("Yusuf Demir", "Fixes and resells refurbished laptops"),
]
ANA = {"f-name": "Ana Lima",
       "f-what_i_do": "I run a small design studio for boutique hotels",
       "f-how_i_help": "Honest feedback on your brand and website",
       "f-looking_for": "Someone who buys interiors for a hotel group"}
WORKING_ON = "Raising a seed round in March"
NEEDS = "A logistics partner before Christmas"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webkit(tmp_path):
    """MiniBrowser at 390×844 through WebKitWebDriver, both under xvfb-run; gone after the test."""
    need(bool(WEBDRIVER) and MINIBROWSER.exists(),
         f"WebKitGTK is not installed (WebKitWebDriver, {MINIBROWSER}): apt-get install webkit2gtk-driver")
    need(bool(shutil.which("xvfb-run")) and bool(shutil.which("xauth")),
         "xvfb-run is not installed: apt-get install xvfb xauth")
    try:
        from selenium import webdriver
        from selenium.webdriver.remote.client_config import ClientConfig
        from selenium.webdriver.remote.remote_connection import RemoteConnection
    except ImportError:
        need(False, "selenium is not installed (pip install -r requirements.txt)")
    port = _free_port()
    log = (tmp_path / "webkitwebdriver.log").open("w")
    # Its own process group, so the X server, the driver and the browser all end with it.
    driver_process = subprocess.Popen(
        ["xvfb-run", "-a", "-s", f"-screen 0 {WIDTH}x{HEIGHT}x24", WEBDRIVER, f"--port={port}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    driver = None
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert driver_process.poll() is None, f"WebKitWebDriver ended: {(tmp_path / 'webkitwebdriver.log').read_text()}"
            assert time.monotonic() < deadline, "WebKitWebDriver did not start listening within 15 s"
            time.sleep(0.1)
        options = webdriver.WebKitGTKOptions()
        options.binary_location = str(MINIBROWSER)
        options.add_argument("--automation")
        options.add_argument("--full-screen")
        # A connection made here: given the address as a string, selenium warns (deprecated).
        connection = RemoteConnection(client_config=ClientConfig(remote_server_addr=f"http://127.0.0.1:{port}"))
        driver = webdriver.Remote(command_executor=connection, options=options)
        driver.set_page_load_timeout(WAIT)
        # The automation window opens at 1024×768; with `--full-screen` it can then be set to
        # 390 px (without it, not narrower than 447). The test checks innerWidth on every page.
        driver.set_window_rect(0, 0, WIDTH, HEIGHT)
        yield driver
    finally:
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.quit()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(driver_process.pid, signal.SIGTERM)
        driver_process.wait(timeout=10)
        log.close()


def test_the_attendee_evening_in_webkit(live_server, webkit, make_organiser, make_event, make_attendee):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    driver, origin = webkit, live_server.url
    wait = WebDriverWait(driver, WAIT)
    event = event_on_now(make_event, make_organiser(), name="Thursday founders evening",
                         venue="The Corner Room, 12 Market Street")
    others = {name: make_attendee(event, name, what_i_do=does) for name, does in PEOPLE}
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    shots = iter(range(1, 100))
    errors: list[tuple[str, str]] = []

    def css(selector):
        return driver.find_element(By.CSS_SELECTOR, selector)

    def text_of(selector) -> str:
        return css(selector).text.strip()

    def until_text(selector, pattern: str):
        wait.until(lambda d: re.search(pattern, d.find_element(By.CSS_SELECTOR, selector).text),
                   f"{selector} never matched {pattern!r}")

    def arrive(h1: str):
        """A new page has loaded: it says `h1`, and its errors are recorded from now on."""
        wait.until(lambda d: d.execute_script("return !window.__left"), "still on the page left")
        until_text("h1", f"^{re.escape(h1)}$")
        driver.execute_script(RECORDER)

    def leave(label: str, shot: bool = False):
        """Before leaving a page: it fits the screen, its errors are kept, maybe a picture."""
        size = driver.execute_script(WIDTHS)
        assert (size["inner"], size["screen"]) == (WIDTH, WIDTH), f"not a 390 px phone: {size}"
        assert size["scroll"] <= size["inner"], f"{label} is wider than the screen: {size}"
        errors.extend((label, e) for e in driver.execute_script("return window.__errors || []"))
        if shot:
            driver.save_screenshot(str(SHOTS / f"{next(shots):02d}-{label}.png"))
        driver.execute_script("window.__left = true")  # the next page won't have it

    def tap(element):
        """Scroll it to the middle first: WebDriver scrolls a target only to the bottom edge,
        under the fixed tab bar, where a thumb would not tap it either."""
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def type_into(selector: str, value: str):
        """Type like a person; WebKit's driver returns before the last keys have landed."""
        css(selector).send_keys(value)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, selector).get_attribute("value") == value,
                   f"{selector} never held what was typed")

    def tab(label: str):
        driver.find_element(By.XPATH, f'//nav[@class="tabbar"]//a[normalize-space()="{label}"]').click()

    def row(name: str):
        return css(f'[data-person="{name}"]')

    def in_view(element) -> bool:
        return driver.execute_script(
            "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight;",
            element)

    # --- the QR link: the form, filled in ----------------------------------------------------
    driver.get(origin + event.checkin_path)
    arrive("Hello! A little about you")
    assert "The Corner Room, 12 Market Street" in text_of("[data-event-when]")
    for field, value in ANA.items():
        type_into(f"#{field}", value)
    leave("check-in", shot=True)
    tap(css("form[data-next-on-enter] button[type=submit]"))

    # --- the welcome ---------------------------------------------------------------------------
    arrive("You're in, Ana Lima!")
    assert driver.current_url.split("?")[0] == f"{origin}/e/{event.slug}"
    assert "Thursday founders evening" in text_of(".event-info summary")
    assert driver.execute_script(ARROW_ALONE) < 5, "the top bar's ▾ sits alone on a line"
    assert text_of("#three-heading + .muted") == "0 of 3"
    wait.until(lambda d: d.execute_script("return !!window.eventmateOutbox"), "outbox.js did not run")
    leave("welcome", shot=True)

    # --- who's here: search as you type, choose; the page keeps its place ------------------------
    tab("Who's here")
    arrive("Who's here")
    assert text_of(".sticky-count span") == f"{len(PEOPLE)} other people here."
    type_into("#q", "chloe")  # no accent typed, no Search tapped: search.js answers
    until_text(".sticky-count span", "^1 match for “chloe”")
    assert [e.get_attribute("data-person") for e in driver.find_elements(By.CSS_SELECTOR, "[data-person]")] \
        == ["Chloé Martin"]
    assert driver.current_url.endswith("/people?q=chloe")
    leave("who-search")
    tap(css('button[aria-label="Choose Chloé Martin"]'))

    arrive("Who's here")
    assert text_of("p.flash") == "Chloé Martin is one of your three."
    assert "One of your three" in row("Chloé Martin").text
    assert text_of("[data-chosen-count]") == "1 of 3 chosen"
    leave("who-chose-chloe")

    tab("Who's here")  # everyone again; Yusuf is at the bottom of the list
    arrive("Who's here")
    far = others["Yusuf Demir"]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row("Yusuf Demir"))
    leave("who-everyone")
    tap(wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, 'button[aria-label="Choose Yusuf Demir"]'))))

    arrive("Who's here")
    assert text_of("p.flash") == "Yusuf Demir is one of your three."
    assert driver.current_url.endswith(f"#p-{far.id}"), driver.current_url
    wait.until(lambda d: in_view(row("Yusuf Demir")), "choosing Yusuf jumped away from his row")
    assert driver.execute_script("return scrollY") > 0
    assert "One of your three" in row("Yusuf Demir").text
    assert text_of("[data-chosen-count]") == "2 of 3 chosen"
    leave("who-chose-yusuf", shot=True)

    # --- my three ------------------------------------------------------------------------------
    tab("My three")
    arrive("Hello again, Ana Lima")
    assert text_of("#three-heading + .muted") == "2 of 3"
    chosen = [e.get_attribute("data-chosen") for e in driver.find_elements(By.CSS_SELECTOR, "[data-chosen]")]
    assert sorted(chosen) == ["Chloé Martin", "Yusuf Demir"]
    assert len(driver.find_elements(By.CSS_SELECTOR, "[data-empty-slot]")) == 1
    leave("my-three")
    tap(css('[data-chosen="Chloé Martin"] a.button'))

    # --- notes about Chloé: the autosave, then the Save button ------------------------------------
    arrive("Chloé Martin")
    notes_url = driver.current_url
    type_into("#f-working_on", WORKING_ON)
    until_text("[data-save-status]", r"^Saved \d\d:\d\d\.$")  # notes.js, 1.2 s after the last key
    driver.execute_script("document.querySelector('[data-save-status]').scrollIntoView({block: 'center'})")
    leave("notes-autosaved", shot=True)
    driver.get(notes_url)  # the autosave reached the server
    arrive("Chloé Martin")
    assert css("#f-working_on").get_attribute("value") == WORKING_ON
    type_into("#f-needs", NEEDS)
    leave("notes-reloaded")
    tap(driver.find_element(By.XPATH, '//button[normalize-space()="Save notes"]'))

    arrive("Hello again, Ana Lima")
    assert text_of("p.flash") == "Notes about Chloé Martin saved. Only you can see them."
    assert "Notes (2 of 4)" in text_of('[data-chosen="Chloé Martin"] a.button')
    leave("my-three-notes-saved")

    # --- my code --------------------------------------------------------------------------------
    tab("My code")
    arrive("Let them choose you")
    qr = css(".qr svg")
    assert qr.is_displayed() and qr.size["width"] >= 150, qr.size
    assert "Ana Lima" in text_of("main")
    leave("my-code", shot=True)

    assert errors == []
