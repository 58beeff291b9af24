"""Organiser accounts and invitations."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from . import clock, tokens
from .database import reading
from .errors import (
    BadCredentials,
    DomainError,
    EmailTaken,
    InvitationInvalid,
    NotFound,
    SignupClosed,
    ValidationFailed,
)
from .models import CoOrganiser, Event, Invitation, Organiser, PasswordReset
from .validation import Fields

log = logging.getLogger("eventmate.actions")

MIN_PASSWORD = 10
MAX_PASSWORD = 200
INVITATION_LIFETIME = timedelta(days=7)
RESET_LIFETIME = timedelta(hours=1)
#: Checked against when the email is unknown, so a wrong email costs as much as a wrong
#: password: one per hashing method (see `_method`), made when first needed.
_DUMMY_HASHES: dict[str, str] = {}


def _method() -> str:
    """How passwords are hashed (config.py: scrypt; the test suite picks a cheap method)."""
    return current_app.config["PASSWORD_HASH_METHOD"]


def _hash(password: str) -> str:
    return generate_password_hash(password, method=_method())


def _dummy_hash() -> str:
    method = _method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


def has_organisers(session) -> bool:
    return session.scalar(sa.select(sa.exists().where(Organiser.id.isnot(None)))) or False


def first_signup_open(session) -> bool:
    """Is the free first sign-up still there? Yes until someone holds it (the founder): the
    demo organiser (`flask demo`) never does, so trying the demo first keeps it open."""
    return not session.scalar(sa.select(sa.exists().where(Organiser.is_founder.is_(True))))


class ResetLinkInvalid(DomainError):
    code = "reset_link_invalid"
    status = 403
    message = ("This password reset link has expired or was already used. "
               "Ask for a new one from the log-in page.")


def _check_password(fields: Fields, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        fields.error(name, f"Please choose a password of at least {MIN_PASSWORD} characters.")
    elif len(password) > MAX_PASSWORD:
        fields.error(name, f"Please keep the password under {MAX_PASSWORD} characters.")


def _read_credentials(data: dict) -> tuple[str, str]:
    fields = Fields(data)
    email = fields.email("email", required=True)
    password = data.get("password") or ""
    _check_password(fields, "password", password)
    if fields.errors:
        raise ValidationFailed(fields.errors)
    return email, password


def _read_new_password(data: dict, fields: Fields | None = None) -> str:
    """`new_password` and `new_password_again`, checked like a sign-up's password."""
    fields = fields or Fields(data)
    password = data.get("new_password") or ""
    _check_password(fields, "new_password", password)
    if "new_password" not in fields.errors and password != (data.get("new_password_again") or ""):
        fields.error("new_password_again", "The two new passwords aren't the same. Please type it again.")
    if fields.errors:
        raise ValidationFailed(fields.errors)
    return password


def _insert_organiser(session, email: str, password: str, *, founder: bool) -> Organiser:
    organiser = Organiser(
        email=email,
        password_hash=_hash(password),
        created_at=clock.now(),
        is_founder=founder,
    )
    session.add(organiser)
    session.flush()
    return organiser


def _email_taken(session, email: str) -> bool:
    return session.scalar(sa.select(sa.exists().where(Organiser.email == email))) or False


def create_organiser(session, data: dict, *, may_found: bool = True) -> Organiser:
    """Create an organiser account from `email` and `password`. No invitation check.

    While the first sign-up is open the account takes it (becomes the founder), so the open
    sign-up closes behind it — unless `may_found` is false (the demo organiser).
    """
    email, password = _read_credentials(data)
    for founder in ((True, False) if may_found and first_signup_open(session) else (False,)):
        try:
            organiser = _insert_organiser(session, email, password, founder=founder)
            break
        except IntegrityError:
            session.rollback()
            if _email_taken(session, email):
                raise EmailTaken(field="email") from None
            # Someone else became the founder meanwhile: this account is an ordinary one.
    else:
        raise EmailTaken(field="email")
    log.info("organiser created: organiser=%s", organiser.id)
    return organiser


def sign_up(session, data: dict, invitation_token: str | None = None) -> Organiser:
    """Sign up: open to the very first organiser, by invitation after that.

    "The first" is held by the database (at most one founder row), so sign-ups racing on
    an empty install get one account and clear refusals.
    """
    invitation = None
    if invitation_token:
        invitation = find_open_invitation(session, invitation_token)
        organiser = create_organiser(session, data)
    else:
        if not first_signup_open(session):
            raise SignupClosed()
        email, password = _read_credentials(data)
        try:
            organiser = _insert_organiser(session, email, password, founder=True)
        except IntegrityError:
            # Another first sign-up got in between: it is the founder, this one needs an invitation.
            session.rollback()
            raise SignupClosed() from None
        log.info("organiser created: organiser=%s founder", organiser.id)
    if invitation is not None:
        # Single use, even when two people press "sign up" on the same link at once.
        claimed = session.execute(
            sa.update(Invitation)
            .where(
                Invitation.id == invitation.id,
                Invitation.used_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > clock.now(),
            )
            .values(used_at=clock.now(), used_by_id=organiser.id)
        ).rowcount
        if claimed != 1:
            session.rollback()
            raise InvitationInvalid()
        if invitation.event_id is not None:
            session.add(CoOrganiser(event_id=invitation.event_id, organiser_id=organiser.id,
                                    created_at=clock.now()))
            log.info("co-organiser added: event=%s organiser=%s (invited)", invitation.event_id, organiser.id)
    session.commit()
    return organiser


def authenticate(session, email: str, password: str) -> Organiser:
    """Return the organiser for these credentials or raise BadCredentials.

    The account is read in a transaction of its own that is over before the password hash
    is checked (tens of milliseconds by design): on SQLite a log-in's POST would otherwise
    hold the write lock all that time, and every check-in would wait behind it.
    """
    email = (email or "").strip().casefold()
    with reading(session):
        organiser = session.scalar(sa.select(Organiser).where(Organiser.email == email))
    if organiser is None:
        check_password_hash(_dummy_hash(), password or "")
        raise BadCredentials()
    if not check_password_hash(organiser.password_hash, password or ""):
        raise BadCredentials()
    log.info("organiser logged in: organiser=%s", organiser.id)
    return organiser


def change_password(session, organiser: Organiser, data: dict) -> None:
    """Set a new password after checking the current one; every other session ends."""
    fields = Fields(data)
    if not check_password_hash(organiser.password_hash, data.get("current_password") or ""):
        fields.error("current_password", "That isn't your current password.")
    password = _read_new_password(data, fields)
    _set_password(session, organiser, password)
    session.commit()
    log.info("organiser changed password: organiser=%s", organiser.id)


def _set_password(session, organiser: Organiser, password: str) -> None:
    organiser.password_hash = _hash(password)
    end_sessions(session, organiser, commit=False)
    # A new password also retires every reset link still in someone's inbox.
    session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.organiser_id == organiser.id, PasswordReset.used_at.is_(None))
        .values(used_at=clock.now())
    )


def end_sessions(session, organiser: Organiser, *, commit: bool = True) -> None:
    """Every session cookie issued so far stops working (log-out, new password)."""
    session.execute(
        sa.update(Organiser)
        .where(Organiser.id == organiser.id)
        .values(session_version=Organiser.session_version + 1)
    )
    session.refresh(organiser, ["session_version"])
    if commit:
        session.commit()


def request_password_reset(session, email: str) -> tuple[Organiser, str] | None:
    """A reset link for the organiser with this email: (organiser, token), or None.

    Callers answer the same either way, so the page never tells who has an account.
    """
    email = (email or "").strip().casefold()
    organiser = session.scalar(sa.select(Organiser).where(Organiser.email == email)) if email else None
    if organiser is None:
        return None
    token = tokens.url_token()
    now = clock.now()
    session.add(PasswordReset(token_hash=tokens.digest(token), organiser_id=organiser.id,
                              created_at=now, expires_at=now + RESET_LIFETIME))
    session.commit()
    log.info("password reset requested: organiser=%s", organiser.id)
    return organiser, token


def find_open_reset(session, token: str) -> PasswordReset:
    reset = session.scalar(
        sa.select(PasswordReset).where(PasswordReset.token_hash == tokens.digest(token or ""))
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= clock.now():
        raise ResetLinkInvalid()
    return reset


def reset_password(session, token: str, data: dict) -> Organiser:
    """Use a reset link: a new password, every session ended, the link spent."""
    reset = find_open_reset(session, token)
    password = _read_new_password(data)
    # Single use, even when the link is opened twice and both forms are sent at once.
    claimed = session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None),
               PasswordReset.expires_at > clock.now())
        .values(used_at=clock.now())
    ).rowcount
    if claimed != 1:
        session.rollback()
        raise ResetLinkInvalid()
    organiser = session.get(Organiser, reset.organiser_id)
    _set_password(session, organiser, password)
    session.commit()
    log.info("password reset: organiser=%s", organiser.id)
    return organiser


def create_invitation(session, organiser: Organiser, event_id: int | None = None) -> tuple[Invitation, str]:
    """Make a single-use invitation; returns it and the token for the link (shown once). With
    `event_id`, whoever signs up with it runs that event too (a co-organiser)."""
    token = tokens.url_token()
    now = clock.now()
    invitation = Invitation(
        token_hash=tokens.digest(token),
        created_by_id=organiser.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
        event_id=event_id,
    )
    session.add(invitation)
    session.commit()
    log.info("invitation created: organiser=%s invitation=%s", organiser.id, invitation.id)
    return invitation, token


def find_open_invitation(session, token: str) -> Invitation:
    invitation = session.scalar(
        sa.select(Invitation).where(Invitation.token_hash == tokens.digest(token or ""))
    )
    if invitation is None or invitation.state(clock.now()) != "open":
        raise InvitationInvalid()
    return invitation


def list_invitations(session, organiser: Organiser) -> list[Invitation]:
    return list(
        session.scalars(
            sa.select(Invitation)
            .where(Invitation.created_by_id == organiser.id)
            .order_by(Invitation.created_at.desc())
        )
    )


def time_zone(session, organiser: Organiser) -> str:
    """The time zone an organiser's own dates (invitations) are shown in: that of their latest
    event; UTC until they have one."""
    latest = sa.select(Event.timezone).where(Event.organiser_id == organiser.id)
    return session.scalar(latest.order_by(Event.starts_at.desc()).limit(1)) or "UTC"


def revoke_invitation(session, organiser: Organiser, invitation_id: int) -> None:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.created_by_id != organiser.id:
        raise NotFound()
    if invitation.used_at is None and invitation.revoked_at is None:
        invitation.revoked_at = clock.now()
        session.commit()
        log.info("invitation revoked: organiser=%s invitation=%s", organiser.id, invitation.id)
