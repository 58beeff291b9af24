"""Pages anyone may see: the front door and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from .. import checkin, organisers
from ..database import write_check
from ..extensions import db
from . import device

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """Front door: organisers to their events, an empty install to sign-up."""
    if current_user.is_authenticated:
        return redirect(url_for("organiser.events_page"))
    my_events = checkin.events_by_ids(db.session, device.codes().keys())
    # The installed app and its shortcuts open the latest evening this phone is checked in to.
    go = {"three": "attendee.home", "people": "attendee.who"}.get(request.args.get("go", ""))
    if my_events and (go or request.args.get("source") == "home-screen"):
        return redirect(url_for(go or "attendee.home", slug=my_events[0].slug))
    return render_template(
        "public/index.html",
        first_run=organisers.first_signup_open(db.session),
        my_events=my_events,
    )


@bp.get("/healthz")
def healthz():
    """Liveness, and proof that the database can be read and written (CONTRACT.md): a
    read-only or full database cannot take a check-in, so it is not healthy."""
    problem = write_check(db.engine)
    if problem is not None:
        return jsonify(status="error", database=problem), 503
    return jsonify(status="ok", database="ok")
