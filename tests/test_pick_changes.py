"""Changes to my three sent from the phone's outbox (issue 11): each applied exactly once by
its client id, a replay answered with the stored outcome — on SQLite and PostgreSQL.

The point of the record is order: a copy of "choose Bea" arriving after "remove Bea" must not
choose her again, and a fourth pick refused while offline stays refused when it is replayed
after a place came free. Through the web: JSON for the page's script, the old pages for a
plain form, and a fresh CSRF token for the outbox.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid

import pytest
import sqlalchemy as sa
from conftest import csrf_token, event_form, post, profile, text
from test_services import SECRET, code_of, new_organiser

from eventmate import checkin, events, mydata, pick_changes, picks
from eventmate.extensions import db
from eventmate.models import Pick, PickChange


@pytest.fixture
def room(session, at_the_event):
    """An open evening: Ana and five others."""
    event = events.create_event(session, new_organiser(session), event_form())
    them = {}
    for name in ("Ana", "Bea", "Chen", "Dara", "Émilie", "Femi"):
        them[name], _ = checkin.check_in(session, event, profile(name), checkin.new_form_token(SECRET), SECRET)
    return event, them


def three(session, picker) -> list[str]:
    return [c.person.name for c in picks.my_three(session, picker)]


def change(session, p, kind, person, drop=None, client_id=None):
    client_id = client_id or str(uuid.uuid4())
    outcome = pick_changes.apply(session, p["Ana"], client_id, kind, p[person].id,
                                 p[drop].id if drop else None)
    return client_id, outcome


def test_each_change_lands_once_and_a_late_copy_changes_nothing(session, room):
    _event, p = room
    choose_bea, first = change(session, p, "pick", "Bea")
    assert first.done and not first.is_replay and first.body == {"done": True, "kind": "pick", "person": p["Bea"].id}
    change(session, p, "pick", "Chen")
    remove_bea, _ = change(session, p, "unpick", "Bea")
    swap, swapped = change(session, p, "swap", "Dara", drop="Chen")
    assert swapped.body == {"done": True, "kind": "swap", "person": p["Dara"].id, "drop": p["Chen"].id}
    assert three(session, p["Ana"]) == ["Dara"]

    # Every copy, in any order, after the fact: answered as the first time, nothing moves.
    for client_id, kind, person, drop in [(swap, "swap", "Dara", "Chen"), (choose_bea, "pick", "Bea", None),
                                          (remove_bea, "unpick", "Bea", None)]:
        _, again = change(session, p, kind, person, drop=drop, client_id=client_id)
        assert again.is_replay and again.done
    _, again = change(session, p, "pick", "Bea", client_id=choose_bea.upper())  # ids are case-blind
    assert again.is_replay and again.body == first.body
    assert three(session, p["Ana"]) == ["Dara"]
    assert session.scalar(sa.select(sa.func.count()).select_from(PickChange)) == 4


def test_a_fourth_pick_is_refused_and_stays_refused_on_replay(session, room):
    _event, p = room
    for name in ("Bea", "Chen", "Dara"):
        change(session, p, "pick", name)
    fourth, refused = change(session, p, "pick", "Émilie")
    assert (refused.status, refused.body["error"]) == (409, "pick_limit")
    assert "already chosen three" in refused.body["message"]
    assert three(session, p["Ana"]) == ["Bea", "Chen", "Dara"]

    change(session, p, "unpick", "Bea")  # a place comes free; the old refusal is still a refusal
    _, again = change(session, p, "pick", "Émilie", client_id=fourth)
    assert again.is_replay and again.status == 409 and again.body == refused.body
    assert three(session, p["Ana"]) == ["Chen", "Dara"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Pick)) == 2


def test_the_same_id_for_another_change_is_refused_and_ids_are_per_attendee(session, room):
    _event, p = room
    client_id, _ = change(session, p, "pick", "Bea")
    assert code_of(lambda: change(session, p, "pick", "Chen", client_id=client_id)) == "client_id_reused"
    assert code_of(lambda: change(session, p, "unpick", "Bea", client_id=client_id)) == "client_id_reused"
    # Someone else's phone happening on the same id is another change altogether.
    theirs = pick_changes.apply(session, p["Bea"], client_id, "pick", p["Ana"].id)
    assert theirs.done and not theirs.is_replay
    assert three(session, p["Ana"]) == ["Bea"] and three(session, p["Bea"]) == ["Ana"]
    assert code_of(lambda: change(session, p, "pick", "Chen", client_id="not-a-uuid")) == "invalid"


def test_refusals_from_the_room_are_recorded_and_deleting_my_data_forgets_the_changes(session, room):
    _event, p = room
    checkin.leave(session, p["Femi"])
    _, gone = change(session, p, "pick", "Femi")
    assert (gone.status, gone.body["error"]) == (409, "pick_not_here")
    _, not_mine = change(session, p, "swap", "Bea", drop="Chen")
    assert (not_mine.status, not_mine.body["error"]) == (404, "not_found")
    change(session, p, "pick", "Dara")
    assert session.scalar(sa.select(sa.func.count()).select_from(PickChange)) == 3
    mydata.delete(session, p["Ana"])
    assert session.scalar(sa.select(sa.func.count()).select_from(PickChange)) == 0


# --- through the web ---------------------------------------------------------------------

@pytest.fixture
def phone(app, make_organiser, make_event, make_attendee, at_the_event):
    event = make_event(make_organiser())
    ana = make_attendee(event, "Ana")
    others = [make_attendee(event, name) for name in ("Bea", "Chen", "Dara", "Émilie")]
    client = app.test_client()
    assert post(client, "/return", {"code": ana.code}).status_code == 302
    return event, client, others


def send(client, url, client_id, *, accept="application/json", **fields):
    return client.post(url, data={"client_id": client_id, "csrf_token": csrf_token(client), **fields},
                       headers={"Accept": accept})


def test_the_outbox_gets_json_and_a_replay_the_same_answer(phone):
    event, client, (bea, chen, dara, emilie) = phone
    picks_url = f"/e/{event.slug}/picks"
    ids = [str(uuid.uuid4()) for _ in range(4)]
    first = send(client, picks_url, ids[0], person=bea.id, next=f"/e/{event.slug}/people#p-{bea.id}")
    assert first.status_code == 200
    assert first.json == {"done": True, "kind": "pick", "person": bea.id, "message": "Bea is one of your three.",
                          "next": f"/e/{event.slug}/people#p-{bea.id}", "replay": False}
    again = send(client, picks_url, ids[0], person=bea.id, next=f"/e/{event.slug}/people#p-{bea.id}")
    assert again.status_code == 200 and again.json == {**first.json, "replay": True}
    assert "Bea is one of your three." not in text(client.get(f"/e/{event.slug}"))  # no flash unasked
    send(client, picks_url, ids[1], person=chen.id)
    send(client, picks_url, ids[2], person=dara.id)
    fourth = send(client, picks_url, ids[3], person=emilie.id)
    assert fourth.status_code == 409 and fourth.json["error"] == "pick_limit"
    reused = send(client, picks_url, ids[0], person=emilie.id)
    assert reused.status_code == 409 and reused.json["error"] == "client_id_reused"
    # A plain form resent with the refused id: the swap chooser, as for any fourth pick.
    page = send(client, picks_url, ids[3], accept="text/html", person=emilie.id)
    assert page.status_code == 409 and "You've already chosen three" in text(page)

    swap = send(client, f"/e/{event.slug}/picks/swap", str(uuid.uuid4()), person=emilie.id, drop=bea.id,
                flash="1")
    assert swap.json["message"] == "Swapped — Émilie is one of your three now." and swap.json["next"] == f"/e/{event.slug}"
    assert "Swapped — Émilie is one of your three now." in text(client.get(f"/e/{event.slug}"))  # asked for
    remove = send(client, f"/e/{event.slug}/picks/{chen.id}/remove", str(uuid.uuid4()))
    assert remove.json["next"] == f"/e/{event.slug}?removed={chen.id}"
    with client.application.app_context():
        rows = db.session.execute(sa.select(PickChange.status, PickChange.result).order_by(PickChange.id)).all()
        assert [status for status, _ in rows] == [200, 200, 200, 409, 200, 200]
        assert all("Bea" not in result for _, result in rows)  # no names kept in the record
        assert json.loads(rows[3].result)["error"] == "pick_limit"


def test_a_fresh_csrf_token_for_a_checked_in_phone_only(phone, app):
    event, client, _ = phone
    fresh = client.get(f"/e/{event.slug}/csrf", headers={"Accept": "application/json"})
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == "no-store"
    assert fresh.json["csrf_token"]
    stranger = app.test_client().get(f"/e/{event.slug}/csrf", headers={"Accept": "application/json"})
    assert stranger.status_code == 403 and stranger.json["error"] == "not_checked_in"


SCRIPT_RE = re.compile(r'<script src="([^"]+)"')


def test_no_attendee_page_carries_more_than_15_kb_of_script(phone):
    """The outbox rides on every attendee page: the heaviest still stays within budget."""
    event, client, (bea, chen, dara, emilie) = phone
    for person in (bea, chen, dara):
        post(client, f"/e/{event.slug}/picks", {"person": person.id})
    fourth = post(client, f"/e/{event.slug}/picks", {"person": emilie.id})  # the swap chooser
    pages = {"swap": fourth}
    for path in ("", "/people", f"/notes/{bea.id}", "/you", "/you/answers", "/qr", "/inbox",
                 f"/with/{bea.id}", "/follow-up"):
        pages[path or "/"] = client.get(f"/e/{event.slug}{path}")
    sizes = {}
    for name, response in pages.items():
        if response.status_code not in (200, 409):
            continue
        scripts = SCRIPT_RE.findall(text(response))
        assert any("/js/outbox.js" in src for src in scripts), name
        sizes[name] = 0
        for src in scripts:
            script = client.get(src)
            sizes[name] += len(gzip.compress(script.get_data()))
            script.close()
    print("script per attendee page, gzipped:", sizes)
    assert len(sizes) >= 8 and max(sizes.values()) <= 15 * 1024, sizes
