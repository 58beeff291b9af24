"""Shared fixtures: the app on a real SQLite file and a real PostgreSQL, clients, factories.

Every test that takes `app` runs twice, once per database. Databases are built by running
the migrations (never `create_all`), once per session; each test then gets a fresh copy
(SQLite) or emptied tables (PostgreSQL), with committed data so races and live servers see it.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

os.environ.setdefault("EVENTMATE_SECRET_KEY", "test-secret-key-not-for-production")
# A fixed VAPID key (base64url raw P-256 scalar), so tests never write one into instance/.
os.environ.setdefault("EVENTMATE_VAPID_PRIVATE_KEY", "x0Ih-1CkaUO8JR2ORAkZCu3t4Kx3l9Zq4gR4pQGrwTg")

from eventmate import checkin, clock, create_app, events, organisers  # noqa: E402
from eventmate.extensions import db  # noqa: E402

REQUIRE_ALL = os.environ.get("EVENTMATE_REQUIRE_ALL") == "1"
#: Under pytest-xdist (`make test` runs `-n 2`), each worker ("gw0", "gw1") has its own
#: PostgreSQL database on the throw-away server, so emptying tables never meets another
#: worker's test.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _database_of_this_worker(url: str | None) -> str | None:
    if not url or not WORKER:
        return url
    server = sa.make_url(url)
    name = f"{server.database}_{WORKER}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


POSTGRES_URL = _database_of_this_worker(os.environ.get("EVENTMATE_TEST_POSTGRES_URL"))
PASSWORD = "a good long password"
#: A fixed evening used by most tests: 18:00–22:00 UTC on 14 May 2026.
EVENING = datetime(2026, 5, 14, 18, 0, tzinfo=UTC)


def need(condition: bool, reason: str) -> None:
    """Skip when a system part is missing — or fail, when CI requires everything."""
    if not condition:
        if REQUIRE_ALL:
            pytest.fail(f"{reason} (EVENTMATE_REQUIRE_ALL=1)")
        pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    """`one_database` browser tests run on SQLite only: what they check is the page and the
    browser, and the whole suite must stay inside CI's time limit. The journeys that cross
    the database's own behaviour (the evening, the morning, the follow-up, the door, merging
    notes) keep both."""
    dropped = [item for item in items if item.get_closest_marker("one_database")
               and getattr(item, "callspec", None) is not None
               and item.callspec.params.get("database_url") == "postgresql"]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def test_config(url: str, **extra) -> dict:
    # Passwords are hashed with a cheap method here: scrypt's ~0.1 s per organiser made and per
    # log-in added minutes to the suite. test_trust_auth checks that the app itself uses scrypt.
    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret",
            "PUSH_ALLOW_LOOPBACK": True, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            # Tests read the dashboard right after changing the data; test_dashboard checks the
            # few seconds a server process keeps a poll.
            "LIVE_POLL_CACHE_SECONDS": 0, "WHO_TOTAL_CACHE_SECONDS": 0, **extra}


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(test_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("template") / "eventmate.sqlite3"
    migrate(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgres_ready() -> str:
    need(bool(POSTGRES_URL), "PostgreSQL is not available (run the tests through `make test`)")
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    migrate(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(scope="module")
def postgres_server_database(request):
    """A database of our own on the test server (for migrations from scratch): the shared
    test database stays untouched."""
    need(bool(POSTGRES_URL), "PostgreSQL is not available (run the tests through `make test`)")
    server = sa.make_url(POSTGRES_URL)
    name = f"eventmate_{request.module.__name__.rsplit('.', 1)[-1][:30]}_{os.getpid()}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_server_database) -> str:
    """An empty schema, as `postgres_ready` makes it."""
    engine = sa.create_engine(postgres_server_database)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    return postgres_server_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'eventmate.sqlite3'}"
    return request.getfixturevalue("postgres_url")


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        tables = conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )).scalars().all()
        if tables:
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "eventmate.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_ready")
    _empty_postgres(url)
    return url


@pytest.fixture
def app(database_url):
    app = create_app(test_config(database_url))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    clock.reset()


@pytest.fixture
def make_app(database_url):
    """Another app on the same database with extra settings; its connections are closed after."""
    made = []

    def make(**overrides):
        extra = create_app(test_config(database_url, **overrides))
        made.append(extra)
        return extra

    yield make
    for extra in made:
        with extra.app_context():
            db.engine.dispose()


@pytest.fixture
def session(app):
    """An app context and its database session, for service tests."""
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def other_client(app):
    """A second browser (another phone, another organiser)."""
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def at_the_event():
    """Freeze the clock in the middle of the standard evening."""
    clock.set_now(EVENING + timedelta(hours=1))
    yield clock.now()
    clock.reset()


# --- factories: plain service calls, returning plain values --------------------------------

def event_form(**overrides) -> dict:
    values = {
        "name": "Thursday founders evening",
        "venue": "The Corner Room",
        "timezone": "UTC",
        "starts_local": EVENING.strftime("%Y-%m-%dT%H:%M"),
        "ends_local": (EVENING + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
        "prompt_hour": "9",
    }
    values.update(overrides)
    return values


def profile(name: str = "Ana Lima", **overrides) -> dict:
    values = {
        "name": name,
        "what_i_do": "I run a small design studio",
        "how_i_help": "Feedback on your brand",
        "looking_for": "A head of marketing at a hotel group",
    }
    values.update(overrides)
    return values


@pytest.fixture
def make_organiser(app):
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, password: str = PASSWORD):
        email = email or f"organiser{next(counter)}@example.org"
        with app.app_context():
            organiser = organisers.create_organiser(db.session, {"email": email, "password": password})
            db.session.commit()
            return SimpleNamespace(id=organiser.id, email=email, password=password)

    return make


@pytest.fixture
def make_event(app):
    def make(organiser, **form):
        with app.app_context():
            owner = db.session.get(organisers.Organiser, organiser.id)
            event = events.create_event(db.session, owner, event_form(**form))
            return SimpleNamespace(id=event.id, slug=event.slug, key=event.checkin_key,
                                   checkin_path=events.checkin_path(event), name=event.name)

    return make


@pytest.fixture
def make_attendee(app):
    """Check someone in through the service; returns ids and their return code."""
    counter = iter(range(1, 10_000))

    def make(event, name: str | None = None, **fields):
        n = next(counter)
        with app.app_context():
            ev = db.session.get(events.Event, event.id)
            attendee, code = checkin.check_in(
                db.session, ev, profile(name or f"Guest {n}", **fields),
                form_token=checkin.new_form_token(app.config["SECRET_KEY"]), secret=app.config["SECRET_KEY"],
            )
            return SimpleNamespace(id=attendee.id, name=attendee.name, code=code,
                                   pickme=attendee.pickme_token, event_id=ev.id)

    return make


# --- talking to the app like a browser ----------------------------------------------------

CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client) -> str:
    page = client.get("/return")  # a page every visitor can open
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, "every HTML page carries a CSRF token"
    return match.group(1)


def post(client, url: str, data: dict | None = None, **kwargs):
    """Submit a form the way a browser does: with the page's CSRF token."""
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data, **kwargs)


def login(client, organiser) -> None:
    response = post(client, "/organiser/login", {"email": organiser.email, "password": organiser.password})
    assert response.status_code == 302, response.get_data(as_text=True)


def text(response) -> str:
    return response.get_data(as_text=True)
