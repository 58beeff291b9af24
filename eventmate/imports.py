"""Registrations imported before the evening: an Eventbrite or Luma export, or any CSV with a
name and an email column, read into a preview (per-row problems, nothing written), then
written when the organiser confirms.

An imported person is on the list, not checked in: they show up at the door (check them in
by hand) and are counted nowhere else. When they scan the poster and type the same email,
their check-in claims the row instead of adding them twice (`checkin.claim_registration`).
The row holds only their name and email; the check-in replaces both with what they type.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from . import checkin, clock, tokens
from .errors import ValidationFailed
from .models import Attendee, Event, Organiser, search_text_for
from .roster import FORMULA_START, record_action
from .validation import EMAIL_RE, clean_text

#: An export of 10,000 registrations with every Eventbrite column is about 4 MB.
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
NAME_MAX = 80
EMAIL_MAX = 254

EVENTBRITE = "Eventbrite"
LUMA = "Luma"
GENERIC = "a name and email list"

#: Eventbrite's "Attendee Status" / Luma's "approval_status" values of people not coming.
SKIP_STATUS = {
    "not attending": "Not attending (Eventbrite)",
    "refunded": "Refunded (Eventbrite)",
    "cancelled": "Cancelled (Eventbrite)",
    "canceled": "Cancelled (Eventbrite)",
    "deleted": "Deleted (Eventbrite)",
    "transferred": "Ticket transferred (Eventbrite)",
    "declined": "Declined (Luma)",
    "waitlist": "On the waitlist (Luma)",
    "invited": "Invited, not registered (Luma)",
    "pending_approval": "Waiting for your approval (Luma)",
}

NAME_HEADERS = ("name", "fullname", "attendeename", "guestname", "yourname", "nom", "nombre")
FIRST_HEADERS = ("firstname", "givenname", "first", "prenom")
LAST_HEADERS = ("lastname", "surname", "familyname", "last", "nomdefamille")
EMAIL_HEADERS = ("email", "emailaddress", "mail", "email1", "attendeeemail", "courriel", "correo")
STATUS_HEADERS = ("attendeestatus", "approvalstatus", "status")


class ImportProblem(ValidationFailed):
    """The file as a whole can't be read: one message for the file field."""

    def __init__(self, message: str):
        super().__init__({"file": message})


@dataclass(frozen=True)
class Row:
    line: int
    name: str
    email: str
    problem: str = ""  # an error: this row is left out
    skipped: str = ""  # not an error (already on the list, not attending): left out

    @property
    def ok(self) -> bool:
        return not self.problem and not self.skipped


@dataclass
class Preview:
    source: str
    rows: list[Row] = field(default_factory=list)

    @property
    def new(self) -> list[Row]:
        return [r for r in self.rows if r.ok]

    @property
    def problems(self) -> list[Row]:
        return [r for r in self.rows if r.problem]

    @property
    def skipped(self) -> list[Row]:
        return [r for r in self.rows if r.skipped]

    def as_csv(self) -> str:
        """The rows to import, as the generic CSV the confirm step reads again."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("name", "email"))
        writer.writerows((r.name, r.email) for r in self.new)
        return out.getvalue()


@dataclass(frozen=True)
class Imported:
    added: int
    skipped: int


def _key(header: str) -> str:
    """'First Name' -> 'firstname', 'E-mail' -> 'email', 'Order #' -> 'order'."""
    text = unicodedata.normalize("NFKD", header or "").encode("ascii", "ignore").decode().casefold()
    return re.sub(r"[^a-z0-9]", "", text)


def decode(data: bytes) -> str:
    if not data or not data.strip():
        raise ImportProblem("This file is empty. Export your registrations as CSV and try again.")
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportProblem("This looks like an Excel file. Please save it as “CSV UTF-8” "
                            "(File → Save As) and choose that file.")
    try:
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportProblem("This file isn't UTF-8 text, so names with accents would come out wrong. "
                            "In Excel choose File → Save As → “CSV UTF-8”; Google Sheets and Numbers "
                            "export UTF-8 already.") from None
    if "\x00" in text:
        raise ImportProblem("This doesn't look like a CSV file. Export your registrations as CSV and "
                            "try again.")
    return text


def _sniff(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@dataclass(frozen=True)
class _Layout:
    source: str
    name: int | None
    first: int | None
    last: int | None
    email: int
    status: int | None
    header: bool = True


def _find(keys: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def _layout(first_row: list[str]) -> _Layout:
    keys = [_key(cell) for cell in first_row]
    email = _find(keys, EMAIL_HEADERS)
    name, first, last = _find(keys, NAME_HEADERS), _find(keys, FIRST_HEADERS), _find(keys, LAST_HEADERS)
    status = _find(keys, STATUS_HEADERS)
    has = set(keys)
    if email is not None and (name is not None or first is not None):
        if {"apiid", "approvalstatus"} & has and "email" in has:
            source = LUMA
        elif {"firstname", "lastname"} <= has and {"order", "ordernumber", "orderdate", "attendee",
                                                   "tickettype", "attendeestatus"} & has:
            source = EVENTBRITE
            name = None  # Eventbrite's "Name" (when present) is the buyer; use the attendee's own
        else:
            source = GENERIC
        return _Layout(source, name, first, last, email, status)
    # No header: "Ana Lima,ana@example.org".
    cells = [clean_text(c) for c in first_row]
    if len(cells) >= 2 and EMAIL_RE.match(cells[1]) and not EMAIL_RE.match(cells[0]):
        return _Layout(GENERIC, 0, None, None, 1, None, header=False)
    raise ImportProblem("We couldn't find a name and an email column. Use the export from Eventbrite or "
                        "Luma as it is, or a CSV whose first row says name,email.")


def _cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    value = row[index]
    if value[:1] == "'" and value[1:2] in FORMULA_START:  # our own export neutralised it
        value = value[1:]
    return clean_text(value)


def read(data: bytes) -> Preview:
    """Parse a file into rows with their own problems (no database): raises ImportProblem
    when the file as a whole can't be used."""
    if len(data) > MAX_BYTES:
        raise ImportProblem(f"This file is larger than {MAX_BYTES // (1024 * 1024)} MB. Export only the "
                            "columns you need (name and email are enough), or split it in two.")
    text = decode(data)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff(text), strict=False)
        rows = iter(reader)
        first_row = next((r for r in rows if any(c.strip() for c in r)), None)
        if first_row is None:
            raise ImportProblem("This file is empty. Export your registrations as CSV and try again.")
        layout = _layout(first_row)
        preview = Preview(layout.source)
        pending = [] if layout.header else [(reader.line_num, first_row)]
        seen: dict[str, int] = {}
        for line, row in _lines(pending, reader, rows):
            if len(preview.rows) >= MAX_ROWS:
                raise ImportProblem(f"This file has more than {MAX_ROWS:,} people. Please split it.")
            preview.rows.append(_row(layout, line, row, seen))
    except csv.Error:
        raise ImportProblem(f"This file isn't valid CSV: a quote (\") seems to be left open near line "
                            f"{reader.line_num}. Export it again as CSV, or fix that line.") from None
    if not preview.rows:
        raise ImportProblem("There's nobody in this file: only a header row.")
    return preview


def _lines(pending, reader, rows):
    yield from pending
    for row in rows:
        if any(cell.strip() for cell in row):
            yield reader.line_num, row


def _row(layout: _Layout, line: int, row: list[str], seen: dict[str, int]) -> Row:
    name = _cell(row, layout.name) if layout.name is not None else ""
    if not name:
        name = " ".join(p for p in (_cell(row, layout.first), _cell(row, layout.last)) if p)
    email = _cell(row, layout.email).casefold()
    status = _cell(row, layout.status).casefold()
    if status in SKIP_STATUS:
        return Row(line, name, email, skipped=SKIP_STATUS[status])
    if not name:
        return Row(line, name, email, problem="No name")
    if len(name) > NAME_MAX:
        return Row(line, name[:NAME_MAX] + "…", email, problem=f"Name longer than {NAME_MAX} characters")
    if not email:
        return Row(line, name, email, problem="No email")
    if len(email) > EMAIL_MAX or not EMAIL_RE.match(email):
        return Row(line, name, email, problem="Not an email address")
    if email in seen:
        return Row(line, name, email, problem=f"Same email as line {seen[email]}")
    seen[email] = line
    return Row(line, name, email)


def _on_the_list(session, event: Event, emails: list[str]) -> set[str]:
    """Which of these emails someone at the event (imported or checked in) already has."""
    found: set[str] = set()
    for start in range(0, len(emails), 500):
        chunk = emails[start:start + 500]
        found.update(session.scalars(sa.select(Attendee.email).where(
            Attendee.event_id == event.id, Attendee.deleted_at.is_(None), Attendee.email.in_(chunk))))
    return found


def preview(session, event: Event, data: bytes) -> Preview:
    """What importing `data` would do: every row, with its problem or why it's left out."""
    result = read(data)
    there = _on_the_list(session, event, [r.email for r in result.rows if r.ok])
    result.rows = [Row(r.line, r.name, r.email, skipped="Already on the list") if r.ok and r.email in there
                   else r for r in result.rows]
    return result


def confirm(session, event: Event, organiser: Organiser, data: bytes) -> Imported:
    """Write the new people of `data` (the preview's CSV) in one transaction. Someone another
    import added meanwhile is left out (the unique index decides). Commits."""
    for _attempt in range(3):
        result = preview(session, event, data)
        now = clock.now()
        for row in result.new:
            session.add(Attendee(
                event_id=event.id, name=row.name, email=row.email, what_i_do="", how_i_help="",
                looking_for="", imported_at=now, search_text=search_text_for(row.name),
                return_code_hash=tokens.digest(tokens.random_code(checkin.RETURN_CODE_LENGTH)),
                pickme_token=tokens.random_code(checkin.PICKME_LENGTH).lower()))
        if result.new:
            record_action(session, event, organiser, "import", None)
        try:
            session.commit()
        except IntegrityError:  # another import of the same people committed first
            session.rollback()
            continue
        return Imported(added=len(result.new), skipped=len(result.rows) - len(result.new))
    raise ImportProblem("Someone else is importing people into this event right now. Please try again.")
