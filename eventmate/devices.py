"""Devices: each phone or browser, the attendees it holds, and its push subscriptions.

A device is known by a credential in its (signed) cookie; the database keeps only the hash.
Push subscriptions hang off the device, so one phone gets one message per attendee it holds.
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import clock, tokens
from .models import Attendee, Device, DeviceAttendee, PushSubscription
from .push import Subscription

log = logging.getLogger("eventmate.actions")

#: "Last seen" is written at most this often, so reading pages rarely writes.
SEEN_EVERY = timedelta(hours=1)
#: A subscription the browser has not shown us for this long is dropped (WebKit may keep
#: answering 200 for a dead one).
SUBSCRIPTION_LIFETIME = timedelta(days=60)


_BY_CREDENTIAL = sa.select(Device).where(Device.credential_hash == sa.bindparam("hash"))


def find(session, credential: str | None) -> Device | None:
    if not credential:
        return None
    return session.scalar(_BY_CREDENTIAL, {"hash": tokens.digest(credential)})


_BROWSERS = (("Edg/", "Edge"), ("SamsungBrowser/", "Samsung Internet"), ("OPR/", "Opera"),
             ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))
_SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
            ("Macintosh", "Mac"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def describe(user_agent: str | None) -> str:
    """A name a person recognises for a device: "Chrome on Android", "Safari on iPhone".

    Only a hint for the device list (a User-Agent says what it likes); "A browser" when
    nothing is recognised.
    """
    agent = (user_agent or "")[:512]
    browser = next((name for token, name in _BROWSERS if token in agent), None)
    system = next((name for token, name in _SYSTEMS if re.search(re.escape(token), agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or (f"A browser on {system}" if system else "A browser")


_NEW_DEVICE = sa.insert(Device.__table__).returning(Device.__table__.c.id)
_NEW_DEVICE_LINK = sa.insert(DeviceAttendee.__table__)


def add_new(session, credential: str, attendee_id: int, label: str, now: datetime) -> int:
    """A brand-new device (its credential just made, so no row can hold it yet) holding one
    attendee, inside the caller's transaction: two Core inserts, no lookup, no commit (a new
    phone's check-in, `checkin.check_in_from_form`). Returns the device's id."""
    device_id = session.execute(_NEW_DEVICE, {
        "credential_hash": tokens.digest(credential), "created_at": now, "last_seen_at": now,
        "label": label[:60]}).scalar_one()
    session.execute(_NEW_DEVICE_LINK, {"device_id": device_id, "attendee_id": attendee_id, "created_at": now})
    return device_id


def attach(session, credential: str, attendees: list[Attendee], label: str = "") -> Device:
    """The device with this credential (created when new), holding these attendees. Commits.

    Two racing requests with the same credential (a double-tapped check-in) end on one row.
    """
    now = clock.now()
    device = find(session, credential)
    if device is None:
        device = Device(credential_hash=tokens.digest(credential), created_at=now, last_seen_at=now,
                        label=label[:60])
        try:
            with session.begin_nested():
                session.add(device)
        except IntegrityError:
            device = find(session, credential)
    held = set(session.scalars(
        sa.select(DeviceAttendee.attendee_id).where(DeviceAttendee.device_id == device.id)
    ))
    for attendee in attendees:
        if attendee.id in held:
            continue
        try:
            with session.begin_nested():
                session.add(DeviceAttendee(device_id=device.id, attendee_id=attendee.id, created_at=now))
        except IntegrityError:
            pass  # the racing request linked it a moment ago
    device.last_seen_at = now
    session.commit()
    return device


def holds(session, credential: str, attendee_id: int) -> bool:
    """This credential's device still holds this attendee (it was not signed out)."""
    return bool(session.scalar(sa.select(sa.exists().where(
        DeviceAttendee.attendee_id == attendee_id,
        DeviceAttendee.device_id == Device.id,
        Device.credential_hash == tokens.digest(credential),
    ))))


@dataclass(frozen=True)
class Signed:
    """One device signed in as an attendee, as their device list shows it."""

    id: int
    label: str
    signed_in_at: datetime
    last_seen_at: datetime
    this_one: bool
    push: bool


def signed_in(session, attendee: Attendee, credential: str | None) -> list[Signed]:
    """The devices holding this attendee: this one first, then the most recently seen."""
    mine = tokens.digest(credential) if credential else None
    pushes = (sa.select(PushSubscription.id).where(PushSubscription.device_id == Device.id)
              .correlate(Device).exists())
    rows = session.execute(
        sa.select(Device, DeviceAttendee.created_at, pushes)
        .join(DeviceAttendee, DeviceAttendee.device_id == Device.id)
        .where(DeviceAttendee.attendee_id == attendee.id)
        .order_by(Device.last_seen_at.desc(), Device.id.desc())
    ).all()
    found = [Signed(id=device.id, label=device.label or "A phone or browser", signed_in_at=since,
                    last_seen_at=device.last_seen_at, this_one=device.credential_hash == mine,
                    push=bool(push))
             for device, since, push in rows]
    return sorted(found, key=lambda d: not d.this_one)


def sign_out(session, attendee: Attendee, device_id: int) -> bool:
    """Sign one device out of this attendee: its cookie no longer opens them, and it gets no
    more of their notifications. A device left holding nobody is deleted with its push
    subscriptions. Commits; False when that device did not hold the attendee."""
    gone = session.execute(sa.delete(DeviceAttendee).where(
        DeviceAttendee.attendee_id == attendee.id, DeviceAttendee.device_id == device_id)).rowcount
    _drop_empty(session, [device_id])
    session.commit()
    if gone:
        log.info("device signed out: attendee=%s device=%s", attendee.id, device_id)
    return bool(gone)


def sign_out_all(session, attendee: Attendee, keep_credential: str | None = None) -> int:
    """Sign every device (but the one with `keep_credential`) out of this attendee.
    No commit: it is part of a new return code or of deleting my data."""
    keep = find(session, keep_credential) if keep_credential else None
    ids = list(session.scalars(sa.select(DeviceAttendee.device_id).where(
        DeviceAttendee.attendee_id == attendee.id,
        DeviceAttendee.device_id != (keep.id if keep else -1))))
    if ids:
        session.execute(sa.delete(DeviceAttendee).where(DeviceAttendee.attendee_id == attendee.id,
                                                        DeviceAttendee.device_id.in_(ids)))
        _drop_empty(session, ids)
    return len(ids)


def _drop_empty(session, device_ids: list[int]) -> None:
    """Delete those of these devices that hold no attendee any more (their push
    subscriptions go with them: ON DELETE CASCADE)."""
    held = sa.select(DeviceAttendee.device_id).where(DeviceAttendee.device_id == Device.id).exists()
    session.execute(sa.delete(Device).where(Device.id.in_(device_ids), ~held),
                    execution_options={"synchronize_session": False})


def due_for_touch(last_seen_at: datetime) -> bool:
    """Whether a device last seen then should be marked seen again now (hourly)."""
    return last_seen_at <= clock.now() - SEEN_EVERY


def touch(session, device: Device) -> None:
    """Record that the device is in use, at most hourly (one conditional UPDATE)."""
    now = clock.now()
    if not due_for_touch(device.last_seen_at):
        return
    session.execute(sa.update(Device).where(Device.id == device.id, Device.last_seen_at <= now - SEEN_EVERY)
                    .values(last_seen_at=now), execution_options={"synchronize_session": False})
    session.commit()


def subscribe(session, device: Device, sub: Subscription) -> bool:
    """Keep this browser's push subscription on this device; True when it is new. Commits.

    Seeing it again confirms it is alive. An endpoint known on another device moves here:
    the browser that posts it is the one that owns it.
    """
    now = clock.now()
    digest = tokens.digest(sub.endpoint)
    existing = session.scalar(sa.select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
    if existing is not None:
        existing.device_id, existing.p256dh, existing.auth = device.id, sub.p256dh, sub.auth
        existing.confirmed_at = now
        session.commit()
        return False
    row = PushSubscription(device_id=device.id, endpoint=sub.endpoint, endpoint_hash=digest,
                           p256dh=sub.p256dh, auth=sub.auth, created_at=now, confirmed_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # the same browser posted twice at once
        session.commit()
        return False
    session.commit()
    log.info("push subscribed: device=%s", device.id)
    return True


def renew(session, old_endpoint: str, old_auth: str, new: Subscription) -> bool:
    """Swap a subscription the browser replaced for its successor, on the same device."""
    old = session.scalar(sa.select(PushSubscription).where(
        PushSubscription.endpoint_hash == tokens.digest(old_endpoint)))
    if old is None or not hmac.compare_digest(old.auth.encode(), old_auth.rstrip("=").encode()):
        return False
    device = session.get(Device, old.device_id)
    session.delete(old)
    session.flush()
    subscribe(session, device, new)
    return True


def unsubscribe(session, device: Device, endpoint: str) -> bool:
    """Forget this device's subscription; True when there was one. Commits."""
    deleted = session.execute(sa.delete(PushSubscription).where(
        PushSubscription.device_id == device.id,
        PushSubscription.endpoint_hash == tokens.digest(endpoint),
    )).rowcount
    session.commit()
    if deleted:
        log.info("push unsubscribed: device=%s", device.id)
    return bool(deleted)


def subscriptions_by_attendee(session, attendee_ids: list[int]) -> dict[int, list[PushSubscription]]:
    """The same, for a batch of attendees in one query."""
    rows = session.execute(
        sa.select(DeviceAttendee.attendee_id, PushSubscription)
        .join(PushSubscription, PushSubscription.device_id == DeviceAttendee.device_id)
        .where(DeviceAttendee.attendee_id.in_(attendee_ids),
               PushSubscription.confirmed_at > clock.now() - SUBSCRIPTION_LIFETIME)
        .order_by(PushSubscription.id)
    ).all()
    found: dict[int, list[PushSubscription]] = {}
    for attendee_id, sub in rows:
        found.setdefault(attendee_id, []).append(sub)
    return found


def expire_subscriptions(session) -> int:
    """Drop subscriptions not confirmed for 60 days. Commits; returns how many."""
    deleted = session.execute(sa.delete(PushSubscription).where(
        PushSubscription.confirmed_at <= clock.now() - SUBSCRIPTION_LIFETIME
    )).rowcount
    session.commit()
    return deleted
