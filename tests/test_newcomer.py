"""What a newcomer tripped on (issue "A night out, not a form"): each a test that failed before."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from conftest import csrf_token, event_form, login, post, text

from eventmate.extensions import db
from eventmate.models import Event, Pick


@pytest.mark.parametrize(("zone", "starts", "ends", "message"), [
    # Auckland skips 02:00–03:00 on 26 September 2027.
    ("Pacific/Auckland", "2027-09-26T02:30", "2027-09-26T03:15", "02:30 doesn&#39;t exist that night in Auckland"),
    # London repeats 01:00–02:00 on 25 October 2026.
    ("Europe/London", "2026-10-25T01:30", "2026-10-25T03:00", "01:30 happens twice that night in London"),
])
def test_a_local_time_that_does_not_exist_or_happens_twice_is_a_message(app, client, make_organiser, zone,
                                                                      starts, ends, message):
    """Defect 3: a skipped time made ends < starts in UTC, and the CHECK was retried as a slug clash: 500."""
    login(client, make_organiser())
    response = post(client, "/organiser/events/new", event_form(timezone=zone, starts_local=starts,
                                                                ends_local=ends))
    assert response.status_code == 422
    page = text(response)
    assert message in page and f'value="{starts}"' in page  # beside the field, typed input kept
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_a_double_tap_on_swap_is_one_swap_and_says_so(app, make_organiser, make_event, make_attendee,
                                                    at_the_event):
    """Defect 10: two racing swaps — the loser answered "You've already chosen three"."""
    event = make_event(make_organiser())
    ana = make_attendee(event, "Ana Lima")
    others = [make_attendee(event, name) for name in ("Ben", "Chloe", "Dev", "Emil")]
    phone = app.test_client()
    post(phone, "/return", {"code": ana.code})
    for person in others[:3]:
        assert post(phone, f"/e/{event.slug}/picks", {"person": person.id}).status_code == 302
    token, cookies = csrf_token(phone), {c: phone.get_cookie(c) for c in ("session", "em_device")}
    start, results = threading.Barrier(2), []

    def tap():
        racer = app.test_client()
        for name, cookie in cookies.items():
            if cookie:
                racer.set_cookie(name, cookie.value)
        start.wait(timeout=30)
        results.append(racer.post(f"/e/{event.slug}/picks/swap",
                                  data={"drop": others[0].id, "person": others[3].id, "csrf_token": token}))

    for _ in range(5):  # the race is not won every time: try a few rounds
        threads = [threading.Thread(target=tap) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        with app.app_context():  # put Ben back for the next round
            picked = set(db.session.scalars(sa.select(Pick.picked_id).where(Pick.picker_id == ana.id)))
            assert picked == {others[1].id, others[2].id, others[3].id}
            db.session.execute(sa.update(Pick).where(Pick.picker_id == ana.id, Pick.picked_id == others[3].id)
                               .values(picked_id=others[0].id))
            db.session.commit()
    assert [r.status_code for r in results] == [302] * 10
    assert all("already chosen three" not in text(r) for r in results)


def test_the_organiser_sees_here_now_apart_from_checked_in(app, client, make_organiser, make_event,
                                                          make_attendee, at_the_event):
    """Defect 7: "2 people checked in" counted someone who had left."""
    from eventmate import checkin
    from eventmate.models import Attendee

    organiser = make_organiser()
    event = make_event(organiser)
    make_attendee(event, "Ana Lima")
    ben = make_attendee(event, "Ben Okafor")
    with app.app_context():
        checkin.leave(db.session, db.session.get(Attendee, ben.id))
    login(client, organiser)
    page = text(client.get(f"/organiser/events/{event.id}"))
    assert '<dd data-here-now>1</dd>' in page and "here now" in page
    assert '<dd data-checked-in>2</dd>' in page and "checked in (1 left early)" in page


def test_someone_who_left_and_rescans_is_told_and_can_come_back(app, make_organiser, make_event, make_attendee,
                                                                at_the_event):
    """Defect 4: a re-scan said only "You're already checked in"; a pick-me page of someone who left
    still offered "Add … to my three", which then failed."""
    event = make_event(make_organiser())
    ana, ben = make_attendee(event, "Ana Lima"), make_attendee(event, "Ben Okafor")
    ana_phone, ben_phone = app.test_client(), app.test_client()
    post(ana_phone, "/return", {"code": ana.code})
    post(ben_phone, "/return", {"code": ben.code})
    assert post(ben_phone, f"/e/{event.slug}/leave").status_code == 302
    again = text(ben_phone.get(event.checkin_path))
    assert "You left earlier, so people don't see you in who's here" in again
    assert f'action="/e/{event.slug}/rejoin"' in again
    pick_me = text(ana_phone.get(f"/p/{ben.pickme}"))
    assert "Ben Okafor has left the event" in pick_me and "to my three</button>" not in pick_me


def test_a_return_link_says_whose_place_on_this_phone_it_takes(app, make_organiser, make_event, make_attendee,
                                                               at_the_event):
    """Defect 5: "Continue as Tom?" didn't say my own identity at the event would be replaced."""
    event = make_event(make_organiser())
    ana, tom = make_attendee(event, "Ana Lima"), make_attendee(event, "Tom Berg")
    phone = app.test_client()
    post(phone, "/return", {"code": ana.code})
    page = text(phone.get(f"/r/{tom.code}"))
    assert "This phone is Ana Lima at Thursday founders evening now" in page
    assert "it becomes Tom Berg here instead" in page
    assert "data-replaces" not in text(phone.get(f"/r/{ana.code}"))  # my own link: nothing replaced
