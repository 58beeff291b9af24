"""Attendee pages: check in from the poster, my three, who's here, listening notes,
pick-me codes, and getting back in on another device."""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, generate_csrf

from .. import checkin, clock, followup, notes, people, pick_changes, picks, qr, tokens
from .. import home as home_page
from ..errors import (
    CheckInClosed,
    CheckInKeyInvalid,
    ClientIdReused,
    DomainError,
    NotFound,
    PickLimitReached,
    ReturnCodeInvalid,
    ValidationFailed,
)
from ..extensions import db, limiter
from ..kept import Kept
from . import device
from .errors import csrf_refused, error_response, typed_fields, wants_json
from .redirects import same_site_path
from .templating import format_local, public_url, push_key

bp = Blueprint("attendee", __name__)


class NotCheckedInHere(Exception):
    """This device has no attendee at the event it asked about."""

    def __init__(self, event):
        self.event = event


@bp.errorhandler(NotCheckedInHere)
def _not_checked_in(error):
    if wants_json():  # a page's script: it must tell "refused" from "offline"
        return jsonify(error="not_checked_in",
                       message=f"This phone isn't checked in at {error.event.name} any more."), 403
    return render_template("attendee/not_here.html", event=error.event, values={}, errors={}), 403


@bp.errorhandler(NotFound)
def _not_found_at_event(error):
    """Inside an event, a missing thing leads back to the event, not the front page."""
    if wants_json():
        return jsonify(error=error.code, message=error.message), 404
    slug = (request.view_args or {}).get("slug")
    event = checkin.find_event(db.session, slug) if slug else None
    return render_template("errors/error.html", status=404, message=error.message, event=event), 404


def _me(slug: str):
    """The event and who this device is there (one query); NotCheckedInHere otherwise."""
    event, attendee, g.device_seen_at = people.event_and_reader(
        db.session, slug, device.codes(), device.credential())
    if event is None:
        raise NotFound()
    if attendee is None:
        raise NotCheckedInHere(event)
    return event, attendee


def _int(value) -> int:
    """A row id from a form field; anything else is simply not found."""
    text = str(value or "")
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise NotFound()
    return int(text)


def _form_key() -> str:
    """Check-in limits follow the form (one per phone), not the venue's shared address.

    The token is hashed: a key never grows with what a client chooses to send.
    """
    form_token = request.form.get("form_token")
    return "checkin|" + (tokens.digest(form_token) if form_token else request.remote_addr or "")


def _checkin_rate():
    return current_app.config["CHECKIN_RATE_LIMIT"]


def _checkin_address_rate():
    return current_app.config["CHECKIN_ADDRESS_RATE_LIMIT"]


def _return_rate():
    return current_app.config["RETURN_CODE_RATE_LIMIT"]


def _return_code_rate():
    return current_app.config["RETURN_CODE_PER_CODE_RATE_LIMIT"]


def _return_code_key() -> str:
    """Attempts on one code, from any address: the code as typed (or linked), normalised and
    hashed, so the key never grows with what a client sends."""
    if request.method == "POST":
        typed = request.form.get("code", "")
    else:
        typed = (request.view_args or {}).get("code", "")
    return "return-code|" + tokens.digest(tokens.normalise_code(typed[:200]))


def _return_failed(_response) -> bool:
    """Only a code that matched no one counts: a venue full of people getting back in behind
    one address never adds up to a limit."""
    return bool(g.get("return_code_failed"))


def _refused_code(error: ReturnCodeInvalid, status: int, typed: str):
    g.return_code_failed = True
    return render_template("attendee/return.html", values={"code": typed},
                           errors={"code": error.message}), status


def _blank_return_form() -> bool:
    """The empty `/return` form is never limited: it is where a refused phone is sent."""
    return request.method != "POST" and request.endpoint == "attendee.return_code"


# Both ways in (`/r/<code>` and `POST /return`) share the budgets: failures per address (a
# venue NAT), and failures per code, whichever address they come from.
_return_failures_per_address = limiter.shared_limit(
    _return_rate, scope="return-code-address", exempt_when=_blank_return_form, deduct_when=_return_failed)
_return_failures_per_code = limiter.shared_limit(
    _return_code_rate, scope="return-code-code", key_func=_return_code_key,
    exempt_when=_blank_return_form, deduct_when=_return_failed)


@limiter.request_filter
def _showing_the_checkin_form() -> bool:
    """Showing the poster's form is never limited (only submitting it is): the limiter then
    does no work at all on the busiest page of the evening's first minutes."""
    return request.endpoint == "attendee.check_in" and request.method in ("GET", "HEAD")


@bp.route("/c/<slug>/<key>", methods=["GET", "POST"])
@limiter.limit(_checkin_rate, key_func=_form_key, methods=["POST"])
@limiter.limit(_checkin_address_rate, methods=["POST"])
def check_in(slug: str, key: str):
    """The poster's link: a short form, then you're in."""
    return _check_in(slug, key)


#: The check-in form's session was gone when it came back (a phone that closed the browser
#: while its owner typed, cookies cleared): nothing is wrong with the answers.
SESSION_GONE = ("This page was open a while, so we couldn't take it just yet. Your answers are "
                "still here: tap Check in again.")
CLOSED_WHILE_TYPING = ("Check-in closed while you were filling this in, so you're not checked in "
                       "yet. Your answers are still here: ask the organiser to open check-in again "
                       "(or to check you in at the door), then tap Check in.")


@bp.errorhandler(CSRFError)
def _csrf_refused(error):
    """A check-in form sent after its session was gone comes back with its answers, not as
    an error page; any other form gets the usual answer."""
    if request.endpoint == "attendee.check_in" and request.method == "POST" and not wants_json():
        return _check_in(**request.view_args, session_gone=True)
    return csrf_refused()


def _check_in(slug: str, key: str, session_gone: bool = False):
    try:
        event = checkin.open_checkin(db.session, slug, key)
    except CheckInKeyInvalid as error:
        known = getattr(error, "event", None)
        if known and device.attendee_for(known)[0]:
            return redirect(url_for("attendee.home", slug=known.slug))
        return render_template("attendee/checkin_invalid.html", event=known, typed=typed_fields()), 404
    except CheckInClosed as error:
        if device.attendee_for(error.event)[0]:
            return redirect(url_for("attendee.home", slug=error.event.slug))
        if request.method == "POST":
            return _closed_while_typing(error.event)
        return render_template("attendee/checkin_closed.html", event=error.event), 403
    here = device.attendee_for(event)[0]
    if here is not None:
        return render_template("attendee/already.html", event=event, me=here)
    secret = current_app.config["SECRET_KEY"]
    binding = device.form_binding()
    if request.method == "GET":
        return _checkin_form(event, {}, {}, binding, 200)
    if session_gone:
        return _checkin_form(event, request.form, {"form": SESSION_GONE}, binding, 400)
    form_token = request.form.get("form_token", "")
    try:
        done = checkin.check_in_from_form(
            db.session, event, request.form, form_token, secret, binding,
            device_label=device.new_device_label())
    except checkin.FormExpired as error:
        # Another phone's form (or one this browser can no longer prove is its own): a fresh
        # form, what was typed kept, and nobody's identity.
        return _checkin_form(event, request.form, error.errors, binding, 422)
    except ValidationFailed as error:
        return render_template("attendee/checkin.html", event=event, values=request.form,
                               errors=error.errors, form_token=form_token), 422
    except CheckInClosed:  # closed in the instant between opening and saving
        return _closed_while_typing(event)
    response = redirect(url_for("attendee.home", slug=event.slug, welcome=1))
    return device.remember(response, done.attendee, done.code, done.credential, made=done.device_made)


def _closed_while_typing(event):
    """Check-in closed (or isn't open yet) while this form was filled in: the form again,
    answers and form token kept, so tapping Check in once it is open lands on one attendee."""
    if event.checkin_mode == "auto" and clock.now() < event.checkin_opens_at:
        message = (f"Check-in opens {format_local(event.checkin_opens_at, event.zone)}. "
                   "Your answers are still here: tap Check in then.")
    else:
        message = CLOSED_WHILE_TYPING
    return render_template("attendee/checkin.html", event=event, values=request.form,
                           errors={"form": message}, form_token=request.form.get("form_token", "")), 403


def _checkin_form(event, values, errors, binding: str | None, status: int):
    """A new check-in form, its token bound to this browser's form cookie (made when missing)."""
    binding = binding or device.new_form_binding()
    form_token = checkin.new_form_token(current_app.config["SECRET_KEY"], binding)
    page = render_template("attendee/checkin.html", event=event, values=values, errors=errors,
                           form_token=form_token)
    return device.bind_form(make_response(page, status), binding)


@bp.get("/e/<slug>")
def home(slug: str):
    """An attendee's page for one event: my three, who chose me, my codes."""
    event, me = _me(slug)
    code = device.codes()[str(event.id)]
    shown = home_page.read(db.session, me)
    page = render_template(
        "attendee/home.html",
        event=event,
        me=me,
        three=shown.three,
        chose_me=shown.chose_me,
        prompt=shown.prompt,
        unread=shown.unread,
        reminder_when=followup.prompt_when(event),
        vapid_key=push_key(),
        limit=picks.LIMIT,
        code=code,
        return_link=public_url(url_for("attendee.return_link", code=code)),
        welcome=request.args.get("welcome") == "1",
        undo=_undoable(me, request.args.get("removed")),
        new_code=request.args.get("code") == "new",
    )
    device.seen()
    return device.save_cookie(make_response(page))


@bp.post("/e/<slug>/leave")
def leave(slug: str):
    """Leave the event: others no longer see me in who's here."""
    event, me = _me(slug)
    checkin.leave(db.session, me)
    flash("You've left: people no longer see you in who's here. Your three and notes stay.", "info")
    return redirect(url_for("attendee.home", slug=event.slug))


@bp.post("/e/<slug>/rejoin")
def rejoin(slug: str):
    """Come back after leaving."""
    event, me = _me(slug)
    checkin.rejoin(db.session, me)
    flash("Welcome back — you're in who's here again.", "success")
    return redirect(url_for("attendee.home", slug=event.slug))


@bp.get("/e/<slug>/people")
def who(slug: str):
    """Who's here: everyone checked in, searchable, a page at a time."""
    event, me = _me(slug)
    query = request.args.get("q", "")
    page = people.search(db.session, event.id, query,
                         page=min(max(1, request.args.get("page", 1, type=int) or 1), 10_000),
                         exclude_id=me.id, counted=_kept_total(event, me, query))
    chosen = page.chosen if page.chosen is not None else len(picks.picked_ids(db.session, me))
    return render_template("attendee/people.html", event=event, me=me, result=page,
                           chosen=chosen, limit=picks.LIMIT)


def _kept_total(event, me, query: str) -> int | None:
    """How many others who's here counts for `query`, from a count this server process keeps
    for WHO_TOTAL_CACHE_SECONDS per event and search (the same for every reader, less the
    reader when they are in it); None when nothing is kept (the page then counts)."""
    seconds = current_app.config["WHO_TOTAL_CACHE_SECONDS"]
    if seconds <= 0:
        return None
    kept = current_app.extensions.setdefault("eventmate.who_totals", Kept())
    return people.others_count(db.session, event, me, query, kept, seconds)


@bp.post("/e/<slug>/picks")
def add_pick(slug: str):
    """Add someone to my three."""
    event, me = _me(slug)
    person_id = _int(request.form.get("person"))
    if "client_id" in request.form:
        return _change(event, me, "pick", person_id)
    try:
        chosen = picks.pick(db.session, me, person_id)
    except PickLimitReached as error:
        person = picks.by_id_in_event(db.session, me, person_id)
        return render_template("attendee/swap.html", event=event, me=me, person=person,
                               three=picks.my_three(db.session, me), message=error.message), 409
    except DomainError as error:
        return render_template("attendee/pick_problem.html", event=event, message=error.message), error.status
    flash(f"{chosen.picked.name} is one of your three.", "success")
    return redirect(_back(event))


@bp.post("/e/<slug>/picks/swap")
def swap_pick(slug: str):
    """Swap one of my three for someone new."""
    event, me = _me(slug)
    if "client_id" in request.form:
        return _change(event, me, "swap", _int(request.form.get("person")), _int(request.form.get("drop")))
    try:
        chosen = picks.swap(db.session, me, _int(request.form.get("drop")), _int(request.form.get("person")))
    except DomainError as error:
        return render_template("attendee/pick_problem.html", event=event, message=error.message), error.status
    flash(f"Swapped — {chosen.picked.name} is one of your three now.", "success")
    return redirect(url_for("attendee.home", slug=event.slug))


@bp.post("/e/<slug>/picks/<id:person_id>/remove")
def remove_pick(slug: str, person_id: int):
    """Drop someone from my three (my notes about them are kept)."""
    event, me = _me(slug)
    if "client_id" in request.form:
        return _change(event, me, "unpick", person_id)
    picks.unpick(db.session, me, person_id)
    after, undo = _after_remove(event, person_id)
    if not undo:  # home offers an Undo, which says it
        flash(REMOVED, "info")
    return redirect(after)


REMOVED = "Removed from your three. Your notes are kept in case you change your mind."


def _after_remove(event, person_id: int) -> tuple[str, bool]:
    """Where to go after removing someone, and whether that page offers an Undo."""
    back = _back(event)
    if back == url_for("attendee.home", slug=event.slug):
        return url_for("attendee.home", slug=event.slug, removed=person_id), True
    return back, False


def _change(event, me, kind: str, person_id: int, drop_id: int | None = None):
    """A change sent with the page's client id (a tap, or the phone's outbox sending it
    later): applied once, a replay answered alike (`pick_changes`). The page's script gets
    JSON: what was done and where the form would have gone, or the refusal in CONTRACT's
    shape. A plain form gets what it always got — the swap chooser for a fourth pick too."""
    try:
        outcome = pick_changes.apply(db.session, me, request.form.get("client_id", ""), kind,
                                     person_id, drop_id)
    except ValidationFailed as error:
        return error_response(422, error.code, " ".join(error.errors.values()))
    if not wants_json():  # the next page tells the phone's outbox this one arrived
        flash(request.form["client_id"].lower(), "outbox-answered")
    if not outcome.done:
        if wants_json():
            return jsonify(**outcome.body, replay=outcome.is_replay), outcome.status
        if outcome.body["error"] == PickLimitReached.code and kind == "pick":
            person = picks.by_id_in_event(db.session, me, person_id)
            return render_template("attendee/swap.html", event=event, me=me, person=person,
                                   three=picks.my_three(db.session, me),
                                   message=outcome.body["message"]), outcome.status
        return render_template("attendee/pick_problem.html", event=event,
                               message=outcome.body["message"]), outcome.status
    if kind == "unpick":
        message, category = REMOVED, "info"
        after, undo = _after_remove(event, person_id)
    else:
        name = picks.by_id_in_event(db.session, me, person_id).name
        category, undo = "success", False
        if kind == "pick":
            message, after = f"{name} is one of your three.", _back(event)
        else:
            message = f"Swapped — {name} is one of your three now."
            after = url_for("attendee.home", slug=event.slug)
    if not undo and (not wants_json() or request.form.get("flash") == "1"):
        flash(message, category)  # the page's script asks for it when it goes on to `next`
    if wants_json():
        return jsonify(**outcome.body, message=message, next=after, replay=outcome.is_replay)
    return redirect(after)


@bp.get("/e/<slug>/csrf")
def fresh_csrf(slug: str):
    """A fresh CSRF token for the phone's outbox to send its queued changes with: a token
    rotated while they waited (signed in or out on this phone) never strands one."""
    _me(slug)
    response = jsonify(csrf_token=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response


def _undoable(me, removed: str | None):
    """The person just removed from my three, if choosing them again is still possible."""
    if not removed or not removed.isascii() or not removed.isdigit() or len(removed) > 9:
        return None
    try:
        person = picks.by_id_in_event(db.session, me, int(removed))
    except NotFound:
        return None
    if not person.is_here or me.three_fixed_at is not None or picks.is_picked(db.session, me, person.id):
        return None
    return person


def _back(event) -> str:
    """Where to go after a pick: back to the list the person came from, else home."""
    target = same_site_path(request.form.get("next"), prefix=f"/e/{event.slug}")
    return target or url_for("attendee.home", slug=event.slug)


NOT_IN_THREE = "They're not one of your three any more, so notes about them can't be saved here."
CONFLICT = ("This changed on another screen while you were writing, so we kept both: "
            "yours is in the box, the other version is just below it.")


@bp.route("/e/<slug>/notes/<id:person_id>", methods=["GET", "POST"])
def person_notes(slug: str, person_id: int):
    """My private listening notes about one of my three.

    A save merges per field (`notes.save`). The page's script asks for JSON: the answer is
    `{"saved": true, ...}`, or CONTRACT's error shape, with both versions on a conflict (409).
    """
    event, me = _me(slug)
    if not picks.is_picked(db.session, me, person_id):
        raise NotFound(NOT_IN_THREE if request.method == "POST" else None)
    person = notes.subject_for(db.session, me, person_id)
    if request.method == "GET":
        note = notes.note_about(db.session, me, person.id)
        values = notes.values_of(note)
        return _notes_page(event, person, values, values, {}, note, 200)
    client_id = request.form.get("client_id", "")
    sent_base = {name: request.form.get(notes.BASE + name, "") for name in notes.FIELDS}
    try:
        result = notes.save(db.session, me, person.id, request.form, client_id)
    except ValidationFailed as error:
        if wants_json():
            return jsonify(error=error.code, message=" ".join(error.errors.values()),
                           fields=error.errors), 422
        return _notes_page(event, person, request.form, sent_base, error.errors, None, 422,
                           client_id=client_id)
    except ClientIdReused as error:
        if wants_json():
            return jsonify(error=error.code, message=error.message), 409
        return _notes_page(event, person, request.form, sent_base, {"form": error.message}, None, 409)
    saved_at = format_local(result.saved_at, event.zone, "%H:%M")
    if result.conflicts:
        if wants_json():
            return jsonify(error="note_conflict", message=CONFLICT, conflicts=result.conflicts,
                           values=result.saved, saved_at=saved_at), 409
        # The form again: my text in the boxes, the other version beside each; its base is
        # now that version, so saving again keeps mine, knowingly.
        errors = {name: _other_version(c["theirs"]) for name, c in result.conflicts.items()}
        base = {**sent_base, **result.saved, **{n: c["theirs"] for n, c in result.conflicts.items()}}
        return _notes_page(event, person, request.form, base, errors, result.note, 409)
    if wants_json():  # the page's autosave
        return jsonify(saved=True, saved_at=saved_at, values=result.saved)
    flash(f"Notes about {person.name} saved. Only you can see them.", "success")
    return redirect(url_for("attendee.home", slug=event.slug))


def _other_version(theirs: str) -> str:
    if not theirs:
        return "Another screen cleared this while you were writing. Save again to keep yours."
    return (f"Another screen changed this while you were writing. It now says: “{theirs}” "
            "Save again to keep yours instead, or copy what you need from it.")


def _notes_page(event, person, values, base, errors, note, status, client_id=None):
    """The notes form: each box with the value it is based on, and a fresh save id."""
    return render_template("attendee/notes.html", event=event, person=person, values=values, base=base,
                           errors=errors, client_id=client_id or str(uuid.uuid4()), prompts=notes.PROMPTS,
                           note=note, max_len=notes.MAX_LEN), status


@bp.get("/e/<slug>/qr")
def my_qr(slug: str):
    """My personal "pick me" code, big enough to scan across a table."""
    event, me = _me(slug)
    url = public_url(url_for("attendee.pick_me", token=me.pickme_token))
    return render_template("attendee/qr.html", event=event, me=me, url=url,
                           qr_svg=qr.inline_svg(url, title=f"Pick-me code for {me.name}"))


@bp.get("/p/<token>")
def pick_me(token: str):
    """Someone scanned a personal code: offer to add that person to the scanner's three."""
    person = picks.by_pickme_token(db.session, token)
    me, _code = device.attendee_for(person.event)
    if me is None:
        return render_template("attendee/pickme_elsewhere.html", person=person,
                               checked_in_elsewhere=bool(device.codes())), 403
    if me.id == person.id:
        return render_template("attendee/pick_problem.html", event=person.event,
                               message="That's your own code — show it to someone else so they can pick you.")
    mine = picks.picked_ids(db.session, me)
    return render_template("attendee/pickme.html", event=person.event, person=person, me=me,
                           already=person.id in mine, full=len(mine) >= picks.LIMIT)


@bp.get("/r/<code>")
@_return_failures_per_address
@_return_failures_per_code
def return_link(code: str):
    """A personal return link. It asks before switching this device to that person, so a
    link planted on someone else's page cannot quietly swap who they are here.

    Showing the confirmation is the success here (it names the person): a link that matches
    no one is the failure that counts towards the limits."""
    try:
        attendee = checkin.attendee_by_code(db.session, code)
    except ReturnCodeInvalid as error:
        return _refused_code(error, 404, "")
    current = device.attendee_for(attendee.event)[0]
    return render_template("attendee/return_confirm.html", attendee=attendee,
                           code=tokens.normalise_code(code),
                           replaces=current if current is not None and current.id != attendee.id else None)


@bp.route("/return", methods=["GET", "POST"])
@_return_failures_per_address
@_return_failures_per_code
def return_code():
    """Type a return code to get back in on another device or the installed app."""
    if request.method == "GET":
        return render_template("attendee/return.html", values={}, errors={})
    typed = request.form.get("code", "")
    try:
        attendee = checkin.attendee_by_code(db.session, typed)
    except ReturnCodeInvalid as error:
        return _refused_code(error, 422, typed)
    return _sign_in(attendee, typed)


def _sign_in(attendee, code: str):
    response = redirect(url_for("attendee.home", slug=attendee.event.slug))
    return device.remember(response, attendee, tokens.normalise_code(code))

