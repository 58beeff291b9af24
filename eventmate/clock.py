"""The single source of "now".

Everything that needs the current time calls `now()`. Tests and the command line
(`send-prompts --now ...`) move it with `set_now()`; `reset()` goes back to the wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def set_now(moment: datetime) -> None:
    """Freeze the clock at `moment` (an aware datetime)."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("set_now() needs an aware datetime")
    _frozen = moment.astimezone(UTC)


def reset() -> None:
    """Return to the wall clock."""
    global _frozen
    _frozen = None


def to_utc(moment: datetime) -> datetime:
    """An aware datetime in UTC (how every time is stored)."""
    return moment.astimezone(UTC)


def parse_iso(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
