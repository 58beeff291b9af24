"""Fast paths (issue 13): what the busiest pages do, and do not do, per request.

Speed itself lives in bench/; these tests pin the mechanisms: how many queries, which index,
no thread per rate-limit hit, no write lock held through a password hash."""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa
from conftest import login, post, profile

from eventmate import organisers
from eventmate.extensions import SweptMemoryStorage, db, limiter

TOKENS_RE = re.compile(r'name="(csrf_token|form_token)" value="([^"]+)"')


class Statements:
    """The SQL statements the app's engine runs inside the block (BEGIN/COMMIT aside)."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.seen: list[str] = []

    def _record(self, _conn, _cursor, statement, *_args):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            self.seen.append(" ".join(statement.split()))

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        return self.seen

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._record)


def form_tokens(response) -> dict:
    return dict(TOKENS_RE.findall(response.get_data(as_text=True)))


@pytest.fixture
def evening(make_organiser, make_event, at_the_event):
    return make_event(make_organiser())


# --- the check-in form --------------------------------------------------------------------

def test_the_checkin_form_checks_event_and_key_in_one_query_and_skips_the_limiter(app, client, evening,
                                                                                   monkeypatch):
    checks = []
    resolve = limiter.limit_manager.resolve_limits
    monkeypatch.setattr(limiter.limit_manager, "resolve_limits",
                        lambda *a, **k: (checks.append(a[1]), resolve(*a, **k))[1])
    with Statements(app) as sql:
        form = client.get(evening.checkin_path)
    assert form.status_code == 200 and form_tokens(form).keys() == {"csrf_token", "form_token"}
    assert len(sql) == 1 and sql[0].startswith("SELECT event.")
    assert checks == []  # the limiter did nothing for the form itself
    assert "X-RateLimit-Limit" not in form.headers


def test_a_returning_phone_gets_the_form_without_a_new_session_cookie(client, evening):
    first = client.get(evening.checkin_path)
    assert "session=" in " ".join(first.headers.getlist("Set-Cookie"))  # a new phone: its CSRF token
    for _ in range(2):
        again = client.get(evening.checkin_path)
        assert again.status_code == 200 and form_tokens(again)["csrf_token"]
        assert not [c for c in again.headers.getlist("Set-Cookie") if c.startswith("session=")]


def test_a_new_phone_checks_in_in_one_transaction_and_its_welcome_page_reads_twice(app, client, evening):
    """The POST makes the attendee, the device and their link in one transaction; the
    welcome page reads the event and who this is, then one glance (picks? chosen? a prompt?
    unread notes?) finds nothing more to read."""
    form = client.get(evening.checkin_path)
    with Statements(app) as posted:
        done = post(client, evening.checkin_path, {**form_tokens(form), **profile("Ana")})
    assert done.status_code == 302, done.status_code
    assert [s.split()[0] for s in posted] == ["SELECT", "INSERT", "INSERT", "INSERT"], posted
    with Statements(app) as read:
        welcome = client.get(done.headers["Location"])
    assert welcome.status_code == 200 and "You're in, Ana!" in welcome.get_data(as_text=True)
    assert len(read) == 2, read
    from eventmate.models import Attendee, Device, DeviceAttendee

    with app.app_context():  # the phone's device holds Ana, labelled from its browser
        held = db.session.execute(sa.select(Device.label, Attendee.name).join(
            DeviceAttendee, DeviceAttendee.device_id == Device.id).join(
            Attendee, Attendee.id == DeviceAttendee.attendee_id)).all()
    assert [tuple(row) for row in held] == [("A browser", "Ana")], held


def test_submitting_the_form_is_still_limited_per_form(make_app, evening, database_url):
    limited = make_app(CHECKIN_RATE_LIMIT="2 per minute")
    browser = limited.test_client()
    tokens = form_tokens(browser.get(evening.checkin_path))
    statuses = [browser.post(evening.checkin_path, data={**tokens, **profile("")}).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]


# --- rate-limit storage ---------------------------------------------------------------------

def test_rate_limit_hits_start_no_thread(app, monkeypatch):
    storage = limiter.storage
    assert isinstance(storage, SweptMemoryStorage)
    storage.timer.join()  # the one timer every memory storage starts when it is made
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self), real_start(self)))
    for n in range(50):
        storage.incr(f"test-key-{n % 3}", 60)
        storage.acquire_entry("test-moving", 100, 60)
    assert started == []
    assert storage.get("test-key-0") == 17


def test_rate_limit_storage_still_forgets_expired_keys(app):
    storage = SweptMemoryStorage()
    storage.timer.join()
    storage.incr("gone", 60)
    storage.incr("kept", 60)
    storage.expirations["gone"] = 0  # as if its minute were over
    storage._next_sweep = 0  # and the sweep due
    storage.incr("kept", 60)
    assert "gone" not in storage.storage and storage.get("kept") == 2


def test_base_memory_storage_would_start_a_thread(monkeypatch):
    """Why: limits' own memory storage starts a timer thread on a hit after its timer ended."""
    from limits.storage import MemoryStorage

    storage = MemoryStorage()
    storage.timer.join()
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self), real_start(self)))
    storage.incr("key", 60)
    assert len(started) == 1
    started[0].join()


# --- who's here -----------------------------------------------------------------------------

def test_whos_here_reads_event_reader_then_page_total_and_my_picks_in_one_query(app, client, evening,
                                                                               make_attendee):
    for n in range(30):
        make_attendee(evening, f"Guest {n:02d}")
    reader = make_attendee(evening, "Reader")
    assert post(client, "/return", {"code": reader.code}).status_code == 302
    with Statements(app) as sql:
        page = client.get(f"/e/{evening.slug}/people")
    assert page.status_code == 200 and "30 other people here" in page.get_data(as_text=True)
    # event + reader (device check included); the page with its total and my picks
    assert len(sql) == 2, sql
    assert "FROM event LEFT OUTER JOIN attendee" in sql[0] and "device_attendee" in sql[0]
    assert "count(attendee.id)" in sql[1] and "FROM pick" in sql[1]
    with Statements(app) as sql:
        searched = client.get(f"/e/{evening.slug}/people", query_string={"q": "GUEST 29"})
    html = searched.get_data(as_text=True)
    assert "Guest 29" in html and "Guest 28" not in html and len(sql) == 2
    # my picks come with the page: who I chose, and how many
    guest = re.search(r'id="p-(\d+)" data-person="Guest 07"', html_of(client, evening)).group(1)
    assert post(client, f"/e/{evening.slug}/picks", {"person": guest}).status_code == 302
    page = html_of(client, evening)
    assert "1 of 3 chosen" in page
    row = page.split(f'id="p-{guest}"', 1)[1].split("</li>", 1)[0]
    assert ">One of your three<" in row and page.count(">One of your three<") == 1
    nobody = html_of(client, evening, q="nobody by this name")  # no rows: counted apart
    assert "0 matches" in nobody and "1 of 3 chosen" in nobody


def html_of(client, evening, **query) -> str:
    return client.get(f"/e/{evening.slug}/people", query_string=query).get_data(as_text=True)


def test_a_server_process_keeps_whos_heres_totals_for_a_few_seconds(make_app, evening, make_attendee,
                                                                    make_event, make_organiser):
    """5,000 people opening who's here: within WHO_TOTAL_CACHE_SECONDS a process takes the
    total from what it last counted for that event and search (the page itself is read fresh
    each time), less the reader when they are in it; then it counts again."""
    app = make_app(WHO_TOTAL_CACHE_SECONDS=3600)
    for n in range(4):
        make_attendee(evening, f"Guest {n}", what_i_do="Designer")
    ana, ben = make_attendee(evening, "Ana", what_i_do="Designer"), make_attendee(evening, "Ben")
    other = make_event(make_organiser(), name="Another night")
    dan = make_attendee(other, "Dan")
    phones = {}
    for person in (ana, ben, dan):
        phones[person.name] = app.test_client()
        assert post(phones[person.name], "/return", {"code": person.code}).status_code == 302

    def who(name, at=evening, **query):
        return phones[name].get(f"/e/{at.slug}/people", query_string=query).get_data(as_text=True)

    assert "5 other people here" in who("Ana") and "5 other people here" in who("Ben")
    # a search counts each word once for everyone; the reader never counts themselves
    assert "4 matches for “DESIGNER”" in who("Ana", q="DESIGNER")
    assert "5 matches for “designer”" in who("Ben", q="designer")
    make_attendee(evening, "Cleo", what_i_do="Designer")
    with Statements(app) as sql:
        kept = who("Ana")
    assert "5 other people here" in kept and "Cleo" in kept  # the list is fresh, the total kept
    assert not any("count(attendee.id)" in statement for statement in sql), sql
    app.extensions["eventmate.who_totals"].clear()  # as when the few seconds are up
    assert "6 other people here" in who("Ana") and "5 matches for “designer”" in who("Ana", q="designer")
    assert "0 other people here" in who("Dan", at=other)  # each event keeps its own count


def test_a_signed_out_device_or_a_renewed_code_opens_nothing(app, client, other_client, evening, make_attendee):
    """The one-query reader keeps signed_in_attendee's checks: the device must still hold the
    attendee, and the code it holds must be the current one."""
    from eventmate.models import Device

    ana = make_attendee(evening, "Ana")
    third = app.test_client()
    for browser in (client, other_client, third):
        assert post(browser, "/return", {"code": ana.code}).status_code == 302
        assert browser.get(f"/e/{evening.slug}/people").status_code == 200
    with app.app_context():
        first_device = db.session.scalar(sa.select(sa.func.min(Device.id)))
    # the other phone signs this one out: its code still matches, its device holds no one
    assert post(other_client, f"/e/{evening.slug}/you/devices/sign-out", {"device": first_device}).status_code == 302
    assert client.get(f"/e/{evening.slug}/people").status_code == 403
    # a new code signs out every other device: the third browser's code is stale
    assert post(other_client, f"/e/{evening.slug}/you/new-code").status_code == 302
    assert third.get(f"/e/{evening.slug}/people").status_code == 403
    assert other_client.get(f"/e/{evening.slug}/people").status_code == 200
    assert other_client.get("/e/nope/people").status_code == 404


def test_whos_here_follows_the_index_of_present_people(app, evening, make_attendee):
    for n in range(5):
        make_attendee(evening, f"Guest {n}")
    with app.app_context():
        conn = db.session.connection()
        query = ("SELECT id FROM attendee WHERE event_id = :e AND checked_in_at IS NOT NULL "
                 "AND left_at IS NULL ORDER BY search_text, id LIMIT 26")
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.execute(sa.text("EXPLAIN QUERY PLAN " + query),
                                                                {"e": evening.id}))
            assert "ix_attendee_here" in plan and "TEMP B-TREE" not in plan, plan
        else:
            # Five rows: the planner would rightly scan them. Can the index serve the query?
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                conn.exec_driver_sql(f"SET LOCAL {setting} = off")
            plan = "\n".join(conn.execute(sa.text("EXPLAIN " + query), {"e": evening.id}).scalars())
            assert "ix_attendee_here" in plan and "Sort" not in plan, plan
        db.session.rollback()


# --- foreign keys -------------------------------------------------------------------------------

UNINDEXED_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS table_name, c.conname
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
  AND NOT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
ORDER BY 1, 2
"""


def test_every_foreign_key_leads_an_index(app):
    """Deleting a row (an event, an attendee, an organiser) finds what references it through
    an index, not by scanning the referencing table: every foreign key's first column leads
    an index (primary keys and unique constraints count)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            missing = [tuple(row) for row in db.session.execute(sa.text(UNINDEXED_FOREIGN_KEYS))]
        else:
            inspector = sa.inspect(db.engine)
            missing = []
            for table in inspector.get_table_names():
                leading = {tuple(i["column_names"][:1]) for i in inspector.get_indexes(table)}
                leading |= {tuple(u["column_names"][:1]) for u in inspector.get_unique_constraints(table)}
                leading.add(tuple(inspector.get_pk_constraint(table)["constrained_columns"][:1]))
                missing += [(table, fk["name"]) for fk in inspector.get_foreign_keys(table)
                            if tuple(fk["constrained_columns"][:1]) not in leading]
        db.session.rollback()
    assert missing == []


# --- organiser log-in vs check-in -----------------------------------------------------------

def test_a_login_holds_no_write_lock_while_it_checks_the_password(app, client, other_client, make_organiser,
                                                                  evening, monkeypatch):
    """A check-in made *while* a log-in checks its password hash goes through. Before, the
    log-in's POST began `BEGIN IMMEDIATE` before reading the account, so on SQLite the
    check-in queued behind the write lock until its busy timeout and failed: real threads,
    and the hash waits for the check-in to end, so no timing decides the outcome."""
    organiser = make_organiser()
    tokens = form_tokens(other_client.get(evening.checkin_path))
    hashing, done = threading.Event(), threading.Event()
    outcome = {}
    real_check = organisers.check_password_hash

    def hash_waiting_for_the_checkin(stored, password):
        outcome["transaction_open_while_hashing"] = db.session().in_transaction()
        hashing.set()
        assert done.wait(60), "the check-in never finished"
        return real_check(stored, password)

    def log_in():
        login(client, organiser)  # asserts the 302
        outcome["logged_in"] = True

    monkeypatch.setattr(organisers, "check_password_hash", hash_waiting_for_the_checkin)
    logging_in = threading.Thread(target=log_in)
    logging_in.start()
    try:
        assert hashing.wait(60)
        checked_in = other_client.post(evening.checkin_path, data={**tokens, **profile("Ana Lima")})
        outcome["checkin"] = checked_in.status_code
    finally:
        done.set()
        logging_in.join(60)
    assert outcome == {"transaction_open_while_hashing": False, "checkin": 302, "logged_in": True}
