"""Services for the evening: who's here, picks (the three), listening notes."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from conftest import event_form, profile
from test_services import SECRET, code_of, new_organiser

from eventmate import checkin, clock, events, notes, people, picks
from eventmate.models import Attendee, Note, NoteSave, Pick


@pytest.fixture
def room(session, at_the_event):
    """An open event with six people checked in, and another event next door."""
    owner = new_organiser(session)
    event = events.create_event(session, owner, event_form())
    names = ["Ana", "Bea", "Chen", "Dara", "Émilie", "Femi"]
    them = {}
    for name in names:
        them[name], _ = checkin.check_in(session, event, profile(name), checkin.new_form_token(SECRET), SECRET)
    other = events.create_event(session, owner, event_form(name="Next door"))
    them["Stranger"], _ = checkin.check_in(session, other, profile("Stranger"), checkin.new_form_token(SECRET), SECRET)
    return event, them


def ids(session, picker):
    return [c.person.name for c in picks.my_three(session, picker)]


def test_pick_up_to_three_then_the_limit(session, room):
    _event, p = room
    for name in ("Bea", "Chen", "Dara"):
        picks.pick(session, p["Ana"], p[name].id)
    assert ids(session, p["Ana"]) == ["Bea", "Chen", "Dara"]
    assert code_of(lambda: picks.pick(session, p["Ana"], p["Émilie"].id)) == "pick_limit"
    assert session.scalar(sa.select(sa.func.count()).select_from(Pick)) == 3


def test_picking_twice_is_one_pick(session, room):
    _event, p = room
    first = picks.pick(session, p["Ana"], p["Bea"].id)
    assert picks.pick(session, p["Ana"], p["Bea"].id).id == first.id
    assert session.scalar(sa.select(sa.func.count()).select_from(Pick)) == 1


@pytest.mark.parametrize(("target", "code"), [
    ("Ana", "pick_self"), ("Stranger", "pick_other_event"), (None, "not_found"),
])
def test_pick_refusals_have_codes(session, room, target, code):
    _event, p = room
    target_id = p[target].id if target else 999_999
    assert code_of(lambda: picks.pick(session, p["Ana"], target_id)) == code


def test_cannot_pick_someone_not_checked_in_or_gone(session, room):
    event, p = room
    imported = Attendee(event_id=event.id, name="Imported", what_i_do="-", how_i_help="-",
                        looking_for="-", return_code_hash="x" * 64, pickme_token="imported00000000")
    session.add(imported)
    session.commit()
    assert code_of(lambda: picks.pick(session, p["Ana"], imported.id)) == "pick_not_here"
    p["Bea"].left_at = clock.now()
    session.commit()
    assert code_of(lambda: picks.pick(session, p["Ana"], p["Bea"].id)) == "pick_not_here"


def test_database_refuses_a_fourth_slot_a_self_pick_and_another_event(session, room):
    event, p = room
    for bad in (
        Pick(event_id=event.id, picker_id=p["Ana"].id, picked_id=p["Bea"].id, slot=3, created_at=clock.now()),
        Pick(event_id=event.id, picker_id=p["Ana"].id, picked_id=p["Ana"].id, slot=0, created_at=clock.now()),
        Pick(event_id=event.id, picker_id=p["Ana"].id, picked_id=p["Stranger"].id, slot=0, created_at=clock.now()),
    ):
        session.add(bad)
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
        session.rollback()


def test_swap_replaces_in_place_and_unpick_frees_a_slot(session, room):
    _event, p = room
    for name in ("Bea", "Chen", "Dara"):
        picks.pick(session, p["Ana"], p[name].id)
    picks.swap(session, p["Ana"], p["Chen"].id, p["Émilie"].id)
    assert ids(session, p["Ana"]) == ["Bea", "Émilie", "Dara"]
    picks.unpick(session, p["Ana"], p["Bea"].id)
    picks.pick(session, p["Ana"], p["Femi"].id)
    assert sorted(ids(session, p["Ana"])) == ["Dara", "Femi", "Émilie"]
    assert code_of(lambda: picks.swap(session, p["Ana"], p["Chen"].id, p["Bea"].id)) == "not_found"


def test_mutual_picks_and_shared_contact(session, room):
    _event, p = room
    p["Ana"].contact, p["Bea"].contact = "ana@studio.example", "bea@studio.example"
    session.commit()
    picks.pick(session, p["Ana"], p["Bea"].id)
    [chosen] = picks.my_three(session, p["Ana"])
    assert not chosen.is_mutual and chosen.shared_contact is None  # picking alone harvests nothing
    [chooser] = picks.chose_me(session, p["Bea"])  # but the one picked sees who picked them
    assert chooser.person.name == "Ana" and chooser.shared_contact == "ana@studio.example"
    picks.pick(session, p["Bea"], p["Ana"].id)
    [chosen] = picks.my_three(session, p["Ana"])
    assert chosen.is_mutual and chosen.shared_contact == "bea@studio.example"


def test_notes_are_kept_across_unpick_and_repick(session, room):
    _event, p = room
    picks.pick(session, p["Ana"], p["Bea"].id)
    notes.save(session, p["Ana"], p["Bea"].id, {"needs": "A hotel marketing lead"}, str(uuid.uuid4()))
    picks.unpick(session, p["Ana"], p["Bea"].id)
    picks.pick(session, p["Ana"], p["Bea"].id)
    [chosen] = picks.my_three(session, p["Ana"])
    assert chosen.note.needs == "A hotel marketing lead" and chosen.note.filled == 1


def test_a_replayed_save_changes_nothing(session, room):
    _event, p = room
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    notes.save(session, p["Ana"], p["Bea"].id, {"working_on": "v1"}, first)
    notes.save(session, p["Ana"], p["Bea"].id, {"working_on": "v2", "base_working_on": "v1"}, second)
    replay = notes.save(session, p["Ana"], p["Bea"].id, {"working_on": "v1"}, first)  # old outbox replay
    assert replay.is_replay and replay.saved == {"working_on": "v1"} and not replay.conflicts
    assert notes.note_about(session, p["Ana"], p["Bea"].id).working_on == "v2"
    assert session.scalar(sa.select(sa.func.count()).select_from(NoteSave)) == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(Note)) == 1


def test_notes_are_per_author(session, room):
    _event, p = room
    notes.save(session, p["Ana"], p["Chen"].id, {"personal": "Ana's secret 7f3a"}, str(uuid.uuid4()))
    assert notes.note_about(session, p["Bea"], p["Chen"].id) is None
    assert notes.note_about(session, p["Chen"], p["Ana"].id) is None


@pytest.mark.parametrize(("data", "client_id", "code"), [
    ({"needs": "x" * 2001}, None, "invalid"),
    ({"needs": "fine"}, "not-a-uuid", "invalid"),
])
def test_note_mistakes(session, room, data, client_id, code):
    _event, p = room
    assert code_of(lambda: notes.save(session, p["Ana"], p["Bea"].id, data, client_id or str(uuid.uuid4()))) == code


def test_no_notes_about_yourself_or_another_event(session, room):
    _event, p = room
    for target in ("Ana", "Stranger"):
        assert code_of(lambda t=target: notes.save(session, p["Ana"], p[t].id, {}, str(uuid.uuid4()))) == "not_found"


def test_whos_here_search_folds_case_and_accents_alike(session, room):
    event, p = room
    assert [a.name for a in people.search(session, event.id, "ÉMILIE").people] == ["Émilie"]
    assert [a.name for a in people.search(session, event.id, "design studio").people][:2] == ["Ana", "Bea"]
    assert people.search(session, event.id, "100%_").total == 0
    everyone = people.search(session, event.id, "", exclude_id=p["Ana"].id)
    assert "Ana" not in [a.name for a in everyone.people] and everyone.total == 5
    assert "Stranger" not in [a.name for a in people.search(session, event.id, "").people]


def test_whos_here_pages_and_hides_people_who_left(session, room):
    event, p = room
    for n in range(30):
        checkin.check_in(session, event, profile(f"Zed {n:02d}"), checkin.new_form_token(SECRET), SECRET)
    first = people.search(session, event.id, "", page=1)
    second = people.search(session, event.id, "", page=2)
    assert len(first.people) == people.PAGE_SIZE and first.has_more
    assert len(second.people) == 36 - people.PAGE_SIZE and not second.has_more
    assert not {a.id for a in first.people} & {a.id for a in second.people}
    p["Bea"].left_at = clock.now()
    session.commit()
    assert "Bea" not in [a.name for a in people.search(session, event.id, "bea").people]
