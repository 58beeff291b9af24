"""Who's here search folds case, accents and Unicode forms the same way on both databases
(issue 10, defect 1): the stored column and the typed words go through one fold."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import post, profile
from conftest import test_config as app_config  # its own name would be collected as a test
from flask_migrate import upgrade

from eventmate import checkin, create_app, people
from eventmate.extensions import db
from eventmate.models import Attendee, fold

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
BEFORE = "a3a411f3d471"  # the revision before search_text was refolded
T = "2026-05-14 18:00:00.000000"

#: The people from the issue: (name, what I do).
ROOM = [
    ("Zoë Martin", "Product designer"),
    ("José Núñez", "Accountant"),
    ("Chloé Dubois", "Grant writer"),
    ("Björn Ólafsson", "Sound engineer"),
    ("Amara Okafor", "Researcher at École Polytechnique"),
    ("Rémi Laurent", "Chef at Café Lumière"),
    ("Sam Jones", "RUNS THE CAFE ON THE CORNER"),
]

#: What someone types -> who they must find.
FINDS = {
    "zoe": ["Zoë Martin"],
    "ZOË": ["Zoë Martin"],
    "jose": ["José Núñez"],
    "nunez": ["José Núñez"],
    "chloe": ["Chloé Dubois"],
    "chloe\u0301": ["Chloé Dubois"],  # "chloé" typed with a combining accent (e + U+0301)
    "CHLOÉ": ["Chloé Dubois"],
    "bjorn": ["Björn Ólafsson"],
    "olafsson": ["Björn Ólafsson"],
    "Ólafsson": ["Björn Ólafsson"],
    "ecole": ["Amara Okafor"],
    "école polytechnique": ["Amara Okafor"],
    "cafe": ["Rémi Laurent", "Sam Jones"],
    "café": ["Rémi Laurent", "Sam Jones"],
    "CAFÉ": ["Rémi Laurent", "Sam Jones"],
    "lumiere": ["Rémi Laurent"],
}


@pytest.fixture
def room(session, make_organiser, make_event, make_attendee, at_the_event):
    event = make_event(make_organiser())
    for name, what in ROOM:
        make_attendee(event, name, what_i_do=what)
    return event


@pytest.mark.parametrize("typed", list(FINDS))
def test_search_finds_people_whatever_the_accents(session, room, typed):
    found = people.search(session, room.id, typed)
    assert sorted(a.name for a in found.people) == FINDS[typed]
    assert found.total == len(FINDS[typed])


def test_accented_initials_sort_with_their_letter_not_after_z(session, make_organiser, make_event,
                                                               make_attendee, at_the_event):
    """Issue 10, defect 2: who's here listed "Zack Young, Ángela Ruiz, Émile Zola"."""
    event = make_event(make_organiser())
    for name in ("Zack Young", "Ángela Ruiz", "Émile Zola", "Oscar Østergaard", "Bea Quinn"):
        make_attendee(event, name)
    assert [a.name for a in people.search(session, event.id).people] == [
        "Ángela Ruiz", "Bea Quinn", "Émile Zola", "Oscar Østergaard", "Zack Young"]


def test_the_page_searches_through_the_same_fold(client, make_organiser, make_event, make_attendee,
                                                 at_the_event):
    event = make_event(make_organiser())
    for name, what in ROOM:
        make_attendee(event, name, what_i_do=what)
    reader = make_attendee(event, "Reader")
    assert post(client, "/return", {"code": reader.code}).status_code == 302  # this browser is the reader
    page = client.get(f"/e/{event.slug}/people", query_string={"q": "chloe\u0301"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Chloé Dubois" in html and "Zoë Martin" not in html


def test_fold_is_one_function_for_both_sides():
    assert fold("Zoë") == fold("zoe") == fold("zoe\u0308") == fold("ZOË") == "zoe"
    assert [fold(s) for s in ("Straße", "Ørsted", "Łódź", "Ægir", "Œuvre", "İstanbul", "ﬁne", "ｃａｆｅ")] == [
        "strasse", "orsted", "lodz", "aegir", "oeuvre", "istanbul", "fine", "cafe"]
    assert fold("O’Connor") == fold("O'Connor")
    assert fold("한국어") == "한국어"  # Hangul is decomposed, then composed again
    for text in [name for name, _ in ROOM] + ["がっこう", "Мария", "李娜", "नमस्ते"]:
        assert fold(fold(text)) == fold(text)


def test_long_folded_answers_fit_on_both_databases(session, room):
    """Folding lengthens text ("ß" -> "ss"): every field at its longest still checks in
    (issue 10, defect 8: VARCHAR(800) refused it on PostgreSQL)."""
    answers = profile("Weiß" * 20, what_i_do="Straße " * 20, how_i_help="Grüße aus Gießen " * 16 + "ßßßß",
                      looking_for="ß" * 280)
    event = session.get(checkin.Event, room.id)
    secret = "test-secret"
    attendee, _code = checkin.check_in(session, event, answers, checkin.new_form_token(secret), secret)
    assert len(attendee.search_text) > 800
    assert [a.id for a in people.search(session, room.id, "weiss strasse").people] == [attendee.id]


def test_search_text_stays_inside_postgresqls_index_entry_limit(session, room):
    """The who's-here index holds search_text: a row of 4-byte characters at every field's
    limit must not be refused by PostgreSQL's B-tree (2,704 bytes an entry)."""
    event = session.get(checkin.Event, room.id)
    secret = "test-secret"
    emoji = "".join(chr(0x1F600 + n % 80) for n in range(280))
    answers = profile(emoji[:80], what_i_do=emoji[:140], how_i_help=emoji, looking_for=emoji[::-1])
    attendee, _code = checkin.check_in(session, event, answers, checkin.new_form_token(secret), secret)
    assert len(attendee.search_text.encode()) <= 2600
    assert attendee.id in [a.id for a in people.search(session, room.id, emoji[:3]).people]


def _migration_module():
    path = next((MIGRATIONS / "versions").glob("*_search_folded_who_s_here_*.py"))
    spec = importlib.util.spec_from_file_location("refold_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migrations_fold_is_the_apps_fold():
    """The migration keeps its own copy (migrations never import the app); today they agree."""
    migration = _migration_module()
    samples = [name for name in FINDS] + [f"{n} {w}" for n, w in ROOM] + ["Straße Ørsted Łódź ﬁne ｃａｆｅ 한국어"]
    assert [migration.fold(s) for s in samples] == [fold(s) for s in samples]


def test_migration_refolds_every_existing_row(empty_url):
    """Rows written before the upgrade (search_text only casefolded) are all kept, and found."""
    app = create_app(app_config(empty_url))
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO organiser (id, email, password_hash, created_at) VALUES (1, 'o@example.org', 'x', :t)"),
                {"t": T})
            conn.execute(sa.text(
                "INSERT INTO event (id, organiser_id, slug, checkin_key, name, venue, starts_at, ends_at, "
                "timezone, prompt_hour, checkin_mode, created_at) VALUES (1, 1, 'ev', :k, 'Evening', 'Hall', "
                ":t, :t2, 'UTC', 9, 'open', :t)"), {"k": "k" * 32, "t": T, "t2": "2026-05-14 22:00:00.000000"})
            for n, (name, what) in enumerate(ROOM, start=1):
                conn.execute(sa.text(
                    "INSERT INTO attendee (id, event_id, name, what_i_do, how_i_help, looking_for, checked_in_at, "
                    "return_code_hash, pickme_token, search_text) VALUES (:id, 1, :name, :what, 'Help', 'Intro', "
                    ":t, :h, :p, :old)"),
                    {"id": n, "name": name, "what": what, "t": T, "h": f"{n}" * 64, "p": f"{n}" * 32,
                     "old": f"{name} {what} Help Intro".casefold()})
        upgrade()
        names = db.session.scalars(sa.select(Attendee.name).order_by(Attendee.id)).all()
        assert names == [name for name, _ in ROOM]
        for typed, expected in FINDS.items():
            assert sorted(a.name for a in people.search(db.session, 1, typed).people) == expected, typed
        assert db.session.scalar(sa.select(Attendee.search_text).where(Attendee.id == 1)) == \
            "zoe martin product designer help intro"
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres_only
def test_postgresql_trigram_index_made_by_the_database_owner(postgres_server_database):
    """pg_trgm is a trusted extension: a database owner who is not a superuser gets the
    trigram index from the migration, and the search can use it."""
    server = sa.make_url(postgres_server_database)
    role, database = f"em_owner_{os.getpid()}", f"em_owned_{os.getpid()}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
        conn.exec_driver_sql(f'CREATE DATABASE "{database}" OWNER "{role}"')
        conn.exec_driver_sql(f'REVOKE CREATE ON DATABASE "{database}" FROM PUBLIC')
    owned = server.set(database=database, username=role).render_as_string(hide_password=False)
    try:
        app = create_app(app_config(owned))
        with app.app_context():
            with db.engine.begin() as conn:  # PostgreSQL 15: the owner (only) creates in public
                assert conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar() is False
            upgrade()
            with db.engine.begin() as conn:
                index = conn.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_attendee_search_trgm'").scalar()
                assert index and "gin" in index and "gin_trgm_ops" in index
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = "\n".join(conn.execute(sa.text(
                    "EXPLAIN SELECT id FROM attendee WHERE search_text LIKE :word"), {"word": "%lumiere%"}).scalars())
                assert "ix_attendee_search_trgm" in plan
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()
