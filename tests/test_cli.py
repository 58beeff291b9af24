"""The command line as an operator uses it."""

from __future__ import annotations

import sqlalchemy as sa
from conftest import PASSWORD, login, text

from eventmate.extensions import db
from eventmate.models import Attendee, Event, Organiser


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_organiser_then_log_in(app, runner, client):
    result = runner.invoke(args=["create-organiser", "--email", "Lee@Example.org", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Organiser lee@example.org created" in result.output
    login(client, type("O", (), {"email": "lee@example.org", "password": PASSWORD}))


def test_create_organiser_prompts_for_the_password(app, runner):
    result = runner.invoke(args=["create-organiser", "--email", "kim@example.org"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert count(app, Organiser) == 1


def test_create_organiser_explains_mistakes(app, runner):
    short = runner.invoke(args=["create-organiser", "--email", "kim@example.org", "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    runner.invoke(args=["create-organiser", "--email", "kim@example.org", "--password", PASSWORD])
    again = runner.invoke(args=["create-organiser", "--email", "KIM@example.org", "--password", PASSWORD])
    assert again.exit_code != 0 and "already an organiser" in again.output
    assert "Traceback" not in again.output
    assert count(app, Organiser) == 1


def test_demo_is_on_now_and_idempotent(app, runner, client):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "demo@eventmate.example" in first.output and "/c/demo01/" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert (count(app, Organiser), count(app, Event), count(app, Attendee)) == (1, 1, 4)
    checkin_path = first.output.split("http://127.0.0.1:5000", 2)[2].split()[0]
    assert "A little about you" in text(client.get(checkin_path))


def test_migrations_match_the_models(app, runner):
    """`db check` exits 1 when autogenerate finds anything the migrations lack."""
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
