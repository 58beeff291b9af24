"""Command line: `flask --app app create-organiser | demo` (and `db upgrade` from Flask-Migrate)."""

from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa
from flask import current_app

from . import checkin, clock, events, organisers, tokens
from .config import COMMAND_LINE_BASE_URL
from .errors import DomainError, ValidationFailed
from .extensions import db
from .models import Attendee, Event, Organiser

DEMO_EMAIL = "demo@eventmate.example"
DEMO_PASSWORD = "demo-evening-2026"
DEMO_SLUG = "demo01"
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
    return current_app.config.get("BASE_URL") or COMMAND_LINE_BASE_URL


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
        """Create a demo organiser and an event on right now, with a few people checked in."""
        session = db.session
        organiser = session.scalar(sa.select(Organiser).where(Organiser.email == DEMO_EMAIL))
        if organiser is None:
            organiser = organisers.create_organiser(
                session, {"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
            )
            session.commit()
        event = session.scalar(sa.select(Event).where(Event.slug == DEMO_SLUG))
        if event is None:
            start = clock.now() - timedelta(minutes=30)
            event = Event(
                organiser_id=organiser.id, slug=DEMO_SLUG,
                checkin_key=tokens.random_code(events.KEY_LENGTH).lower(),
                name="Demo networking evening", venue="The Corner Room, 12 Market Street",
                starts_at=start, ends_at=start + timedelta(hours=4), timezone="Europe/London",
                prompt_hour=9, checkin_mode="auto", created_at=clock.now(),
            )
            session.add(event)
            session.commit()
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
        click.echo("Demo ready.")
        click.echo(f"  Organiser log-in: {base}/organiser/login  ({DEMO_EMAIL} / {DEMO_PASSWORD})")
        click.echo(f"  Check-in link:    {base}{events.checkin_path(event)}")
