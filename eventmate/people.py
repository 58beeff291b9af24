"""Who's here: the checked-in attendees of one event, searchable, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa

from . import tokens
from .checkin import RETURN_CODE_LENGTH, held_by, held_by_hash
from .models import Attendee, Device, Event, Pick, fold

PAGE_SIZE = 25
MAX_QUERY = 100


class Listed(NamedTuple):
    """What a card on who's here shows of a person: these columns, not a whole attendee
    (loading 26 full objects per view cost more than the query), in a plain named tuple (a
    template reads its fields several times faster than a SQLAlchemy row's)."""

    id: int
    name: str
    what_i_do: str
    how_i_help: str
    looking_for: str
    #: The reader chose this person (when `search` was given the reader).
    mine: bool = False


LISTED = tuple(getattr(Attendee, field) for field in Listed._fields[:-1])


@dataclass
class Page:
    people: list[Listed]
    page: int
    has_more: bool
    total: int
    query: str
    #: How many people the reader has chosen, read with the page (None: not known here).
    chosen: int | None = None


def clean_query(text: str | None) -> str:
    """A search as typed, made safe to send: control characters dropped (PostgreSQL refuses
    NUL in text), spaces collapsed, at most MAX_QUERY characters."""
    printable = "".join(c for c in (text or "") if c.isprintable() or c.isspace())
    return " ".join(printable.split())[:MAX_QUERY]


def words(query: str) -> list[str]:
    """The folded words a search matches against `Attendee.search_text`."""
    return fold(query).split()


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _event_and_reader(held, device_seen):
    joined = sa.and_(Attendee.event_id == Event.id,
                     Attendee.return_code_hash.in_(sa.bindparam("codes", expanding=True)))
    return (sa.select(Event, Attendee, held, device_seen).outerjoin(Attendee, joined)
            .where(Event.slug == sa.bindparam("slug")))


#: Built once (see `checkin.find_event`): every attendee page starts with it.
_EVENT_AND_READER = _event_and_reader(
    held_by_hash(sa.bindparam("credential")),
    sa.select(Device.last_seen_at).where(Device.credential_hash == sa.bindparam("credential"))
    .scalar_subquery())
_EVENT_AND_LEGACY_READER = _event_and_reader(held_by(None), sa.null())


class Reader(NamedTuple):
    """Who reads an attendee page: the event, this device's attendee there (or None), and
    when the device was last seen (None without one), so the page need not look it up."""

    event: Event | None
    attendee: Attendee | None
    device_seen_at: datetime | None = None


def event_and_reader(session, slug: str, codes: dict[str, str],
                     credential: str | None) -> Reader:
    """The event at `slug` and who this device is there (None when nobody), in one query.

    The same checks as `checkin.signed_in_attendee`, which pages use one event at a time:
    the return code the device holds for that event must be the attendee's current one, and
    the device must still hold the attendee (`checkin.held_by`).
    """
    wanted = {}
    for event_id, code in codes.items():
        code = tokens.normalise_code(code or "")
        if len(code) == RETURN_CODE_LENGTH:
            wanted[event_id] = tokens.digest(code)
    params = {"slug": (slug or "").lower(), "codes": sorted(set(wanted.values())) or [""]}
    if credential:
        params["credential"] = tokens.digest(credential)
        statement = _EVENT_AND_READER
    else:
        statement = _EVENT_AND_LEGACY_READER
    rows = session.execute(statement, params).all()
    if not rows:
        return Reader(None, None)
    event = rows[0][0]
    mine = wanted.get(str(event.id))
    for _event, attendee, is_held, seen_at in rows:
        if attendee is not None and attendee.return_code_hash == mine and is_held:
            return Reader(event, attendee, seen_at)
    return Reader(event, None, rows[0][3])


_PEOPLE = Attendee.__table__.c


@cache
def _statements(word_count: int, excluding: bool) -> tuple:
    """Who's here's statements for a search of `word_count` words: (the page with its total,
    the page alone, the count of the others, the count of everyone). Built once per shape,
    in SQLAlchemy Core: a view then only binds values (`event`, `me`, `w0`...)."""
    present = [_PEOPLE.event_id == sa.bindparam("event"), _PEOPLE.checked_in_at.is_not(None),
               _PEOPLE.left_at.is_(None)]
    present += [_PEOPLE.search_text.like(sa.bindparam(f"w{n}"), escape="\\") for n in range(word_count)]
    counting = sa.select(sa.func.count(_PEOPLE.id)).where(*present)
    if excluding:
        present.append(_PEOPLE.id != sa.bindparam("me"))
    listed = sa.select(*(_PEOPLE[column.key] for column in LISTED)).where(*present)
    if excluding:  # the reader's own picks, in the same round trip
        picks = Pick.__table__.c
        listed = listed.add_columns(
            sa.exists().where(picks.picker_id == sa.bindparam("me"), picks.picked_id == _PEOPLE.id)
            .label("mine"),
            sa.select(sa.func.count(picks.id)).where(picks.picker_id == sa.bindparam("me"))
            .scalar_subquery().label("chosen"))
    others = sa.select(sa.func.count(_PEOPLE.id)).where(*present)

    def paged(stmt):
        return (stmt.order_by(_PEOPLE.search_text, _PEOPLE.id)
                .limit(sa.bindparam("limit")).offset(sa.bindparam("offset")))

    return paged(listed.add_columns(others.scalar_subquery().label("total"))), paged(listed), others, counting


def _bound(event_id: int, query: str, exclude_id: int | None) -> tuple[tuple, dict]:
    typed = words(query)
    values = {"event": event_id, **{f"w{n}": _like(word) for n, word in enumerate(typed)}}
    if exclude_id is not None:
        values["me"] = exclude_id
    return _statements(len(typed), exclude_id is not None), values


def search(session, event_id: int, query: str = "", page: int = 1, exclude_id: int | None = None,
           counted: int | None = None) -> Page:
    """Present attendees whose name or one-liners contain every word of `query`, folded as
    the stored text is (case, accents, Unicode forms: `models.fold`).

    One query: the page, with the total as a scalar subquery the database runs once. Both
    follow the partial index of present people (`ix_attendee_here`), in the page's order.
    `exclude_id`: the reader, left out; each person then says whether the reader chose them
    (`Listed.mine`) and the page how many the reader chose (`Page.chosen`, when it has rows).
    `counted`: the total when the caller already has it (`present_count`, kept a few
    seconds): the page's query then counts nothing."""
    query = clean_query(query)
    page = max(1, page)
    (with_total, alone, count_others, _count_all), values = _bound(event_id, query, exclude_id)
    values.update(limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    rows = session.execute(alone if counted is not None else with_total, values).all()
    if counted is None:
        # Past the last page no row carries the total: count on its own.
        counted = rows[0].total if rows else session.scalar(count_others, values)
    fields = len(Listed._fields) if exclude_id is not None else len(LISTED)
    listed = [Listed(*row[:fields]) for row in rows[:PAGE_SIZE]]
    chosen = rows[0].chosen if rows and exclude_id is not None else None
    return Page(people=listed, page=page, has_more=len(rows) > PAGE_SIZE,
                total=counted, query=query, chosen=chosen)


def present_count(session, event_id: int, query: str = "") -> int:
    """How many present people match `query` (as `search` counts them, nobody left out)."""
    (*_pages, count_all), values = _bound(event_id, clean_query(query), None)
    return session.scalar(count_all, values)


def others_count(session, event: Event, reader: Attendee, query: str, kept, seconds: float) -> int:
    """How many people besides `reader` who's here counts for `query`, from the count of
    everyone `kept` (a `kept.Kept`) holds for `seconds` per event and search: the same for
    every reader, less the reader when they are in it."""
    # Keyed by the slug too: an id SQLite reuses after a delete never meets the old count.
    key = (event.id, event.slug, tuple(words(clean_query(query))))
    everyone = kept.get(key, seconds, lambda: present_count(session, event.id, query))
    return max(0, everyone - counted_in(reader, event.id, query))


def counted_in(attendee: Attendee, event_id: int, query: str = "") -> bool:
    """Whether `present_count(event_id, query)` counts this attendee: present at that event,
    and every folded word of `query` in their stored text (what the LIKE of `search` does)."""
    if attendee.event_id != event_id or attendee.checked_in_at is None or attendee.left_at is not None:
        return False
    text = attendee.search_text or ""
    return all(word in text for word in words(clean_query(query)))
