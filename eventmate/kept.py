"""What a server process keeps for a few seconds: counts that many people ask for at once.

An organiser's live numbers (`web.organiser.live`) and the totals on who's here
(`web.attendee.who`) are the same for everyone allowed to see them, and a few seconds old is
as good as new to a person; counting 5,000 people on every view is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Kept(Generic[T]):
    """Values by key, each kept for a number of seconds (monotonic clock); one per app, in
    `app.extensions`.

    No lock: a sync worker serves one request at a time, and under a threaded server two
    requests missing at once each compute it, which costs a query and nothing else."""

    LIMIT = 512  # keys kept at once, per process, before the expired (then all) go

    def __init__(self) -> None:
        self._items: dict[tuple, tuple[float, T]] = {}

    def get(self, key: tuple, seconds: float, make: Callable[[], T]) -> T:
        now = time.monotonic()
        item = self._items.get(key)
        if item is not None and item[0] > now:
            return item[1]
        value = make()
        if len(self._items) >= self.LIMIT:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
            if len(self._items) >= self.LIMIT:
                self._items.clear()
        self._items[key] = (now + seconds, value)
        return value

    def clear(self) -> None:
        self._items.clear()
