"""Who's here: the checked-in attendees of one event, searchable, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .models import Attendee

PAGE_SIZE = 25
MAX_QUERY = 100


@dataclass
class Page:
    people: list[Attendee]
    page: int
    has_more: bool
    total: int
    query: str


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def here(event_id: int):
    """The query for everyone present at an event."""
    return sa.select(Attendee).where(
        Attendee.event_id == event_id,
        Attendee.checked_in_at.isnot(None),
        Attendee.left_at.is_(None),
    )


def search(session, event_id: int, query: str = "", page: int = 1, exclude_id: int | None = None) -> Page:
    """Present attendees whose name or one-liners contain every word of `query`."""
    query = " ".join((query or "").split())[:MAX_QUERY]
    page = max(1, page)
    stmt = here(event_id)
    if exclude_id is not None:
        stmt = stmt.where(Attendee.id != exclude_id)
    for word in query.casefold().split():
        stmt = stmt.where(Attendee.search_text.like(_like(word), escape="\\"))
    total = session.scalar(stmt.with_only_columns(sa.func.count(Attendee.id)))
    rows = list(session.scalars(
        stmt.order_by(Attendee.search_text, Attendee.id)
        .limit(PAGE_SIZE + 1)
        .offset((page - 1) * PAGE_SIZE)
    ))
    return Page(people=rows[:PAGE_SIZE], page=page, has_more=len(rows) > PAGE_SIZE,
                total=total, query=query)
