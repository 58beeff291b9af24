"""On the home screen (issue "On the home screen and on bad wifi", install part): static files
under content-hashed URLs cached for a year, the manifest and its icons, the service worker's
precache within its byte budget, the installed app landing where the attendee was, and the
one-time hand-over that signs an installed iOS app in as the attendee."""

from __future__ import annotations

import gzip
import io
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import post, text
from PIL import Image

from eventmate import clock, handover
from eventmate.extensions import db
from eventmate.models import Device, DeviceAttendee


@pytest.fixture
def ana(app, make_organiser, make_event, make_attendee, at_the_event):
    event = make_event(make_organiser())
    person = make_attendee(event, "Ana Lima")
    phone = app.test_client()
    assert post(phone, "/return", {"code": person.code}).status_code == 302
    return type("Ana", (), dict(event=event, person=person, phone=phone, home=f"/e/{event.slug}"))


def fetch(client, url, **kwargs):
    """A GET whose body is read and whose file (static files are files) is closed."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def _href(page: str, rel: str) -> str:
    return re.search(rf'<link rel="{rel}" href="([^"]+)"', page).group(1).replace("&amp;", "&")


def test_static_files_have_hashed_urls_cached_for_a_year(client):
    page = text(client.get("/return"))
    css = _href(page, "stylesheet")
    assert re.fullmatch(r"/static/css/app\.css\?v=[0-9a-f]{10}", css)
    fresh = fetch(client, css)
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Without the hash, or with an old one, a browser must ask again.
    assert fetch(client, "/static/css/app.css").headers["Cache-Control"] == "no-cache"
    assert fetch(client, "/static/css/app.css?v=0000000000").headers["Cache-Control"] == "no-cache"


def test_the_manifest_makes_an_installable_app(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    for key in ("id", "name", "short_name", "start_url", "scope", "display", "theme_color", "background_color"):
        assert manifest[key], key
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/?source=home-screen"
    purposes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")} <= purposes
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO(fetch(client, icon["src"]).data))
        assert f"{image.width}x{image.height}" == icon["sizes"], icon["src"]
    assert [s["name"] for s in manifest["shortcuts"]] == ["My three", "Who's here"]
    page = text(client.get("/return"))
    assert '<meta name="apple-mobile-web-app-capable" content="yes">' in page
    assert "apple-touch-icon" in page and 'media="(prefers-color-scheme: dark)"' in page


def test_the_installed_app_and_its_shortcuts_open_the_attendees_evening(ana):
    assert ana.phone.get("/?source=home-screen").headers["Location"] == ana.home
    assert ana.phone.get("/?go=three").headers["Location"] == ana.home
    assert ana.phone.get("/?go=people").headers["Location"] == f"{ana.home}/people"
    # Someone with no evening on this phone gets the front door.
    assert ana.phone.application.test_client().get("/?source=home-screen").status_code == 200


def test_the_service_worker_precaches_the_shell_within_its_budget(client, ana):
    worker = client.get("/sw.js")
    assert worker.headers["Service-Worker-Allowed"] == "/" and worker.headers["Cache-Control"] == "no-cache"
    source = text(worker)
    assert "__VERSION__" not in source and "__SHELL__" not in source
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", source).group(1))
    assert "/offline" in shell and any(u.startswith("/static/css/app.css?v=") for u in shell)
    total = len(gzip.compress(worker.data))
    for url in shell:
        response = fetch(client, url)
        assert response.status_code == 200, url
        total += len(gzip.compress(response.data))
    assert total <= 100 * 1024, f"{total} bytes gzipped"
    assert "You're offline" in text(client.get("/offline"))
    # The check-in page stays light: no service worker before check-in; after, every page.
    checkin_page = text(client.get(ana.event.checkin_path))
    assert "js/app.js" not in checkin_page
    assert "js/app.js" in text(ana.phone.get(ana.home))


def _personal_manifest(phone, home):
    href = _href(text(phone.get(home)), "manifest")
    assert "?h=" in href
    response = phone.get(href)
    assert response.headers["Cache-Control"] == "no-store"
    return json.loads(response.data)["start_url"]


def _devices(app, attendee_id) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(DeviceAttendee)
                                 .where(DeviceAttendee.attendee_id == attendee_id))


def test_an_installed_ios_app_opens_as_the_attendee_once(app, ana):
    start = _personal_manifest(ana.phone, ana.home)
    assert start.startswith("/hello/") and start.endswith("?source=home-screen")
    assert ana.person.code.replace("-", "") not in start  # encrypted, not the code itself
    # Android: the installed app shares the browser's cookies; it just goes home.
    assert ana.phone.get(start).headers["Location"] == ana.home
    assert _devices(app, ana.person.id) == 1
    # iOS: the home-screen app starts with no cookies, and is signed in as Ana.
    installed = app.test_client()
    asked = installed.get(start)
    assert asked.status_code == 200 and "Open my evening" in text(asked) and "Ana Lima" not in text(asked)
    assert _devices(app, ana.person.id) == 1  # a GET (a link preview) uses nothing up
    landed = post(installed, start, {}, follow_redirects=True)
    assert landed.status_code == 200 and "Ana Lima" in text(landed)
    assert _devices(app, ana.person.id) == 2
    # A copy of the link opens nothing.
    copy = app.test_client().get(start)
    assert copy.status_code == 410 and "used already" in text(copy) and "Ana Lima" not in text(copy)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Device)) == 2


def test_a_handover_is_refused_when_stale_tampered_or_its_code_renewed(app, ana):
    start = _personal_manifest(ana.phone, ana.home)
    token = start.split("/hello/")[1].split("?")[0]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert app.test_client().get(f"/hello/{tampered}").status_code == 410
    assert post(app.test_client(), f"/hello/{tampered}", {}).status_code == 410
    clock.set_now(clock.now() + handover.LIFETIME + timedelta(minutes=1))
    assert app.test_client().get(start).status_code == 410
    clock.set_now(clock.now() - handover.LIFETIME - timedelta(minutes=1))
    post(ana.phone, f"{ana.home}/you/new-code", {})
    assert post(app.test_client(), start, {}).status_code == 410  # the old code is void
    # A token for another event's id is refused too (it's encrypted with the event inside).
    with app.app_context():
        forged = handover.make("not-the-secret", ana.event.id, ana.person.code)
    assert app.test_client().get(f"/hello/{forged}").status_code == 410


def test_signing_out_this_phone_forgets_its_offline_pages(app, ana):
    you = text(ana.phone.get(f"{ana.home}/you"))
    device_id = re.search(r'name="device" value="(\d+)"', you).group(1)
    out = post(ana.phone, f"{ana.home}/you/devices/sign-out", {"device": device_id}, follow_redirects=True)
    assert "data-forget-offline" in text(out) and "js/app.js" in text(out)


def test_private_pages_ask_search_engines_to_stay_away(client, ana):
    assert 'content="noindex, nofollow"' in text(ana.phone.get(ana.home))
    assert 'content="noindex, nofollow"' in text(client.get("/return"))
    front = text(client.get("/"))
    assert 'name="description"' in front and "noindex" not in front
