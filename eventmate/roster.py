"""The organiser's list of an event's people: the attendee table, the door (check someone in
by hand, undo a mistaken check-in, hand over a return code), the CSV export, and the log of
what organisers did.

What an organiser sees of a person is what that person typed for everyone (name and their
three answers) and when they arrived; email and contact details only for those who ticked
the consent box at check-in. Never notes, picks or messages.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import checkin, clock, tokens
from .errors import DomainError, NotFound, ValidationFailed
from .models import Attendee, DeviceAttendee, Event, Organiser, OrganiserAction
from .people import _like, clean_query, words
from .validation import Fields

log = logging.getLogger("eventmate.actions")

PAGE_SIZE = 50
#: ?sort= → ORDER BY. Arrival order puts people not checked in yet last.
SORTS = {
    "name": (Attendee.name, Attendee.id),
    "-name": (Attendee.name.desc(), Attendee.id.desc()),
    "time": (Attendee.checked_in_at.is_(None), Attendee.checked_in_at, Attendee.id),
    "-time": (Attendee.checked_in_at.is_(None), Attendee.checked_in_at.desc(), Attendee.id.desc()),
}
DEFAULT_SORT = "-time"
#: Cells a spreadsheet would run as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("Name", "What they do", "How they can help", "Introduction they're looking for",
               "Checked in", "Email", "Contact details")


class CannotHandOver(DomainError):
    code = "uses_a_phone"
    status = 409
    message = ("They already use EventMate on a phone, so their notes are theirs alone: they can get back in "
               "with their own code (it's on their event page), or you can check them in again by hand.")


@dataclass(frozen=True)
class Table:
    people: list[Attendee]
    total: int
    page: int
    pages: int
    query: str
    sort: str
    show: str = ""


#: ?show= → which people: everyone, those checked in, imported registrations not here yet.
SHOWS = {
    "": sa.true(),
    "in": Attendee.checked_in_at.is_not(None),
    "registered": sa.and_(Attendee.imported_at.is_not(None), Attendee.checked_in_at.is_(None)),
}


def table(session, event: Event, query: str = "", sort: str = DEFAULT_SORT, page: int = 1,
          show: str = "") -> Table:
    """A page of the event's people (checked in, left, undone, or imported and not here yet;
    never the deleted), searched by every word of `query` in their name and answers. One
    query: the page and the total."""
    query = clean_query(query)
    sort = sort if sort in SORTS else DEFAULT_SORT
    show = show if show in SHOWS else ""
    page = max(1, page)
    stmt = sa.select(Attendee).where(Attendee.event_id == event.id, Attendee.deleted_at.is_(None),
                                     SHOWS[show])
    for word in words(query):
        stmt = stmt.where(Attendee.search_text.like(_like(word), escape="\\"))
    total = stmt.with_only_columns(sa.func.count(Attendee.id)).scalar_subquery()
    rows = session.execute(stmt.add_columns(total.label("total")).order_by(*SORTS[sort])
                           .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    people = [row[0] for row in rows]
    count = rows[0][1] if rows else (session.scalar(stmt.with_only_columns(sa.func.count(Attendee.id)))
                                     if page > 1 else 0)
    return Table(people=people, total=count, page=page, pages=max(1, -(-count // PAGE_SIZE)),
                 query=query, sort=sort, show=show)


def record_action(session, event: Event, organiser: Organiser, action: str,
                  attendee: Attendee | None) -> None:
    """Log an organiser's action on the event (door, export, import) in its table and the log."""
    session.add(OrganiserAction(event_id=event.id, organiser_id=organiser.id, action=action,
                                attendee_id=attendee.id if attendee else None, created_at=clock.now()))
    log.info("organiser %s: event=%s organiser=%s attendee=%s", action, event.id, organiser.id,
             attendee.id if attendee else None)


def check_in_by_hand(session, event: Event, organiser: Organiser, data: dict, door_token: str
                     ) -> tuple[Attendee, str]:
    """Check someone in at the door (no phone, a flat battery): their name and, if they like,
    what they do. Returns them and a return code to use later on a phone. The form's token
    makes a double tap one person (it answers with a fresh code for them). Commits."""
    try:
        uuid.UUID(door_token or "")
    except ValueError:
        raise ValidationFailed({"form": "This form has expired. Please fill it in again."}) from None
    fields = Fields(data)
    fields.text("name", "Their name", max_len=80)
    fields.text("what_i_do", "What they do", max_len=140, required=False)
    if fields.errors:
        raise ValidationFailed(fields.errors)
    code = tokens.random_code(checkin.RETURN_CODE_LENGTH)
    attendee = Attendee(event_id=event.id, name=fields.values["name"],
                        what_i_do=fields.values.get("what_i_do") or "", how_i_help="", looking_for="",
                        checked_in_at=clock.now(), checked_in_by_id=organiser.id,
                        checkin_token_hash=tokens.digest(f"door:{door_token}"),
                        return_code_hash=tokens.digest(code),
                        pickme_token=tokens.random_code(checkin.PICKME_LENGTH).lower())
    attendee.refresh_search_text()
    session.add(attendee)
    try:
        session.flush()
    except IntegrityError:  # the same form again: the person it made, with a fresh code
        session.rollback()
        attendee = session.scalar(sa.select(Attendee).where(
            Attendee.checkin_token_hash == tokens.digest(f"door:{door_token}")))
        if attendee is None or attendee.event_id != event.id or attendee.deleted_at is not None:
            raise ValidationFailed({"form": "This form has expired. Please fill it in again."}) from None
        return attendee, hand_over_code(session, event, organiser, attendee.id)[1]
    record_action(session, event, organiser, "door_check_in", attendee)
    session.commit()
    return attendee, code


def _attendee(session, event: Event, attendee_id: int) -> Attendee:
    attendee = session.get(Attendee, attendee_id)
    if attendee is None or attendee.event_id != event.id or attendee.deleted_at is not None:
        raise NotFound("That person isn't on this event's list.")
    return attendee


def undo(session, event: Event, organiser: Organiser, attendee_id: int) -> Attendee:
    """Undo a mistaken check-in: they leave the counts and who's here. Commits."""
    attendee = _attendee(session, event, attendee_id)
    if attendee.checked_in_at is not None:
        attendee.checked_in_at = None
        attendee.left_at = None
        record_action(session, event, organiser, "door_undo", attendee)
        session.commit()
    return attendee


def check_in_again(session, event: Event, organiser: Organiser, attendee_id: int) -> Attendee:
    """Check someone in whose check-in was undone, or an imported registration: they are then
    checked in by hand, so they can be shown a code for a phone. Commits."""
    attendee = _attendee(session, event, attendee_id)
    if attendee.checked_in_at is None:
        attendee.checked_in_at = clock.now()
        attendee.left_at = None
        if attendee.checkin_token_hash is None:  # never checked in by QR
            attendee.checked_in_by_id = organiser.id
        record_action(session, event, organiser, "door_check_in", attendee)
        session.commit()
    return attendee


def hand_over_code(session, event: Event, organiser: Organiser, attendee_id: int) -> tuple[Attendee, str]:
    """A fresh return code for someone checked in by hand, to open EventMate on a phone later.
    Never for someone who already used a phone: the code would open their private notes."""
    attendee = _attendee(session, event, attendee_id)
    on_a_phone = session.scalar(sa.select(sa.exists().where(DeviceAttendee.attendee_id == attendee.id)))
    if attendee.checked_in_by_id is None or on_a_phone:
        raise CannotHandOver()
    record_action(session, event, organiser, "door_code", attendee)
    code = checkin.new_return_code(session, attendee)  # commits
    return attendee, code


@dataclass(frozen=True)
class Done:
    action: str
    by: str
    whom: str | None
    at: datetime


def recent(session, event: Event, limit: int = 8) -> list[Done]:
    rows = session.execute(
        sa.select(OrganiserAction.action, Organiser.email, Attendee.name, OrganiserAction.created_at)
        .outerjoin(Organiser, Organiser.id == OrganiserAction.organiser_id)
        .outerjoin(Attendee, Attendee.id == OrganiserAction.attendee_id)
        .where(OrganiserAction.event_id == event.id)
        .order_by(OrganiserAction.created_at.desc(), OrganiserAction.id.desc()).limit(limit)
    ).all()
    return [Done(action, by or "An organiser", whom, at) for action, by, whom, at in rows]


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def export_csv(session, event: Event, organiser: Organiser) -> bytes:
    """Everyone checked in, as CSV for a spreadsheet: UTF-8 with a BOM (Excel), quoted by the
    csv module, formula-like cells neutralised; email and contact only with consent."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = session.execute(
        sa.select(Attendee.name, Attendee.what_i_do, Attendee.how_i_help, Attendee.looking_for,
                  Attendee.checked_in_at, Attendee.email, Attendee.contact, Attendee.contact_consent)
        .where(Attendee.event_id == event.id, Attendee.checked_in_at.is_not(None),
               Attendee.deleted_at.is_(None))
        .order_by(Attendee.checked_in_at, Attendee.id))
    for name, what, how, looking, at, email, contact, consent in rows:
        when = at.astimezone(event.zone).strftime("%Y-%m-%d %H:%M")
        writer.writerow([_cell(v) for v in (name, what, how, looking, when,
                                            email if consent else "", contact if consent else "")])
    record_action(session, event, organiser, "export", None)
    session.commit()
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
