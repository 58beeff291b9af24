"""Domain errors. Each carries a stable `code`; views turn them into pages or JSON."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule said no. `code` is stable; `message` is for people."""

    code = "error"
    status = 400
    message = "Something was not right."

    def __init__(self, message: str | None = None, *, field: str | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.field = field


class ValidationFailed(DomainError):
    """Input that does not fit; `errors` maps a field name to its message."""

    code = "invalid"
    status = 422
    message = "Please check the highlighted fields."

    def __init__(self, errors: dict[str, str]):
        super().__init__(self.message)
        self.errors = errors


class NotFound(DomainError):
    code = "not_found"
    status = 404
    message = "We couldn't find that."


class EmailTaken(DomainError):
    code = "email_taken"
    status = 409
    message = "There is already an organiser with that email."


class BadCredentials(DomainError):
    code = "bad_credentials"
    status = 401
    message = "That email and password don't match. Please try again."


class InvitationInvalid(DomainError):
    code = "invitation_invalid"
    status = 403
    message = "This invitation link has expired, been used, or been withdrawn."


class SignupClosed(DomainError):
    code = "signup_closed"
    status = 403
    message = "New organisers need an invitation from an existing organiser."


class CheckInKeyInvalid(DomainError):
    code = "checkin_key_invalid"
    status = 404
    message = "This code is no longer valid — please ask the organiser."


class CheckInClosed(DomainError):
    code = "checkin_closed"
    status = 403
    message = "Check-in for this event is closed."


class ReturnCodeInvalid(DomainError):
    code = "return_code_invalid"
    status = 404
    message = "That code doesn't match anyone. Please check it and try again."


class PickLimitReached(DomainError):
    code = "pick_limit"
    status = 409
    message = "You've already chosen three people. Swap one out to add someone new."


class PickSelf(DomainError):
    code = "pick_self"
    status = 400
    message = "That's you! Choose someone you'd like to get to know."


class PickNotHere(DomainError):
    code = "pick_not_here"
    status = 409
    message = "That person isn't checked in at this event right now."


class PickOtherEvent(DomainError):
    code = "pick_other_event"
    status = 404
    message = "That person is at a different event."


class PicksFixed(DomainError):
    code = "picks_fixed"
    status = 409
    message = "This morning's follow-up has gone out, so your three are set for this event."


class SlowDown(DomainError):
    """Too many notes or invitations in a short time (a guard against spam, not people)."""

    code = "slow_down"
    status = 429
    message = "You've sent a lot in the last hour. Take a breather and try again a little later."


class CannotWrite(DomainError):
    code = "cannot_write"
    status = 403
    message = "You can write to the people you chose, the people who chose you, and anyone who wrote to you."


class TheyDeleted(CannotWrite):
    code = "deleted"
    status = 410
    message = ("They deleted their details from EventMate, so notes and invitations can't reach them. "
               "Your notes about them stay yours.")


class CoffeeChanged(DomainError):
    """The invitation moved on (the other person answered first): show what it says now."""

    code = "coffee_changed"
    status = 409
    message = "This invitation changed while you were looking. Here's where it stands now."


class ClientIdReused(DomainError):
    """A save id already used for a different change: never taken for a replay."""

    code = "client_id_reused"
    status = 409
    message = ("This save arrived with the id of an earlier, different save, so we didn't keep it. "
               "Your text is still here: edit it or reload the page, and it will save.")
