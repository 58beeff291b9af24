"""On the home screen and on bad wifi, in a real Chromium (a persistent profile, where
installability can be asked): zero installability errors after check-in, the service worker
controls the page, visited pages reload offline from it, an unvisited one shows the offline
page, the install hint (Android and iOS variants), and the installed app's start URL signs a
cookie-less context (an iOS home-screen app) in as the attendee. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from .conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, TIMEOUT_MS, event_on_now

pytestmark = [pytest.mark.e2e, pytest.mark.one_database]

IPHONE = {
    "viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
    "user_agent": ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
                   "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
}


def _on_now(make_event, organiser):
    return event_on_now(make_event, organiser, name="Thursday founders evening")


def _check_in(page, origin, event, name="Ben Okafor"):
    page.goto(f"{origin}{event.checkin_path}")
    page.get_by_label("Your name", exact=True).fill(name)
    page.get_by_label("What I do", exact=True).fill("Podcasts about small presses")
    page.get_by_label("How I can help others", exact=True).fill("Audio editing tips")
    page.get_by_label("The introduction I am looking for", exact=True).fill("A literary agent")
    page.get_by_role("button", name=re.compile("^Check in")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("You're in")


def test_installable_offline_and_the_installed_app_keeps_its_identity(live_server, browser, contexts, shot,
                                                                       make_organiser, make_event, make_attendee,
                                                                       tmp_path):
    origin = live_server.url
    event = _on_now(make_event, make_organiser())
    make_attendee(event, "Ana Lima")
    problems = []
    context = browser.browser_type.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, **PHONE)
    try:
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        _check_in(page, origin, event)
        home = page.url
        assert page.evaluate("""() => new Promise(resolve => {
            if (navigator.serviceWorker.controller) resolve(true);
            navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true));
        })""")

        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == []
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        start_url = json.loads(manifest["data"])["start_url"]
        assert start_url.startswith("/hello/")

        # The browser's own install prompt, offered as a button (Chromium fires it only for a
        # real install flow; here the event is made by hand).
        page.evaluate("""() => { const e = new Event('beforeinstallprompt', {cancelable: true});
            e.prompt = () => {}; e.userChoice = Promise.resolve({outcome: 'dismissed'});
            window.dispatchEvent(e); }""")
        expect(page.get_by_role("button", name="Add to home screen")).to_be_visible()
        shot(page, "install-hint-android")
        page.get_by_role("button", name="Not now").click()
        expect(page.locator("[data-install]")).to_be_hidden()

        who = page.get_by_role("link", name="Who's here")
        who.click()
        expect(page.locator('[data-person="Ana Lima"]')).to_be_visible()
        page.goto(home)
        expect(page.locator("[data-install]")).to_be_hidden()  # dismissed stays dismissed

        context.set_offline(True)
        reloaded = page.reload()
        assert reloaded.from_service_worker
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        people = page.goto(f"{origin}/e/{event.slug}/people")
        assert people.from_service_worker
        expect(page.locator('[data-person="Ana Lima"]')).to_be_visible()
        page.goto(f"{origin}/e/{event.slug}/you")  # never opened: the offline page
        expect(page.get_by_role("heading", name="You're offline")).to_be_visible()
        shot(page, "offline-page")
        context.set_offline(False)
    finally:
        context.close()
    assert problems == [] or all("net::ERR_INTERNET_DISCONNECTED" in p for p in problems), problems

    # The installed app on iOS starts without Safari's cookies: the start URL signs it in.
    installed = contexts.phone().new_page()
    installed.goto(f"{origin}{start_url}")
    installed.get_by_role("button", name="Open my evening").click()
    expect(installed.get_by_text("Ben Okafor").first).to_be_visible()
    assert installed.url.endswith(f"/e/{event.slug}")
    again = contexts.phone().new_page()
    again.goto(f"{origin}{start_url}")
    expect(again.get_by_role("heading", name="Welcome to EventMate")).to_be_visible()


def test_ios_safari_gets_the_add_to_home_screen_steps(live_server, browser, shot, make_organiser, make_event,
                                                      make_attendee):
    origin = live_server.url
    event = _on_now(make_event, make_organiser())
    ana = make_attendee(event, "Ana Lima")
    context = browser.new_context(**IPHONE)
    try:
        page = context.new_page()
        page.goto(f"{origin}/r/{ana.code}")
        page.get_by_role("button", name="Yes, that's me").click()
        expect(page.get_by_role("heading", name="Keep EventMate on your home screen")).to_be_visible()
        expect(page.get_by_text("Add to Home Screen", exact=True)).to_be_visible()
        shot(page, "install-hint-ios")
        page.get_by_role("button", name="Not now").click()
        page.reload()
        expect(page.locator("[data-install]")).to_be_hidden()
    finally:
        context.close()
