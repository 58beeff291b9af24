"""JSON endpoints the pages' scripts call: push subscriptions (CONTRACT.md)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from .. import devices, push
from ..extensions import csrf, db, limiter
from . import device

bp = Blueprint("api", __name__, url_prefix="/api")


def _error(status: int, code: str, message: str):
    return jsonify(error=code, message=message), status


def _subscription():
    """The posted PushSubscription, or a 400 answer saying what is wrong with it."""
    data = request.get_json(silent=True)
    try:
        sub = push.validate_subscription(data)
    except ValueError as error:
        return None, _error(400, "invalid_subscription", str(error))
    if push.is_loopback_endpoint(sub.endpoint) and not current_app.config.get("PUSH_ALLOW_LOOPBACK"):
        # A push service is never on this machine: don't let anyone make the worker post here.
        return None, _error(400, "invalid_subscription", "The endpoint must be an https:// address.")
    return sub, None


@bp.route("/push/subscriptions", methods=["POST", "DELETE"])
@limiter.limit("60 per minute")
def push_subscriptions():
    """Keep (POST) or forget (DELETE) this device's push subscription."""
    sub, problem = _subscription()
    if problem:
        return problem
    me = device.device_for_request()
    if me is None:
        return _error(403, "not_checked_in",
                      "Reminders are for people checked in at an event. Scan the poster first.")
    if request.method == "DELETE":
        devices.unsubscribe(db.session, me, sub.endpoint)
        response = jsonify(subscribed=False)
    else:
        created = devices.subscribe(db.session, me, sub)
        response = jsonify(subscribed=True)
        response.status_code = 201 if created else 200
    return device.save_cookie(response)


@bp.post("/push/subscriptions/renew")
@csrf.exempt  # sent by the service worker, which has no page and so no CSRF token
@limiter.limit("30 per minute")
def renew_subscription():
    """The browser replaced a subscription (`pushsubscriptionchange`). Knowing the old one's
    auth secret proves it is the same browser, so the new one joins the same device."""
    data = request.get_json(silent=True) or {}
    old = data.get("old") if isinstance(data, dict) else None
    old = old if isinstance(old, dict) else {}
    if not (isinstance(old.get("endpoint"), str) and isinstance(old.get("auth"), str)):
        return _error(400, "invalid_subscription", "Send the old subscription's endpoint and auth secret.")
    try:
        new = push.validate_subscription(data.get("new"))
    except ValueError as error:
        return _error(400, "invalid_subscription", str(error))
    if push.is_loopback_endpoint(new.endpoint) and not current_app.config.get("PUSH_ALLOW_LOOPBACK"):
        return _error(400, "invalid_subscription", "The endpoint must be an https:// address.")
    if not devices.renew(db.session, old["endpoint"], old["auth"], new):
        return _error(404, "unknown_subscription", "We don't know that subscription any more.")
    return jsonify(subscribed=True)
