"""Migrations keep data: every revision on both databases, SQLite table rebuilds, downgrades.

Rows are written with plain SQL (no models: models describe `head`, not older revisions) at
the first revision where their table exists, then must all be there at `head`. Revisions come
from Alembic's script directory, so migrations added later are covered without edits here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from conftest import test_config as app_config  # its own name would be collected as a test
from flask_migrate import downgrade, upgrade

from eventmate import create_app
from eventmate.database import foreign_keys_off, tune_engine
from eventmate.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
T = "2026-05-14 18:00:00.000000"  # SQLAlchemy's SQLite datetime format; PostgreSQL reads it too
LATER = "2026-05-14 22:00:00.000000"

#: Realistic rows per table, in foreign-key order (dicts keep it).
ROWS: dict[str, list[dict]] = {
    "organiser": [
        {"id": 1, "email": "host@example.org", "password_hash": "scrypt$x", "created_at": T},
        {"id": 2, "email": "cohost@example.org", "password_hash": "scrypt$y", "created_at": T},
    ],
    "event": [
        {"id": 1, "organiser_id": 1, "slug": "thu-founders", "checkin_key": "k" * 32,
         "name": "Thursday founders evening", "venue": "The Corner Room", "starts_at": T,
         "ends_at": LATER, "timezone": "Europe/Lisbon", "prompt_hour": 9, "checkin_mode": "auto",
         "created_at": T},
        {"id": 2, "organiser_id": 2, "slug": "fri-makers", "checkin_key": "m" * 32,
         "name": "Friday makers", "venue": "Warehouse 5", "starts_at": T, "ends_at": LATER,
         "timezone": "UTC", "prompt_hour": 0, "checkin_mode": "open", "created_at": T},
    ],
    "invitation": [
        {"id": 1, "token_hash": "a" * 64, "created_by_id": 1, "created_at": T, "expires_at": LATER,
         "used_at": T, "used_by_id": 2},
    ],
    "attendee": [
        {"id": n, "event_id": event, "name": name, "what_i_do": "I run a small design studio",
         "how_i_help": "Feedback on your brand", "looking_for": "A head of marketing",
         "email": f"guest{n}@example.org", "contact": None, "checked_in_at": T, "left_at": None,
         "checkin_token": f"{n}" * 43, "return_code_hash": f"{n}" * 64, "pickme_token": f"{n}" * 32}
        for n, event, name in [(1, 1, "Ana Lima"), (2, 1, "Zoë Émond"), (3, 1, "Kwame Mensah"),
                               (4, 2, "Priya Nair")]
    ],
    "pick": [
        {"id": 1, "event_id": 1, "picker_id": 1, "picked_id": 2, "slot": 0, "created_at": T},
        {"id": 2, "event_id": 1, "picker_id": 1, "picked_id": 3, "slot": 1, "created_at": T},
        {"id": 3, "event_id": 1, "picker_id": 2, "picked_id": 1, "slot": 0, "created_at": T},
    ],
    "note": [
        {"id": 1, "event_id": 1, "author_id": 1, "subject_id": 2, "working_on": "A café chain",
         "needs": "A roaster", "offer": "Intro to Luís", "personal": "Runs marathons", "updated_at": T},
        {"id": 2, "event_id": 1, "author_id": 2, "subject_id": 1, "working_on": "Studio",
         "needs": "Clients", "offer": "", "personal": "", "updated_at": T},
    ],
    "note_save": [
        {"id": 1, "client_id": "0b6e8f2c-3c1a-4e0e-9a37-5f1d2c7b9a10", "note_id": 1, "saved_at": T},
    ],
    "pick_change": [
        {"id": 1, "attendee_id": 1, "client_id": "7c1f9e2a-4b3d-4e5f-8a6b-0c1d2e3f4a5b",
         "change_hash": "c" * 64, "status": 200, "result": '{"done": true, "kind": "pick", "person": 3}',
         "created_at": T},
    ],
    "device": [{"id": 1, "credential_hash": "d" * 64, "created_at": T, "last_seen_at": T}],
    "device_attendee": [{"device_id": 1, "attendee_id": 1, "created_at": T}],
    "push_subscription": [
        {"id": 1, "device_id": 1, "endpoint": "https://push.example/send/abc", "endpoint_hash": "e" * 64,
         "p256dh": "B" * 87, "auth": "a" * 22, "created_at": T, "confirmed_at": T},
    ],
    # Message 1 is Ana's morning prompt, queued by the devices/messages migration itself; the
    # letters/coffees migration rebuilds `message` on SQLite, which must not cascade here.
    "push_delivery": [{"message_id": 1, "subscription_id": 1, "delivered_at": T}],
    "follow_up": [{"id": 1, "event_id": 1, "author_id": 1, "subject_id": 2, "channel": "confirmed",
                   "created_at": T}],
    "letter": [{"id": 1, "event_id": 1, "sender_id": 1, "recipient_id": 2, "body": "Lovely to meet you, Zoë.",
                "client_id": "5d0c8a4e-1f7b-4a2c-8e3d-9b6f0a1c2d3e", "hidden": False, "created_at": T}],
    "mute": [{"muter_id": 3, "muted_id": 1, "event_id": 1, "created_at": T}],
    "coffee": [{"id": 1, "event_id": 1, "low_id": 1, "high_id": 2, "proposer_id": 1, "state": "accepted",
                "place": "Café A Brasileira", "starts_at": LATER, "uid": "coffee-1@eventmate", "sequence": 0,
                "version": 1, "hidden": False, "created_at": T, "updated_at": T}],
    "coffee_slot": [{"coffee_id": 1, "position": 0, "starts_at": LATER}],
    # Rebuilt on SQLite when "import" joined its check constraint.
    "organiser_action": [{"id": 1, "event_id": 1, "organiser_id": 1, "attendee_id": 3, "action": "door_check_in",
                          "created_at": T}],
}

# A later migration that only widens a column: on SQLite, batch mode rebuilds `event`
# (copy, DROP, rename), which is what used to cascade to every attendee, pick and note.
WIDEN_VENUE = '''
from alembic import op
import sqlalchemy as sa

revision = "test0widen0venue"
down_revision = {head!r}


def upgrade():
    with op.batch_alter_table("event", recreate="always") as batch_op:
        batch_op.alter_column("venue", type_=sa.String(300), existing_nullable=False)


def downgrade():
    pass
'''


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [script.revision for script in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]


def migrate_and_fill(url: str) -> None:
    """Upgrade one revision at a time, writing each table's rows as soon as the table exists."""
    written: set[str] = set()
    app = create_app(app_config(url))
    with app.app_context():
        for revision in revisions():
            upgrade(revision=revision)
            with db.engine.begin() as conn:
                existing = set(sa.inspect(conn).get_table_names())
                for name, rows in ROWS.items():
                    if name in existing and name not in written:
                        table = sa.table(name, *(sa.column(column) for column in rows[0]))
                        conn.execute(table.insert(), rows)
                        written.add(name)
        db.engine.dispose()
    assert written == set(ROWS), f"never created: {set(ROWS) - written}"


def assert_rows_kept(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        def scalars(sql):
            return conn.execute(sa.text(sql)).scalars().all()

        counts = {name: conn.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar()  # noqa: S608
                  for name in ROWS}
        assert counts == {name: len(rows) for name, rows in ROWS.items()}
        assert scalars("SELECT venue FROM event ORDER BY id") == ["The Corner Room", "Warehouse 5"]
        assert scalars("SELECT name FROM attendee ORDER BY id") == [
            "Ana Lima", "Zoë Émond", "Kwame Mensah", "Priya Nair"]
        assert scalars("SELECT picked_id FROM pick WHERE picker_id = 1 ORDER BY slot") == [2, 3]
        assert scalars("SELECT offer FROM note WHERE id = 1") == ["Intro to Luís"]
        assert scalars("SELECT note_id FROM note_save") == [1]
        assert scalars("SELECT attendee_id FROM pick_change") == [1]
        # A save from before changes were recorded: no hash, no result (answered as "saved").
        assert conn.execute(sa.text("SELECT change_hash, result FROM note_save")).all() == [(None, None)]
        assert scalars("SELECT used_by_id FROM invitation") == [2]
        assert scalars("SELECT subscription_id FROM push_delivery WHERE message_id = 1") == [1]
        assert scalars("SELECT body FROM letter") == ["Lovely to meet you, Zoë."]
        assert scalars("SELECT attendee_id FROM organiser_action") == [3]
    engine.dispose()


def test_every_migration_keeps_existing_rows(empty_url):
    migrate_and_fill(empty_url)
    assert_rows_kept(empty_url)
    assert_prompts_scheduled_for_existing_picks(empty_url)


def assert_prompts_scheduled_for_existing_picks(url: str) -> None:
    """The devices/messages migration queues the morning prompt for whoever had picked."""
    from datetime import UTC, datetime

    from eventmate.models import Message

    app = create_app(app_config(url))
    with app.app_context():
        prompts = db.session.execute(
            sa.select(Message.attendee_id, Message.kind, Message.state, Message.due_at).order_by(Message.attendee_id)
        ).all()
        db.session.remove()
        db.engine.dispose()
    # Ana and Zoë picked (Kwame and Priya didn't). Lisbon (UTC+1 in May), ends 22:00 UTC =
    # 23:00 local; 6 h later is 05:00, so 09:00 Lisbon = 08:00 UTC the next day.
    due = datetime(2026, 5, 15, 8, 0, tzinfo=UTC)
    assert [tuple(row) for row in prompts] == [(1, "prompt", "pending", due), (2, "prompt", "pending", due)]


def test_sqlite_migration_rebuilding_event_keeps_attendees_picks_and_notes(tmp_path):
    """The reported defect, end to end through env.py: a migration that only widened
    `event.venue` kept the events and deleted every attendee, pick and note."""
    url = f"sqlite:///{tmp_path / 'eventmate.sqlite3'}"
    migrate_and_fill(url)
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, directory, ignore=shutil.ignore_patterns("__pycache__"))
    head = ScriptDirectory(str(directory)).get_current_head()
    (directory / "versions" / "9999_test_widen_venue.py").write_text(WIDEN_VENUE.format(head=head))

    app = create_app(app_config(url))
    with app.app_context():
        upgrade(directory=str(directory))
        venue = next(c for c in sa.inspect(db.engine).get_columns("event") if c["name"] == "venue")
        assert venue["type"].length == 300  # the rebuild did happen
        with db.engine.connect() as conn:  # and pooled connections got foreign keys back
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()
    assert_rows_kept(url)


@pytest.mark.parametrize("foreign_keys", ["off (as env.py runs)", "on (the trap)"])
def test_sqlite_batch_rebuild_of_event(tmp_path, foreign_keys):
    """The same rebuild through Alembic's Operations: with `foreign_keys_off()` nothing is
    lost; on a plain connection the DROP cascades, which proves the scenario bites."""
    url = f"sqlite:///{tmp_path / 'eventmate.sqlite3'}"
    migrate_and_fill(url)
    engine = sa.create_engine(url)
    tune_engine(engine)
    with engine.connect() as conn:
        prepared = foreign_keys_off(conn) if foreign_keys.startswith("off") else conn.begin()
        with prepared:
            operations = Operations(MigrationContext.configure(conn))
            with operations.batch_alter_table("event", recreate="always") as batch_op:
                batch_op.alter_column("venue", type_=sa.String(300), existing_nullable=False)
    engine.dispose()
    if foreign_keys.startswith("off"):
        assert_rows_kept(url)
    else:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            counts = [conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar()  # noqa: S608
                      for name in ("event", "attendee", "pick", "note", "note_save")]
        engine.dispose()
        assert counts == [2, 0, 0, 0, 0]


def test_foreign_keys_off_refuses_to_commit_broken_references(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'fk.sqlite3'}")
    tune_engine(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        conn.exec_driver_sql("CREATE TABLE child (id INTEGER PRIMARY KEY, "
                             "parent_id INTEGER REFERENCES parent (id))")
    with engine.connect() as conn:
        with pytest.raises(RuntimeError, match=r"child rowid 7 -> parent"), foreign_keys_off(conn):
            conn.exec_driver_sql("INSERT INTO child (id, parent_id) VALUES (7, 42)")
        assert conn.exec_driver_sql("SELECT count(*) FROM child").scalar() == 0  # rolled back
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # back on for the pool
    engine.dispose()


@pytest.mark.postgres_only
def test_postgresql_downgrades_to_base_and_upgrades_again(postgres_url):
    migrate_and_fill(postgres_url)
    app = create_app(app_config(postgres_url))
    with app.app_context():
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(ROWS) <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
