"""Database tuning that must hold on every connection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import scoped_session

#: Set by `reading()`: transactions begun now only read, whatever the request's method.
_reading: ContextVar[bool] = ContextVar("eventmate_reading", default=False)


@contextmanager
def reading(session) -> Iterator[None]:
    """Run the block's queries in a transaction that only reads, ended when the block ends.

    On SQLite that transaction begins deferred (no write lock) even inside a POST, and is
    over before the caller goes on: slow work after the block (a password hash) holds no
    lock that check-ins queue behind. Objects loaded stay loaded (no expiry on commit). A
    session already inside a transaction is left as it is: the block just joins it.
    """
    real = session() if isinstance(session, scoped_session) else session
    if real.in_transaction():
        yield
        return
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)
    session.commit()  # ends the read; nothing was written


def tune_engine(engine: Engine) -> None:
    """SQLite: WAL, a busy timeout and foreign keys on every connection.

    Transactions that may write take the write lock up front (BEGIN IMMEDIATE): a deferred
    transaction that reads and then writes fails at once with SQLITE_BUSY when another
    writer got in between, busy timeout or not. Page views (GET/HEAD) and `reading()`
    blocks only read, and begin deferred so readers never queue behind writers.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")  # migrations turn them off: foreign_keys_off()
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        only_reads = _reading.get() or (has_request_context() and request.method in ("GET", "HEAD"))
        connection.exec_driver_sql("BEGIN" if only_reads else "BEGIN IMMEDIATE")


@contextmanager
def foreign_keys_off(connection: Connection) -> Iterator[Connection]:
    """SQLite: run the block with foreign keys off, in one transaction checked before commit.

    Why: batch migrations rebuild a table by copying it and dropping the old one. With foreign
    keys on, that DROP cascades (ON DELETE CASCADE) and silently deletes every row that
    references the table: widening `event.venue` would delete every attendee, pick and note.
    SQLite's own recipe for schema changes is: foreign keys off, change, `PRAGMA
    foreign_key_check`, foreign keys on. Any violation raises, listing the rows, and rolls the
    whole block back. Other databases check foreign keys on every statement: the block runs
    as given.
    """
    if connection.dialect.name != "sqlite":
        yield connection
        return
    if connection.in_transaction():
        raise RuntimeError("foreign_keys_off() needs a connection outside any transaction: "
                           "PRAGMA foreign_keys is a no-op inside one")
    # On the driver's connection (isolation_level None: no implicit BEGIN): a SQLAlchemy
    # statement would first begin a transaction (BEGIN IMMEDIATE), making the pragma a no-op.
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            yield connection
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                rows = "; ".join(f"{table} rowid {rowid} -> {parent}" for table, rowid, parent, _ in broken)
                raise RuntimeError(f"foreign keys broken, rolled back: {rows}")
    finally:
        if not connection.invalidated:
            raw.execute("PRAGMA foreign_keys=ON")
            if raw.execute("PRAGMA foreign_keys").fetchone()[0] != 1:
                # Still inside a transaction somehow: never pool a connection without them.
                connection.invalidate()


def ping(session) -> None:
    session.execute(sa.text("SELECT 1"))


# --- can the database be written? -------------------------------------------------------

READ_ONLY = "read-only"
FULL = "full"
UNREACHABLE = "unreachable"

_SQLITE_READONLY, _SQLITE_FULL = 8, 13  # primary result codes (extended codes add high bits)
_PG_READ_ONLY, _PG_DISK_FULL = "25006", "53100"  # read_only_sql_transaction, disk_full


def write_failure(error: BaseException) -> str | None:
    """READ_ONLY or FULL when `error` says the database refused a write for good (not a
    passing hiccup); None for anything else.

    SQLite: SQLITE_READONLY ("attempt to write a readonly database": a read-only file or
    mount, `mode=ro`, `PRAGMA query_only`) and SQLITE_FULL ("database or disk is full": the
    disk, or `max_page_count`). PostgreSQL: SQLSTATE 25006 (a read-only transaction: a hot
    standby, `default_transaction_read_only`) and 53100 (no space left on the device).
    """
    orig = getattr(error, "orig", None) or error
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == _PG_READ_ONLY:
        return READ_ONLY
    if sqlstate == _PG_DISK_FULL:
        return FULL
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        if code & 0xFF == _SQLITE_READONLY:
            return READ_ONLY
        if code & 0xFF == _SQLITE_FULL:
            return FULL
    message = str(orig).lower()
    if "readonly database" in message or "read-only transaction" in message:
        return READ_ONLY
    if "database or disk is full" in message or "no space left on device" in message:
        return FULL
    return None


def write_check(engine: Engine) -> str | None:
    """Prove the database takes a write, leaving nothing behind; None when it does, else
    READ_ONLY, FULL or UNREACHABLE.

    A read is not enough: a read-only file, a standby or a full disk all answer `SELECT 1`.
    SQLite: take the write lock and create a table holding a couple of pages, then roll back
    (`BEGIN IMMEDIATE` alone succeeds on a read-only connection; the page allocation is what
    meets SQLITE_FULL). PostgreSQL: the transaction must not be read-only, and a temporary
    table must take a row; rolled back too.
    """
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                _sqlite_write_check(connection)
            else:
                return _postgres_write_check(connection)
    except Exception as error:  # any other failure to reach the database means "unreachable"
        return write_failure(error) or UNREACHABLE
    return None


def _sqlite_write_check(connection: Connection) -> None:
    # On the driver's connection: the "begin" hook would start a GET's transaction deferred.
    raw = connection.connection.driver_connection
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    raw.execute("BEGIN IMMEDIATE")
    try:
        raw.execute("CREATE TABLE main.eventmate_write_check (filler BLOB)")
        raw.execute("INSERT INTO main.eventmate_write_check VALUES (zeroblob(?))", (2 * page_size,))
    finally:
        if raw.in_transaction:  # SQLITE_FULL already rolled the transaction back
            raw.execute("ROLLBACK")


def _postgres_write_check(connection: Connection) -> str | None:
    with connection.begin() as transaction:
        if connection.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
            return READ_ONLY
        connection.exec_driver_sql(
            "CREATE TEMPORARY TABLE eventmate_write_check (filler text) ON COMMIT DROP")
        connection.exec_driver_sql("INSERT INTO eventmate_write_check VALUES (repeat('x', 100))")
        transaction.rollback()
    return None
