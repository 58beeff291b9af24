"""What makes EventMate an app: the service worker, the manifest, and email unsubscribe."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, send_from_directory, url_for

from .. import followup
from ..extensions import csrf, db

bp = Blueprint("pwa", __name__)

THEME = "#1f5f5b"
BACKGROUND = "#f6f4ef"


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the root so it may control every page."""
    response = send_from_directory(current_app.static_folder, "sw.js", mimetype="text/javascript",
                                   max_age=0)
    response.headers["Cache-Control"] = "no-cache"  # browsers must see a new version promptly
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: enough to add EventMate to a home screen (iOS push needs it)."""
    def icon(name, size, purpose="any"):
        return {"src": url_for("static", filename=f"icons/{name}"), "sizes": size,
                "type": "image/png", "purpose": purpose}

    response = current_app.response_class(
        current_app.json.dumps({
            "id": "/",
            "name": "EventMate",
            "short_name": "EventMate",
            "description": "Meet three people properly, and follow up the morning after.",
            "start_url": "/?source=home-screen",
            "scope": "/",
            "display": "standalone",
            "background_color": BACKGROUND,
            "theme_color": THEME,
            "icons": [icon("icon-192.png", "192x192"), icon("icon-512.png", "512x512"),
                      icon("icon-maskable-512.png", "512x512", "maskable")],
        }),
        mimetype="application/manifest+json",
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # one-click unsubscribe (RFC 8058): the mail client posts, the signed token is the key
def unsubscribe(token: str):
    """Stop emails for one event. A GET only asks, so link scanners can't unsubscribe anyone."""
    if request.method == "GET":
        attendee = followup.unsubscribe_target(db.session, current_app.config["SECRET_KEY"], token)
        return render_template("public/unsubscribe.html", token=token, done=False, event=attendee.event)
    attendee = followup.unsubscribe(db.session, current_app.config["SECRET_KEY"], token)
    return render_template("public/unsubscribe.html", token=token, done=True, event=attendee.event)
