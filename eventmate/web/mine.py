"""Your phones and your data: the devices signed in as me, signing one out, a new return
code, downloading what I own at the event, and deleting it.

Thin views over `devices`, `checkin.new_return_code` and `mydata`.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from .. import checkin, devices, mydata
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from . import device
from .attendee import NotCheckedInHere, _int, _me, _not_checked_in, _not_found_at_event
from .templating import public_url

bp = Blueprint("mine", __name__)
bp.register_error_handler(NotCheckedInHere, _not_checked_in)
bp.register_error_handler(NotFound, _not_found_at_event)


@bp.route("/e/<slug>/you/answers", methods=["GET", "POST"])
def answers(slug: str):
    """Change my name, answers and contact details."""
    event, me = _me(slug)
    if request.method == "GET":
        values = {name: getattr(me, name) or "" for name, *_ in checkin.PROFILE_FIELDS}
        values.update(email=me.email or "", contact_consent="yes" if me.contact_consent else "")
        return render_template("attendee/answers.html", event=event, me=me, values=values, errors={})
    try:
        checkin.update_profile(db.session, me, request.form)
    except ValidationFailed as error:
        db.session.rollback()
        return render_template("attendee/answers.html", event=event, me=me, values=request.form,
                               errors=error.errors), 422
    flash("Saved. This is how others see you now.", "success")
    return redirect(url_for("attendee.home", slug=event.slug) + "#you")


@bp.get("/e/<slug>/you")
def you(slug: str):
    """The devices signed in as me, and what I can do with my data."""
    event, me = _me(slug)
    return _page(event, me)


def _page(event, me, errors: dict | None = None, status: int = 200):
    return render_template("attendee/you.html", event=event, me=me, errors=errors or {},
                           devices=devices.signed_in(db.session, me, device.credential()),
                           legacy=me.legacy_cookie_ok), status


@bp.post("/e/<slug>/you/devices/sign-out")
def sign_out(slug: str):
    """Sign one device out: this one (then the browser forgets me here) or another."""
    event, me = _me(slug)
    device_id = _int(request.form.get("device"))
    this = devices.find(db.session, device.credential())
    if not devices.sign_out(db.session, me, device_id):
        flash("That device was already signed out.", "info")
        return redirect(url_for("mine.you", slug=event.slug))
    if this is not None and this.id == device_id:
        flash(f"This phone is signed out of {event.name}. Your return code still gets you back in.", "info")
        return device.forget(redirect(url_for("attendee.return_code", signed_out=1)), event.id)
    flash("Signed out. That device no longer opens your notes.", "success")
    return redirect(url_for("mine.you", slug=event.slug))


@bp.post("/e/<slug>/you/new-code")
def new_code(slug: str):
    """A new return code: every other device is signed out, the old code opens nothing."""
    event, me = _me(slug)
    code = checkin.new_return_code(db.session, me, keep_credential=device.credential())
    flash("Here's your new code — every other phone and browser is signed out. Keep it to yourself.",
          "success")
    home = url_for("attendee.home", slug=event.slug, code="new") + "#your-code"
    return device.remember(redirect(home), me, code)


@bp.get("/e/<slug>/you/eventmate-data.json")
def download(slug: str):
    """Everything I own at this event, as JSON."""
    event, me = _me(slug)
    body = json.dumps(mydata.export(db.session, me, device.credential()), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="eventmate-{event.slug}.json"',
        "Cache-Control": "private, no-store"})


@bp.get("/e/<slug>/you/my-three.vcf")
def contacts(slug: str):
    """My three as contact cards, with only what they shared with me."""
    event, me = _me(slug)
    return Response(mydata.vcards(db.session, me), mimetype="text/vcard", headers={
        "Content-Disposition": f'attachment; filename="eventmate-{event.slug}-my-three.vcf"',
        "Cache-Control": "private, no-store"})


@bp.post("/e/<slug>/you/delete")
def delete(slug: str):
    """Delete my data at this event, after a clear yes."""
    event, me = _me(slug)
    if request.form.get("confirm") != "yes":
        return _page(event, me, {"confirm": "Tick the box to say you understand, then press Delete again."},
                     422)
    mydata.delete(db.session, me)
    page = render_template("attendee/deleted.html", event=event,
                           home=public_url(url_for("public.index")))
    return device.forget(Response(page), event.id)
