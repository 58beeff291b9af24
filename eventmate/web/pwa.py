"""What makes EventMate an app: the service worker, the manifest, the offline page, the
hand-over into an installed app, and email unsubscribe."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from .. import followup, handover
from ..extensions import csrf, db
from ..models import Event
from . import device

bp = Blueprint("pwa", __name__)

THEME = "#1f5f5b"
BACKGROUND = "#f6f4ef"
#: What the service worker keeps from its install on: enough to draw any visited page, and
#: the offline page for the rest. Everything else is cached as it is used.
SHELL = ("css/app.css", "js/app.js", "js/outbox.js", "js/send.js", "js/notes.js", "js/push.js",
         "js/copy.js", "icons/icon.svg", "icons/icon-192.png")


def _shell_urls() -> list[str]:
    return [url_for("static", filename=name) for name in SHELL] + [url_for("pwa.offline")]


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the root so it may control every page. Its cache names carry
    a version made from its own text and the shell's hashes: any change installs a new worker,
    which takes over only when the attendee taps "Updated — tap to reload"."""
    source = (Path(current_app.static_folder) / "sw.js").read_text()
    shell = _shell_urls()
    build = hashlib.sha256((source + "".join(shell)).encode()).hexdigest()[:12]
    body = source.replace('"__VERSION__"', json.dumps(build)).replace('["__SHELL__"]', json.dumps(shell))
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # browsers must see a new version promptly
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline")
def offline():
    """What the service worker shows for a page it has never seen, without a connection."""
    return render_template("public/offline.html")


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest. On an attendee's pages it is personal (`?h=`): its start URL
    carries a one-time hand-over, so an installed iOS app opens as them (`hello`)."""
    def icon(name, size, purpose="any"):
        return {"src": url_for("static", filename=f"icons/{name}"), "sizes": size,
                "type": "image/png", "purpose": purpose}

    token = request.args.get("h", "")
    personal = bool(token) and handover.read(current_app.config["SECRET_KEY"], token) is not None
    start = url_for("pwa.hello", token=token, source="home-screen") if personal else "/?source=home-screen"
    response = current_app.response_class(
        current_app.json.dumps({
            "id": "/",
            "name": "EventMate",
            "short_name": "EventMate",
            "description": "Meet three people properly, and follow up the morning after.",
            "lang": "en",
            "start_url": start,
            "scope": "/",
            "display": "standalone",
            "orientation": "portrait",
            "background_color": BACKGROUND,
            "theme_color": THEME,
            "icons": [icon("icon-192.png", "192x192"), icon("icon-512.png", "512x512"),
                      icon("icon-maskable-192.png", "192x192", "maskable"),
                      icon("icon-maskable-512.png", "512x512", "maskable")],
            "shortcuts": [
                {"name": "My three", "short_name": "My three", "url": "/?go=three",
                 "icons": [icon("icon-192.png", "192x192")]},
                {"name": "Who's here", "short_name": "Who's here", "url": "/?go=people",
                 "icons": [icon("icon-192.png", "192x192")]},
            ],
        }),
        mimetype="application/manifest+json",
    )
    response.headers["Cache-Control"] = "no-store" if personal else "public, max-age=3600"
    return response


def manifest_href(event, code: str | None) -> str:
    """The manifest link of an attendee page: personal when this device holds a code there."""
    if not code:
        return url_for("pwa.manifest")
    return url_for("pwa.manifest", h=handover.make(current_app.config["SECRET_KEY"], event.id, code))


@bp.route("/hello/<token>", methods=["GET", "POST"])
def hello(token: str):
    """The first launch of the installed app. A browser that is already this attendee (Android
    shares cookies with its app) goes straight to their page; anywhere else one tap uses the
    hand-over (a GET never signs anyone in: link previews and prefetchers can't use it up)."""
    secret = current_app.config["SECRET_KEY"]
    held = handover.read(secret, token)
    event = db.session.get(Event, held["event_id"]) if held is not None else None
    if event is not None and device.codes().get(str(event.id)) == held["code"] \
            and device.attendee_for(event)[0] is not None:
        return redirect(url_for("attendee.home", slug=event.slug))
    try:
        if event is None or handover.is_used(db.session, held):
            raise handover.HandoverInvalid()
        if request.method == "GET":
            return render_template("attendee/hello.html", event=event, token=token)
        attendee, code = handover.redeem(db.session, secret, token)
    except handover.HandoverInvalid as error:
        return render_template("attendee/hello_used.html", message=error.message), error.status
    response = redirect(url_for("attendee.home", slug=attendee.event.slug))
    return device.remember(response, attendee, code)


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # one-click unsubscribe (RFC 8058): the mail client posts, the signed token is the key
def unsubscribe(token: str):
    """Stop emails for one event. A GET only asks, so link scanners can't unsubscribe anyone."""
    if request.method == "GET":
        attendee = followup.unsubscribe_target(db.session, current_app.config["SECRET_KEY"], token)
        return render_template("public/unsubscribe.html", token=token, done=False, event=attendee.event)
    attendee = followup.unsubscribe(db.session, current_app.config["SECRET_KEY"], token)
    return render_template("public/unsubscribe.html", token=token, done=True, event=attendee.event)
