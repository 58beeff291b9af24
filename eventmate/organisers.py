"""Organiser accounts and invitations."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from . import clock, tokens
from .errors import (
    BadCredentials,
    EmailTaken,
    InvitationInvalid,
    NotFound,
    SignupClosed,
    ValidationFailed,
)
from .models import Invitation, Organiser
from .validation import Fields

log = logging.getLogger("eventmate.actions")

MIN_PASSWORD = 10
MAX_PASSWORD = 200
INVITATION_LIFETIME = timedelta(days=7)
# Checked against when the email is unknown, so a wrong email costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def has_organisers(session) -> bool:
    return session.scalar(sa.select(sa.exists().where(Organiser.id.isnot(None)))) or False


def _read_credentials(data: dict) -> tuple[str, str]:
    fields = Fields(data)
    email = fields.email("email", required=True)
    password = data.get("password") or ""
    if len(password) < MIN_PASSWORD:
        fields.error("password", f"Please choose a password of at least {MIN_PASSWORD} characters.")
    elif len(password) > MAX_PASSWORD:
        fields.error("password", f"Please keep the password under {MAX_PASSWORD} characters.")
    if fields.errors:
        raise ValidationFailed(fields.errors)
    return email, password


def create_organiser(session, data: dict) -> Organiser:
    """Create an organiser account from `email` and `password`. No invitation check."""
    email, password = _read_credentials(data)
    organiser = Organiser(
        email=email,
        password_hash=generate_password_hash(password),
        created_at=clock.now(),
    )
    session.add(organiser)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise EmailTaken(field="email") from None
    log.info("organiser created: organiser=%s", organiser.id)
    return organiser


def sign_up(session, data: dict, invitation_token: str | None = None) -> Organiser:
    """Sign up: open to the very first organiser, by invitation after that."""
    invitation = None
    if invitation_token:
        invitation = find_open_invitation(session, invitation_token)
    elif has_organisers(session):
        raise SignupClosed()
    organiser = create_organiser(session, data)
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
    session.commit()
    return organiser


def authenticate(session, email: str, password: str) -> Organiser:
    """Return the organiser for these credentials or raise BadCredentials."""
    email = (email or "").strip().casefold()
    organiser = session.scalar(sa.select(Organiser).where(Organiser.email == email))
    if organiser is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise BadCredentials()
    if not check_password_hash(organiser.password_hash, password or ""):
        raise BadCredentials()
    log.info("organiser logged in: organiser=%s", organiser.id)
    return organiser


def create_invitation(session, organiser: Organiser) -> tuple[Invitation, str]:
    """Make a single-use invitation; returns it and the token for the link (shown once)."""
    token = tokens.url_token()
    now = clock.now()
    invitation = Invitation(
        token_hash=tokens.digest(token),
        created_by_id=organiser.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
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


def revoke_invitation(session, organiser: Organiser, invitation_id: int) -> None:
    invitation = session.get(Invitation, invitation_id)
    if invitation is None or invitation.created_by_id != organiser.id:
        raise NotFound()
    if invitation.used_at is None and invitation.revoked_at is None:
        invitation.revoked_at = clock.now()
        session.commit()
        log.info("invitation revoked: organiser=%s invitation=%s", organiser.id, invitation.id)
