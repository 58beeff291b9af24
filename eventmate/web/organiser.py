"""Organiser pages: account, events, the QR poster, invitations."""

from __future__ import annotations

import logging
import threading
import uuid
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from .. import clock, dashboard, events, imports, mail, organisers, qr, retention, roster, tokens
from ..errors import BadCredentials, DomainError, InvitationInvalid, SignupClosed, ValidationFailed
from ..extensions import db, limiter, login_manager
from ..kept import Kept
from ..models import Organiser
from .errors import MESSAGES, error_response
from .redirects import same_site_path
from .templating import base_url_warning, public_url

bp = Blueprint("organiser", __name__, url_prefix="/organiser")
log = logging.getLogger("eventmate")

login_manager.login_view = "organiser.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load(session_id: str) -> Organiser | None:
    """The organiser for `id:session_version`; a log-out or a new password retires the old ones.

    Sessions from before versions existed hold the bare id: they count as version 0, which
    is where every organiser starts, so an upgrade signs nobody out.
    """
    organiser_id, _, version = session_id.partition(":")
    version = version or "0"
    if not all(part.isascii() and part.isdigit() for part in (organiser_id, version)):
        return None
    organiser = db.session.get(Organiser, int(organiser_id))
    if organiser is None or organiser.session_version != int(version):
        return None
    return organiser


def _fresh_session() -> None:
    """Start a new session: what was in it (the CSRF token above all) is not carried over.

    A token someone planted before log-in is worthless after it. The attendee's identity
    lives in its own cookie (web/device.py), so clearing this one signs no phone out;
    flashed messages are kept for the next page.
    """
    flashes = session.get("_flashes")
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the request's token here
    if flashes:
        session["_flashes"] = flashes


def _login_key() -> str:
    """Rate-limit log-in per address and account, so one NAT of organisers isn't locked out.

    The email is hashed: a key never grows with what a client chooses to send.
    """
    email = (request.form.get("email") or "").strip().casefold()
    return f"login|{request.remote_addr}|{tokens.digest(email)}"


def _login_failed(response) -> bool:
    """Only a refused log-in counts towards the per-address limit (password spraying)."""
    return response.status_code == 401


def _my_event(event_id: int, owner_only: bool = False):
    """An event this organiser runs (owns or co-organises); 404 for anything else."""
    return events.event_for_organiser(db.session, current_user, event_id, owner_only)


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
        return _login_page({}, {})
    email = request.form.get("email", "")
    try:
        organiser = organisers.authenticate(db.session, email, request.form.get("password", ""))
    except BadCredentials as error:
        return _login_page({"email": email}, {"form": error.message}), 401
    _fresh_session()
    login_user(organiser)
    # Only same-site paths: never bounce to another origin after logging in.
    return redirect(same_site_path(request.args.get("next")) or url_for("organiser.events_page"))


@bp.post("/logout")
def logout():
    """Log out of the organiser account (an attendee identity on this device stays).

    Copies of this session cookie stop working too: the organiser's session version moves on.
    """
    if current_user.is_authenticated:
        organisers.end_sessions(db.session, current_user)
    logout_user()
    _fresh_session()
    flash("You're logged out.", "info")
    return redirect(url_for("public.index"))


def _login_page(values: dict, errors: dict):
    return render_template("organiser/login.html", values=values, errors=errors,
                           can_reset=_can_email())


def _can_email() -> bool:
    return bool(current_app.config.get("SMTP_URL"))


def _reset_address_key() -> str:
    return f"reset|{request.remote_addr}"


def _reset_email_key() -> str:
    """Per email asked for, whoever asks: nobody can fill someone's inbox with links."""
    email = (request.form.get("email") or "").strip().casefold()
    return f"reset-email|{tokens.digest(email)}"


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def password():
    """Change my password; every other session of this account is signed out."""
    if request.method == "GET":
        return render_template("organiser/password.html", errors={})
    try:
        organisers.change_password(db.session, current_user, request.form)
    except ValidationFailed as error:
        db.session.rollback()
        return render_template("organiser/password.html", errors=error.errors), 422
    # This browser stays in, with a new session; copies of the old one are signed out.
    _fresh_session()
    login_user(current_user._get_current_object())
    flash("Password changed. Any other browser logged in to this account is now logged out.",
          "success")
    return redirect(url_for("organiser.events_page"))


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"],
               key_func=_reset_address_key, methods=["POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_EMAIL_RATE_LIMIT"],
               key_func=_reset_email_key, methods=["POST"])
def forgot():
    """Ask for a reset link by email (only when EventMate can send email)."""
    if not _can_email():
        abort(404)
    if request.method == "GET":
        return render_template("organiser/forgot.html", values={}, errors={}, sent=False)
    email = (request.form.get("email") or "").strip()
    if not email:
        return render_template("organiser/forgot.html", values={}, sent=False,
                               errors={"email": "Please type the email you log in with."}), 422
    found = organisers.request_password_reset(db.session, email)
    if found is not None:
        organiser, token = found
        _send_reset_link(organiser.email, public_url(url_for("organiser.reset", token=token)))
    # The same answer whether or not there is an account with this email.
    return render_template("organiser/forgot.html", values={"email": email}, errors={}, sent=True)


def _send_reset_link(to: str, link: str) -> None:
    """Send in the background: the answer takes as long whether or not the account exists."""
    message = mail.Email(
        to=to,
        subject="Set a new EventMate password",
        text=render_template("organiser/reset_email.txt", link=link),
        html=render_template("organiser/reset_email.html", link=link),
    )
    smtp_url = current_app.config["SMTP_URL"]
    sender = current_app.config.get("MAIL_FROM") or "EventMate <eventmate@localhost>"

    def send() -> None:
        try:
            mail.send(smtp_url, sender, message)
        except (mail.MailError, ValueError) as error:
            log.warning("password reset email not sent: %s", error)

    threading.Thread(target=send, name="password-reset-mail", daemon=True).start()


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def reset(token: str):
    """The emailed link: choose a new password (once, within the hour)."""
    try:
        organisers.find_open_reset(db.session, token)
    except organisers.ResetLinkInvalid as error:
        return render_template("organiser/reset_invalid.html", message=error.message), 403
    if request.method == "GET":
        return render_template("organiser/reset.html", errors={})
    try:
        organisers.reset_password(db.session, token, request.form)
    except ValidationFailed as error:
        db.session.rollback()
        return render_template("organiser/reset.html", errors=error.errors), 422
    except organisers.ResetLinkInvalid as error:
        return render_template("organiser/reset_invalid.html", message=error.message), 403
    if current_user.is_authenticated:
        logout_user()
    _fresh_session()
    flash("Your new password is set. Please log in with it.", "success")
    return redirect(url_for("organiser.login"))


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def signup():
    """The first organiser signs up freely; later ones come with an invitation link."""
    invite = request.values.get("invite") or None
    try:
        if invite:
            organisers.find_open_invitation(db.session, invite)
        elif not organisers.first_signup_open(db.session):
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
    _fresh_session()
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
    """The organiser's events: happening now (the check-in window, even if check-in was
    closed by hand), coming up (soonest first), and past, each with how many came."""
    mine = events.events_of(db.session, current_user)
    now = clock.now()
    groups = {"live": [], "upcoming": [], "past": []}
    for ev in mine:
        key = ("live" if ev.checkin_opens_at <= now < ev.checkin_closes_at
               else "upcoming" if now < ev.starts_at else "past")
        groups[key].append(ev)
    groups["upcoming"].reverse()  # soonest first
    counts = dashboard.headline(db.session, mine)
    for ev in mine:  # an event whose attendee data was deleted keeps its numbers
        kept = retention.kept(ev)
        if kept is not None:
            counts[ev.id] = kept[0].checked_in
    return render_template("organiser/events.html", events=mine, groups=groups, counts=counts, moment=now)


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def new_event():
    """Create an event."""
    if request.method == "GET":
        return _event_form(None, {"prompt_hour": "9"})
    try:
        event = events.create_event(db.session, current_user, request.form,
                                    current_app.config["RETENTION_DAYS"])
    except ValidationFailed as error:
        return _event_form(None, request.form, error.errors)
    flash("Your event is ready. Print the poster and put it by the door.", "success")
    return redirect(url_for("organiser.event", event_id=event.id))


def _event_form(event, values, errors: dict | None = None, delete_errors: dict | None = None,
                typed: str = ""):
    """The event form, new or edit; with errors it answers 422 and keeps what was typed."""
    page = render_template("organiser/event_form.html", event=event, values=values,
                           errors=errors or {}, zones=events.time_zones(),
                           delete_errors=delete_errors or {}, delete_values={"confirm_name": typed})
    return (page, 422) if errors or delete_errors else page


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
        zone_label=events.zone_label(ev.timezone, ev.starts_at),
        is_open=ev.is_checkin_open(clock.now()),
        team=events.team(db.session, ev),
        **_live_figures(ev),
    )


def _live_figures(ev) -> dict:
    """The numbers the live part of the event page shows (a fixed number of queries), or
    those kept when its attendee data was deleted."""
    kept = retention.kept(ev)
    if kept is not None:
        counters, line, funnel = kept
        return {"live": counters, "timeline": line, "after": True, "funnel": funnel}
    counters = dashboard.live(db.session, ev)
    after = clock.now() >= ev.ends_at
    return {"live": counters, "timeline": dashboard.timeline(db.session, ev), "after": after,
            "funnel": dashboard.funnel(db.session, ev, counters) if after else None}


@bp.get("/events/<id:event_id>/live")
@login_required
def live(event_id: int):
    """The live part of the event page, for the page's polling: 304 when nothing changed.

    What a poll computes is kept for LIVE_POLL_CACHE_SECONDS per server process and event, so
    fifty open dashboards during a busy door cost each process one count every few seconds,
    not five a second (the numbers are at most that much behind; the page polls every 10 s).
    Access is checked on every poll; what is kept is the same for everyone who may see it."""
    ev = _my_event(event_id)
    seconds = current_app.config["LIVE_POLL_CACHE_SECONDS"]
    if seconds > 0:
        polls = current_app.extensions.setdefault("eventmate.polls", Kept())
        # Keyed by the slug too: an id SQLite reuses after a delete never meets the old numbers.
        poll = polls.get((ev.id, ev.slug), seconds, lambda: _live_poll(ev))
    else:
        poll = _live_poll(ev)
    if _client_has(poll.tag):
        response = Response(status=304)
    else:
        if poll.body is None:  # kept from a poll that answered 304: render it once now
            poll.body = render_template("organiser/_live.html", event=ev, **_live_figures(ev))
        response = Response(poll.body)
    response.set_etag(poll.tag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _live_poll(ev) -> dashboard.Poll:
    """The version of the live numbers and, unless the client already has it, the fragment."""
    kept = retention.kept(ev)
    if kept is not None:
        figures = _live_figures(ev)
        tag = dashboard.etag(figures["live"], figures["after"], figures["timeline"], figures["funnel"])
    else:
        # One query decides: the counters, the first and last arrival, and (while check-in is
        # open, the chart running to now) the current 5 minutes. The chart is read only for a 200.
        now = clock.now()
        counters, first, last = dashboard.live_and_span(db.session, ev)
        after = now >= ev.ends_at
        funnel = dashboard.funnel(db.session, ev, counters) if after else None
        tick = int(now.timestamp() // 300) if ev.is_checkin_open(now) else None
        tag = dashboard.etag(counters, after, funnel, str(first), str(last), tick)
        figures = None if _client_has(tag) else {"live": counters, "after": after, "funnel": funnel,
                                                 "timeline": dashboard.timeline(db.session, ev)}
    body = None if figures is None else render_template("organiser/_live.html", event=ev, **figures)
    return dashboard.Poll(tag=tag, body=body)


def _client_has(tag: str) -> bool:
    """If-None-Match names this version. Compression adds its coding to the tag it sends
    ("<tag>:br"); the browser sends that back, and it is the same version."""
    return any(sent.split(":", 1)[0] == tag for sent in request.if_none_match.as_set(include_weak=True))


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


# --- people and the door ------------------------------------------------------------------

def _page_number(value) -> int:
    text = str(value or "1")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else 1


@bp.get("/events/<id:event_id>/people")
@login_required
def people(event_id: int):
    """Everyone at the event, searchable and sortable, with the door: check someone in by
    hand, undo a mistaken check-in, hand over a code."""
    ev = _my_event(event_id)
    return _people_page(ev)


def _people_page(ev, values: dict | None = None, errors: dict | None = None, status: int = 200):
    args = request.args
    found = roster.table(db.session, ev, args.get("q", ""), args.get("sort", roster.DEFAULT_SORT),
                         _page_number(args.get("page")), args.get("show", ""))
    return render_template("organiser/people.html", event=ev, table=found, values=values or {},
                           errors=errors or {}, door_token=str(uuid.uuid4()),
                           recent=roster.recent(db.session, ev)), status


@bp.post("/events/<id:event_id>/people/check-in")
@login_required
def door_check_in(event_id: int):
    ev = _my_event(event_id)
    try:
        attendee, code = roster.check_in_by_hand(db.session, ev, current_user, request.form,
                                                 request.form.get("door_token", ""))
    except ValidationFailed as error:
        db.session.rollback()
        return _people_page(ev, request.form, error.errors, 422)
    return _handover(ev, attendee, code, checked_in=True)


@bp.post("/events/<id:event_id>/people/<id:attendee_id>/undo")
@login_required
def door_undo(event_id: int, attendee_id: int):
    ev = _my_event(event_id)
    attendee = roster.undo(db.session, ev, current_user, attendee_id)
    flash(f"Check-in undone: {attendee.name} is no longer counted or shown in who's here.", "success")
    return redirect(url_for("organiser.people", event_id=ev.id))


@bp.post("/events/<id:event_id>/people/<id:attendee_id>/check-in")
@login_required
def door_check_in_again(event_id: int, attendee_id: int):
    ev = _my_event(event_id)
    attendee = roster.check_in_again(db.session, ev, current_user, attendee_id)
    flash(f"{attendee.name} is checked in.", "success")
    return redirect(url_for("organiser.people", event_id=ev.id))


@bp.post("/events/<id:event_id>/people/<id:attendee_id>/code")
@login_required
def door_code(event_id: int, attendee_id: int):
    ev = _my_event(event_id)
    try:
        attendee, code = roster.hand_over_code(db.session, ev, current_user, attendee_id)
    except roster.CannotHandOver as error:
        flash(error.message, "error")
        return redirect(url_for("organiser.people", event_id=ev.id))
    return _handover(ev, attendee, code, checked_in=False)


def _handover(ev, attendee, code: str, checked_in: bool):
    """The code, once, big enough to copy or scan with their phone later."""
    link = public_url(url_for("attendee.return_link", code=code))
    page = render_template("organiser/handover.html", event=ev, attendee=attendee, code=code, link=link,
                           checked_in=checked_in, return_url=public_url(url_for("attendee.return_code")),
                           qr_svg=qr.inline_svg(link, title=f"Return code for {attendee.name}"))
    return Response(page, headers={"Cache-Control": "no-store"})


@bp.post("/events/<id:event_id>/people.csv")
@login_required
def people_csv(event_id: int):
    """Who came, for a spreadsheet (email and contact only where people agreed). A POST: each
    download is recorded in the organisers' log."""
    ev = _my_event(event_id)
    return Response(roster.export_csv(db.session, ev, current_user), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="eventmate-{ev.slug}-people.csv"',
        "Cache-Control": "no-store"})


# --- importing registrations ---------------------------------------------------------------

@bp.get("/events/<id:event_id>/people/import")
@login_required
def import_people_form(event_id: int):
    ev = _my_event(event_id)
    return render_template("organiser/import.html", event=ev, errors={}, preview=None)


@bp.post("/events/<id:event_id>/people/import")
@login_required
def import_people(event_id: int):
    """Read an uploaded file into a preview: every row, and what importing would do. Writes
    nothing; the preview's form sends the rows to import back to `import_confirm`."""
    ev = _my_event(event_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(ev, {"file": "Please choose a CSV file."}, 422)
    try:
        preview = imports.preview(db.session, ev, upload.read(imports.MAX_BYTES + 1))
    except imports.ImportProblem as problem:
        return _import_page(ev, problem.errors, 422)
    return render_template("organiser/import.html", event=ev, errors={}, preview=preview,
                           filename=upload.filename)


@bp.post("/events/<id:event_id>/people/import/confirm")
@login_required
def import_confirm(event_id: int):
    ev = _my_event(event_id)
    try:
        done = imports.confirm(db.session, ev, current_user, request.form.get("rows", "").encode())
    except imports.ImportProblem as problem:
        db.session.rollback()
        return _import_page(ev, problem.errors, 422)
    if done.added:
        flash(f"{done.added:,} {'person is' if done.added == 1 else 'people are'} on the list. They show up "
              "here until they arrive; when they scan the poster with the same email, they're matched.",
              "success")
    else:
        flash("Nobody new to add: everyone in that file is already on the list.", "success")
    return redirect(url_for("organiser.people", event_id=ev.id, show="registered"))


def _import_page(ev, errors: dict, status: int):
    return render_template("organiser/import.html", event=ev, errors=errors, preview=None), status


@bp.errorhandler(413)
def _too_large(error):
    """A file over the upload limit: said on the import page, not as a bare error."""
    uploading = request.endpoint in ("organiser.import_people", "organiser.import_confirm")
    if uploading and current_user.is_authenticated:
        try:
            ev = _my_event(request.view_args["event_id"])
        except DomainError as error:
            return error_response(error.status, error.code, error.message)
        limit = imports.MAX_BYTES // (1024 * 1024)
        return _import_page(ev, {"file": f"This file is larger than {limit} MB. Export only the columns you "
                                         "need (name and email are enough), or split it."}, 413)
    return error_response(413, *MESSAGES[413])


@bp.post("/events/<id:event_id>/delete")
@login_required
def delete_event(event_id: int):
    """Delete the event and everyone's data in it, after its name is typed."""
    ev = _my_event(event_id, owner_only=True)
    name = ev.name
    try:
        retention.delete_event(db.session, ev, request.form.get("confirm_name", ""))
    except ValidationFailed as error:
        return _event_form(ev, events.form_values(ev), delete_errors=error.errors,
                           typed=request.form.get("confirm_name", ""))
    flash(f"{name} is deleted, with everything its attendees wrote.", "success")
    return redirect(url_for("organiser.events_page"))


@bp.route("/events/<id:event_id>/team", methods=["GET", "POST"])
@login_required
def team(event_id: int):
    """Who runs the event: the owner adds another organiser by email, or removes one."""
    ev = _my_event(event_id, owner_only=True)
    errors, values, invited = {}, {}, None
    if request.method == "POST":
        try:
            added = events.add_co_organiser(db.session, ev, request.form.get("email", ""))
        except events.NoAccountYet as nobody:
            # One step: a sign-up link that makes whoever uses it a co-organiser of this event.
            _invitation, token = organisers.create_invitation(db.session, current_user, event_id=ev.id)
            link = public_url(url_for("organiser.signup", invite=token))
            invited = SimpleNamespace(email=nobody.email, link=link)
        except ValidationFailed as error:
            db.session.rollback()
            errors, values = error.errors, {"email": request.form.get("email", "")}
        else:
            flash(f"{added.email} can now run {ev.name} with you.", "success")
            return redirect(url_for("organiser.team", event_id=ev.id))
    page = render_template("organiser/team.html", event=ev, team=events.team(db.session, ev),
                           errors=errors, values=values, invited=invited)
    if invited:
        return Response(page, headers={"Cache-Control": "no-store"})
    return (page, 422) if errors else page


@bp.post("/events/<id:event_id>/team/<id:organiser_id>/remove")
@login_required
def remove_from_team(event_id: int, organiser_id: int):
    ev = _my_event(event_id, owner_only=True)
    events.remove_co_organiser(db.session, ev, organiser_id)
    flash("Removed: they no longer see this event.", "success")
    return redirect(url_for("organiser.team", event_id=ev.id))


@bp.get("/events/<id:event_id>/poster")
@login_required
def poster(event_id: int):
    """A print-ready A4 poster with the check-in QR code."""
    ev = _my_event(event_id)
    url, warning = _checkin_url(ev)
    # Lines may break only after a "/", never inside the key.
    parts = [piece + "/" for piece in url.split("/")[:-1]] + [url.split("/")[-1]]
    return render_template("organiser/poster.html", event=ev, checkin_url=url, url_parts=parts,
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
    zone = organisers.time_zone(db.session, current_user)
    return render_template("organiser/invitations.html", now=clock.now(), zone=ZoneInfo(zone),
                           zone_name=zone, invitations=organisers.list_invitations(db.session, current_user))


@bp.post("/invitations/<id:invitation_id>/revoke")
@login_required
def revoke_invitation(invitation_id: int):
    """Withdraw an unused invitation."""
    organisers.revoke_invitation(db.session, current_user, invitation_id)
    flash("Invitation withdrawn.", "success")
    return redirect(url_for("organiser.invitations"))
