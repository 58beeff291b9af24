"""The next morning: when the prompt is due, what it says, and that it arrives exactly once
(by push through real encryption to a real receiver, else by real SMTP, always in the app)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import EVENING, event_form, login, post, text
from push_fixtures import push_receiver_fixture  # noqa: F401
from smtp_fixtures import smtp_server_fixture  # noqa: F401

from eventmate import clock, followup, picks
from eventmate.errors import PicksFixed
from eventmate.extensions import db
from eventmate.models import Attendee, Device, Event, Message, PushSubscription

#: The standard evening ends 22:00 UTC on 14 May; its prompt is due at 09:00 on the 15th.
PROMPT_AT = datetime(2026, 5, 15, 9, 0, tzinfo=UTC)


def _due(timezone: str, ends_local: str, prompt_hour: int = 9) -> datetime:
    zone = ZoneInfo(timezone)
    ends = datetime.fromisoformat(ends_local).replace(tzinfo=zone)
    event = Event(ends_at=ends.astimezone(UTC), timezone=timezone, prompt_hour=prompt_hour)
    return followup.prompt_due_at(event)


@pytest.mark.parametrize(("zone", "ends_local", "hour", "due_local"), [
    ("UTC", "2026-05-14T22:00", 9, "2026-05-15T09:00"),            # ends 22:00 → 09:00 next day
    ("Europe/Paris", "2026-05-15T01:00", 9, "2026-05-15T09:00"),   # ends 01:00 → 09:00 that day
    ("Europe/Paris", "2026-05-15T04:00", 9, "2026-05-16T09:00"),   # 6 h later is 10:00: next day
    ("Europe/London", "2026-03-28T22:00", 9, "2026-03-29T09:00"),  # clocks go forward overnight
    ("America/New_York", "2026-11-01T00:30", 9, "2026-11-01T09:00"),  # clocks go back overnight
    ("Asia/Tokyo", "2026-05-14T23:00", 7, "2026-05-15T07:00"),
    ("Pacific/Auckland", "2026-09-26T21:00", 9, "2026-09-27T09:00"),  # NZ DST starts 27 Sep
])
def test_prompt_is_due_at_the_prompt_hour_at_least_six_hours_after_the_end(zone, ends_local, hour, due_local):
    due = _due(zone, ends_local, hour)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)  # stored in UTC
    assert due.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M") == due_local


def test_dst_change_moves_the_utc_time_not_the_local_hour():
    before = _due("Europe/London", "2026-03-27T22:00")  # GMT: 09:00 is 09:00 UTC
    after = _due("Europe/London", "2026-03-28T22:00")   # BST: 09:00 is 08:00 UTC
    assert (before.hour, after.hour) == (9, 8)


def test_reminder_comes_eight_hours_later_but_never_after_nine_in_the_evening():
    event = Event(timezone="Europe/London", prompt_hour=9)
    sent = datetime(2026, 5, 15, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert followup.reminder_due_at(event, sent) == sent + timedelta(hours=8)  # 17:00 BST
    late = datetime(2026, 5, 15, 13, 30, tzinfo=UTC)  # 14:30 BST → 22:30: too late
    assert followup.reminder_due_at(event, late) is None


# --- a room where the morning happens -------------------------------------------------------

@pytest.fixture
def morning(app, make_organiser, make_event, make_attendee, at_the_event, push_receiver):
    """Ana picked Ben and Chloe at the standard evening; Ana's phone is subscribed to push."""
    organiser = make_organiser()
    event = make_event(organiser)
    people = {name: make_attendee(event, name) for name in ("Ana Lima", "Ben Okafor", "Chloe Dubois",
                                                            "Dev Patel")}
    subscription = push_receiver.new_subscription()
    with app.app_context():
        ana = db.session.get(Attendee, people["Ana Lima"].id)
        picks.pick(db.session, ana, people["Ben Okafor"].id)
        picks.pick(db.session, ana, people["Chloe Dubois"].id)
        _subscribe(db.session, ana, subscription)
    return SimpleNamespace(organiser=organiser, event=event, people=people, ana=people["Ana Lima"],
                           subscription=subscription, receiver=push_receiver)


def _subscribe(session, attendee, subscription, credential="ana-phone"):
    from eventmate import devices, push

    device = devices.attach(session, credential, [attendee])
    devices.subscribe(session, device, push.validate_subscription(subscription))
    return device


def send_prompts(runner, at: datetime) -> str:
    result = runner.invoke(args=["send-prompts", "--now", at.isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def _messages(app, **where):
    with app.app_context():
        query = sa.select(Message).order_by(Message.id)
        for name, value in where.items():
            query = query.where(getattr(Message, name) == value)
        return list(db.session.scalars(query))


def test_send_prompts_before_at_and_after_the_due_time(app, runner, morning):
    out = send_prompts(runner, PROMPT_AT - timedelta(minutes=1))
    assert "0 sent" in out and morning.receiver.deliveries == []

    out = send_prompts(runner, PROMPT_AT)
    assert "1 sent (1 by push" in out
    [delivery] = morning.receiver.wait_for(1)
    assert delivery.status_returned == 201
    assert delivery.payload["title"] == "Good morning, Ana"
    assert delivery.payload["body"].startswith("Send Ben and Chloe a note while Thursday founders evening")
    assert delivery.payload["url"] == f"http://127.0.0.1:5000/e/{morning.event.slug}/follow-up"
    assert int(delivery.headers["TTL"]) > 0 and delivery.headers["Topic"] and delivery.headers["Urgency"]

    out = send_prompts(runner, PROMPT_AT + timedelta(minutes=5))  # a second pass sends nothing again
    assert "0 sent" in out and len(morning.receiver.deliveries) == 1
    [prompt] = _messages(app, kind="prompt")
    assert (prompt.state, prompt.channel, prompt.sent_at) == ("sent", "push", PROMPT_AT)


def test_one_reminder_eight_hours_later_only_if_nothing_was_sent(app, runner, morning):
    send_prompts(runner, PROMPT_AT)
    send_prompts(runner, PROMPT_AT + timedelta(hours=7, minutes=59))
    assert len(morning.receiver.deliveries) == 1
    send_prompts(runner, PROMPT_AT + timedelta(hours=8))
    prompt, reminder = morning.receiver.wait_for(2)
    assert reminder.payload["title"] == "Still time to write to Ben and Chloe"
    assert reminder.headers["Topic"] == prompt.headers["Topic"]  # it replaces the prompt, not stacks
    assert reminder.payload["url"].endswith("/follow-up")
    send_prompts(runner, PROMPT_AT + timedelta(hours=20))
    send_prompts(runner, PROMPT_AT + timedelta(days=3))
    assert len(morning.receiver.deliveries) == 2  # never more


def test_no_reminder_after_a_note_was_sent(app, client, runner, morning):
    send_prompts(runner, PROMPT_AT)
    with app.app_context():
        ana = db.session.get(Attendee, morning.ana.id)
        followup.mark_followed_up(db.session, ana, morning.people["Ben Okafor"].id)
    out = send_prompts(runner, PROMPT_AT + timedelta(hours=8))
    assert "1 skipped" in out
    assert len(morning.receiver.deliveries) == 1


def test_prompt_reflects_picks_changed_before_it_goes_out_then_fixes_them(app, runner, morning):
    with app.app_context():
        ana = db.session.get(Attendee, morning.ana.id)
        picks.swap(db.session, ana, morning.people["Chloe Dubois"].id, morning.people["Dev Patel"].id)
    send_prompts(runner, PROMPT_AT)
    assert morning.receiver.wait_for(1)[0].payload["body"].startswith("Send Ben and Dev a note")
    with app.app_context():
        ana = db.session.get(Attendee, morning.ana.id)
        assert ana.three_fixed_at == PROMPT_AT
        with pytest.raises(PicksFixed):
            picks.unpick(db.session, ana, morning.people["Ben Okafor"].id)
        with pytest.raises(PicksFixed):
            picks.pick(db.session, ana, morning.people["Chloe Dubois"].id)


def test_everyone_with_a_pick_gets_one_prompt_even_after_leaving(app, runner, morning, make_attendee):
    from eventmate import checkin

    eve = make_attendee(morning.event, "Eve Martin")
    with app.app_context():
        eve_row = db.session.get(Attendee, eve.id)
        picks.pick(db.session, eve_row, morning.ana.id)
        checkin.leave(db.session, eve_row)
        picks.pick(db.session, eve_row, morning.people["Ben Okafor"].id)  # fine: Ben is still here
    out = send_prompts(runner, PROMPT_AT)
    assert "2 sent (1 by push, 0 by email, 1 in the app only)" in out
    assert {m.attendee_id for m in _messages(app, kind="prompt", state="sent")} == {morning.ana.id, eve.id}


def test_prompt_waits_at_the_top_of_the_event_page(app, client, runner, morning):
    phone = app.test_client()
    from conftest import CSRF_RE  # noqa: F401  (the return-code sign-in posts a form)

    post(phone, "/return", {"code": morning.ana.code})
    page = text(phone.get(f"/e/{morning.event.slug}"))
    assert "data-waiting-prompt" not in page  # the evening itself: nothing waiting yet
    clock.set_now(PROMPT_AT + timedelta(minutes=1))
    page = text(phone.get(f"/e/{morning.event.slug}"))
    assert "Good morning — time to follow up" in page
    assert f'href="/e/{morning.event.slug}/follow-up"' in page
    follow = text(phone.get(f"/e/{morning.event.slug}/follow-up"))
    assert "Ben Okafor" in follow and "Chloe Dubois" in follow and "Dev Patel" not in follow


def test_editing_the_event_reschedules_pending_prompts(app, client, morning):
    login(client, morning.organiser)
    later = event_form(ends_local=(EVENING + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M"))  # ends 01:00
    response = post(client, f"/organiser/events/{morning.event.id}/edit", later)
    assert response.status_code == 302, text(response)
    [prompt] = _messages(app, kind="prompt")
    assert prompt.due_at == PROMPT_AT  # 01:00 + 6 h = 07:00 → still 09:00 that morning
    moved = event_form(prompt_hour="8", ends_local=(EVENING + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    post(client, f"/organiser/events/{morning.event.id}/edit", moved)
    [prompt] = _messages(app, kind="prompt")
    assert prompt.due_at == datetime(2026, 5, 15, 8, 0, tzinfo=UTC)


def test_a_prompt_the_worker_reaches_a_day_late_is_skipped(app, runner, morning):
    out = send_prompts(runner, PROMPT_AT + timedelta(hours=25))
    assert "1 skipped" in out and morning.receiver.deliveries == []
    [prompt] = _messages(app, kind="prompt")
    assert (prompt.state, prompt.outcome) == ("skipped", "too late")


# --- push outcomes -------------------------------------------------------------------------

def _resubscribe(app, morning, behaviour):
    """Replace Ana's subscription with one that answers `behaviour`."""
    sub = morning.receiver.new_subscription(behaviour)
    with app.app_context():
        db.session.execute(sa.delete(PushSubscription))
        ana = db.session.get(Attendee, morning.ana.id)
        _subscribe(db.session, ana, sub)
    return sub


@pytest.mark.parametrize("status", [404, 410])
def test_gone_subscription_is_deleted_and_the_prompt_waits_in_the_app(app, runner, morning, status):
    _resubscribe(app, morning, status)
    out = send_prompts(runner, PROMPT_AT)
    assert "1 in the app only" in out and "1 dead subscriptions removed" in out
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Device)) == 1  # the phone stays


def test_too_large_is_not_retried(app, runner, morning):
    sub = _resubscribe(app, morning, 413)
    out = send_prompts(runner, PROMPT_AT)
    assert "1 in the app only" in out
    send_prompts(runner, PROMPT_AT + timedelta(hours=1))
    assert morning.receiver.attempts[sub["endpoint"].rpartition("/")[2]] == 1


def test_rate_limited_push_is_retried_after_retry_after_then_delivered(app, runner, morning):
    sub = _resubscribe(app, morning, [(429, {"Retry-After": "120"}), 201])
    out = send_prompts(runner, PROMPT_AT)
    assert "1 to retry" in out
    [prompt] = _messages(app, kind="prompt")
    assert prompt.state == "pending" and prompt.due_at == PROMPT_AT + timedelta(seconds=120)
    send_prompts(runner, PROMPT_AT + timedelta(seconds=119))
    assert len(morning.receiver.deliveries_for(sub)) == 1  # only the 429 so far
    out = send_prompts(runner, PROMPT_AT + timedelta(seconds=120))
    assert "1 by push" in out
    assert [d.status_returned for d in morning.receiver.deliveries_for(sub)] == [429, 201]


def test_server_errors_back_off_exponentially_and_stop_after_five_tries(app, runner, morning):
    sub = _resubscribe(app, morning, 500)
    at = PROMPT_AT
    for _ in range(4):
        assert "1 to retry" in send_prompts(runner, at)
        [prompt] = _messages(app, kind="prompt")
        gap = prompt.due_at - at
        at = prompt.due_at
    assert gap == timedelta(seconds=240)  # 30, 60, 120, 240 s
    out = send_prompts(runner, at)
    assert "1 in the app only" in out
    assert morning.receiver.attempts[sub["endpoint"].rpartition("/")[2]] == 5


def test_a_hung_endpoint_does_not_hold_up_the_others(app, make_app, morning, make_attendee):
    """Ana's phone hangs; Ben's answers. Ben's prompt arrives, Ana's is retried later."""
    from eventmate import dispatch

    _resubscribe(app, morning, "hang")
    ben_sub = morning.receiver.new_subscription()
    with app.app_context():
        ben = db.session.get(Attendee, morning.people["Ben Okafor"].id)
        picks.pick(db.session, ben, morning.ana.id)
        _subscribe(db.session, ben, ben_sub, credential="ben-phone")
        clock.set_now(PROMPT_AT)
        settings = dispatch.Settings.from_config(app.config, "http://127.0.0.1:5000")
        settings.push_timeout = 0.5
        dispatcher = dispatch.Dispatcher(db.session, settings)
        try:
            summary = dispatcher.run_pass()
        finally:
            dispatcher.close()
    assert (summary.push, summary.retrying) == (1, 1)
    assert len(morning.receiver.deliveries_for(ben_sub)) == 1


# --- one phone, several attendees; email; the subscription API -----------------------------

def test_one_phone_gets_one_prompt_per_attendee_it_holds(app, runner, morning, make_organiser, make_event,
                                                         make_attendee):
    other = make_event(morning.organiser, name="Friday breakfast")
    ana_too = make_attendee(other, "Ana Lima")
    zoe = make_attendee(other, "Zoë Weber")
    with app.app_context():
        row = db.session.get(Attendee, ana_too.id)
        picks.pick(db.session, row, zoe.id)
        from eventmate import devices

        devices.attach(db.session, "ana-phone", [row])  # the same phone holds both
        # a second subscription on the same device (another browser profile would be another device)
    out = send_prompts(runner, PROMPT_AT)
    assert "2 sent (2 by push" in out
    bodies = sorted(d.payload["body"] for d in morning.receiver.wait_for(2))
    assert bodies[0].startswith("Send Ben and Chloe") and bodies[1].startswith("Send Zoë a note")


def test_email_fallback_through_a_real_smtp_server(app, make_app, morning, smtp_server, make_attendee):
    from eventmate import cli  # noqa: F401  (the command builds the dispatcher like production)

    eve = make_attendee(morning.event, "Eve Martin", email="eve@example.org")
    with app.app_context():
        eve_row = db.session.get(Attendee, eve.id)
        picks.pick(db.session, eve_row, morning.ana.id)
    mailing = make_app(SMTP_URL=smtp_server.url, BASE_URL="https://eventmate.example")
    result = mailing.test_cli_runner().invoke(args=["send-prompts", "--now", PROMPT_AT.isoformat()])
    assert "1 by push, 1 by email" in result.output, result.output
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "eve@example.org"
    assert message["Subject"] == "Good morning, Eve: your follow-ups from Thursday founders evening"
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("https://eventmate.example/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = message.get_body(("plain",)).get_content()
    assert f"https://eventmate.example/e/{morning.event.slug}/follow-up" in body
    assert message.get_body(("html",)) is not None

    # The mail client's one-click button: a POST without any page or cookie.
    response = app.test_client().post(unsubscribe.removeprefix("https://eventmate.example"),
                                      data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "You won't get more emails" in text(response)
    with app.app_context():
        assert db.session.get(Attendee, eve.id).email_opted_out_at is not None


def test_unsubscribe_link_only_asks_on_get_and_refuses_a_damaged_token(app, client, morning):
    with app.app_context():
        token = followup.unsubscribe_token(app.config["SECRET_KEY"], morning.ana.id)
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and "Stop emails about Thursday founders evening?" in text(page)
    with app.app_context():
        assert db.session.get(Attendee, morning.ana.id).email_opted_out_at is None
    assert client.get(f"/u/{token[:-3]}xyz").status_code == 404



def test_after_the_prompt_the_page_says_the_three_are_set(app, runner, morning):
    phone = app.test_client()
    post(phone, "/return", {"code": morning.ana.code})
    send_prompts(runner, PROMPT_AT)
    clock.set_now(PROMPT_AT + timedelta(minutes=2))
    page = text(phone.get(f"/e/{morning.event.slug}"))
    assert "data-three-fixed" in page and ">Remove<" not in page
    refused = post(phone, f"/e/{morning.event.slug}/picks/{morning.people['Ben Okafor'].id}/remove")
    assert refused.status_code == 409 and "your three are set" in text(refused)


@pytest.mark.parametrize(("count", "words"), [(1, "the person I chose"), (2, "the two people I chose"),
                                              (3, "the three people I chose")])
def test_the_reminder_button_says_why_in_words_that_fit(app, make_organiser, make_event, make_attendee,
                                                        at_the_event, count, words):
    event = make_event(make_organiser())
    me = make_attendee(event, "Ana Lima")
    others = [make_attendee(event) for _ in range(count)]
    with app.app_context():
        row = db.session.get(Attendee, me.id)
        for other in others:
            picks.pick(db.session, row, other.id)
    phone = app.test_client()
    post(phone, "/return", {"code": me.code})
    page = text(phone.get(f"/e/{event.slug}"))
    assert f"Remind me tomorrow at 9:00 to follow up with {words}</button>" in page


def test_follow_up_page_offers_only_contacts_shared_with_me(app, make_organiser, make_event, make_attendee,
                                                           at_the_event):
    event = make_event(make_organiser())
    ana = make_attendee(event, "Ana Lima")
    ben = make_attendee(event, "Ben Okafor", contact="ben@studio.example")
    chloe = make_attendee(event, "Chloe Dubois", contact="chloe@press.example")
    with app.app_context():
        picks.pick(db.session, db.session.get(Attendee, ana.id), ben.id)
        picks.pick(db.session, db.session.get(Attendee, ana.id), chloe.id)
        picks.pick(db.session, db.session.get(Attendee, ben.id), ana.id)  # Ben chose Ana: she may write
    phone = app.test_client()
    post(phone, "/return", {"code": ana.code})
    page = text(phone.get(f"/e/{event.slug}/follow-up"))
    assert 'href="mailto:ben@studio.example"' in page
    assert "chloe@press.example" not in page  # Chloe didn't choose Ana: her details stay hers
