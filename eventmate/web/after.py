"""The morning after: the follow-up page, the inbox, conversations, and booking a coffee.

Thin views: they read the form, call `followup`, `letters` and `coffee`, and render. A form
with a mistake comes back with what was typed and the message beside the field (422).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from .. import coffee, followup, ics, letters, picks
from ..contact import addresses
from ..errors import CannotWrite, CoffeeChanged, NotFound, SlowDown, ValidationFailed
from ..extensions import db
from .attendee import NotCheckedInHere, _me, _not_checked_in, _not_found_at_event
from .errors import wants_json
from .templating import public_url

bp = Blueprint("after", __name__)

DONE = {"accept": "Booked! Add it to your calendar below.", "decline": "Declined — we've let them know.",
        "cancel": "Called off. We've let them know."}
bp.register_error_handler(NotCheckedInHere, _not_checked_in)
bp.register_error_handler(NotFound, _not_found_at_event)


@bp.errorhandler(CannotWrite)
@bp.errorhandler(SlowDown)
def _refused(error):
    if wants_json():
        return jsonify(error=error.code, message=error.message), error.status
    slug = (request.view_args or {}).get("slug")
    event, _me_ = _me(slug)
    return render_template("attendee/pick_problem.html", event=event, message=error.message), error.status


# --- the follow-up page ----------------------------------------------------------------

@bp.get("/e/<slug>/follow-up")
def follow_up(slug: str):
    """The morning after: for each of my three, a drafted note, other ways to send it, coffee."""
    event, me = _me(slug)
    return _follow_up_page(event, me)


def _follow_up_page(event, me, failed: dict | None = None, status: int = 200):
    people = followup.my_three_for_followup(db.session, me)
    cards = []
    for p in people:
        emails, phones = addresses(p.contact)
        mine = failed if failed and failed["person"] == p.person.id else None
        cards.append({
            "p": p, "emails": emails, "phones": phones,
            "coffee": coffee.between(db.session, me, p.person.id),
            "slots": (mine or {}).get("slots") or coffee.form_values(event, coffee.default_slots(event)),
            "body": (mine or {}).get("body", p.draft),
            "errors": (mine or {}).get("errors", {}), "form": (mine or {}).get("form"),
            "client_id": (mine or {}).get("client_id") or str(uuid.uuid4()),
            "within": followup.within_window(event, p.first_at) if p.first_at else False,
        })
    return render_template("attendee/followup.html", event=event, me=me, cards=cards,
                           window_left=followup.window_left(event), max_body=letters.MAX_BODY,
                           max_place=coffee.MAX_PLACE), status


@bp.post("/e/<slug>/follow-up/<id:person_id>/send")
def send_note(slug: str, person_id: int):
    """Send my note in EventMate: once, however often the button is pressed."""
    event, me = _me(slug)
    if not picks.is_picked(db.session, me, person_id):
        raise NotFound("That person isn't one of your three.")
    try:
        letter = letters.send(db.session, me, person_id, request.form, request.form.get("client_id", ""))
    except ValidationFailed as error:
        return _follow_up_page(event, me, {"person": person_id, "form": "note", "errors": error.errors,
                                           "body": request.form.get("body", ""),
                                           "client_id": request.form.get("client_id")}, 422)
    flash(f"Sent to {letter.recipient.name}. They'll find it in their inbox.", "success")
    return redirect(url_for("after.follow_up", slug=event.slug, _anchor=f"p{person_id}"))


@bp.post("/e/<slug>/follow-up/<id:person_id>/done")
def followed_up(slug: str, person_id: int):
    """"Sent it?" — yes: I sent my note my own way (email, text, share sheet, copied)."""
    event, me = _me(slug)
    followup.mark_followed_up(db.session, me, person_id, request.form.get("channel", "confirmed"))
    flash("Nice — that's one more person who knows you were listening.", "success")
    return redirect(url_for("after.follow_up", slug=event.slug, _anchor=f"p{person_id}"))


# --- the inbox and conversations -------------------------------------------------------

@bp.get("/e/<slug>/inbox")
def inbox(slug: str):
    """Notes, replies and coffee invitations, newest first."""
    event, me = _me(slug)
    threads, muted = letters.inbox(db.session, me)
    return render_template("attendee/inbox.html", event=event, me=me, threads=threads, muted=muted,
                           unread=sum(t.unread for t in threads))


@bp.get("/e/<slug>/with/<id:person_id>")
def thread(slug: str, person_id: int):
    """Everything between me and one person: our notes, a reply, and our coffee."""
    event, me = _me(slug)
    page = _thread_page(event, me, person_id)
    letters.mark_read(db.session, me, person_id)
    return page


def _thread_page(event, me, person_id: int, failed: dict | None = None, status: int = 200):
    other = letters.other_in_event(db.session, me, person_id)
    conversation = letters.conversation(db.session, me, other.id)
    our_coffee = coffee.between(db.session, me, other.id)
    can_write = letters.may_write(db.session, me, other.id)
    if not conversation and our_coffee is None and not can_write:
        raise NotFound()
    failed = failed or {}
    slots = failed.get("slots") or coffee.form_values(event, coffee.default_slots(event))
    return render_template(
        "attendee/thread.html", event=event, me=me, other=other, letters=conversation, coffee=our_coffee,
        can_write=can_write, contact=letters.shared_contact(db.session, me, other),
        muted=letters.is_muted(db.session, me.id, other.id), slots=slots, failed=failed,
        client_id=failed.get("client_id") or str(uuid.uuid4()), max_body=letters.MAX_BODY,
        max_place=coffee.MAX_PLACE, calendar=_calendar(event, me, other, our_coffee),
    ), status


@bp.post("/e/<slug>/with/<id:person_id>/write")
def write(slug: str, person_id: int):
    """A reply (or a first note to someone who chose me)."""
    event, me = _me(slug)
    try:
        letters.send(db.session, me, person_id, request.form, request.form.get("client_id", ""))
    except ValidationFailed as error:
        return _thread_page(event, me, person_id, {"form": "note", "errors": error.errors,
                                                   "body": request.form.get("body", ""),
                                                   "client_id": request.form.get("client_id")}, 422)
    flash("Sent.", "success")
    return redirect(url_for("after.thread", slug=event.slug, person_id=person_id, _anchor="latest"))


@bp.post("/e/<slug>/with/<id:person_id>/mute")
def mute(slug: str, person_id: int):
    event, me = _me(slug)
    other = letters.mute(db.session, me, person_id)
    flash(f"Muted. You won't hear from {other.name} again in EventMate.", "info")
    return redirect(url_for("after.inbox", slug=event.slug))


@bp.post("/e/<slug>/with/<id:person_id>/unmute")
def unmute(slug: str, person_id: int):
    event, me = _me(slug)
    other = letters.unmute(db.session, me, person_id)
    flash(f"{other.name} can reach you again.", "info")
    return redirect(url_for("after.inbox", slug=event.slug))


# --- coffee ----------------------------------------------------------------------------

@bp.post("/e/<slug>/with/<id:person_id>/coffee")
def propose_coffee(slug: str, person_id: int):
    """Suggest up to three times and a place (a first invitation, other times, a new time)."""
    event, me = _me(slug)
    from_follow_up = request.form.get("from") == "follow-up"
    try:
        coffee.propose(db.session, me, person_id, request.form, request.form.get("version"))
    except ValidationFailed as error:
        failed = {"person": person_id, "form": "coffee", "errors": error.errors, "slots": request.form,
                  "place": request.form.get("place", "")}
        if from_follow_up:
            return _follow_up_page(event, me, failed, 422)
        return _thread_page(event, me, person_id, failed, 422)
    except CoffeeChanged as error:
        flash(error.message, "info")
        return redirect(url_for("after.thread", slug=event.slug, person_id=person_id, _anchor="coffee"))
    flash("Times sent. We'll let you know when they pick one.", "success")
    if from_follow_up:
        return redirect(url_for("after.follow_up", slug=event.slug, _anchor=f"p{person_id}"))
    return redirect(url_for("after.thread", slug=event.slug, person_id=person_id, _anchor="coffee"))


@bp.post("/e/<slug>/coffee/<id:coffee_id>/<any(accept, decline, cancel):action>")
def answer_coffee(slug: str, coffee_id: int, action: str):
    """Accept one of the times, decline, or call it off."""
    event, me = _me(slug)
    version = request.form.get("version")
    try:
        if action == "accept":
            row = coffee.accept(db.session, me, coffee_id, request.form.get("slot"), version)
        elif action == "decline":
            row = coffee.decline(db.session, me, coffee_id, version)
        else:
            row = coffee.cancel(db.session, me, coffee_id, version)
    except ValidationFailed as error:
        row = coffee.mine(db.session, me, coffee_id)
        return _thread_page(event, me, row.other(me.id), {"form": "answer", "errors": error.errors}, 422)
    except CoffeeChanged as error:
        row = coffee.mine(db.session, me, coffee_id)
        flash(error.message, "info")
    else:
        flash(DONE[action], "success")
    return redirect(url_for("after.thread", slug=event.slug, person_id=row.other(me.id), _anchor="coffee"))


@bp.get("/e/<slug>/coffee/<id:coffee_id>.ics")
def coffee_calendar(slug: str, coffee_id: int):
    """The calendar file: the booked coffee (or its cancellation) for my calendar."""
    event, me = _me(slug)
    row = coffee.mine(db.session, me, coffee_id)
    if row.starts_at is None:
        raise NotFound("There's no time agreed for this coffee yet.")
    other = letters.other_in_event(db.session, me, row.other(me.id))
    invite = coffee.invite(row, me, other, _thread_url(event, other))
    return Response(ics.calendar_file(invite), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="{ics.filename(other.name)}"',
                             "Cache-Control": "private, no-store"})


def _calendar(event, me, other, row) -> dict | None:
    """Links for the booked coffee: our .ics and Google Calendar."""
    if row is None or row.state != "accepted":
        return None
    invite = coffee.invite(row, me, other, _thread_url(event, other))
    return {"ics": url_for("after.coffee_calendar", slug=event.slug, coffee_id=row.id),
            "google": ics.google_calendar_link(invite)}


def _thread_url(event, other) -> str:
    return public_url(url_for("after.thread", slug=event.slug, person_id=other.id))
