"""End-to-end fixtures: the real app served over HTTP, and a real Chromium driving it.

- `live_server`: the app on a fresh, migrated database (SQLite file or the test
  PostgreSQL, through the shared `database_url` fixture), served by werkzeug in a
  background thread on a free loopback port. The clock is the wall clock.
- `browser`: Debian's Chromium, launched once per session.
- `contexts`: makes organiser (desktop) and phone (390×844, touch) browser contexts, and
  closes them after the test; every page records console errors and uncaught exceptions.
- `shot`: full-page screenshots, numbered in order, under tests/screenshots/<db>/.
"""

from __future__ import annotations

import gc
import itertools
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import WORKER, need, test_config
from werkzeug.serving import make_server

from eventmate import clock, create_app
from eventmate.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
    ),
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
TIMEOUT_MS = 10_000


def sign_in_on(context, origin: str, code: str, name: str):
    """A new page in this phone context signed in as someone through their return link
    ("Yes, that's me"), on their home page."""
    from playwright.sync_api import expect

    page = context.new_page()
    page.goto(f"{origin}/r/{code}")
    page.get_by_role("button", name="Yes, that's me").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Hello again, {name}")
    return page


def event_on_now(make_event, organiser, **form):
    """An evening that started half an hour ago and ends in two hours: the live server runs on
    the wall clock, so check-in is open whenever the test runs."""
    now = datetime.now(UTC)
    return make_event(organiser, **{"timezone": "UTC",
                                    "starts_local": (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
                                    "ends_local": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
                                    **form})


@pytest.fixture(scope="session")
def browser():
    need(CHROMIUM.exists(), f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def db_name(request) -> str:
    """"sqlite" or "postgresql": which parameter of `database_url` this test runs with."""
    return request.node.callspec.params["database_url"]


def _buffered(app):
    """The app with each response read in full (and its iterable closed) before werkzeug's
    dev server writes it. When Chromium drops a connection mid-response (a page closed while
    /sw.js or a stylesheet was on its way), that server skips `close()` on the iterable, and
    a file response then leaks its file handle: a ResourceWarning at a random later test."""
    def wsgi(environ, start_response):
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return wsgi


@pytest.fixture
def live_server(database_url, db_name):
    """The real app over HTTP on a fresh database; stops when the test ends."""
    clock.reset()  # the live server runs on the wall clock
    app = create_app(test_config(database_url))
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"live-{db_name}", daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}", app=app, db=db_name)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        gc.collect()  # report resource leaks of the server's requests inside this test
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def contexts(browser):
    """Make browser contexts: `contexts.organiser()`, `contexts.phone(dark=False, **options)`
    (options go to `browser.new_context`, e.g. `bypass_csp=True`).

    `contexts.problems` collects console errors and page exceptions from every page
    (CSP violations, failed loads, script errors) as (context, page URL, text), so a test
    can assert there were none — or only the ones it provoked.
    """
    made = []
    problems: list[tuple[str, str, str]] = []

    def watch(context, label: str):
        context.set_default_timeout(TIMEOUT_MS)

        def on_page(page):
            page.on("console", lambda m: problems.append(
                (label, page.url, f"{m.text} [{m.location.get('url', '')}]")
            ) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append((label, page.url, str(e))))

        context.on("page", on_page)
        made.append(context)
        return context

    def organiser():
        # A time zone other than UTC, so the form's time-zone pre-fill has to be replaced.
        return watch(browser.new_context(**DESKTOP, timezone_id="Pacific/Auckland"), "organiser")

    def phone(dark: bool = False, **options):
        scheme = "dark" if dark else "light"
        return watch(browser.new_context(**PHONE, color_scheme=scheme, **options), f"phone-{scheme}")

    yield SimpleNamespace(organiser=organiser, phone=phone, problems=problems)
    for context in made:
        context.close()


#: Screenshot numbering per database, continued across the tests of one session.
_shot_counters: dict[str, itertools.count] = {}


@pytest.fixture
def shot(db_name):
    """`shot(page, "name")` saves tests/screenshots/<db>/NN-name.png (full page).

    Each database's folder is emptied the first time it is used in a session, so what is
    there afterwards is exactly this run's pictures, numbered in the order they were taken.
    """
    folder = SCREENSHOTS / (f"{db_name}-{WORKER}" if WORKER else db_name)
    if db_name not in _shot_counters:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        _shot_counters[db_name] = itertools.count(1)
    counter = _shot_counters[db_name]

    def take(page, name: str) -> bytes:
        return page.screenshot(path=folder / f"{next(counter):02d}-{name}.png", full_page=True)

    return take
