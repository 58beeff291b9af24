"""Issue 9, items 9 and 11: return-code limits that never lock out a venue, and writes the
database refuses for good (read-only, full) said plainly — on the page and by /healthz."""

from __future__ import annotations

import re
import socket
import sqlite3

import pytest
import sqlalchemy as sa
from conftest import post, profile, text
from conftest import test_config as config_for

from eventmate import checkin, create_app
from eventmate.extensions import db
from eventmate.models import Attendee

FORM_TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')
TRANSIENT = "try again in a moment"
NOT_SAVED = "nothing you sent was saved"


@pytest.fixture
def event(make_organiser, make_event, at_the_event):
    return make_event(make_organiser())


def wrong_code(n: int) -> str:
    return f"WRONG{n:011d}"


# --- item 11: the return-code limits ------------------------------------------------------

def test_a_whole_venue_behind_one_address_gets_back_in(app, event, make_attendee):
    """30 people behind one venue NAT each open their link and confirm: nobody gets a 429."""
    people = [make_attendee(event, f"Guest {n}") for n in range(30)]
    for person in people:
        phone = app.test_client()
        confirm = phone.get(f"/r/{person.code}")
        assert confirm.status_code == 200, (person.name, confirm.status_code)
        assert f"Continue as {person.name}?" in text(confirm)
        signed = post(phone, "/return", {"code": person.code})
        assert signed.status_code == 302, (person.name, signed.status_code)


def test_wrong_codes_from_one_address_end_in_a_warm_429(app, event, make_attendee):
    ana = make_attendee(event, "Ana")
    phone = app.test_client()
    responses = [post(phone, "/return", {"code": wrong_code(n)}) for n in range(30)]
    statuses = [response.status_code for response in responses]
    assert statuses[0] == 422 and statuses[-1] == 429, statuses
    assert statuses.index(429) >= 10  # a few typos are never stopped
    assert "a lot of tries in a short time" in text(responses[-1])
    # The links count too: they share the budget of that address.
    assert phone.get(f"/r/{wrong_code(99)}").status_code == 429
    # The blank form stays reachable, and other addresses are not affected.
    assert phone.get("/return").status_code == 200
    elsewhere = post(app.test_client(), "/return", {"code": ana.code}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert elsewhere.status_code == 302


def test_one_code_guessed_from_many_addresses_is_stopped(app, event):
    guessed = "ABCD-EFGH-JKMN-PQRS"
    statuses = []
    for n in range(15):
        phone = app.test_client()
        address = {"REMOTE_ADDR": f"10.0.{n}.1"}
        if n % 2:
            statuses.append(phone.get(f"/r/{guessed}", environ_base=address).status_code)
        else:
            # Typed differently each time: the limit follows the code, not the spelling.
            typed = guessed.lower() if n % 4 else guessed.replace("-", " ")
            statuses.append(post(phone, "/return", {"code": typed}, environ_base=address).status_code)
    assert set(statuses[:10]) <= {404, 422}, statuses
    assert statuses[-1] == 429, statuses
    # Another code from a fresh address is still only "doesn't match".
    other = post(app.test_client(), "/return", {"code": wrong_code(1)}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert other.status_code == 422


# --- item 9: /healthz proves a write; refused writes say "not saved" ----------------------

def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def read_only_app(make_app, database_url):
    """The same database, but every connection may only read (what a read-only disk, a
    read-only mount or a PostgreSQL standby look like to the app)."""
    if _is_sqlite(database_url):
        app = make_app()
        with app.app_context():
            @sa.event.listens_for(db.engine, "connect")
            def _read_only(dbapi_connection, _record):
                dbapi_connection.execute("PRAGMA query_only=ON")
        return app
    return make_app(SQLALCHEMY_ENGINE_OPTIONS={
        "pool_pre_ping": True, "connect_args": {"options": "-c default_transaction_read_only=on"}})


def check_in_form(client, event, name: str):
    page = client.get(event.checkin_path)
    assert page.status_code == 200, text(page)
    token = FORM_TOKEN_RE.search(text(page)).group(1)
    return post(client, event.checkin_path, {**profile(name, how_i_help="Intros to hotel buyers"),
                                             "form_token": token})


def attendee_names(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Attendee.name)))


def test_healthz_writes_and_leaves_nothing_behind(app, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    with app.app_context():
        assert "eventmate_write_check" not in sa.inspect(db.engine).get_table_names()


def test_read_only_database_is_unhealthy_and_says_not_saved(app, make_app, database_url, event):
    ro = read_only_app(make_app, database_url)
    phone = ro.test_client()
    health = phone.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "error", "database": "read-only"}

    response = check_in_form(phone, event, "Zoë Written Nowhere")
    assert response.status_code == 503
    page = text(response)
    assert NOT_SAVED in page and "can only be read" in page and TRANSIENT not in page
    # What was typed is still on the page, to copy; the page's tokens are not.
    assert "Zoë Written Nowhere" in page and "Intros to hotel buyers" in page
    assert "form_token" not in page.replace('name="csrf-token"', "")
    assert "Zoë Written Nowhere" not in attendee_names(app)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_full_disk_is_unhealthy_and_says_not_saved(app, make_app, database_url, event):
    """A full disk made real on SQLite (max_page_count); PostgreSQL's 53100 is covered by
    test_disk_full_on_postgresql_is_classified."""
    path = database_url.removeprefix("sqlite:///")
    with app.app_context():
        db.engine.dispose()
    raw = sqlite3.connect(path)
    raw.execute("VACUUM")  # no free pages left to reuse: the next page must grow the file
    pages = raw.execute("PRAGMA page_count").fetchone()[0]
    raw.close()
    full = make_app()
    with full.app_context():
        @sa.event.listens_for(db.engine, "connect")
        def _no_room(dbapi_connection, _record):
            dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    client = full.test_client()
    statuses = []
    for n in range(40):  # room left in existing pages takes a few; then the disk is full
        response = check_in_form(full.test_client(), event, f"Guest number {n}")
        statuses.append(response.status_code)
        if response.status_code != 302:
            break
    assert statuses[-1] == 503, statuses
    page = text(response)
    assert NOT_SAVED in page and "run out of storage space" in page and TRANSIENT not in page
    assert f"Guest number {n}" in page
    assert f"Guest number {n}" not in attendee_names(full)

    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "error", "database": "full"}


def test_disk_full_on_postgresql_is_classified(client, event, monkeypatch):
    """A real full disk is hard to make in a test: PostgreSQL's disk_full (53100) error, as
    SQLAlchemy raises it, goes through the real page instead."""
    import psycopg.errors

    from eventmate.database import FULL, READ_ONLY, write_failure

    disk_full = sa.exc.OperationalError("INSERT INTO attendee …", {}, psycopg.errors.DiskFull(
        'could not extend file "base/16384/16385": No space left on device'))
    read_only = sa.exc.InternalError("INSERT INTO attendee …", {}, psycopg.errors.ReadOnlySqlTransaction(
        "cannot execute INSERT in a read-only transaction"))
    assert write_failure(disk_full) == FULL
    assert write_failure(read_only) == READ_ONLY
    assert write_failure(sqlite3.OperationalError("database or disk is full")) == FULL
    assert write_failure(sqlite3.OperationalError("attempt to write a readonly database")) == READ_ONLY
    assert write_failure(sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))) is None

    def refuse(*_args, **_kwargs):
        raise disk_full

    monkeypatch.setattr(checkin, "check_in_from_form", refuse)  # what the check-in page calls
    response = check_in_form(client, event, "Pat Unsaved")
    assert response.status_code == 503
    assert NOT_SAVED in text(response) and "Pat Unsaved" in text(response)


def test_healthz_says_unreachable(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    for url in (f"postgresql+psycopg://eventmate@127.0.0.1:{closed_port}/nowhere",
                f"sqlite:///{tmp_path / 'missing' / 'eventmate.sqlite3'}"):
        app = create_app(config_for(url))
        response = app.test_client().get("/healthz")
        assert response.status_code == 503, url
        assert response.get_json() == {"status": "error", "database": "unreachable"}, url
        with app.app_context():
            db.engine.dispose()
