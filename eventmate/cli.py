"""Command line: `flask --app app create-organiser | demo | send-prompts | worker` (and `db upgrade`)."""

from __future__ import annotations

import logging
import signal
import time
from datetime import timedelta

import click
import sqlalchemy as sa
from flask import current_app

from . import checkin, clock, dispatch, events, followup, organisers, retention, tokens
from .config import command_line_base_url
from .errors import DomainError, ValidationFailed
from .extensions import db
from .models import Attendee, Event, Organiser

DEMO_EMAIL = "demo@eventmate.example"
DEMO_PASSWORD = "demo-evening-2026"
DEMO_SLUG = "demo01"
#: The demo evening started this long ago and lasts this long, whenever `demo` runs.
DEMO_STARTED = timedelta(minutes=30)
DEMO_LENGTH = timedelta(hours=4)
DEMO_PEOPLE = [
    ("Amara Okafor", "Runs a small bakery group", "Knows every supplier in town",
     "Someone who has franchised a food business"),
    ("Jonas Weber", "Freelance UX researcher", "Happy to review your onboarding flow",
     "A product lead at a fintech who cares about research"),
    ("Sofía Ramírez", "Founder, bike-courier co-op", "Can introduce you to city council staff",
     "An accountant who understands co-operatives"),
    ("Mei Chen", "Patent attorney", "Free first look at whether an idea is patentable",
     "Hardware founders about to raise a seed round"),
]


def _base_url() -> str:
    return current_app.config.get("BASE_URL") or command_line_base_url()


def _dispatcher() -> dispatch.Dispatcher:
    base = _base_url()
    secret = current_app.config["SECRET_KEY"]
    settings = dispatch.Settings.from_config(
        current_app.config, base,
        unsubscribe_url=lambda attendee: f"{base}/u/{followup.unsubscribe_token(secret, attendee.id)}",
    )
    return dispatch.Dispatcher(db.session, settings, batch=current_app.config["DISPATCH_BATCH"])


def _purge(say) -> None:
    """Delete attendee data that has reached its promised date (the same pass as the prompts)."""
    purged = retention.purge_due(db.session)
    if purged:
        say(f"{clock.now():%Y-%m-%d %H:%M} UTC: deleted the attendee data of {purged} past "
            f"event{'s' if purged != 1 else ''}, as promised at check-in (their numbers are kept).")


def _demo_organiser(session) -> Organiser:
    """The demo's organiser, made once. It never holds the free first sign-up."""
    organiser = session.scalar(sa.select(Organiser).where(Organiser.email == DEMO_EMAIL))
    if organiser is None:
        organiser = organisers.create_organiser(
            session, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, may_found=False
        )
        session.commit()
    elif organiser.is_founder and session.scalar(sa.select(sa.func.count()).select_from(Organiser)) == 1:
        # An earlier version let the demo take the first sign-up on an empty install: give it
        # back while nobody else has signed up.
        organiser.is_founder = False
        session.commit()
    return organiser


def _demo_event(session, organiser: Organiser) -> tuple[Event, bool]:
    """The demo evening, on now: made once, and moved to now when it is over (or was
    closed); True when it was moved."""
    now = clock.now()
    start, end = now - DEMO_STARTED, now - DEMO_STARTED + DEMO_LENGTH
    purge_after = end + timedelta(days=current_app.config["RETENTION_DAYS"])
    event = session.scalar(sa.select(Event).where(Event.slug == DEMO_SLUG))
    if event is None:
        event = Event(
            organiser_id=organiser.id, slug=DEMO_SLUG,
            checkin_key=tokens.random_code(events.KEY_LENGTH).lower(),
            name="Demo networking evening", venue="The Corner Room, 12 Market Street",
            starts_at=start, ends_at=end, timezone="Europe/London",
            prompt_hour=9, checkin_mode="auto", created_at=now, purge_after=purge_after,
        )
        session.add(event)
        session.commit()
        return event, False
    if event.starts_at <= now < event.ends_at and event.is_checkin_open(now) and event.purged_at is None:
        return event, False
    event.starts_at, event.ends_at, event.purge_after = start, end, purge_after
    event.checkin_mode, event.purged_at, event.summary = "auto", None, None
    session.commit()
    logging.getLogger("eventmate.actions").info("demo event moved to now: event=%s", event.id)
    return event, True


def _fail(message: str):
    raise click.ClickException(message)


def register(app) -> None:
    @app.cli.command("create-organiser")
    @click.option("--email", required=True, help="The organiser's email address.")
    @click.option("--password", help="Asked for when omitted (recommended: keeps it out of history).")
    def create_organiser(email: str, password: str | None):
        """Create an organiser account."""
        if password is None:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            organiser = organisers.create_organiser(db.session, {"email": email, "password": password})
            db.session.commit()
        except ValidationFailed as error:
            _fail(" ".join(error.errors.values()))
        except DomainError as error:
            _fail(error.message)
        click.echo(f"Organiser {organiser.email} created. Log in at {_base_url()}/organiser/login")

    @app.cli.command("demo")
    def demo():
        """Create a demo organiser and an event on right now, with a few people checked in.

        Run again (on a later day, say), it moves the same event to now and opens its
        check-in: nothing is duplicated. The demo organiser never takes the free first sign-up.
        """
        session = db.session
        organiser = _demo_organiser(session)
        event, moved = _demo_event(session, organiser)
        for name, what, helps, looking in DEMO_PEOPLE:
            exists = session.scalar(
                sa.select(Attendee.id).where(Attendee.event_id == event.id, Attendee.name == name)
            )
            if exists is None:
                checkin.check_in(
                    session, event,
                    {"name": name, "what_i_do": what, "how_i_help": helps, "looking_for": looking},
                    form_token=checkin.new_form_token(current_app.config["SECRET_KEY"]),
                    secret=current_app.config["SECRET_KEY"],
                )
        base = _base_url()
        click.echo("Demo ready." + (" Its evening was moved to now: it began half an hour ago and"
                                    " check-in is open." if moved else ""))
        click.echo(f"  Organiser log-in: {base}/organiser/login  ({DEMO_EMAIL} / {DEMO_PASSWORD})")
        click.echo(f"  Check-in link:    {base}{events.checkin_path(event)}")
        if organisers.first_signup_open(session):
            click.echo(f"  Your own account: {base}/organiser/signup  (the demo leaves the first "
                       "sign-up to you)")

    @app.cli.command("send-prompts")
    @click.option("--now", "at", metavar="ISO-8601",
                  help="Act as if it were this moment (e.g. 2026-05-15T09:00+01:00); default: now.")
    def send_prompts(at: str | None):
        """Send every prompt, reminder and notification that is due, once, and say what happened."""
        if at:
            try:
                clock.set_now(clock.parse_iso(at))
            except ValueError:
                _fail(f"--now wants a date and time like 2026-05-15T09:00+01:00, not {at!r}.")
        dispatcher = _dispatcher()
        try:
            summary = dispatcher.run_pass()
        finally:
            dispatcher.close()
        click.echo(f"{clock.now():%Y-%m-%d %H:%M} UTC: {summary.line()}.")
        _purge(click.echo)

    @app.cli.command("worker")
    @click.option("--interval", default=30.0, show_default=True, type=click.FloatRange(min=0.05),
                  help="Seconds between passes.")
    def worker(interval: float):
        """Send due prompts, reminders and notifications in a loop, until interrupted."""
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        dispatcher = _dispatcher()
        click.echo(f"EventMate worker {dispatcher.name}: sending what is due every {interval:g} s "
                   f"(links use {_base_url()}). Ctrl-C stops it.")
        log = logging.getLogger("eventmate")
        try:
            while not stopping:
                try:
                    summary = dispatcher.run_pass()
                    if summary.claimed:
                        click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} UTC: {summary.line()}.")
                    _purge(click.echo)
                except Exception:  # the database went away, say: keep the loop alive
                    db.session.rollback()
                    log.exception("worker pass failed; trying again in %s s", interval)
                slept = 0.0
                while slept < interval and not stopping:
                    time.sleep(min(0.5, interval))
                    slept += min(0.5, interval)
        except KeyboardInterrupt:
            pass
        finally:
            dispatcher.close()
        click.echo("Worker stopped.")
