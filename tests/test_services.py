"""Domain services called directly: organisers, events, check-in. Assertions on error codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from conftest import EVENING, PASSWORD, event_form, profile
from werkzeug.security import check_password_hash

from eventmate import checkin, clock, events, organisers, tokens
from eventmate.errors import DomainError, ValidationFailed
from eventmate.models import Attendee, Event, Invitation

SECRET = "test-secret"


def code_of(call) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


def new_organiser(session, email="ana@example.org"):
    organiser = organisers.create_organiser(session, {"email": email, "password": PASSWORD})
    session.commit()
    return organiser


# --- organisers ---------------------------------------------------------------------------

def test_first_organiser_signs_up_then_signup_needs_an_invitation(session):
    assert not organisers.has_organisers(session)
    first = organisers.sign_up(session, {"email": "First@Example.org", "password": PASSWORD})
    assert first.email == "first@example.org"
    # Hashed (cheaply in the suite: test_trust_auth checks the app's own scrypt).
    assert first.password_hash != PASSWORD and check_password_hash(first.password_hash, PASSWORD)
    assert code_of(lambda: organisers.sign_up(session, {"email": "b@x.org", "password": PASSWORD})) == "signup_closed"


def test_signup_validates_and_refuses_a_taken_email(session):
    with pytest.raises(ValidationFailed) as caught:
        organisers.create_organiser(session, {"email": "not-an-email", "password": "short"})
    assert set(caught.value.errors) == {"email", "password"}
    new_organiser(session)
    assert code_of(lambda: new_organiser(session, "ANA@example.org")) == "email_taken"


def test_authenticate_does_not_say_which_part_was_wrong(session):
    new_organiser(session)
    assert organisers.authenticate(session, " ANA@example.org ", PASSWORD).email == "ana@example.org"
    wrong_password = code_of(lambda: organisers.authenticate(session, "ana@example.org", "nope"))
    wrong_email = code_of(lambda: organisers.authenticate(session, "bob@example.org", PASSWORD))
    assert wrong_password == wrong_email == "bad_credentials"


def test_invitation_is_single_use(session):
    host = new_organiser(session)
    _invitation, token = organisers.create_invitation(session, host)
    guest = organisers.sign_up(session, {"email": "guest@example.org", "password": PASSWORD}, token)
    assert guest.id != host.id
    again = {"email": "third@example.org", "password": PASSWORD}
    assert code_of(lambda: organisers.sign_up(session, again, token)) == "invitation_invalid"
    assert session.scalar(sa.select(Invitation)).used_by_id == guest.id


def test_invitation_expires_after_seven_days_and_can_be_revoked(session):
    host = new_organiser(session)
    clock.set_now(EVENING)
    _inv, old_token = organisers.create_invitation(session, host)
    revoked, revoked_token = organisers.create_invitation(session, host)
    organisers.revoke_invitation(session, host, revoked.id)
    clock.set_now(EVENING + timedelta(days=7, seconds=1))
    data = {"email": "late@example.org", "password": PASSWORD}
    assert code_of(lambda: organisers.sign_up(session, data, old_token)) == "invitation_invalid"
    clock.set_now(EVENING)
    assert code_of(lambda: organisers.sign_up(session, data, revoked_token)) == "invitation_invalid"


def test_only_the_creator_can_revoke_an_invitation(session):
    host = new_organiser(session)
    other = new_organiser(session, "other@example.org")
    invitation, _token = organisers.create_invitation(session, host)
    assert code_of(lambda: organisers.revoke_invitation(session, other, invitation.id)) == "not_found"


# --- events -------------------------------------------------------------------------------

def test_create_event_stores_utc_from_local_time(session):
    owner = new_organiser(session)
    event = events.create_event(session, owner, event_form(
        timezone="Europe/Paris", starts_local="2026-05-14T19:30", ends_local="2026-05-14T23:00"))
    session.expire_all()
    stored = session.get(Event, event.id)
    assert stored.starts_at.utcoffset() == timedelta(0)
    assert stored.starts_at.hour == 17 and stored.starts_at.minute == 30  # CEST is UTC+2
    assert events.form_values(stored)["starts_local"] == "2026-05-14T19:30"
    assert stored.prompt_hour == 9 and stored.checkin_mode == "auto"
    assert len(stored.slug) == 6 and len(stored.checkin_key) == 16


@pytest.mark.parametrize(("override", "field"), [
    ({"name": ""}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"ends_local": EVENING.strftime("%Y-%m-%dT%H:%M")}, "ends_local"),
    ({"starts_local": "tomorrow-ish"}, "starts_local"),
    ({"prompt_hour": "24"}, "prompt_hour"),
    ({"prompt_hour": "nine"}, "prompt_hour"),
])
def test_event_form_mistakes_are_named_per_field(session, override, field):
    owner = new_organiser(session)
    with pytest.raises(ValidationFailed) as caught:
        events.create_event(session, owner, event_form(**override))
    assert field in caught.value.errors
    assert session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_database_refuses_an_event_that_ends_before_it_starts(session):
    owner = new_organiser(session)
    event = events.create_event(session, owner, event_form())
    event.ends_at = event.starts_at - timedelta(minutes=1)
    with pytest.raises(sa.exc.IntegrityError):
        session.commit()


def test_organiser_cannot_reach_someone_elses_event(session):
    owner = new_organiser(session)
    other = new_organiser(session, "other@example.org")
    event = events.create_event(session, owner, event_form())
    assert code_of(lambda: events.event_for_organiser(session, other, event.id)) == "not_found"
    assert code_of(lambda: events.event_for_organiser(session, other, 999_999)) == "not_found"


def test_checkin_window_and_overrides(session):
    owner = new_organiser(session)
    event = events.create_event(session, owner, event_form())
    assert not event.is_checkin_open(EVENING - timedelta(hours=2, seconds=1))
    assert event.is_checkin_open(EVENING - timedelta(hours=2))
    assert event.is_checkin_open(EVENING + timedelta(hours=5, minutes=59))
    assert not event.is_checkin_open(EVENING + timedelta(hours=6))
    events.set_checkin_mode(session, event, "closed")
    assert not event.is_checkin_open(EVENING + timedelta(hours=1))
    events.set_checkin_mode(session, event, "open")
    assert event.is_checkin_open(EVENING + timedelta(days=3))
    assert code_of(lambda: events.set_checkin_mode(session, event, "maybe")) == "invalid"


# --- check-in -----------------------------------------------------------------------------

@pytest.fixture
def open_event(session, at_the_event):
    owner = new_organiser(session)
    return events.create_event(session, owner, event_form())


def test_check_in_creates_an_attendee_with_a_working_return_code(session, open_event):
    token = checkin.new_form_token(SECRET)
    attendee, code = checkin.check_in(session, open_event, profile(email="Ana@Example.ORG"), token, SECRET)
    assert attendee.checked_in_at == clock.now()
    assert attendee.email == "ana@example.org"
    assert len(code) == 16 and attendee.return_code_hash != code
    assert checkin.attendee_by_code(session, tokens.group(code).lower()).id == attendee.id
    assert attendee.pickme_token not in (code, code.lower())


def test_double_submit_lands_on_the_same_attendee(session, open_event):
    token = checkin.new_form_token(SECRET)
    first, code1 = checkin.check_in(session, open_event, profile(), token, SECRET)
    second, code2 = checkin.check_in(session, open_event, profile(), token, SECRET)
    assert first.id == second.id and code1 == code2
    assert session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 1


def test_check_in_keeps_any_unicode(session, open_event):
    name = "Zoë Ōkubo-Ñúñez 🌱 <b>"
    attendee, _ = checkin.check_in(session, open_event, profile(name), checkin.new_form_token(SECRET), SECRET)
    session.expire_all()
    assert session.get(Attendee, attendee.id).name == name


@pytest.mark.parametrize(("override", "field"), [
    ({"name": "   "}, "name"),
    ({"what_i_do": "x" * 141}, "what_i_do"),
    ({"looking_for": ""}, "looking_for"),
    ({"how_i_help": "y" * 281}, "how_i_help"),
    ({"email": "ana at example"}, "email"),
    ({"contact": "z" * 281}, "contact"),
])
def test_check_in_mistakes_are_named_per_field(session, open_event, override, field):
    with pytest.raises(ValidationFailed) as caught:
        checkin.check_in(session, open_event, profile(**override), checkin.new_form_token(SECRET), SECRET)
    assert field in caught.value.errors
    assert session.scalar(sa.select(sa.func.count()).select_from(Attendee)) == 0


def test_check_in_refused_when_closed_or_key_rotated(session, open_event):
    old_key = open_event.checkin_key
    assert checkin.open_checkin(session, open_event.slug, old_key.upper()).id == open_event.id
    events.rotate_checkin_key(session, open_event)
    assert code_of(lambda: checkin.open_checkin(session, open_event.slug, old_key)) == "checkin_key_invalid"
    assert code_of(lambda: checkin.open_checkin(session, "nope00", old_key)) == "checkin_key_invalid"
    events.set_checkin_mode(session, open_event, "closed")
    assert code_of(lambda: checkin.open_checkin(session, open_event.slug, open_event.checkin_key)) == "checkin_closed"
    assert code_of(lambda: checkin.check_in(session, open_event, profile(), checkin.new_form_token(SECRET), SECRET)) == "checkin_closed"


def test_a_made_up_form_token_is_refused(session, open_event):
    assert code_of(lambda: checkin.check_in(session, open_event, profile(), "short", SECRET)) == "invalid"
    forged = "A" * 43  # the right shape, not our signature
    assert code_of(lambda: checkin.check_in(session, open_event, profile(), forged, SECRET)) == "invalid"
    other_secret = checkin.new_form_token("another-secret")
    assert code_of(lambda: checkin.check_in(session, open_event, profile(), other_secret, SECRET)) == "invalid"


def test_new_return_code_voids_the_old_one(session, open_event):
    attendee, old = checkin.check_in(session, open_event, profile(), checkin.new_form_token(SECRET), SECRET)
    new = checkin.new_return_code(session, attendee)
    assert checkin.attendee_by_code(session, new).id == attendee.id
    assert code_of(lambda: checkin.attendee_by_code(session, old)) == "return_code_invalid"


def test_return_code_is_scoped_to_its_event(session, open_event):
    attendee, code = checkin.check_in(session, open_event, profile(), checkin.new_form_token(SECRET), SECRET)
    other = events.create_event(session, open_event.organiser, event_form(name="Another night"))
    assert code_of(lambda: checkin.attendee_by_code(session, code, event_id=other.id)) == "return_code_invalid"
