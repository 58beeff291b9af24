"""Attendee pages: check in from the poster, the event home, getting back in."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from .. import checkin, tokens
from ..errors import CheckInClosed, CheckInKeyInvalid, ReturnCodeInvalid, ValidationFailed
from ..extensions import db, limiter
from . import device
from .templating import public_url

bp = Blueprint("attendee", __name__)


def _form_key() -> str:
    """Check-in limits follow the form (one per phone), not the venue's shared address."""
    return "checkin|" + (request.form.get("form_token") or request.remote_addr or "")


def _checkin_rate():
    return current_app.config["CHECKIN_RATE_LIMIT"]


def _checkin_address_rate():
    return current_app.config["CHECKIN_ADDRESS_RATE_LIMIT"]


def _return_rate():
    return current_app.config["RETURN_CODE_RATE_LIMIT"]


@bp.route("/c/<slug>/<key>", methods=["GET", "POST"])
@limiter.limit(_checkin_rate, key_func=_form_key, methods=["POST"])
@limiter.limit(_checkin_address_rate, methods=["POST"])
def check_in(slug: str, key: str):
    """The poster's link: a short form, then you're in."""
    try:
        event = checkin.open_checkin(db.session, slug, key)
    except CheckInKeyInvalid as error:
        known = getattr(error, "event", None)
        if known and device.attendee_for(known)[0]:
            return redirect(url_for("attendee.home", slug=known.slug))
        return render_template("attendee/checkin_invalid.html", event=known), 404
    except CheckInClosed as error:
        if device.attendee_for(error.event)[0]:
            return redirect(url_for("attendee.home", slug=error.event.slug))
        return render_template("attendee/checkin_closed.html", event=error.event), 403
    if device.attendee_for(event)[0] is not None:
        return render_template("attendee/already.html", event=event)
    if request.method == "GET":
        return render_template("attendee/checkin.html", event=event, values={}, errors={},
                               form_token=tokens.url_token())
    form_token = request.form.get("form_token", "")
    try:
        attendee, code = checkin.check_in(
            db.session, event, request.form, form_token, current_app.config["SECRET_KEY"]
        )
    except ValidationFailed as error:
        return render_template("attendee/checkin.html", event=event, values=request.form,
                               errors=error.errors, form_token=form_token), 422
    response = redirect(url_for("attendee.home", slug=event.slug, welcome=1))
    return device.remember(response, attendee.event_id, code)


@bp.get("/e/<slug>")
def home(slug: str):
    """An attendee's page for one event."""
    event = checkin.event_by_slug(db.session, slug)
    attendee, code = device.attendee_for(event)
    if attendee is None:
        return render_template("attendee/not_here.html", event=event, values={}, errors={}), 403
    return render_template(
        "attendee/home.html",
        event=event,
        me=attendee,
        code=code,
        return_link=public_url(url_for("attendee.return_link", code=code)),
        welcome=request.args.get("welcome") == "1",
    )


@bp.get("/r/<code>")
@limiter.limit(_return_rate)
def return_link(code: str):
    """A personal return link. It asks before switching this device to that person, so a
    link planted on someone else's page cannot quietly swap who they are here."""
    try:
        attendee = checkin.attendee_by_code(db.session, code)
    except ReturnCodeInvalid as error:
        return render_template("attendee/return.html", values={"code": ""},
                               errors={"code": error.message}), 404
    return render_template("attendee/return_confirm.html", attendee=attendee,
                           code=tokens.normalise_code(code))


@bp.route("/return", methods=["GET", "POST"])
@limiter.limit(_return_rate, methods=["POST"])
def return_code():
    """Type a return code to get back in on another device or the installed app."""
    if request.method == "GET":
        return render_template("attendee/return.html", values={}, errors={})
    typed = request.form.get("code", "")
    try:
        attendee = checkin.attendee_by_code(db.session, typed)
    except ReturnCodeInvalid as error:
        return render_template("attendee/return.html", values={"code": typed},
                               errors={"code": error.message}), 422
    return _sign_in(attendee, typed)


def _sign_in(attendee, code: str):
    response = redirect(url_for("attendee.home", slug=attendee.event.slug))
    return device.remember(response, attendee.event_id, tokens.normalise_code(code))

