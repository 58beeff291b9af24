"""Pages anyone may see: the front door and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask_login import current_user

from .. import checkin, organisers
from ..database import ping
from ..extensions import db
from . import device

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """Front door: organisers to their events, an empty install to sign-up."""
    if current_user.is_authenticated:
        return redirect(url_for("organiser.events_page"))
    return render_template(
        "public/index.html",
        first_run=not organisers.has_organisers(db.session),
        my_events=checkin.events_by_ids(db.session, device.codes().keys()),
    )


@bp.get("/healthz")
def healthz():
    """Liveness and database reachability, for load balancers and monitors."""
    try:
        ping(db.session)
    except Exception:  # any failure to reach the database means "not ready"
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
