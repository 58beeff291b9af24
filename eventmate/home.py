"""What an attendee's page for an event shows (`web.attendee.home`), in as few round trips as
the page allows: one query says whether there is anything to list (my three, who chose me),
whether the morning prompt is waiting and how many notes are unread; the lists are read only
when they have something in them. A phone that has just checked in (the welcome page) has
nothing yet: one query, not four.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from . import clock, picks
from .followup import waiting_prompt_condition
from .letters import unread_count_select
from .models import Attendee, Message, Pick


@dataclass
class Home:
    three: list[picks.Chosen]
    chose_me: list[picks.Chooser]
    prompt: Message | None
    unread: int


def _glance():
    me = sa.bindparam("me")
    return sa.select(
        sa.exists().where(Pick.picker_id == me).label("picked"),
        sa.exists().where(Pick.picked_id == me, Pick.event_id == sa.bindparam("event")).label("chosen"),
        sa.select(Message.id).where(waiting_prompt_condition(me, sa.bindparam("now")))
        .order_by(Message.id).limit(1).scalar_subquery().label("prompt"),
        unread_count_select(me).scalar_subquery().label("unread"),
    )


_GLANCE = _glance()  # built once: every attendee home page asks


def read(session, me: Attendee) -> Home:
    picked, chosen, prompt_id, unread = session.execute(
        _GLANCE, {"me": me.id, "event": me.event_id, "now": clock.now()}).one()
    return Home(
        three=picks.my_three(session, me) if picked else [],
        chose_me=picks.chose_me(session, me) if chosen else [],
        prompt=session.get(Message, prompt_id) if prompt_id is not None else None,
        unread=unread or 0,
    )
