"""Organiser pages: account, events, the QR poster, invitations."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from .. import clock, events, organisers, qr, tokens
from ..errors import BadCredentials, DomainError, InvitationInvalid, SignupClosed, ValidationFailed
from ..extensions import db, limiter, login_manager
from ..models import Organiser
from .redirects import same_site_path
from .templating import base_url_warning, public_url

bp = Blueprint("organiser", __name__, url_prefix="/organiser")

login_manager.login_view = "organiser.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load(organiser_id: str) -> Organiser | None:
    if not (organiser_id.isascii() and organiser_id.isdigit()):
        return None
    return db.session.get(Organiser, int(organiser_id))


def _login_key() -> str:
    """Rate-limit log-in per address and account, so one NAT of organisers isn't locked out.

    The email is hashed: a key never grows with what a client chooses to send.
    """
    email = (request.form.get("email") or "").strip().casefold()
    return f"login|{request.remote_addr}|{tokens.digest(email)}"


def _login_failed(response) -> bool:
    """Only a refused log-in counts towards the per-address limit (password spraying)."""
    return response.status_code == 401


def _my_event(event_id: int):
    return events.event_for_organiser(db.session, current_user, event_id)


def _checkin_url(event) -> tuple[str, str | None]:
    """The poster's absolute check-in URL, and why phones may not reach it (or None)."""
    url = public_url(events.checkin_path(event))
    return url, base_url_warning(url)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_login_key,
               methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_FAILURE_RATE_LIMIT"], methods=["POST"],
               deduct_when=_login_failed)
def login():
    """Log in with email and password."""
    if request.method == "GET":
        return render_template("organiser/login.html", values={}, errors={})
    email = request.form.get("email", "")
    try:
        organiser = organisers.authenticate(db.session, email, request.form.get("password", ""))
    except BadCredentials as error:
        return render_template("organiser/login.html", values={"email": email},
                               errors={"form": error.message}), 401
    login_user(organiser)
    # Only same-site paths: never bounce to another origin after logging in.
    return redirect(same_site_path(request.args.get("next")) or url_for("organiser.events_page"))


@bp.post("/logout")
def logout():
    """Log out of the organiser account (an attendee identity on this device stays)."""
    logout_user()
    flash("You're logged out.", "info")
    return redirect(url_for("public.index"))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def signup():
    """The first organiser signs up freely; later ones come with an invitation link."""
    invite = request.values.get("invite") or None
    try:
        if invite:
            organisers.find_open_invitation(db.session, invite)
        elif organisers.has_organisers(db.session):
            raise SignupClosed()
    except (InvitationInvalid, SignupClosed) as error:
        return render_template("organiser/signup_closed.html", message=error.message), 403
    if request.method == "GET":
        return render_template("organiser/signup.html", values={}, errors={}, invite=invite)
    try:
        organiser = organisers.sign_up(db.session, request.form, invitation_token=invite)
    except ValidationFailed as error:
        return _signup_again(error.errors, invite)
    except DomainError as error:
        return _signup_again({error.field or "form": error.message}, invite, error.status)
    login_user(organiser)
    flash("Welcome to EventMate. Let's set up your first event.", "success")
    return redirect(url_for("organiser.new_event"))


def _signup_again(errors: dict, invite: str | None, status: int = 422):
    values = {"email": request.form.get("email", "")}
    return render_template("organiser/signup.html", values=values, errors=errors,
                           invite=invite), status


@bp.get("/")
@login_required
def events_page():
    """The organiser's events, newest first."""
    return render_template("organiser/events.html", events=events.events_of(db.session, current_user))


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def new_event():
    """Create an event."""
    if request.method == "GET":
        return _event_form(None, {"prompt_hour": "9"})
    try:
        event = events.create_event(db.session, current_user, request.form)
    except ValidationFailed as error:
        return _event_form(None, request.form, error.errors)
    flash("Your event is ready. Print the poster and put it by the door.", "success")
    return redirect(url_for("organiser.event", event_id=event.id))


def _event_form(event, values, errors: dict | None = None):
    """The event form, new or edit; with errors it answers 422 and keeps what was typed."""
    page = render_template("organiser/event_form.html", event=event, values=values,
                           errors=errors or {}, zones=events.time_zones())
    return (page, 422) if errors else page


@bp.get("/events/<id:event_id>")
@login_required
def event(event_id: int):
    """One event: check-in status, the poster, settings."""
    ev = _my_event(event_id)
    url, warning = _checkin_url(ev)
    return render_template(
        "organiser/event.html",
        event=ev,
        checkin_url=url,
        url_warning=warning,
        checked_in=events.checked_in_count(db.session, ev),
        zone_label=events.zone_label(ev.timezone, ev.starts_at),
        is_open=ev.is_checkin_open(clock.now()),
    )


@bp.route("/events/<id:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit_event(event_id: int):
    """Change an event's details."""
    ev = _my_event(event_id)
    if request.method == "GET":
        return _event_form(ev, events.form_values(ev))
    try:
        events.update_event(db.session, ev, request.form)
    except ValidationFailed as error:
        db.session.rollback()
        return _event_form(ev, request.form, error.errors)
    flash("Saved.", "success")
    return redirect(url_for("organiser.event", event_id=ev.id))


@bp.get("/events/<id:event_id>/poster")
@login_required
def poster(event_id: int):
    """A print-ready A4 poster with the check-in QR code."""
    ev = _my_event(event_id)
    url, warning = _checkin_url(ev)
    return render_template("organiser/poster.html", event=ev, checkin_url=url,
                           url_warning=warning,
                           qr_svg=qr.inline_svg(url, title=f"Check-in code for {ev.name}"))


@bp.get("/events/<id:event_id>/poster.svg")
@login_required
def poster_svg(event_id: int):
    """The poster's QR code alone, as an SVG file for designers and printers."""
    ev = _my_event(event_id)
    body = qr.svg(public_url(events.checkin_path(ev)), title=f"Check-in code for {ev.name}")
    return Response(body, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="eventmate-{ev.slug}-checkin.svg"',
        "Cache-Control": "no-store",
    })


@bp.post("/events/<id:event_id>/rotate-key")
@login_required
def rotate_key(event_id: int):
    """Make a new poster code; printed posters with the old one stop working."""
    events.rotate_checkin_key(db.session, _my_event(event_id))
    flash("New code made. Old posters no longer work — print the new one.", "success")
    return redirect(url_for("organiser.event", event_id=event_id))


@bp.post("/events/<id:event_id>/checkin")
@login_required
def set_checkin(event_id: int):
    """Close check-in, reopen it, or go back to the automatic window."""
    mode = request.form.get("mode", "")
    if mode not in ("auto", "open", "closed"):
        abort(400)
    events.set_checkin_mode(db.session, _my_event(event_id), mode)
    flash({"closed": "Check-in is closed.", "open": "Check-in is open.",
           "auto": "Check-in follows the event's times again."}[mode], "success")
    return redirect(url_for("organiser.event", event_id=event_id))


@bp.route("/invitations", methods=["GET", "POST"])
@login_required
def invitations():
    """Invite another organiser with a single-use link that lasts 7 days."""
    if request.method == "POST":
        _invitation, token = organisers.create_invitation(db.session, current_user)
        # Shown once, on the page we redirect to; only its hash is stored.
        flash(public_url(url_for("organiser.signup", invite=token)), "invite-link")
        return redirect(url_for("organiser.invitations"))
    return render_template("organiser/invitations.html", now=clock.now(),
                           invitations=organisers.list_invitations(db.session, current_user))


@bp.post("/invitations/<id:invitation_id>/revoke")
@login_required
def revoke_invitation(invitation_id: int):
    """Withdraw an unused invitation."""
    organisers.revoke_invitation(db.session, current_user, invitation_id)
    flash("Invitation withdrawn.", "success")
    return redirect(url_for("organiser.invitations"))
